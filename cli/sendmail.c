/*
 * sendmail.c - smtpc invoked as "sendmail" (a symlink): the command line of
 * /usr/sbin/sendmail for programs that pipe mail into it,
 *
 *   sendmail [-t] [-i] [-v] [-f|-r SENDER] [-F FULLNAME] [-N DSN] [-R RET] [-B TYPE]
 *            [-bm] [-oi] [-oem] [-oep] [-odi] [-odb] [--] [RECIPIENT...]
 *
 * with the server from $SMTPC_SERVER or a configuration file ($SMTPC_CONFIG,
 * else /etc/smtpc.conf) of "key value" lines, each a long option of smtpc
 * send. The message is copied to a temporary file first when it comes from
 * a pipe (the connection never waits on a slow writer), then sent with
 * smtpc_send_message() (Bcc removed; Date, Message-ID and From added when
 * missing, send.c); quiet on success (docs/CLI.md).
 */
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

#define DEFAULT_CONFIG "/etc/smtpc.conf"
#define CONFIG_MAX     (64 * 1024)

/* The keys of the configuration file: long options of smtpc send that take a value,
 * "domain" (config.h), "tls-verify" (yes, or no: --insecure) and "syslog" (yes: --syslog,
 * or no). */
/* clang-format off */
static const char *const CONFIG_KEYS[] = {
    "server",      "from",   "helo",          "timeout",      "starttls",
    "ca-file",     "ca-dir", "cert",          "key",          "tls-name",
    "fingerprint", "user",   "password-file", "password-cmd", "auth",
    "domain",      "tls-verify", "timeout-final", "source-ip", "log", "syslog",
    "dkim-key",    "dkim-selector", "dkim-domain",
};
/* clang-format on */
#define NKEYS (sizeof(CONFIG_KEYS) / sizeof(CONFIG_KEYS[0]))
_Static_assert(NKEYS <= CLI_CONFIG_MAX_KEYS, "struct cli_config holds CLI_CONFIG_MAX_KEYS");

struct sendmail_args {
	int read_recipients;
	int verbose;           /* -v: the transcript on standard error (--debug) */
	const char *from;      /* -f or -r */
	const char *full_name; /* -F */
	const char *notify;    /* -N: --dsn-notify */
	const char *ret;       /* -R: --dsn-ret */
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
	      "                [-B TYPE] [-bm] [-oi] [-oem] [-oep] [-odi] [-odb] [--] "
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

int cli_config_error(const struct cli_config *c, int line, const char *msg, const char *arg)
{
	fputs("smtpc: ", stderr);
	cli_put_str(stderr, c->path);
	if (line > 0)
		fprintf(stderr, ":%d", line);
	fprintf(stderr, ": %s", msg);
	if (arg) {
		fputs(" '", stderr);
		cli_put_str(stderr, arg);
		putc('\'', stderr);
	}
	putc('\n', stderr);
	return EX_CONFIG;
}

/* Reads the whole file (at most CONFIG_MAX bytes). Returns 0, or an errno value. */
static int read_file(const char *path, char **text)
{
	size_t len = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), err = 0;

	*text = NULL;
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		return err;
	}
	*text = malloc(CONFIG_MAX + 1);
	if (*text == NULL) {
		close(fd);
		return ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, *text + len, CONFIG_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX) {
			err = EFBIG;
			break;
		}
	}
	close(fd);
	if (err == 0 && memchr(*text, '\0', len) != NULL)
		err = EINVAL;
	if (err == 0)
		(*text)[len] = '\0';
	return err;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One "key value" line (comments and blank lines already skipped). */
static int config_line(struct cli_config *c, char *line, int lineno)
{
	char *key = line, *value = line, *end;
	size_t k;

	while (*value && !is_blank(*value))
		value++;
	if (*value)
		*value++ = '\0';
	while (is_blank(*value))
		value++;
	end = value + strlen(value);
	while (end > value && is_blank(end[-1]))
		*--end = '\0';
	for (k = 0; k < NKEYS; k++) {
		if (strcmp(key, CONFIG_KEYS[k]) == 0)
			break;
	}
	if (k == NKEYS)
		return cli_config_error(c, lineno, "unknown key", key);
	if (c->value[k] != NULL)
		return cli_config_error(c, lineno, "key given twice:", key);
	if (*value == '\0' && strcmp(key, "from") != 0)
		return cli_config_error(c, lineno, "no value for", key);
	c->value[k] = value;
	c->line[k] = lineno;
	return 0;
}

