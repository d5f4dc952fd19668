/*
 * outcome.h - errors and exit statuses of smtpc.
 *
 * The exit status says what a caller (a script, a queue runner) should do
 * next (docs/CLI.md, "Exit status"); the precedence is
 *   79 outcome unknown  >  76, 68, 65, 70, 71, 77, 78 (the error that stopped
 *   the run)  >  75 temporary  >  69 permanent.
 */
#ifndef SMTPC_CLI_OUTCOME_H
#define SMTPC_CLI_OUTCOME_H

#include "smtpc.h"

#include <stdio.h>

/**
 * A copy of a session's last error: later calls on the session (QUIT)
 * replace the library's own. Strings are malloc'd and may be NULL.
 */
struct cli_error {
	int kind; /* SMTPC_E*, SMTPC_OK when there was no error */
	int code; /* the reply code that caused it, or 0 */
	char enhanced[16];
	char *command;
	char *text; /* the server's text (untrusted) */
	size_t text_len;
	char *message;
	int local; /* the reply was decided by the library before sending (the SIZE limit),
	              not received from the server */
};

/** Copies the last error of s (s may be NULL); rc is the kind returned by the failed call. */
void cli_error_capture(struct cli_error *e, const smtpc *s, int rc);

/** Sets an error built by smtpc itself from a reply (text may be NULL). */
void cli_error_from_reply(struct cli_error *e, int kind, const char *message,
                          const smtpc_reply *reply);

void cli_error_free(struct cli_error *e);

/**
 * Writes "smtpc: <what>[ <subject>]: <message>[ (server said: <reply>)]" to
 * standard error. subject (user input, may be NULL) is escaped.
 */
void cli_error_report(const struct cli_error *e, const char *what, const char *subject);

/** The error's one-line message (never NULL). */
const char *cli_error_message(const struct cli_error *e);

/** Writes the error as a JSON object, or null when e->kind is SMTPC_OK. */
void cli_error_json(FILE *f, const struct cli_error *e);

/** The exit status for an error alone (EX_OK for SMTPC_OK). */
int cli_exit_for_error(const struct cli_error *e);

/** The exit status for a reply code that refused something: 5xx 69, else 75. */
int cli_exit_for_code(int code);

/**
 * The exit status of a send: the recipients' outcomes (r may be NULL) and
 * the error that ended smtpc_sendmail() (kind SMTPC_OK when it returned 0).
 * 0 only when every recipient was accepted.
 */
int cli_exit_for_send(const smtpc_send_result *r, const struct cli_error *e);

#endif /* SMTPC_CLI_OUTCOME_H */
