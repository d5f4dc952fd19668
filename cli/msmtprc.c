/*
 * msmtprc.c - ~/.msmtprc read into smtpc's sections (msmtprc.h).
 *
 * msmtp(1), "CONFIGURATION FILES": "command argument" lines, '#' starts a
 * comment line, an argument may be enclosed in double quotes; "defaults"
 * sets the defaults of the accounts that follow; "account NAME [: A,B]"
 * starts an account from the defaults and the keys its parents set
 * themselves; the keys before any of them form the account "default".
 * Each account is then mapped to smtpc's keys (host, port, tls and
 * tls_starttls make the server URL and the STARTTLS policy; passwordeval
 * is password-cmd ...).
 */
#include "msmtprc.h"

#include "exitcodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mkey {
	M_HOST,
	M_PORT,
	M_PROTOCOL,
	M_TLS,
	M_STARTTLS,
	M_TRUST,
	M_FINGERPRINT,
	M_CERTCHECK,
	M_CERT,
	M_KEY,
	M_HOST_OVERRIDE,
	M_AUTH,
	M_USER,
	M_PASSWORDEVAL,
	M_PASSWORD,
	M_FROM,
	M_DOMAIN,
	M_TIMEOUT,
	M_SOURCE_IP,
	M_LOGFILE,
	M_SYSLOG,
	M_DSN_NOTIFY,
	M_DSN_RETURN,
	M_ALIASES,
	M_PROXY_HOST,
	M_SOCKET,
	M_CRL,
	M_PRIORITIES,
	NMKEYS
};

/* The commands of msmtp that smtpc reads (by enum mkey); the others are ignored. */
static const char *const MKEYS[NMKEYS] = {
    "host",          "port",           "protocol",          "tls",
    "tls_starttls",  "tls_trust_file", "tls_fingerprint",   "tls_certcheck",
    "tls_cert_file", "tls_key_file",   "tls_host_override", "auth",
    "user",          "passwordeval",   "password",          "from",
    "domain",        "timeout",        "source_ip",         "logfile",
    "syslog",        "dsn_notify",     "dsn_return",        "aliases",
    "proxy_host",    "socket",         "tls_crl_file",      "tls_priorities",
};

/* The old names msmtp still accepts: command, its new name, the argument it stands for. */
static const struct {
	const char *old;
	enum mkey key;
	const char *arg; /* NULL: the line's own */
} OLD_NAMES[] = {
    {"connect_timeout", M_TIMEOUT, NULL},
    {"tls_nostarttls", M_STARTTLS, "off"},
    {"tls_nocertcheck", M_CERTCHECK, "off"},
};

/* One section as msmtp has it, before the mapping. */
struct raw {
	const char *name; /* NULL: defaults */
	int line;
	const char *value[NMKEYS];
	int vline[NMKEYS];
	unsigned set; /* the keys of its own lines: what a child account inherits (msmtp) */
};
_Static_assert(NMKEYS <= 32, "struct raw.set has 32 bits");

struct parser {
	struct cli_config_file *f;
	struct raw *raw; /* [0]: defaults */
	size_t nraw;
	struct raw *cur; /* the section of the next key; NULL before the first */
};

