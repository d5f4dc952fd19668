/*
 * dkim.h - smtpc send --dkim-*: the message signed (smtpc_dkim_sign())
 * before the connection is opened, with a key file only its owner can read.
 */
#ifndef SMTPC_CLI_DKIM_H
#define SMTPC_CLI_DKIM_H

#include "args.h"
#include "smtpc.h"

/** 1 when any --dkim-* option (or configuration key) is set. */
int cli_dkim_wanted(const struct cli_options *o);

/**
 * Signs the message of src with the --dkim-* options: checks them (the
 * key, selector and domain go together), loads the key, signs. *out is
 * freed with smtpc_dkim_signed_free(). Reports on standard error; returns
 * 0, EX_USAGE (an option), EX_CONFIG (the key file: missing, not a
 * regular file, readable or writable by its group or others, not a usable
 * key), EX_DATAERR (a message that cannot be signed), EX_IOERR (the
 * message could not be read or copied to a temporary file) or EX_OSERR.
 */
int cli_dkim_sign(const struct cli_options *o, const smtpc_source *src, smtpc_dkim_signed **out);

#endif