int cli_config_load(struct cli_config *c)
{
	const char *env = getenv("SMTPC_CONFIG");
	char *p, *next;
	int err, lineno = 0;

	c->path = env && *env ? env : DEFAULT_CONFIG;
	err = read_file(c->path, &c->text);
	if (err == ENOENT && !(env && *env))
		return 0; /* no /etc/smtpc.conf: fine; a missing $SMTPC_CONFIG is not */
	if (err == ENOMEM) {
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	if (err != 0)
		return cli_config_error(c, 0,
		                        err == EFBIG    ? "larger than 64 KiB"
		                        : err == EINVAL ? "holds a NUL byte"
		                                        : strerror(err),
		                        NULL);
	for (p = c->text; p != NULL && *p; p = next) {
		int ex;

		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		while (is_blank(*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		ex = config_line(c, p, lineno);
		if (ex != 0)
			return ex;
	}
	return 0;
}

const char *cli_config_get(const struct cli_config *c, const char *key, int *line)
{
	for (size_t k = 0; k < NKEYS; k++) {
		if (strcmp(key, CONFIG_KEYS[k]) == 0) {
			*line = c->line[k];
			return c->value[k];
		}
	}
	*line = 0;
	return NULL;
}

void cli_config_free(struct cli_config *c)
{
	if (c == NULL)
		return;
	free(c->text);
	memset(c, 0, sizeof(*c));
}

/* The keys that belong to the configured server: its TLS settings and credentials. */
static const char *const SERVER_KEYS[] = {
    "starttls",    "ca-file", "ca-dir",        "cert",         "key",  "tls-name",
    "fingerprint", "user",    "password-file", "password-cmd", "auth",
};
static const char *const AUTH_KEYS[] = {"user", "password-file", "password-cmd", "auth"};

static int in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (strcmp(key, list[k]) == 0)
			return 1;
	}
	return 0;
}

/* A domain name: dot-separated labels of letters, digits and hyphens (RFC 5321 4.1.2). */
static int domain_ok(const char *d)
{
	size_t label = 0, len = strlen(d);

	if (len == 0 || len > 253)
		return 0;
	for (const char *p = d;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return 0;
			if (*p == '\0')
				return 1;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)))
			return 0;
		label++;
	}
}

int cli_config_apply(struct cli_options *o)
{
	const char *env = getenv("SMTPC_SERVER"), *configured;
	struct cli_config *c = calloc(1, sizeof(*c));
	int line, ex, same_server,
	    auth_given = cli_wants_auth(o) || o->password_file != NULL || o->password_env != NULL ||
	                 o->password_cmd != NULL;

	if (c == NULL) {
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	o->config = c;
	ex = cli_config_load(c);
	if (ex != 0)
		return ex;
	configured = cli_config_get(c, "server", &line);
	if (!cli_option_given(o, "server"))
		o->server = env != NULL && *env != '\0' ? env : configured;
	same_server = configured == NULL || (o->server && strcmp(o->server, configured) == 0);
	for (size_t k = 0; k < NKEYS; k++) {
		const char *key = CONFIG_KEYS[k], *value = c->value[k];

		if (value == NULL || strcmp(key, "server") == 0)
			continue;
		if (strcmp(key, "domain") == 0) {
			if (!domain_ok(value))
				return cli_config_error(c, c->line[k], "invalid domain", value);
			o->domain = value;
			continue;
		}
		if (strcmp(key, "tls-verify") == 0) { /* "no" is --insecure, "yes" the default */
			if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
				return cli_config_error(c, c->line[k], "invalid value for", key);
			if (strcmp(value, "no") == 0 && same_server &&
			    !cli_option_given(o, "insecure") &&
			    cli_option_set(o, "insecure", NULL) != 0)
				return cli_config_error(c, c->line[k], "invalid value for", key);
			continue;
		}
		if (strcmp(key, "syslog") == 0) { /* yes: --syslog, no: the default */
			if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
				return cli_config_error(c, c->line[k], "invalid value for", key);
			if (strcmp(value, "yes") == 0 && cli_option_for_command(o, key) &&
			    !cli_option_given(o, key) && cli_option_set(o, key, NULL) != 0)
				return cli_config_error(c, c->line[k], "invalid value for", key);
			continue;
		}
		if (!cli_option_for_command(o, key) || cli_option_given(o, key))
			continue;
		if (!same_server &&
		    in_list(key, SERVER_KEYS, sizeof(SERVER_KEYS) / sizeof(*SERVER_KEYS)))
			continue; /* never another server's credentials or pins */
		if (auth_given && in_list(key, AUTH_KEYS, sizeof(AUTH_KEYS) / sizeof(*AUTH_KEYS)))
			continue; /* the command line's credentials, whole */
		if (cli_option_set(o, key, value) != 0)
			return cli_config_error(c, c->line[k], "invalid value for", key);
	}
	return 0;
}

/* The options of smtpc send from the flags, the environment and the configuration. */
static int build_options(struct cli_options *o, const struct sendmail_args *a, int argc,
                         char **argv)
{
	const char *env = getenv("SMTPC_SERVER");
	int i, line = 0, ex;

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
	ex = cli_config_apply(o);
	if (ex != 0)
		return ex;
	if (o->server == NULL) {
		fputs("smtpc: no server configured: set SMTPC_SERVER (smtp://host:port) or "
		      "'server URL' in ",
		      stderr);
		cli_put_str(stderr, o->config->path);
		fputs(" (or the file named by SMTPC_CONFIG)\n", stderr);
		return EX_CONFIG;
	}
	if (env == NULL || *env == '\0')
		cli_config_get(o->config, "server", &line);
	for (i = a->first_rcpt; i < argc; i++) {
		ex = cli_option_set(o, "to", argv[i]);
		if (ex != 0)
			return ex;
	}
	if (o->nto == 0 && !o->read_recipients)
		return usage("no recipients: give them as arguments, or -t to read them from the "
		             "headers",
		             NULL);
	ex = cli_options_check(o);
	if (ex == EX_USAGE) {
		if (line > 0)
			return cli_config_error(o->config, line,
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
