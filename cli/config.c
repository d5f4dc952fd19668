/*
 * config.c - the configuration files of smtpc and their accounts (config.h):
 * which files are read, the "key value" format, the account of a run and
 * the options it sets. ~/.msmtprc is read by msmtprc.c into the same
 * sections.
 */
#include "config.h"

#include "exitcodes.h"
#include "identity.h"
#include "msmtprc.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SYSTEM_CONFIG "/etc/smtpc.conf"
#define CONFIG_MAX    (64 * 1024)

/* The keys of a section: long options of smtpc send that take a value, "domain" (config.h),
 * "tls-verify" (yes, or no: --insecure), "syslog" (yes: --syslog, or no) and "aliases" (the
 * sendmail mode's aliases file). */
/* clang-format off */
static const char *const CONFIG_KEYS[] = {
    "server",      "from",   "helo",          "timeout",      "starttls",
    "ca-file",     "ca-dir", "cert",          "key",          "tls-name",
    "fingerprint", "user",   "password-file", "password-cmd", "auth",
    "domain",      "tls-verify", "timeout-final", "source-ip", "log", "syslog",
    "oauth-token-cmd", "dsn-notify", "dsn-ret", "aliases",
    "dkim-key",    "dkim-selector", "dkim-domain",
};
/* clang-format on */
#define NKEYS (sizeof(CONFIG_KEYS) / sizeof(CONFIG_KEYS[0]))
_Static_assert(NKEYS <= CLI_CONFIG_MAX_KEYS, "struct cli_config_section holds CLI_CONFIG_MAX_KEYS");

/* The keys that belong to the server of their file: its TLS settings and credentials. */
static const char *const SERVER_KEYS[] = {
    "starttls",     "ca-file",     "ca-dir",          "cert", "key",
    "tls-name",     "fingerprint", "tls-verify",      "user", "password-file",
    "password-cmd", "auth",        "oauth-token-cmd",
};
static const char *const AUTH_KEYS[] = {"user", "password-file", "password-cmd", "auth",
                                        "oauth-token-cmd"};
/* The keys that name a file: "~/" is the home directory. */
static const char *const FILE_KEYS[] = {"ca-file",       "ca-dir", "cert",    "key",
                                        "password-file", "log",    "aliases", "dkim-key"};
#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static int out_of_memory(void)
{
	fputs("smtpc: out of memory\n", stderr);
	return EX_OSERR;
}

int cli_config_error(const char *path, int line, const char *msg, const char *arg)
{
	fputs("smtpc: ", stderr);
	cli_put_str(stderr, path);
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

int cli_config_key(const char *key)
{
	for (size_t k = 0; k < NKEYS; k++) {
		if (strcmp(key, CONFIG_KEYS[k]) == 0)
			return (int)k;
	}
	return -1;
}

static int in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (strcmp(key, list[k]) == 0)
			return 1;
	}
	return 0;
}