static int out_of_memory(void)
{
	fputs("smtpc: out of memory\n", stderr);
	return EX_OSERR;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* s with blanks around it removed, in place. */
static char *trim(char *s)
{
	char *end;

	while (is_blank(*s))
		s++;
	end = s + strlen(s);
	while (end > s && is_blank(end[-1]))
		*--end = '\0';
	return s;
}

static struct raw *find_raw(struct parser *p, const char *name)
{
	for (size_t k = 1; k < p->nraw; k++) {
		if (strcmp(p->raw[k].name, name) == 0)
			return &p->raw[k];
	}
	return NULL;
}

/* A new account: the defaults, then what each parent set itself. */
static int new_account(struct parser *p, const char *name, char *parents, int lineno)
{
	struct raw *grown, *a;

	if (!cli_config_account_name_ok(name))
		return cli_config_error(p->f->path, lineno, "invalid account name", name);
	if (find_raw(p, name) != NULL)
		return cli_config_error(p->f->path, lineno, "account defined twice:", name);
	grown = realloc(p->raw, (p->nraw + 1) * sizeof(*grown));
	if (grown == NULL)
		return out_of_memory();
	p->raw = grown;
	a = &p->raw[p->nraw++];
	*a = p->raw[0];
	a->name = name;
	a->line = lineno;
	a->set = 0;
	for (char *q = parents; q != NULL;) {
		char *next = strchr(q, ',');
		const struct raw *parent;

		if (next != NULL)
			*next++ = '\0';
		parent = find_raw(p, trim(q));
		if (parent == NULL)
			return cli_config_error(p->f->path, lineno,
			                        "no such account (yet):", trim(q));
		for (int k = 0; k < NMKEYS; k++) {
			if (parent->set & (1u << k)) {
				a->value[k] = parent->value[k];
				a->vline[k] = parent->vline[k];
			}
		}
		q = next;
	}
	p->cur = a;
	return 0;
}

static int command(struct parser *p, const char *cmd, char *arg, int lineno)
{
	const char *value = arg;
	int k;

	if (strcmp(cmd, "defaults") == 0) {
		p->cur = &p->raw[0];
		return 0;
	}
	if (strcmp(cmd, "account") == 0) {
		char *colon = strchr(arg, ':');

		if (colon != NULL)
			*colon++ = '\0';
		return new_account(p, trim(arg), colon, lineno);
	}
	for (size_t o = 0; o < sizeof(OLD_NAMES) / sizeof(OLD_NAMES[0]); o++) {
		if (strcmp(cmd, OLD_NAMES[o].old) == 0) {
			cmd = MKEYS[OLD_NAMES[o].key];
			if (OLD_NAMES[o].arg != NULL)
				value = OLD_NAMES[o].arg;
		}
	}
	for (k = 0; k < NMKEYS && strcmp(cmd, MKEYS[k]) != 0; k++)
		;
	if (k == NMKEYS)
		return 0; /* a command smtpc has no use for (auto_from, keepbcc ...) */
	if (p->cur == NULL) {
		/* msmtp: the commands before any account or defaults are the account "default" */
		int ex = new_account(p, "default", NULL, lineno);

		if (ex != 0)
			return ex;
	}
	p->cur->value[k] = value;
	p->cur->vline[k] = lineno;
	p->cur->set |= 1u << k;
	return 0;
}

static int parse_lines(struct parser *p)
{
	char *line, *next;
	int lineno = 0;

	for (line = p->f->text; line != NULL && *line; line = next) {
		char *cmd, *arg;
		size_t len;
		int ex;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		cmd = trim(line);
		if (*cmd == '\0' || *cmd == '#')
			continue;
		for (arg = cmd; *arg && !is_blank(*arg); arg++)
			;
		if (*arg)
			*arg++ = '\0';
		arg = trim(arg);
		len = strlen(arg);
		if (len >= 2 && arg[0] == '"' && arg[len - 1] == '"') {
			arg[len - 1] = '\0';
			arg++;
		}
		ex = command(p, cmd, arg, lineno);
		if (ex != 0)
			return ex;
	}
	return 0;
}

/* ---------------------------------------------------------------- the mapping */

/* msmtp's "on": the word, or an empty argument. */
static int is_on(const char *v)
{
	return v != NULL && (*v == '\0' || strcmp(v, "on") == 0);
}

static int is_off(const char *v)
{
	return v != NULL && strcmp(v, "off") == 0;
}

static void set(struct cli_config_section *s, const char *key, const char *value, int line)
{
	int k = cli_config_key(key);

	s->value[k] = value;
	s->vline[k] = line;
}

static void refuse(struct cli_config_section *s, const char *why, int line)
{
	if (s->refusal == NULL) {
		s->refusal = why;
		s->refusal_line = line;
	}
}

static void note(struct cli_config_section *s, const char *what, int line)
{
	if (s->nnotes < CLI_CONFIG_MAX_NOTES) {
		s->note[s->nnotes] = what;
		s->note_line[s->nnotes++] = line;
	}
}

/* 1 to 65535, in decimal digits. */
static int port_ok(const char *port)
{
	long n = 0;

	if (*port == '\0' || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
		return 0;
	for (; *port; port++)
		n = n * 10 + (*port - '0');
	return n >= 1 && n <= 65535;
}

/* host, port, protocol, tls, tls_starttls: the server URL and the STARTTLS policy. */
static int map_server(struct cli_config *c, const struct raw *r, struct cli_config_section *s)
{
	const char *host = r->value[M_HOST], *port = r->value[M_PORT];
	const char *proto = r->value[M_PROTOCOL];
	int tls = is_on(r->value[M_TLS]), implicit = tls && is_off(r->value[M_STARTTLS]);
	int lmtp = proto != NULL && strcmp(proto, "lmtp") == 0, v6;
	size_t n;
	char *url;

	if (proto != NULL && !lmtp && strcmp(proto, "smtp") != 0)
		refuse(s, "protocol: expected smtp or lmtp", r->vline[M_PROTOCOL]);
	if (port != NULL && !port_ok(port))
		refuse(s, "port: expected a number from 1 to 65535", r->vline[M_PORT]);
	if (lmtp && implicit)
		refuse(s, "protocol lmtp with tls_starttls off: smtpc has no LMTP over TLS",
		       r->vline[M_STARTTLS]);
	if (host == NULL || *host == '\0')
		return 0;
	if (port == NULL)
		port = lmtp ? "24" : implicit ? "465" : "25"; /* msmtp's defaults */
	v6 = strchr(host, ':') != NULL && host[0] != '[';     /* an IPv6 address goes in brackets */
	n = strlen(host) + strlen(port) + 16;
	url = cli_config_keep(c, malloc(n));
	if (url == NULL)
		return out_of_memory();
	snprintf(url, n, "%s://%s%s%s:%s",
	         lmtp       ? "lmtp"
	         : implicit ? "smtps"
	                    : "smtp",
	         v6 ? "[" : "", host, v6 ? "]" : "", port);
	set(s, "server", url, r->vline[M_HOST]);
	/* msmtp: tls off (its default) sends in clear; tls on with STARTTLS requires it */
	if (!implicit)
		set(s, "starttls", tls ? "required" : "never",
		    r->vline[M_TLS] ? r->vline[M_TLS] : r->vline[M_HOST]);
	return 0;
}

/* Counts the hex digits of an "01:23:..." fingerprint; -1 when it holds anything else. */
static int hex_digits(const char *v)
{
	int n = 0;

	for (; *v; v++) {
		if ((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'f') ||
		    (*v >= 'A' && *v <= 'F'))
			n++;
		else if (*v != ':')
			return -1;
	}
	return n;
}

static void map_tls(const struct raw *r, struct cli_config_section *s)
{
	const char *trust = r->value[M_TRUST], *fp = r->value[M_FINGERPRINT];

	if (trust != NULL && *trust != '\0' && strcmp(trust, "system") != 0)
		set(s, "ca-file", trust, r->vline[M_TRUST]);
	if (fp != NULL && *fp != '\0') {
		int n = hex_digits(fp);

		if (n == 64)
			set(s, "fingerprint", fp, r->vline[M_FINGERPRINT]);
		else if (n == 40 || n == 32)
			refuse(
			    s,
			    "tls_fingerprint: an SHA-1 or MD5 fingerprint; smtpc pins the SHA-256 "
			    "one (openssl x509 -noout -fingerprint -sha256)",
			    r->vline[M_FINGERPRINT]);
		else
			refuse(s, "tls_fingerprint: expected the SHA-256 fingerprint, 01:23:...",
			       r->vline[M_FINGERPRINT]);
	}
	if (is_off(r->value[M_CERTCHECK]))
		refuse(s,
		       "tls_certcheck off: smtpc does not turn certificate checks off for an msmtp "
		       "account (write an smtpc configuration with tls-verify no to do so)",
		       r->vline[M_CERTCHECK]);
	if (r->value[M_CERT] != NULL && *r->value[M_CERT] != '\0')
		set(s, "cert", r->value[M_CERT], r->vline[M_CERT]);
	if (r->value[M_KEY] != NULL && *r->value[M_KEY] != '\0')
		set(s, "key", r->value[M_KEY], r->vline[M_KEY]);
	if (r->value[M_HOST_OVERRIDE] != NULL && *r->value[M_HOST_OVERRIDE] != '\0')
		set(s, "tls-name", r->value[M_HOST_OVERRIDE], r->vline[M_HOST_OVERRIDE]);
	if (r->value[M_CRL] != NULL && *r->value[M_CRL] != '\0')
		note(s, "tls_crl_file ignored: smtpc does not check revocation lists",
		     r->vline[M_CRL]);
	if (r->value[M_PRIORITIES] != NULL && *r->value[M_PRIORITIES] != '\0')
		note(s,
		     "tls_priorities ignored: smtpc uses its own TLS settings (TLS 1.2 at least)",
		     r->vline[M_PRIORITIES]);
}

/* auth, user, passwordeval: msmtp authenticates only with auth on (or a method). */
static void map_auth(const struct raw *r, struct cli_config_section *s)
{
	static const char *const METHODS[] = {"plain",       "login",         "cram-md5",
	                                      "scram-sha-1", "scram-sha-256", "external",
	                                      "xoauth2",     "oauthbearer"};
	const char *auth = r->value[M_AUTH], *mech = NULL;
	int token;

	if (auth == NULL || is_off(auth))
		return;
	if (!is_on(auth)) {
		for (size_t k = 0; k < sizeof(METHODS) / sizeof(METHODS[0]); k++) {
			if (strcmp(auth, METHODS[k]) == 0)
				mech = auth;
		}
		if (mech == NULL) {
			refuse(s, "auth: a method smtpc does not have", r->vline[M_AUTH]);
			return;
		}
		set(s, "auth", mech, r->vline[M_AUTH]);
	}
	if (r->value[M_USER] != NULL && *r->value[M_USER] != '\0')
		set(s, "user", r->value[M_USER], r->vline[M_USER]);
	token = mech != NULL && (strcmp(mech, "xoauth2") == 0 || strcmp(mech, "oauthbearer") == 0);
	if (r->value[M_PASSWORDEVAL] != NULL && *r->value[M_PASSWORDEVAL] != '\0')
		set(s, token ? "oauth-token-cmd" : "password-cmd", r->value[M_PASSWORDEVAL],
		    r->vline[M_PASSWORDEVAL]);
	if (r->value[M_PASSWORD] != NULL && *r->value[M_PASSWORD] != '\0')
		refuse(s,
		       "password: smtpc takes passwords from a command or a file only, never from "
		       "the configuration (use passwordeval)",
		       r->vline[M_PASSWORD]);
}

/* The keys of msmtp that become smtpc's key of the same meaning (empty: unset). */
static void map_plain(const struct raw *r, struct cli_config_section *s)
{
	static const struct {
		enum mkey m;
		const char *key;
	} SAME[] = {{M_FROM, "from"},
	            {M_DOMAIN, "helo"},
	            {M_SOURCE_IP, "source-ip"},
	            {M_DSN_NOTIFY, "dsn-notify"},
	            {M_ALIASES, "aliases"}};
	const char *v;

	for (size_t k = 0; k < sizeof(SAME) / sizeof(SAME[0]); k++) {
		v = r->value[SAME[k].m];
		if (v != NULL && *v != '\0' && !(SAME[k].m == M_DSN_NOTIFY && is_off(v)))
			set(s, SAME[k].key, v, r->vline[SAME[k].m]);
	}
	v = r->value[M_TIMEOUT];
	if (v != NULL && *v != '\0' && !is_off(v))
		set(s, "timeout", v, r->vline[M_TIMEOUT]);
	v = r->value[M_DSN_RETURN];
	if (v != NULL && *v != '\0' && !is_off(v))
		set(s, "dsn-ret", strcmp(v, "headers") == 0 ? "hdrs" : v, r->vline[M_DSN_RETURN]);
	v = r->value[M_LOGFILE];
	if (v != NULL && *v != '\0' && strcmp(v, "-") != 0)
		set(s, "log", v, r->vline[M_LOGFILE]);
	v = r->value[M_SYSLOG];
	if (v != NULL && !is_off(v))
		set(s, "syslog", "yes", r->vline[M_SYSLOG]);
	if (r->value[M_PROXY_HOST] != NULL && *r->value[M_PROXY_HOST] != '\0')
		refuse(s, "proxy_host: smtpc cannot connect through a SOCKS proxy",
		       r->vline[M_PROXY_HOST]);
	if (r->value[M_SOCKET] != NULL && *r->value[M_SOCKET] != '\0')
		refuse(s, "socket: smtpc speaks SMTP over TCP only (LMTP over a Unix socket)",
		       r->vline[M_SOCKET]);
}

static int map(struct cli_config *c, const struct raw *r, struct cli_config_section *s)
{
	s->name = r->name;
	s->line = r->line;
	map_tls(r, s);
	map_auth(r, s);
	map_plain(r, s);
	return map_server(c, r, s);
}

int cli_msmtprc_parse(struct cli_config *c, struct cli_config_file *f)
{
	struct parser p = {f, calloc(1, sizeof(struct raw)), 1, NULL};
	int ex;

	if (p.raw == NULL)
		return out_of_memory();
	ex = parse_lines(&p);
	for (size_t k = 0; ex == 0 && k < p.nraw; k++) {
		struct cli_config_section *s =
		    k == 0 ? &f->section[0] : cli_config_new_section(f, NULL);

		ex = s == NULL ? out_of_memory() : map(c, &p.raw[k], s);
	}
	if (ex == 0 && find_raw(&p, "default") != NULL)
		f->default_account = "default";
	free(p.raw);
	return ex;
}
