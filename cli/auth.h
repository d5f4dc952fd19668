/*
 * auth.h - AUTH for smtpc send and probe: smtpc_login() with the strongest
 * common mechanism, or smtpc_auth() with --auth MECH; OAuth tokens from
 * --oauth-token-cmd, run at each authentication.
 */
#ifndef SMTPC_CLI_AUTH_H
#define SMTPC_CLI_AUTH_H

#include "args.h"
#include "outcome.h"
#include "smtpc.h"

/** What the reports say about authentication. */
struct cli_auth {
	int tried;          /* 1 once authentication was attempted */
	int ok;             /* 1 when the server accepted it */
	char mechanism[32]; /* the mechanism that succeeded, or the one asked for, or "" */
};

/**
 * Authenticates on a connected session (greets and runs STARTTLS per the
 * policy first when not done yet). password is the one of the options
 * (NULL for token mechanisms and EXTERNAL). On failure the error is
 * captured in *e and reported on standard error, without any secret.
 * Returns 0 or the exit status (77 refused, 75 refused with 4xx, 78 the
 * token command failed, 69 no AUTH or no common mechanism ...).
 */
int cli_authenticate(smtpc *s, const struct cli_options *o, const char *password,
                     struct cli_auth *a, struct cli_error *e);

/** Writes the auth report as JSON: {"mechanism":...,"ok":...}, or null when not tried. */
void cli_auth_json(FILE *f, const struct cli_auth *a);

#endif /* SMTPC_CLI_AUTH_H */