char *cli_config_keep(struct cli_config *c, char *s)
{
	char **grown;

	if (s == NULL)
		return NULL;
	grown = realloc(c->owned, (c->nowned + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(s);
		return NULL;
	}
	c->owned = grown;
	c->owned[c->nowned++] = s;
	return s;
}

struct cli_config_section *cli_config_new_section(struct cli_config_file *f,
                                                  const struct cli_config_section *from)
{
	struct cli_config_section copy, *grown;

	/* from may point into the array that realloc() moves */
	if (from != NULL)
		copy = *from;
	else
		memset(&copy, 0, sizeof(copy));
	grown = realloc(f->section, (f->nsections + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	f->section = grown;
	grown += f->nsections++;
	*grown = copy;
	grown->set_here = 0;
	return grown;
}

int cli_config_account_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64)
		return 0;
	for (; *name; name++) {
		if (*name <= ' ' || *name > '~' || *name == ':' || *name == ',')
			return 0;
	}
	return 1;
}

int cli_config_read_file(const char *path, size_t max, char **text, struct stat *st)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), err = 0;

	*text = NULL;
	if (fd < 0)
		return errno;
	if (fstat(fd, st) != 0 || S_ISDIR(st->st_mode)) {
		err = S_ISDIR(st->st_mode) ? EISDIR : errno;
		close(fd);
		return err;
	}
	*text = malloc(max + 1);
	if (*text == NULL) {
		close(fd);
		return ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, *text + len, max + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
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

/* ---------------------------------------------------------------- the smtpc format */

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The section of account name in f, or NULL. */
static const struct cli_config_section *find_account(const struct cli_config_file *f,
                                                     const char *name)
{
	for (size_t k = 1; k < f->nsections; k++) {
		if (strcmp(f->section[k].name, name) == 0)
			return &f->section[k];
	}
	return NULL;
}

/* "account NAME [: PARENT[,PARENT...]]": a copy of the defaults, then of each parent. */
static int account_line(struct cli_config_file *f, char *value, int lineno)
{
	char *colon = strchr(value, ':'), *name = value, *end;
	struct cli_config_section *s;

	if (colon != NULL)
		*colon = '\0';
	end = name + strlen(name);
	while (end > name && is_blank(end[-1]))
		*--end = '\0';
	if (!cli_config_account_name_ok(name))
		return cli_config_error(f->path, lineno, "invalid account name", name);
	if (find_account(f, name) != NULL)
		return cli_config_error(f->path, lineno, "account defined twice:", name);
	s = cli_config_new_section(f, &f->section[0]);
	if (s == NULL)
		return out_of_memory();
	s->name = name;
	s->line = lineno;
	for (char *p = colon ? colon + 1 : NULL; p != NULL;) {
		char *next = strchr(p, ','), *q;
		const struct cli_config_section *parent;

		if (next != NULL)
			*next++ = '\0';
		while (is_blank(*p))
			p++;
		q = p + strlen(p);
		while (q > p && is_blank(q[-1]))
			*--q = '\0';
		parent = strcmp(p, name) != 0 ? find_account(f, p) : NULL;
		if (parent == NULL)
			return cli_config_error(f->path, lineno, "no such account (yet):", p);
		for (size_t k = 0; k < NKEYS; k++) {
			if (parent->value[k] != NULL) {
				s->value[k] = parent->value[k];
				s->vline[k] = parent->vline[k];
			}
		}
		p = next;
	}
	return 0;
}

/* One "key value" line (comments and blank lines already skipped). */
static int config_line(struct cli_config_file *f, char *line, int lineno)
{
	char *key = line, *value = line, *end;
	struct cli_config_section *s = &f->section[f->nsections - 1];
	int k;

	while (*value && !is_blank(*value))
		value++;
	if (*value)
		*value++ = '\0';
	while (is_blank(*value))
		value++;
	end = value + strlen(value);
	while (end > value && is_blank(end[-1]))
		*--end = '\0';
	if (strcmp(key, "account") == 0)
		return account_line(f, value, lineno);
	if (strcmp(key, "default") == 0) {
		if (f->default_account != NULL)
			return cli_config_error(f->path, lineno, "key given twice:", key);
		if (!cli_config_account_name_ok(value))
			return cli_config_error(f->path, lineno, "invalid account name", value);
		f->default_account = value;
		f->default_line = lineno;
		return 0;
	}
	k = cli_config_key(key);
	if (k < 0)
		return cli_config_error(f->path, lineno, "unknown key", key);
	if (s->set_here & (UINT32_C(1) << k))
		return cli_config_error(f->path, lineno, "key given twice:", key);
	if (*value == '\0' && strcmp(key, "from") != 0)
		return cli_config_error(f->path, lineno, "no value for", key);
	s->value[k] = value;
	s->vline[k] = lineno;
	s->set_here |= UINT32_C(1) << k;
	return 0;
}

static int parse_smtpc(struct cli_config_file *f)
{
	char *p, *next;
	int lineno = 0;

	for (p = f->text; p != NULL && *p; p = next) {
		int ex;

		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		while (is_blank(*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		ex = config_line(f, p, lineno);
		if (ex != 0)
			return ex;
	}
	return 0;
}

/* ---------------------------------------------------------------- the files */

enum file_kind { FILE_SYSTEM, FILE_EXPLICIT, FILE_USER, FILE_MSMTP };

/*
 * Reads and parses one file into c->file[c->nfiles]. *found is 0 when the
 * file does not exist (only an error for $SMTPC_CONFIG).
 */
static int load_file(struct cli_config *c, const char *path, enum file_kind kind, int *found)
{
	struct cli_config_file *f = &c->file[c->nfiles];
	struct stat st;
	int err;

	*found = 0;
	memset(f, 0, sizeof(*f));
	err = cli_config_read_file(path, CONFIG_MAX, &f->text, &st);
	if (err == ENOENT && kind != FILE_EXPLICIT)
		return 0;
	f->path = strdup(path);
	if (err == ENOMEM || f->path == NULL) {
		free(f->text);
		free(f->path);
		return out_of_memory();
	}
	c->nfiles++; /* freed with c from now on */
	*found = 1;
	if (err != 0)
		return cli_config_error(path, 0,
		                        err == EFBIG    ? "larger than 64 KiB"
		                        : err == EINVAL ? "holds a NUL byte"
		                                        : strerror(err),
		                        NULL);
	f->per_user = kind == FILE_USER || kind == FILE_MSMTP;
	/* The user's file names commands to run and files to send: only the user may write it. */
	if (f->per_user && st.st_uid != geteuid())
		return cli_config_error(path, 0, "refused: not owned by the user running smtpc",
		                        NULL);
	if (f->per_user && (st.st_mode & (S_IWGRP | S_IWOTH)))
		return cli_config_error(
		    path, 0, "refused: writable by group or others (chmod go-w it)", NULL);
	if (cli_config_new_section(f, NULL) == NULL)
		return out_of_memory();
	err = kind == FILE_MSMTP ? cli_msmtprc_parse(c, f) : parse_smtpc(f);
	if (err == 0 && f->default_account != NULL && find_account(f, f->default_account) == NULL)
		return cli_config_error(path, f->default_line,
		                        "no such account:", f->default_account);
	return err;
}

/* dir + "/" + rest, or NULL (memory). */
static char *path_join(const char *dir, const char *rest)
{
	size_t n = strlen(dir) + 1 + strlen(rest) + 1;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, rest);
	return p;
}

/*
 * The user's file: smtpc's own, else msmtp's (msmtp tries ~/.msmtprc first). The
 * directory is $XDG_CONFIG_HOME when it is absolute (the XDG rule), else ~/.config.
 * Returns 0, EX_CONFIG or EX_OSERR.
 */
static int load_user_file(struct cli_config *c)
{
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	char *base;
	int ex = 0, found = 0;

	if (home == NULL || home[0] != '/')
		return 0;
	base = xdg != NULL && xdg[0] == '/' ? strdup(xdg) : path_join(home, ".config");
	if (base == NULL)
		return out_of_memory();
	const struct {
		const char *dir, *name;
		enum file_kind kind;
	} tries[] = {
	    {base, "smtpc/config", FILE_USER},
	    {home, ".msmtprc", FILE_MSMTP},
	    {base, "msmtp/config", FILE_MSMTP},
	};
	for (size_t k = 0; k < NELEMS(tries) && ex == 0 && !found; k++) {
		char *path = path_join(tries[k].dir, tries[k].name);

		ex = path != NULL ? load_file(c, path, tries[k].kind, &found) : out_of_memory();
		free(path);
	}
	free(base);
	return ex;
}

int cli_config_load(struct cli_config *c)
{
	const char *env = getenv("SMTPC_CONFIG");
	int found, ex;

	memset(c, 0, sizeof(*c));
	if (env != NULL && *env != '\0') {
		ex = load_file(c, env, FILE_EXPLICIT, &found);
		c->path = c->nfiles > 0 ? c->file[0].path : env;
		return ex;
	}
	ex = load_user_file(c);
	if (ex == 0)
		ex = load_file(c, SYSTEM_CONFIG, FILE_SYSTEM, &found);
	c->path = c->nfiles > 0 ? c->file[0].path : SYSTEM_CONFIG;
	return ex;
}

void cli_config_free(struct cli_config *c)
{
	if (c == NULL)
		return;
	for (size_t k = 0; k < c->nfiles; k++) {
		free(c->file[k].path);
		free(c->file[k].text);
		free(c->file[k].section);
	}
	for (size_t k = 0; k < c->nowned; k++)
		free(c->owned[k]);
	free(c->owned);
	memset(c, 0, sizeof(*c));
}

/* ---------------------------------------------------------------- the account of a run */

/* 1 when the envelope addresses of a and b are the same: local part as it is, domain in any case.
 */
static int same_address(const char *a, const char *b)
{
	char *x = cli_envelope_address(a), *y = cli_envelope_address(b);
	const char *ax = x ? strrchr(x, '@') : NULL, *ay = y ? strrchr(y, '@') : NULL;
	int same = 0;

	if (x != NULL && y != NULL && *x != '\0') {
		if (ax == NULL || ay == NULL)
			same = ax == ay && strcmp(x, y) == 0;
		else
			same = ax - x == ay - y && strncmp(x, y, (size_t)(ax - x)) == 0 &&
			       strcasecmp(ax, ay) == 0;
	}
	free(x);
	free(y);
	return same;
}

int cli_config_select(const struct cli_config *c, const char *name, const char *sender,
                      const char **account)
{
	int from = cli_config_key("from");

	*account = NULL;
	if (name != NULL) {
		for (size_t f = 0; f < c->nfiles; f++) {
			if (find_account(&c->file[f], name) != NULL) {
				*account = name;
				return 0;
			}
		}
		if (c->nfiles == 0)
			return cli_config_error("no configuration file (~/.config/smtpc/config, "
			                        "~/.msmtprc, " SYSTEM_CONFIG ")",
			                        0, "no account", name);
		return cli_config_error(c->path, 0, "no account", name);
	}
	for (size_t f = 0; sender != NULL && f < c->nfiles; f++) {
		for (size_t k = 1; k < c->file[f].nsections; k++) {
			const struct cli_config_section *s = &c->file[f].section[k];

			if (s->value[from] != NULL && same_address(sender, s->value[from])) {
				*account = s->name;
				return 0;
			}
		}
	}
	for (size_t f = 0; f < c->nfiles; f++) {
		if (c->file[f].default_account != NULL) {
			*account = c->file[f].default_account;
			return 0;
		}
		if (find_account(&c->file[f], "default") != NULL) {
			*account = "default";
			return 0;
		}
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

/* What one file says for the run: its section, and whether its server keys apply. */
struct layer {
	const struct cli_config_file *file;
	const struct cli_config_section *section;
	int server_keys; /* its server is the one used, or it names none */
};

/* "~/..." of a file key made absolute; value itself otherwise. NULL: out of memory. */
static const char *expand_home(struct cli_config *c, const char *key, const char *value)
{
	const char *home = getenv("HOME");

	if (strncmp(value, "~/", 2) != 0 || home == NULL || home[0] != '/' ||
	    !in_list(key, FILE_KEYS, NELEMS(FILE_KEYS)))
		return value;
	return cli_config_keep(c, path_join(home, value + 2));
}

/* Sets option key from the layer's value (not the server, validated). */
static int set_key(struct cli_options *o, struct cli_config *c, const struct layer *l, size_t k)
{
	const char *key = CONFIG_KEYS[k], *value = l->section->value[k];
	const char *path = l->file->path;
	int line = l->section->vline[k];

	if (strcmp(key, "domain") == 0) {
		if (!domain_ok(value))
			return cli_config_error(path, line, "invalid domain", value);
		o->domain = value;
		return 0;
	}
	if (strcmp(key, "tls-verify") == 0 || strcmp(key, "syslog") == 0) {
		/* tls-verify no is --insecure; syslog yes is --syslog; the other value the default
		 */
		const char *option = key[0] == 't' ? "insecure" : "syslog";
		const char *on = key[0] == 't' ? "no" : "yes";

		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return cli_config_error(path, line, "invalid value for", key);
		if (strcmp(value, on) == 0 && cli_option_for_command(o, option) &&
		    !cli_option_given(o, option) && cli_option_set(o, option, NULL) != 0)
			return cli_config_error(path, line, "invalid value for", key);
		return 0;
	}
	value = expand_home(c, key, value);
	if (value == NULL)
		return out_of_memory();
	if (strcmp(key, "aliases") == 0) {
		o->aliases = value;
		return 0;
	}
	if (cli_option_set(o, key, value) != 0)
		return cli_config_error(path, line, "invalid value for", key);
	if (strcmp(key, "password-file") == 0)
		o->password_file_private = l->file->per_user;
	return 0;
}

/* Whether the command line set key (the keys that are no option: never). */
static int given(const struct cli_options *o, const char *key)
{
	if (strcmp(key, "tls-verify") == 0)
		return cli_option_given(o, "insecure");
	return cli_option_given(o, key);
}

/* Whether key is for o->command: every key of the sendmail mode and send, some of probe. */
static int for_command(const struct cli_options *o, const char *key)
{
	if (strcmp(key, "domain") == 0 || strcmp(key, "tls-verify") == 0 ||
	    strcmp(key, "syslog") == 0)
		return 1;
	if (strcmp(key, "aliases") == 0)
		return o->sendmail;
	return cli_option_for_command(o, key);
}

/* Refusal and warnings of the account in a file (msmtprc): reported when it is used. */
static int account_usable(const struct layer *l)
{
	const struct cli_config_section *s = l->section;

	for (size_t k = 0; k < s->nnotes; k++) {
		fputs("smtpc: warning: ", stderr);
		cli_put_str(stderr, l->file->path);
		fprintf(stderr, ":%d: %s\n", s->note_line[k], s->note[k]);
	}
	if (s->refusal != NULL)
		return cli_config_error(l->file->path, s->refusal_line, s->refusal, NULL);
	return 0;
}

/* The server: the command line, $SMTPC_SERVER, else the first file that names one. */
static void choose_server(struct cli_options *o, struct cli_config *c, const struct layer *layer)
{
	const char *env = getenv("SMTPC_SERVER");
	int server = cli_config_key("server");

	c->server_path = NULL;
	c->server_line = 0;
	if (cli_option_given(o, "server"))
		return;
	if (env != NULL && *env != '\0') {
		o->server = env;
		return;
	}
	for (size_t f = 0; f < c->nfiles; f++) {
		const struct cli_config_section *s = layer[f].section;

		if (s->value[server] != NULL) {
			o->server = s->value[server];
			c->server_path = layer[f].file->path;
			c->server_line = s->vline[server];
			return;
		}
	}
}

/*
 * Which file's server keys apply (its server is the one used, or it names none), and
 * the file that gives the AUTH keys: the first such file that has one; -1: none, or the
 * command line gives credentials.
 */
static int server_keys(const struct cli_options *o, const struct cli_config *c, struct layer *layer)
{
	int server = cli_config_key("server"), auth_layer = -1;

	for (size_t f = 0; f < c->nfiles; f++) {
		const char *own = layer[f].section->value[server];

		layer[f].server_keys = own == NULL || (o->server && strcmp(o->server, own) == 0);
		for (size_t k = 0; k < NELEMS(AUTH_KEYS) && auth_layer < 0 && layer[f].server_keys;
		     k++) {
			if (layer[f].section->value[cli_config_key(AUTH_KEYS[k])] != NULL)
				auth_layer = (int)f;
		}
	}
	if (cli_wants_auth(o) || o->password_file != NULL || o->password_env != NULL ||
	    o->password_cmd != NULL)
		return -1; /* the command line's credentials, whole */
	return auth_layer;
}

int cli_config_use(struct cli_options *o, struct cli_config *c, const char *account)
{
	struct layer layer[CLI_CONFIG_MAX_FILES];
	int auth_layer, ex;

	c->account = account;
	for (size_t f = 0; f < c->nfiles; f++) {
		const struct cli_config_section *s =
		    account ? find_account(&c->file[f], account) : NULL;

		layer[f].file = &c->file[f];
		layer[f].section = s ? s : &c->file[f].section[0];
		ex = account_usable(&layer[f]);
		if (ex != 0)
			return ex;
	}
	choose_server(o, c, layer);
	auth_layer = server_keys(o, c, layer);
	/* Each other key from the first file that has it, the user's first. */
	for (size_t k = 0; k < NKEYS; k++) {
		const char *key = CONFIG_KEYS[k];
		int is_auth = in_list(key, AUTH_KEYS, NELEMS(AUTH_KEYS));

		if (strcmp(key, "server") == 0 || !for_command(o, key) || given(o, key))
			continue;
		for (size_t f = 0; f < c->nfiles; f++) {
			if (layer[f].section->value[k] == NULL)
				continue;
			if (in_list(key, SERVER_KEYS, NELEMS(SERVER_KEYS)) && !layer[f].server_keys)
				continue; /* never another server's credentials or pins */
			if (is_auth && (int)f != auth_layer)
				continue;
			ex = set_key(o, c, &layer[f], k);
			if (ex != 0)
				return ex;
			break;
		}
	}
	return 0;
}

void cli_config_hint_account(const struct cli_config *c)
{
	for (size_t f = 0; c != NULL && c->account == NULL && f < c->nfiles; f++) {
		if (c->file[f].nsections > 1) {
			fputs("smtpc: hint: ", stderr);
			cli_put_str(stderr, c->file[f].path);
			fputs(" has accounts but no default one: give --account NAME, or set "
			      "'default NAME'\n",
			      stderr);
			return;
		}
	}
}

int cli_config_apply(struct cli_options *o)
{
	struct cli_config *c = calloc(1, sizeof(*c));
	const char *account;
	int ex;

	if (c == NULL)
		return out_of_memory();
	o->config = c;
	ex = cli_config_load(c);
	if (ex == 0)
		ex = cli_config_select(c, o->account, o->from, &account);
	return ex != 0 ? ex : cli_config_use(o, c, account);
}
