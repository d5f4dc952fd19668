/*
 * msmtprc.h - an msmtp configuration file (~/.msmtprc) read into smtpc's
 * sections (config.h), so that msmtp users switch without rewriting it.
 * The keys msmtp users write are carried over (docs/CLI.md has the table);
 * a setting smtpc cannot honour without lowering security makes its account
 * unusable (a refusal reported when the account is used), never ignored.
 */
#ifndef SMTPC_CLI_MSMTPRC_H
#define SMTPC_CLI_MSMTPRC_H

#include "config.h"

/**
 * Parses f->text (msmtp's syntax: "command argument" lines, "defaults",
 * "account NAME [: PARENT,...]", arguments in double quotes) into the
 * sections of f; f->section[0] exists and receives the defaults. The
 * account "default" is the default account. Syntax errors are reported
 * with the file name and line. Returns 0, EX_CONFIG or EX_OSERR.
 */
int cli_msmtprc_parse(struct cli_config *c, struct cli_config_file *f);

#endif /* SMTPC_CLI_MSMTPRC_H */
