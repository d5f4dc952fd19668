/*
 * args.h - the command line of smtpc.
 *
 *   smtpc send [--account NAME] --server URL (--from ADDR --to ADDR[,ADDR...]... | -t [--from ADDR]
 *              [--to ADDR]...) [--helo NAME] [--timeout SEC] [DSN and transfer options]
 *              [TLS options] [AUTH options] [--progress] [--debug] [--json] [FILE]
 *   smtpc probe [--account NAME] --server URL [--helo NAME] [--timeout SEC] [TLS options]
 *              [AUTH options] [--debug] [--json]
 *   smtpc --help | --version
 *
 * TLS options: --starttls required|opportunistic|never, --ca-file F, --ca-dir D,
 * --cert F, --key F, --tls-name NAME, --fingerprint SHA256HEX, --insecure.
 * AUTH options: --user NAME with --password-file F | --password-env VAR |
 * --password-cmd CMD (or a prompt on the terminal), --oauth-token-cmd CMD,
 * --auth MECH, --allow-plaintext-auth. There is no option that takes a
 * password itself: argv is visible to every user (ps).
 *
 * Composing: --subject TEXT, --text FILE|-, --html FILE, --attach FILE[;type=T][;name=N]...,
 * --header 'Name: value'... build the message (compose.c) instead of reading FILE.
 *
 * DSN and transfer options: --dsn-notify never|success,failure,delay,
 * --dsn-ret full|hdrs, --envid ID, --8bit send|refuse, --no-pipelining,
 * --no-chunking.
 *
 * Options may come before or after the command, in any order; "--" ends
 * the options. -f is --from, -t is --read-recipients.
 */
#ifndef SMTPC_CLI_ARGS_H
#define SMTPC_CLI_ARGS_H

#include "url.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cli_config;

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
	int timeout_final_ms; /* --timeout-final (SMTPC_PHASE_FINAL), 0: as timeout_ms */
	int debug;
	int json;
	const char *file;      /* NULL or "-": standard input */
	int read_recipients;   /* -t: the envelope from the headers (smtpc_send_message) */
	int progress;          /* --progress */
	const char *source_ip; /* --source-ip: numeric address to bind, or NULL */
	const char *log_file;  /* --log FILE (log.h), or NULL */
	int syslog;            /* --syslog */

	/* DSN (RFC 3461) and transfer */
	smtpc_dsn_ret dsn_ret;
	unsigned dsn_notify; /* enum smtpc_dsn_notify bits, 0: not given */
	const char *envid;
	smtpc_8bit_policy eight_bit;
	int no_pipelining;
	int no_chunking;

	uint64_t given;            /* bit of every option set (command line, configuration) */
	const char *account;       /* --account NAME: the account of the configuration */
	struct cli_config *config; /* the configuration read (config.h), or NULL */
	const char *domain;        /* "domain" of the configuration: qualifies bare names */
	const char *aliases;       /* "aliases" of the configuration (sendmail mode), or NULL */
	char *from_owned;          /* o->from qualified with the domain */

	/* DKIM signature (--dkim-*; dkim.c), NULL: not given */
	const char *dkim_key;
	const char *dkim_selector;
	const char *dkim_domain;
	const char *dkim_headers;
	const char *dkim_algorithm;
	const char *dkim_canon;
	/* composing (compose.c): the message built instead of read from FILE */
	const char *subject;   /* --subject */
	const char *text_file; /* --text FILE ("-": standard input) */
	const char *html_file; /* --html FILE */
	const char **attach;   /* --attach FILE[;type=T][;name=N] values (malloc'd array) */
	size_t nattach;
	const char **headers; /* --header 'Name: value' values (malloc'd array) */
	size_t nheaders;

	/* sendmail mode (argv[0] is "sendmail"; sendmail.c) */
	int sendmail;          /* quiet on success, refusals on standard error */
	const char *full_name; /* -F NAME: the From: to add when the message has none */
	int spool;             /* copy a non-file standard input to a temporary file first */

	/* TLS */
	smtpc_starttls_policy starttls; /* the policy in force (defaults applied) */
	int starttls_given;             /* --starttls was on the command line */
	const char *ca_file;
	const char *ca_dir;
	const char *cert;
	const char *key;
	const char *tls_name;
	const char *fingerprint;
	int insecure;

	/* AUTH */
	const char *user;
	const char *password_file;
	int password_file_private; /* named by the user's configuration: refused unless private */
	const char *password_env;
	const char *password_cmd;
	const char *oauth_token_cmd;
	const char *auth_mech; /* canonical name (upper case), or NULL: smtpc_login() */
	int allow_plaintext_auth;
};

/** 1 when the options ask for authentication (--user, --oauth-token-cmd or --auth). */
int cli_wants_auth(const struct cli_options *o);

/** 1 when the mechanism (any case) takes a password (smtpc_sasl_mechanism() says which). */
int cli_mech_uses_password(const char *mech);

/** 1 when the mechanism takes an OAuth token: XOAUTH2, OAUTHBEARER. */
int cli_mech_uses_token(const char *mech);

/** 1 when the message is built (--subject, --text, --html, --attach, --header). */
int cli_composes(const struct cli_options *o);
/** 1 when --attach alone comes with a message FILE or -t: parts added to that message. */
int cli_attaches(const struct cli_options *o);

/** 1 when a DSN option (--dsn-notify, --dsn-ret, --envid) was given. */
int cli_wants_dsn(const struct cli_options *o);

/** Zeroes *o and sets the defaults (before cli_option_set()). */
void cli_options_init(struct cli_options *o);

/**
 * Sets the long option `name` (without "--") to value (NULL for a flag),
 * as on the command line of send; value must outlive *o. For the sendmail
 * mode's configuration. Errors are reported on standard error.
 * Returns 0, EX_USAGE or EX_OSERR.
 */
int cli_option_set(struct cli_options *o, const char *name, const char *value);

/** 1 when the long option `name` was set (on the command line or by cli_option_set()). */
int cli_option_given(const struct cli_options *o, const char *name);

/** 1 when `name` is a long option of o->command (send or probe). */
int cli_option_for_command(const struct cli_options *o, const char *name);

/**
 * The checks that follow the parsing: the server URL, the AUTH and TLS
 * combinations (defaults applied). Returns 0, EX_USAGE or EX_OSERR.
 */
int cli_options_check(struct cli_options *o);

/**
 * With a domain configured, makes a bare sender or recipient ("root")
 * root@domain (identity.h). Returns 0 or EX_OSERR.
 */
int cli_options_qualify(struct cli_options *o);

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
