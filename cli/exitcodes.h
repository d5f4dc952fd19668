/*
 * exitcodes.h - exit statuses of smtpc (sysexits.h, as msmtp uses them).
 *
 * <sysexits.h> is used when the system has it; the fallbacks carry the same
 * values (BSD sysexits.h, 4.4BSD and later). EX_OUTCOME_UNKNOWN is smtpc's
 * own: the connection failed after the final dot, so the message may or may
 * not have been delivered (docs/CLI.md, "Exit status").
 */
#ifndef SMTPC_CLI_EXITCODES_H
#define SMTPC_CLI_EXITCODES_H

#if defined(__has_include)
#if __has_include(<sysexits.h>)
#include <sysexits.h>
#endif
#endif

#ifndef EX_OK
#define EX_OK 0
#endif
#ifndef EX_USAGE
#define EX_USAGE 64
#endif
#ifndef EX_DATAERR
#define EX_DATAERR 65
#endif
#ifndef EX_NOINPUT
#define EX_NOINPUT 66
#endif
#ifndef EX_NOHOST
#define EX_NOHOST 68
#endif
#ifndef EX_UNAVAILABLE
#define EX_UNAVAILABLE 69
#endif
#ifndef EX_SOFTWARE
#define EX_SOFTWARE 70
#endif
#ifndef EX_OSERR
#define EX_OSERR 71
#endif
#ifndef EX_CANTCREAT
#define EX_CANTCREAT 73
#endif
#ifndef EX_IOERR
#define EX_IOERR 74
#endif
#ifndef EX_TEMPFAIL
#define EX_TEMPFAIL 75
#endif
#ifndef EX_PROTOCOL
#define EX_PROTOCOL 76
#endif
#ifndef EX_NOPERM
#define EX_NOPERM 77
#endif
#ifndef EX_CONFIG
#define EX_CONFIG 78
#endif

/* Not in sysexits.h (it ends at 78, EX_CONFIG): the outcome is unknown. */
#define EX_OUTCOME_UNKNOWN 79

#endif /* SMTPC_CLI_EXITCODES_H */
