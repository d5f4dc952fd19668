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
 * Returns 0 or the exit status (cli_exit_for_error(), but 68 when the
 * --source-ip is not an address of this host).
 */
int cli_connect(smtpc *s, const struct cli_options *o, smtpc_reply *greeting, struct cli_error *e);

/** Sends QUIT when still connected; a failure is only a warning on standard error. */
void cli_quit(smtpc *s);

/**
 * Greets (EHLO, HELO fallback in SMTP) and runs STARTTLS per the policy
 * (smtpc_ehlo_or_helo_if_needed()). On failure the error is captured in *e
 * and reported. Returns 0 or the exit status.
 */
int cli_greet(smtpc *s, const struct cli_options *o, struct cli_error *e);

/** TLS of a session, kept for the reports (the session forgets it when it closes). */
struct cli_tls {
	int on;
	int verified;
	char info[128]; /* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
};

/** Notes the TLS state when the session is encrypted (never clears it). */
void cli_tls_capture(const smtpc *s, struct cli_tls *t);

/** "tls: TLSv1.3 TLS_AES_256_GCM_SHA384, verified[, pinned]" and a newline. */
void cli_tls_print(FILE *f, const struct cli_tls *t, const struct cli_options *o);

/** {"version":"TLSv1.3","cipher":"...","verified":true}, or null without TLS. */
void cli_tls_json(FILE *f, const struct cli_tls *t);

/** After a TLS error: a hint on standard error when the certificate was not trusted. */
void cli_tls_hint(const struct cli_error *e);

/** 1 when the options authenticate with a password (not a token, not EXTERNAL). */
int cli_needs_password(const struct cli_options *o);

#endif /* SMTPC_CLI_COMMON_H */
