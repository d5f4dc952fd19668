/*
 * log.h - the log of smtpc send and the sendmail mode (--log FILE,
 * --syslog; the keys log and syslog), as msmtp keeps one: one line per
 * message, appended with one write() (O_APPEND), or one syslog(3) record
 * (ident "smtpc", facility LOG_MAIL):
 *
 *   2026-12-07T20:21:21Z server=smtp://mx.example.org:25 from=<a@x> to=<b@y>,<c@z>
 *   size=1234 reply="250 2.0.0 Ok: queued" outcome=accepted exit=0
 *
 * (one line; not-accepted=<...> after to= when some were not, error="..."
 * before outcome= when an error stopped the transaction). Every byte of an
 * address or of the server's text outside printable ASCII is written \xHH,
 * and " and \ are escaped: nothing the server says reaches the log raw. No
 * credentials: the server is the scheme, host and port of the URL
 * (docs/CLI.md, "Log").
 */
#ifndef SMTPC_CLI_LOG_H
#define SMTPC_CLI_LOG_H

#include "args.h"
#include "outcome.h"

#include <stdint.h>

struct cli_log {
	int fd;     /* the --log file, or -1 */
	int syslog; /* --syslog: openlog() was called */
};

/**
 * Opens the log of o (nothing when o has neither --log nor --syslog): the
 * file is created (mode 0600) when missing, and always appended to. A file
 * that cannot be opened is reported. Returns 0 or EX_CANTCREAT.
 */
int cli_log_open(struct cli_log *l, const struct cli_options *o);

/**
 * Logs one message: the envelope sender (NULL: taken from the headers by the
 * library), the result (NULL when the server was not reached: the recipients
 * of o), the error that stopped it (kind SMTPC_OK: none), the bytes of the
 * message sent and the exit status. A failed write is reported on standard
 * error; it does not change the exit status (the message is gone).
 */
void cli_log_message(struct cli_log *l, const struct cli_options *o, const char *from,
                     const smtpc_send_result *r, const struct cli_error *e, uint64_t size,
                     int exit_status);

void cli_log_close(struct cli_log *l);

/** The name of an outcome: accepted, partial, refused, unknown or failed. */
const char *cli_log_outcome(const smtpc_send_result *r, const struct cli_error *e, int exit_status);

#endif /* SMTPC_CLI_LOG_H */
