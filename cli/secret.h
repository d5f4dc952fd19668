/*
 * secret.h - passwords and tokens for AUTH (docs/RULES.md A5: never on
 * argv; from a file, the environment, a command or a prompt; wiped after use).
 *
 * Every secret is a malloc'd NUL-terminated string: release it with
 * cli_secret_free(), which wipes it first. No error message ever shows a
 * secret, nor the output of a command that prints one.
 */
#ifndef SMTPC_CLI_SECRET_H
#define SMTPC_CLI_SECRET_H

#include "args.h"

/** The longest first line accepted from a password source or a token command. */
#define CLI_SECRET_MAX (64 * 1024)

/**
 * The password of the options: --password-file, --password-env,
 * --password-cmd, or a prompt on /dev/tty with echo off when none is given,
 * standard input is a terminal and the message is not read from it.
 * Errors are written to standard error.
 * Returns 0 and *password, EX_CONFIG (the source cannot be read, the command
 * failed, the password is empty), EX_USAGE (no source and no terminal to
 * ask on) or EX_OSERR.
 */
int cli_password_get(const struct cli_options *o, char **password);

/**
 * Checks, before anything is read, that cli_password_get() will have a
 * source: an option, or a terminal to ask on while the message is not read
 * from standard input. Returns 0, or EX_USAGE (reported).
 */
int cli_password_check(const struct cli_options *o);

/**
 * Runs cmd with /bin/sh -c (standard input and error inherited) and returns
 * the first line of its standard output, without the line ending, in *line.
 * what names the option in error messages ("--password-cmd").
 * Returns 0, EX_CONFIG (cannot run, non-zero exit, empty first line, NUL
 * byte, line too long) or EX_OSERR.
 */
int cli_command_first_line(const char *cmd, const char *what, char **line);

/** Wipes and frees a secret; NULL is fine. */
void cli_secret_free(char *secret);

/** No core dump from now on (it would hold the secrets). */
void cli_secret_no_core(void);

#endif /* SMTPC_CLI_SECRET_H */
