/*
 * args.h - the command line of smtpc.
 *
 *   smtpc send --server URL --from ADDR --to ADDR[,ADDR...]... [--helo NAME]
 *              [--timeout SEC] [--debug] [--json] [FILE]
 *   smtpc probe --server URL [--helo NAME] [--timeout SEC] [--debug] [--json]
 *   smtpc --help | --version
 *
 * Options may come before or after the command, in any order; "--" ends
 * the options.
 */
#ifndef SMTPC_CLI_ARGS_H
#define SMTPC_CLI_ARGS_H

#include "url.h"

#include <stddef.h>
#include <stdio.h>

enum cli_command {
	CLI_NONE = 0,
	CLI_SEND,
	CLI_PROBE,
	CLI_HELP,
	CLI_VERSION,
};

#define CLI_DEFAULT_TIMEOUT_MS 60000

struct cli_options {
	enum cli_command command;
	const char *server; /* the URL as given */
	struct cli_url url;
	const char *from;
	char **to; /* one address per element (malloc'd), in the order given */
	size_t nto;
	const char *helo;
	int timeout_ms;
	int debug;
	int json;
	const char *file; /* NULL or "-": standard input */
};

/**
 * Parses argv into *o. On a usage error the message is written to standard
 * error (with the synopsis when the command line itself is wrong).
 * Returns 0, EX_USAGE or EX_OSERR; free *o with cli_options_free() in every case.
 */
int cli_parse_args(int argc, char **argv, struct cli_options *o);

void cli_options_free(struct cli_options *o);

/** The synopsis (to standard error after a usage error). */
void cli_print_synopsis(FILE *f);

/** The full help text (--help, to standard output). */
void cli_print_help(FILE *f);

/**
 * Parses a positive decimal number of seconds ("60", "0.5", ".25") into
 * milliseconds, rounded up. Returns 0 or -1 (garbage, zero, too large).
 */
int cli_parse_timeout(const char *text, int *ms);

#endif /* SMTPC_CLI_ARGS_H */
