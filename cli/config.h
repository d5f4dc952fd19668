/*
 * config.h - the configuration of smtpc (docs/CLI.md, "Configuration and
 * accounts"): $SMTPC_CONFIG alone when it is set; else /etc/smtpc.conf, the
 * base, under the user's own file ($XDG_CONFIG_HOME/smtpc/config, else
 * ~/.config/smtpc/config; else an existing ~/.msmtprc, read as msmtp reads
 * it, msmtprc.h). "key value" lines, each key a long option of smtpc send
 * (or "domain", "aliases" ...); "account NAME [: PARENT,...]" starts an
 * account, the keys before the first one are the defaults of every account;
 * "default NAME" names the account used when none is chosen.
 *
 * send, probe and the sendmail mode read it; the command line wins, and
 * $SMTPC_SERVER comes between the two for the server.
 */
#ifndef SMTPC_CLI_CONFIG_H
#define SMTPC_CLI_CONFIG_H

#include "args.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define CLI_CONFIG_MAX_KEYS  32
#define CLI_CONFIG_MAX_FILES 2 /* the user's, the system's */
#define CLI_CONFIG_MAX_NOTES 4 /* warnings of one account */

/* The keys before the first account (name NULL), or an account with its inherited keys. */
struct cli_config_section {
	const char *name;
	int line;
	const char *value[CLI_CONFIG_MAX_KEYS]; /* by key index (cli_config_key()); NULL: not set */
	int vline[CLI_CONFIG_MAX_KEYS];         /* the line that set it */
	uint32_t set_here;                      /* keys set by this section's own lines */
	const char *refusal;                    /* why the account cannot be used (msmtprc), */
	int refusal_line;                       /* NULL: it can */
	const char *note[CLI_CONFIG_MAX_NOTES]; /* warnings printed when it is used */
	int note_line[CLI_CONFIG_MAX_NOTES];
	size_t nnotes;
};

struct cli_config_file {
	char *path;
	char *text;   /* the file; the values point into it or into cli_config.owned */
	int per_user; /* the user's file: its password files must be private too */
	struct cli_config_section *section; /* [0]: the keys before the first account */
	size_t nsections;
	const char *default_account; /* "default NAME", or NULL */
	int default_line;
};

struct cli_config {
	const char *path; /* the file that messages about the whole configuration name */
	struct cli_config_file file[CLI_CONFIG_MAX_FILES]; /* the user's first */
	size_t nfiles;
	char **owned; /* strings made while reading (msmtprc URLs, "~/" expanded) */
	size_t nowned;
	/* set by cli_config_use() */
	const char *account;     /* the account used, or NULL */
	const char *server_path; /* where the server used was set (NULL: not in a file) */
	int server_line;
};

/**
 * Loads every configuration file into *c (zeroed first). A missing file is
 * fine but $SMTPC_CONFIG; the user's file and ~/.msmtprc must be owned by
 * the user and not writable by others. Errors are reported with the file
 * name and line. Returns 0, EX_CONFIG or EX_OSERR.
 */
int cli_config_load(struct cli_config *c);

void cli_config_free(struct cli_config *c);

/**
 * The account of a run: name when given (--account; unknown: EX_CONFIG,
 * reported), else the first account whose "from" is sender (the same local
 * part, the domain in any case; sender may be NULL), else the default
 * account. *account is NULL when there is none: the keys before the first
 * account apply alone. For smtpc batch, which picks an account per message.
 * Returns 0 or EX_CONFIG.
 */
int cli_config_select(const struct cli_config *c, const char *name, const char *sender,
                      const char **account);

/**
 * Sets every option of o that the command line did not give from the
 * account (NULL: none) of c: the server ($SMTPC_SERVER, else the user's
 * file, else the system's), then the other keys that belong to o->command,
 * the user's file first. The TLS and AUTH keys of a file belong to that
 * file's server: they are ignored when another server is used, and the
 * AUTH keys come whole from one file, or not at all when the command line
 * gives an AUTH option. c must outlive o. Returns 0, EX_CONFIG or EX_OSERR
 * (reported).
 */
int cli_config_use(struct cli_options *o, struct cli_config *c, const char *account);

/**
 * cli_config_load() into o->config (freed by cli_options_free()), then
 * cli_config_select() with --account and --from, then cli_config_use().
 * Returns 0, EX_CONFIG or EX_OSERR (reported).
 */
int cli_config_apply(struct cli_options *o);

/**
 * When no account was used but a file defines some, says on standard error
 * how to choose one (before the error about a missing server).
 */
void cli_config_hint_account(const struct cli_config *c);

/** "smtpc: FILE[:LINE]: msg[ 'arg']" on standard error. Returns EX_CONFIG. */
int cli_config_error(const char *path, int line, const char *msg, const char *arg);

/* ---------------------------------------------------------------- for the readers */

/** The index of key in the table of keys, or -1. */
int cli_config_key(const char *key);

/** Keeps s (malloc'd) until cli_config_free(). Returns s, or NULL (s freed; out of memory). */
char *cli_config_keep(struct cli_config *c, char *s);

/** A new section at the end of f, a copy of *from (NULL: empty). Returns it, or NULL (memory). */
struct cli_config_section *cli_config_new_section(struct cli_config_file *f,
                                                  const struct cli_config_section *from);

/** 1 when name can name an account: 1 to 64 printable ASCII characters, no blank, ':' or ','. */
int cli_config_account_name_ok(const char *name);

/**
 * Reads the whole file (at most max bytes, no NUL byte) into *text
 * (malloc'd, NUL-terminated) and its status into *st. Returns 0 or an
 * errno value (EFBIG: too large, EINVAL: a NUL byte).
 */
int cli_config_read_file(const char *path, size_t max, char **text, struct stat *st);

#endif /* SMTPC_CLI_CONFIG_H */
