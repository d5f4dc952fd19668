/*
 * command.h - the command writer, no I/O: the only place where CRLF is
 * appended to a command line, and where arguments are checked.
 */
#ifndef SMTPC_COMMAND_H
#define SMTPC_COMMAND_H

#include <stddef.h>

/** Longest command line we build (RFC 5321 4.5.3.1.4 says 512 octets; we allow more for
 *  long parameter lists but never unbounded). */
#define SMTPC__MAX_CMDLINE 65536

/**
 * Checks one argument: 0 when it is fine, SMTPC_EINVAL when it holds a CR,
 * LF, NUL (len > strlen), another C0 control character or DEL, or (unless
 * allow_8bit) a byte >= 0x80.
 */
int smtpc__arg_check(const char *arg, size_t len, int allow_8bit);

/**
 * Builds "verb" or "verb SP arg1 SP arg2 ... CRLF" into a malloc'd buffer.
 * NULL or empty args are skipped. Every part is checked with
 * smtpc__arg_check(). Returns 0, SMTPC_EINVAL or SMTPC_ENOMEM.
 */
int smtpc__cmd_build(char **out, size_t *outlen, const char *verb, const char *const *args,
                     size_t nargs, int allow_8bit);

#endif
