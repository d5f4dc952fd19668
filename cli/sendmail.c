/*
 * sendmail.c - smtpc invoked as "sendmail" (a symlink): the command line of
 * /usr/sbin/sendmail for programs that pipe mail into it,
 *
 *   sendmail [-t] [-i] [-v] [-f|-r SENDER] [-F FULLNAME] [-N DSN] [-R RET] [-B TYPE]
 *            [-a|--account NAME] [-bm] [-oi] [-oem] [-oep] [-odi] [-odb] [--]
 *            [RECIPIENT...]
 *
 * with the server from $SMTPC_SERVER or the configuration (config.h): its
 * account named by -a, else the one whose sender is -f, else the default
 * one; bare RECIPIENTs go through its aliases file (aliases.h). The message is copied to a
 * temporary file first when it comes from a pipe (the connection never waits on a slow writer),
 * then sent with smtpc_send_message() (Bcc removed; Date, Message-ID and From added when missing,
 * send.c); quiet on success (docs/CLI.md).
 */
#include "aliases.h"
#include "commands.h"
#include "config.h"

#include "exitcodes.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct sendmail_args {
	int read_recipients;
	int verbose;           /* -v: the transcript on standard error (--debug) */
	const char *from;      /* -f or -r */
	const char *full_name; /* -F */
	const char *notify;    /* -N: --dsn-notify */
	const char *ret;       /* -R: --dsn-ret */
	const char *account;   /* -a NAME, --account NAME: the account (msmtp's flags) */
	int first_rcpt;        /* argv index of the first recipient */
};

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "smtpc: %s", msg);
	if (arg) {
		fputs(" '", stderr);
		cli_put_str(stderr, arg);
		putc('\'', stderr);
	}
	fputs("\nusage: sendmail [-t] [-i] [-v] [-f|-r SENDER] [-F FULLNAME] [-N DSN] [-R RET]\n"
	      "                [-B TYPE] [-a NAME] [-bm] [-oi] [-oem] [-oep] [-odi] [-odb] [--] "
	      "[RECIPIENT...]\n",
	      stderr);
	return EX_USAGE;
}

/* usage() about "-<flag><value>". */
static int flag_error(const char *msg, char flag, const char *value)
{
	char text[64];

	snprintf(text, sizeof(text), "-%c%s", flag, value);
	return usage(msg, text);
}

/* The value of a flag that takes one: the rest of the cluster, or the next argument. */
static int flag_value(int argc, char **argv, int *i, const char *rest, const char **value)
{
	if (*rest != '\0') {
		*value = rest;
		return 0;
	}
	if (*i + 1 >= argc)
		return -1;
	*value = argv[++*i];
	return 0;
}

/* -o: the options of sendmail(8) that mean what smtpc always does. */
static int option_ok(const char *value)
{
	/* -oi: a lone dot does not end the message; -oem, -oep: errors reported (here on
	 * standard error and in the exit status); -odi, -odb: delivery (always now). */
	static const char *const OK[] = {"i", "em", "ep", "di", "db"};

	for (size_t k = 0; k < sizeof(OK) / sizeof(OK[0]); k++) {
		if (strcmp(value, OK[k]) == 0)
			return 1;
	}
	return 0;
}

/* The value of a flag that takes one; 0, or the exit status (reported). */
static int flag_takes(struct sendmail_args *a, char flag, const char *value)
{
	switch (flag) {
	case 'f':
	case 'r': /* -r: the old name of -f */
		if (a->from != NULL)
			return usage("-f (or -r) given more than once", NULL);
		a->from = value;
		return 0;
	case 'F':
		a->full_name = value;
		return 0;
	case 'N': /* DSN NOTIFY (RFC 3461): never, or success,failure,delay */
		a->notify = value;
		return 0;
	case 'R': /* DSN RET: full or hdrs */
		a->ret = value;
		return 0;
	case 'a': /* msmtp's -a: the account of the configuration */
		if (a->account != NULL)
			return usage("-a (or --account) given more than once", NULL);
		a->account = value;
		return 0;
	case 'B': /* the body type: the library finds it in the message itself */
		if (strcasecmp(value, "7BIT") != 0 && strcasecmp(value, "8BITMIME") != 0)
			return flag_error("unsupported body type (7BIT or 8BITMIME):", flag, value);
		return 0;
	case 'o':
		if (!option_ok(value))
			return flag_error("unsupported sendmail option", flag, value);
		return 0;
	case 'b':
		if (strcmp(value, "m") != 0)
			return flag_error("unsupported sendmail mode (only -bm, the default, is "
			                  "supported):",
			                  flag, value);
		return 0;
	default:
		return usage("unsupported sendmail option", NULL);
	}
}

