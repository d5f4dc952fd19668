/*
 * aliases.h - the aliases of the sendmail mode, as msmtp's "aliases FILE"
 * (msmtp(1)): "local: addr1, addr2" lines map a local name (no '@') to
 * addresses; '#' starts a comment; the name "default" stands for every
 * local name the file does not list. A target without '@' is looked up in
 * turn (at most 16 deep). A name that nothing matches is left as it is.
 */
#ifndef SMTPC_CLI_ALIASES_H
#define SMTPC_CLI_ALIASES_H

#include "args.h"

/**
 * Replaces each recipient of o->to without a domain ("root", "Bob <root>")
 * by what o->aliases (the file) maps it to, in place and in order. The file
 * is read only when there is such a recipient. Errors name the file and
 * line. Returns 0, EX_CONFIG (unreadable, a bad line, a loop) or EX_OSERR.
 */
int cli_aliases_expand(struct cli_options *o);

#endif /* SMTPC_CLI_ALIASES_H */
