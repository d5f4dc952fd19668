/*
 * common.h - what the send and probe commands share: the session set up
 * from the options, the connection, QUIT, and owned copies of replies.
 */
#ifndef SMTPC_CLI_COMMON_H
#define SMTPC_CLI_COMMON_H

#include "args.h"
#include "outcome.h"
#include "smtpc.h"

/** A reply copied out of the session (replies only live until the next call). */
struct cli_reply {
	int code; /* 0: none */
	char enhanced[16];
	char *text; /* malloc'd, may be NULL */
	size_t text_len;
};

/** Copies r (NULL or code 0: an empty reply). Returns 0 or EX_OSERR. */
int cli_reply_copy(struct cli_reply *dst, const smtpc_reply *r);
void cli_reply_free(struct cli_reply *r);

/** Writes the reply as a JSON object, or null when it has no code. */
void cli_reply_json(FILE *f, const struct cli_reply *r);

/**
 * A new session with protocol, timeout, local name and debug level set
 * from the options. Errors are reported on standard error.
 * Returns 0 or an exit status.
 */
int cli_session_open(const struct cli_options *o, smtpc **out);

/**
 * Connects to the server of the options; the greeting goes to *greeting
 * (may be NULL). On failure the error is captured in *e and reported.
 * Returns 0 or -1.
 */
int cli_connect(smtpc *s, const struct cli_options *o, smtpc_reply *greeting, struct cli_error *e);

/** Sends QUIT when still connected; a failure is only a warning on standard error. */
void cli_quit(smtpc *s);

#endif /* SMTPC_CLI_COMMON_H */
