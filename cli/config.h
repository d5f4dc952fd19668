/*
 * config.h - the configuration file of smtpc: $SMTPC_CONFIG (it must then
 * be readable), else /etc/smtpc.conf when it exists. "key value" lines,
 * each key a long option of smtpc send, and "domain". send, probe and the
 * sendmail mode read it; the command line wins, and $SMTPC_SERVER comes
 * between the two for the server (docs/CLI.md, "Server and configuration").
 */
#ifndef SMTPC_CLI_CONFIG_H
#define SMTPC_CLI_CONFIG_H

#include "args.h"

#define CLI_CONFIG_MAX_KEYS 32

struct cli_config {
	const char *path;
	char *text;                             /* the file; values point into it */
	const char *value[CLI_CONFIG_MAX_KEYS]; /* NULL: not set */
	int line[CLI_CONFIG_MAX_KEYS];          /* where each was set */
};

/**
 * Loads the configuration file into *c (nothing when /etc/smtpc.conf is
 * missing and SMTPC_CONFIG is unset). Errors are reported with the file
 * name and line. Returns 0, EX_CONFIG or EX_OSERR.
 */
int cli_config_load(struct cli_config *c);

/** The value of key (NULL: not set) and its line. */
const char *cli_config_get(const struct cli_config *c, const char *key, int *line);

/** "smtpc: FILE[:LINE]: msg[ 'arg']" on standard error. Returns EX_CONFIG. */
int cli_config_error(const struct cli_config *c, int line, const char *msg, const char *arg);

void cli_config_free(struct cli_config *c);

/**
 * Loads the configuration into o->config and sets every option that the
 * command line did not give: the server ($SMTPC_SERVER, else the file's),
 * then the other keys that belong to o->command. The TLS and AUTH keys
 * belong to the configured server: they are ignored when another server is
 * used, and the AUTH keys when the command line gives an AUTH option.
 * Returns 0, EX_CONFIG or EX_OSERR (reported).
 */
int cli_config_apply(struct cli_options *o);

#endif /* SMTPC_CLI_CONFIG_H */
