/*
 * commands.h - the commands of smtpc. Each returns the exit status.
 */
#ifndef SMTPC_CLI_COMMANDS_H
#define SMTPC_CLI_COMMANDS_H

#include "args.h"

/** smtpc send: one message to the recipients of the options. */
int cli_send(const struct cli_options *o);

/** smtpc probe: greeting and extensions of the server. */
int cli_probe(const struct cli_options *o);

/**
 * smtpc invoked as "sendmail": parses the sendmail command line, reads the
 * configuration and sends the message of standard input (sendmail.c).
 */
int cli_sendmail(int argc, char **argv);

#endif /* SMTPC_CLI_COMMANDS_H */