static int parse_flags(int argc, char **argv, struct sendmail_args *a)
{
	int i, ex;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *p, *value;
		char flag[3] = {'-', 0, 0};

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		if (strcmp(arg, "--account") == 0 || strncmp(arg, "--account=", 10) == 0) {
			/* msmtp's long form; "--account NAME" takes the next argument */
			if (arg[9] == '\0' && i + 1 >= argc)
				return usage("this option needs a value:", arg);
			ex = flag_takes(a, 'a', arg[9] == '=' ? arg + 10 : argv[++i]);
			if (ex != 0)
				return ex;
			continue;
		}
		if (arg[1] == '-')
			return usage("unsupported sendmail option", arg);
		for (p = arg + 1; *p; p++) {
			flag[1] = *p;
			switch (*p) {
			case 't':
				a->read_recipients = 1;
				continue;
			case 'i': /* a line with a single dot does not end the message: always so */
				continue;
			case 'v':
				a->verbose = 1;
				continue;
			case 'f':
			case 'r':
			case 'F':
			case 'N':
			case 'R':
			case 'B':
			case 'o':
			case 'b':
			case 'a':
				break;
			default:
				return usage("unsupported sendmail option", flag);
			}
			if (flag_value(argc, argv, &i, p + 1, &value) != 0)
				return usage("this option needs a value:", flag);
			ex = flag_takes(a, *p, value);
			if (ex != 0)
				return ex;
			break; /* the value ended the cluster */
		}
	}
	a->first_rcpt = i;
	if (a->full_name != NULL) {
		for (const char *q = a->full_name; *q; q++) {
			if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
				return usage("-F: the full name must be printable ASCII (no "
				             "encoded words):",
				             a->full_name);
		}
	}
	return 0;
}

/* The options of smtpc send from the flags, the environment and the configuration. */
static int build_options(struct cli_options *o, const struct sendmail_args *a, int argc,
                         char **argv)
{
	int i, ex;

	cli_options_init(o);
	o->command = CLI_SEND;
	o->sendmail = 1;
	o->spool = 1;
	o->read_recipients = a->read_recipients;
	o->full_name = a->full_name;
	o->debug = a->verbose;
	if (a->from != NULL && (ex = cli_option_set(o, "from", a->from)) != 0)
		return ex;
	if (a->notify != NULL && (ex = cli_option_set(o, "dsn-notify", a->notify)) != 0)
		return ex;
	if (a->ret != NULL && (ex = cli_option_set(o, "dsn-ret", a->ret)) != 0)
		return ex;
	if (a->account != NULL && (ex = cli_option_set(o, "account", a->account)) != 0)
		return ex;
	ex = cli_config_apply(o);
	if (ex != 0)
		return ex;
	if (o->server == NULL) {
		cli_config_hint_account(o->config);
		fputs("smtpc: no server configured: set SMTPC_SERVER (smtp://host:port) or "
		      "'server URL' in ",
		      stderr);
		cli_put_str(stderr, o->config->path);
		fputs(" (or the file named by SMTPC_CONFIG)\n", stderr);
		return EX_CONFIG;
	}
	for (i = a->first_rcpt; i < argc; i++) {
		ex = cli_option_set(o, "to", argv[i]);
		if (ex != 0)
			return ex;
	}
	if (o->nto == 0 && !o->read_recipients)
		return usage("no recipients: give them as arguments, or -t to read them from the "
		             "headers",
		             NULL);
	ex = cli_aliases_expand(o);
	if (ex != 0)
		return ex;
	ex = cli_options_check(o);
	if (ex == EX_USAGE) {
		if (o->config->server_path != NULL)
			return cli_config_error(o->config->server_path, o->config->server_line,
			                        "check the server and TLS/AUTH settings", NULL);
		fputs("smtpc: check SMTPC_SERVER and the TLS/AUTH settings of ", stderr);
		cli_put_str(stderr, o->config->path);
		putc('\n', stderr);
		return EX_CONFIG;
	}
	return ex != 0 ? ex : cli_options_qualify(o);
}

int cli_sendmail(int argc, char **argv)
{
	struct sendmail_args a;
	struct cli_options o;
	int ex;

	cli_options_init(&o);
	ex = parse_flags(argc, argv, &a);
	if (ex == 0)
		ex = build_options(&o, &a, argc, argv);
	if (ex == 0)
		ex = cli_send(&o);
	cli_options_free(&o);
	return ex;
}
