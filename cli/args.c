/*
 * args.c - the command line of smtpc, parsed by hand: long options with
 * "--name value" or "--name=value", no abbreviations, options and operands
 * in any order, "--" ends the options.
 */
#include "args.h"

#include "config.h"
#include "exitcodes.h"
#include "identity.h"
#include "text.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum opt_id {
	OPT_SERVER,
	OPT_FROM,
	OPT_TO,
	OPT_HELO,
	OPT_TIMEOUT,
	OPT_TIMEOUT_FINAL,
	OPT_DEBUG,
	OPT_JSON,
	OPT_HELP,
	OPT_VERSION,
	OPT_STARTTLS,
	OPT_CA_FILE,
	OPT_CA_DIR,
	OPT_CERT,
	OPT_KEY,
	OPT_TLS_NAME,
	OPT_FINGERPRINT,
	OPT_INSECURE,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_PASSWORD_ENV,
	OPT_PASSWORD_CMD,
	OPT_OAUTH_TOKEN_CMD,
	OPT_AUTH,
	OPT_ALLOW_PLAINTEXT_AUTH,
	OPT_READ_RECIPIENTS,
	OPT_DSN_NOTIFY,
	OPT_DSN_RET,
	OPT_ENVID,
	OPT_8BIT,
	OPT_NO_PIPELINING,
	OPT_NO_CHUNKING,
	OPT_PROGRESS,
	OPT_SOURCE_IP,
	OPT_LOG,
	OPT_SYSLOG,
	OPT_ACCOUNT,
	OPT_DKIM_KEY,
	OPT_DKIM_SELECTOR,
	OPT_DKIM_DOMAIN,
	OPT_DKIM_HEADERS,
	OPT_DKIM_ALGORITHM,
	OPT_DKIM_CANON,
	/* composing (compose.c) */
	OPT_SUBJECT,
	OPT_TEXT,
	OPT_HTML,
	OPT_ATTACH,
	OPT_HEADER,
};

#define FOR_SEND  1u
#define FOR_PROBE 2u
#define FOR_ALL   (FOR_SEND | FOR_PROBE)

struct opt_spec {
	const char *name;
	char short_name; /* 0: none */
	enum opt_id id;
	int has_value;
	unsigned commands; /* FOR_* */
};

static const struct opt_spec OPTIONS[] = {
    {"server", 0, OPT_SERVER, 1, FOR_ALL},
    {"from", 'f', OPT_FROM, 1, FOR_SEND},
    {"to", 0, OPT_TO, 1, FOR_SEND},
    {"helo", 0, OPT_HELO, 1, FOR_ALL},
    {"timeout", 0, OPT_TIMEOUT, 1, FOR_ALL},
    {"timeout-final", 0, OPT_TIMEOUT_FINAL, 1, FOR_SEND},
    {"debug", 0, OPT_DEBUG, 0, FOR_ALL},
    {"json", 0, OPT_JSON, 0, FOR_ALL},
    {"help", 'h', OPT_HELP, 0, FOR_ALL},
    {"version", 'V', OPT_VERSION, 0, FOR_ALL},
    {"starttls", 0, OPT_STARTTLS, 1, FOR_ALL},
    {"ca-file", 0, OPT_CA_FILE, 1, FOR_ALL},
    {"ca-dir", 0, OPT_CA_DIR, 1, FOR_ALL},
    {"cert", 0, OPT_CERT, 1, FOR_ALL},
    {"key", 0, OPT_KEY, 1, FOR_ALL},
    {"tls-name", 0, OPT_TLS_NAME, 1, FOR_ALL},
    {"fingerprint", 0, OPT_FINGERPRINT, 1, FOR_ALL},
    {"insecure", 0, OPT_INSECURE, 0, FOR_ALL},
    {"user", 0, OPT_USER, 1, FOR_ALL},
    {"password-file", 0, OPT_PASSWORD_FILE, 1, FOR_ALL},
    {"password-env", 0, OPT_PASSWORD_ENV, 1, FOR_ALL},
    {"password-cmd", 0, OPT_PASSWORD_CMD, 1, FOR_ALL},
    {"oauth-token-cmd", 0, OPT_OAUTH_TOKEN_CMD, 1, FOR_ALL},
    {"auth", 0, OPT_AUTH, 1, FOR_ALL},
    {"allow-plaintext-auth", 0, OPT_ALLOW_PLAINTEXT_AUTH, 0, FOR_ALL},
    {"read-recipients", 't', OPT_READ_RECIPIENTS, 0, FOR_SEND},
    {"dsn-notify", 0, OPT_DSN_NOTIFY, 1, FOR_SEND},
    {"dsn-ret", 0, OPT_DSN_RET, 1, FOR_SEND},
    {"envid", 0, OPT_ENVID, 1, FOR_SEND},
    {"8bit", 0, OPT_8BIT, 1, FOR_SEND},
    {"no-pipelining", 0, OPT_NO_PIPELINING, 0, FOR_SEND},
    {"no-chunking", 0, OPT_NO_CHUNKING, 0, FOR_SEND},
    {"progress", 0, OPT_PROGRESS, 0, FOR_SEND},
    {"source-ip", 0, OPT_SOURCE_IP, 1, FOR_ALL},
    {"log", 0, OPT_LOG, 1, FOR_SEND},
    {"syslog", 0, OPT_SYSLOG, 0, FOR_SEND},
    {"account", 0, OPT_ACCOUNT, 1, FOR_ALL},
    {"dkim-key", 0, OPT_DKIM_KEY, 1, FOR_SEND},
    {"dkim-selector", 0, OPT_DKIM_SELECTOR, 1, FOR_SEND},
    {"dkim-domain", 0, OPT_DKIM_DOMAIN, 1, FOR_SEND},
    {"dkim-headers", 0, OPT_DKIM_HEADERS, 1, FOR_SEND},
    {"dkim-algorithm", 0, OPT_DKIM_ALGORITHM, 1, FOR_SEND},
    {"dkim-canon", 0, OPT_DKIM_CANON, 1, FOR_SEND},
    {"subject", 0, OPT_SUBJECT, 1, FOR_SEND},
    {"text", 0, OPT_TEXT, 1, FOR_SEND},
    {"html", 0, OPT_HTML, 1, FOR_SEND},
    {"attach", 0, OPT_ATTACH, 1, FOR_SEND},
    {"header", 0, OPT_HEADER, 1, FOR_SEND},
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char NO_PASSWORD_ON_ARGV[] =
    "passwords are never taken on the command line (visible to ps): use --password-file, "
    "--password-env or --password-cmd";
#define NOPTIONS (sizeof(OPTIONS) / sizeof(OPTIONS[0]))
_Static_assert(sizeof(OPTIONS) / sizeof(OPTIONS[0]) <= 64, "cli_options.given has 64 bits");

struct parser {
	struct cli_options *o; /* o->given: bit (1 << index in OPTIONS) of every option given */
	const char *timeout;   /* the --timeout text, to refuse a second one */
	const char *eight_bit; /* the --8bit text, likewise */
	int argc;
	char **argv;
	int i; /* the argument being parsed */
};

void cli_print_synopsis(FILE *f)
{
	fputs("usage: smtpc send --server URL --from ADDR --to ADDR[,ADDR...]... [--helo NAME]\n"
	      "                  [--timeout SEC] [DSN and transfer options] [TLS options]\n"
	      "                  [AUTH options] [DKIM options] [--progress] [--debug] [--json]\n"
	      "                  [FILE]\n"
	      "       smtpc send --server URL -t [--from ADDR] [--to ADDR]... [...] [FILE]\n"
	      "       smtpc send --server URL --from ADDR --to ADDR... [--subject TEXT]\n"
	      "                  [--text FILE|-] [--html FILE] [--attach FILE[;type=T]\n"
	      "                  [;name=N]]... [--header 'Name: value']... [...]\n"
	      "       smtpc probe --server URL [--helo NAME] [--timeout SEC] [TLS options]\n"
	      "                  [AUTH options] [--debug] [--json]\n"
	      "       smtpc --help | --version\n",
	      f);
}

void cli_print_help(FILE *f)
{
	fputs("smtpc - send a message by SMTP or LMTP, or probe a server.\n\n", f);
	cli_print_synopsis(f);
	fputs(
	    "\n"
	    "commands:\n"
	    "  send             send the message in FILE (or standard input; \"-\" too)\n"
	    "  probe            connect, greet with EHLO (LHLO), list the extensions (before and\n"
	    "                   after STARTTLS), authenticate when asked to, QUIT\n"
	    "\n"
	    "options:\n"
	    "  --server URL     smtp://host[:port] (port 25), smtps://host[:port] (implicit TLS,\n"
	    "                   port 465), lmtp://host[:port] (port 2003), lmtp:/socket/path or\n"
	    "                   lmtp:///socket/path; IPv6: smtp://[::1]:2525\n"
	    "  --account NAME   the settings of account NAME of the configuration (default: the\n"
	    "                   account whose from is --from, else the default account)\n"
	    "  -f, --from ADDR  envelope sender (required for send without -t; --from ''\n"
	    "                   sends <>)\n"
	    "  --to ADDR        envelope recipient; repeat it or give a comma-separated list\n"
	    "  -t, --read-recipients\n"
	    "                   the envelope from the headers: recipients from To, Cc, Bcc\n"
	    "                   (or the Resent- block), sender from Sender or From unless\n"
	    "                   --from; Bcc removed; --to replaces the header recipients\n"
	    "  --helo NAME      name sent with EHLO/HELO/LHLO (default: this host's name)\n"
	    "  --timeout SEC    timeout of each step in seconds, fractions allowed (default 60)\n"
	    "  --source-ip ADDR bind this local address (IPv4 or IPv6) before connecting\n"
	    "  --timeout-final SEC\n"
	    "                   timeout of the reply to the end of data (default: --timeout)\n"
	    "  --debug          write the SMTP transcript to standard error (AUTH redacted)\n"
	    "  --json           write one JSON object to standard output instead of text\n"
	    "  --log FILE       append one line per message to FILE (send)\n"
	    "  --syslog         log each message with syslog(3), facility mail (send)\n"
	    "  --progress       a progress bar on standard error (a terminal) for messages\n"
	    "                   over 1 MiB\n"
	    "  -h, --help       this help\n"
	    "  -V, --version    the version\n"
	    "\n",
	    f);
	fputs(
	    "DSN and transfer options:\n"
	    "  --dsn-notify WHEN  never, or a comma-separated list of success, failure, delay\n"
	    "  --dsn-ret full|hdrs  what a bounce returns\n"
	    "  --envid ID       envelope identifier returned in notifications\n"
	    "                   (a DSN option needs the server's DSN extension; with explicit\n"
	    "                   recipients each RCPT also carries ORCPT)\n"
	    "  --8bit send|refuse  an 8-bit message for a server without 8BITMIME: send it\n"
	    "                   anyway, or refuse it before anything is delivered (default)\n"
	    "  --no-pipelining  one command at a time even when PIPELINING is offered\n"
	    "  --no-chunking    DATA even when CHUNKING (BDAT) is offered\n"
	    "\n"
	    "DKIM options (sign the message, RFC 6376; docs/DKIM.md):\n"
	    "  --dkim-key F     PEM private key, RSA (1024 to 4096 bits) or Ed25519; refused\n"
	    "                   when its group or others have access to it (chmod 600)\n"
	    "  --dkim-selector S  --dkim-domain D   the s= and d= of the signature\n"
	    "  --dkim-headers LIST  fields to sign, ':'-separated, From among them (default:\n"
	    "                   the usual ones present, From over-signed)\n"
	    "  --dkim-algorithm rsa-sha256|ed25519-sha256  (default: the key's)\n"
	    "  --dkim-canon H/B  relaxed or simple for the header and the body\n"
	    "                   (default relaxed/relaxed)\n"
	    "composing (the message is built instead of read from FILE; From and To\n"
	    "come from --from and --to; see docs/COMPOSE.md):\n"
	    "  --subject TEXT   the subject (UTF-8)\n"
	    "  --text FILE      the text body (UTF-8; \"-\": standard input)\n"
	    "  --html FILE      an HTML body (an alternative to the text)\n"
	    "  --attach FILE[;type=T][;name=N]\n"
	    "                   attach FILE (repeatable); type guessed from the name\n"
	    "  --header 'Name: value'  another header field (repeatable)\n"
	    "\n"
	    "TLS options (certificates and names are verified by default):\n"
	    "  --starttls required|opportunistic|never\n"
	    "                   STARTTLS policy; default: required with credentials,\n"
	    "                   opportunistic for smtp://, never for lmtp and smtps://\n"
	    "  --ca-file F      trust the CA certificates in PEM file F (not the system store)\n"
	    "  --ca-dir D       trust the hashed CA directory D (not the system store)\n"
	    "  --cert F         client certificate chain (PEM); --key F its key (default: in F)\n"
	    "  --tls-name NAME  verify the certificate for NAME (and send it as SNI)\n"
	    "  --fingerprint H  pin the server certificate: SHA-256 of its DER form, 64 hex\n"
	    "                   digits, colons allowed\n"
	    "  --insecure       do not verify the certificate (a warning on every run)\n"
	    "\n"
	    "AUTH options (credentials only over verified TLS or a Unix socket):\n"
	    "  --user NAME      authenticate as NAME, with the password from exactly one of:\n"
	    "  --password-file F    the first line of file F\n"
	    "  --password-env VAR   environment variable VAR\n"
	    "  --password-cmd CMD   the first line CMD prints (run with /bin/sh -c)\n"
	    "                   or, without them, a prompt on the terminal. Never on the command\n"
	    "                   line: there is no --password option.\n"
	    "  --oauth-token-cmd CMD  run CMD for an OAuth 2.0 access token at each AUTH\n"
	    "                   (XOAUTH2 by default)\n"
	    "  --auth MECH      use this mechanism: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1,\n"
	    "                   SCRAM-SHA-256, XOAUTH2, OAUTHBEARER, EXTERNAL (default: the\n"
	    "                   strongest that both sides offer)\n"
	    "  --allow-plaintext-auth  allow credentials without verified TLS\n"
	    "\n"
	    "exit status: 0 every recipient accepted, 64 usage, 65 bad address,\n"
	    "  66 cannot read the message, 68 unknown host, 69 permanent failure (5xx, TLS),\n"
	    "  70 internal error, 71 out of memory, 75 temporary failure (4xx, network),\n"
	    "  76 protocol error, 77 authentication refused, 78 bad configuration (password\n"
	    "  source, certificate file), 79 outcome unknown (connection lost after the message).\n"
	    "What the command line does not give comes from SMTPC_SERVER (the server) and\n"
	    "the configuration file ($SMTPC_CONFIG, else /etc/smtpc.conf when it exists).\n"
	    "Invoked as 'sendmail' (a symlink), smtpc takes sendmail(8)'s command line.\n"
	    "See docs/CLI.md.\n",
	    f);
}

/* "smtpc: <msg>[ '<user>']" and the synopsis: the command line is wrong. */
static int usage_error(const char *msg, const char *user)
{
	fprintf(stderr, "smtpc: %s", msg);
	if (user) {
		fputs(" '", stderr);
		cli_put_str(stderr, user);
		putc('\'', stderr);
	}
	putc('\n', stderr);
	cli_print_synopsis(stderr);
	return EX_USAGE;
}

/* usage_error() with the first len bytes of user. */
static int usage_error_n(const char *msg, const char *user, size_t len)
{
	char *copy = strndup(user, len);
	int rc;

	if (copy == NULL) {
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	rc = usage_error(msg, copy);
	free(copy);
	return rc;
}

/* "smtpc: <msg> '<user>': <why>": one line, an option's value is wrong. */
static int value_error(const char *msg, const char *user, const char *why)
{
	fprintf(stderr, "smtpc: %s '", msg);
	cli_put_str(stderr, user);
	fprintf(stderr, "': %s\n", why);
	return EX_USAGE;
}

static int out_of_memory(void)
{
	fputs("smtpc: out of memory\n", stderr);
	return EX_OSERR;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

int cli_parse_timeout(const char *text, int *ms)
{
	long long seconds = 0, frac_ms = 0, total;
	int digits = 0, frac_digits = 0, round_up = 0;
	const char *p = text;

	for (; is_digit((unsigned char)*p); p++, digits++) {
		seconds = seconds * 10 + (*p - '0');
		if (seconds > INT_MAX / 1000 + 1)
			return -1;
	}
	if (*p == '.') {
		for (p++; is_digit((unsigned char)*p); p++, digits++) {
			if (frac_digits < 3) {
				frac_ms = frac_ms * 10 + (*p - '0');
				frac_digits++;
			} else if (*p != '0') {
				round_up = 1; /* below a millisecond: round up */
			}
		}
	}
	if (*p != '\0' || digits == 0)
		return -1;
	for (; frac_digits < 3; frac_digits++)
		frac_ms *= 10;
	total = seconds * 1000 + frac_ms + round_up;
	if (total <= 0 || total > INT_MAX)
		return -1;
	*ms = (int)total;
	return 0;
}

static int push_recipient(struct cli_options *o, const char *p, size_t len)
{
	char **to;
	char *addr;

	if (o->nto >= SIZE_MAX / sizeof(*o->to) - 1)
		return out_of_memory();
	addr = strndup(p, len);
	if (addr == NULL)
		return out_of_memory();
	to = realloc(o->to, (o->nto + 1) * sizeof(*o->to));
	if (to == NULL) {
		free(addr);
		return out_of_memory();
	}
	o->to = to;
	o->to[o->nto++] = addr;
	return 0;
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* One --to value: a comma-separated list; blanks around each address are dropped. */
static int add_recipients(struct cli_options *o, const char *list)
{
	const char *p = list;

	for (;;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		int rc;

		while (p < end && is_blank((unsigned char)*p))
			p++;
		while (end > p && is_blank((unsigned char)end[-1]))
			end--;
		if (p == end)
			return value_error("invalid --to", list, "empty address");
		rc = push_recipient(o, p, (size_t)(end - p));
		if (rc != 0)
			return rc;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* A repeatable option (--attach, --header): its values in the order given, not empty. */
static int push_value(const char ***list, size_t *n, const char *value, const char *name)
{
	const char **grown;

	if (*value == '\0') {
		fprintf(stderr, "smtpc: --%s needs a non-empty value\n", name);
		return EX_USAGE;
	}
	grown = realloc(*list, (*n + 1) * sizeof(**list));
	if (grown == NULL)
		return out_of_memory();
	grown[(*n)++] = value;
	*list = grown;
	return 0;
}

int cli_composes(const struct cli_options *o)
{
	return o->subject != NULL || o->text_file != NULL || o->html_file != NULL ||
	       o->nattach > 0 || o->nheaders > 0;
}

int cli_attaches(const struct cli_options *o)
{
	return o->nattach > 0 && (o->file != NULL || o->read_recipients) && o->subject == NULL &&
	       o->text_file == NULL && o->html_file == NULL && o->nheaders == 0 && !o->sendmail;
}

static int set_once(const char **slot, const char *value, const char *name)
{
	if (*slot != NULL) {
		fprintf(stderr, "smtpc: --%s given more than once\n", name);
		return EX_USAGE;
	}
	*slot = value;
	return 0;
}

/*
 * The library's spelling of a mechanism name given in any case (it lists what smtpc_auth()
 * implements: no copy here), with what it needs; NULL when it has no such mechanism.
 */
static const char *canonical_mech(const char *name, smtpc_sasl_needs *needs)
{
	const char *known;

	for (size_t k = 0; name != NULL && (known = smtpc_sasl_mechanism(k, needs)) != NULL; k++)
		if (strcasecmp(name, known) == 0)
			return known;
	return NULL;
}

/* "invalid --auth 'X': expected one of ..." with the library's names. */
static int unknown_mech(const char *value)
{
	char why[256] = "expected one of";
	size_t len = strlen(why);
	const char *name;

	for (size_t k = 0; (name = smtpc_sasl_mechanism(k, NULL)) != NULL && len < sizeof(why); k++)
		len += (size_t)snprintf(why + len, sizeof(why) - len, " %s", name);
	return value_error("invalid --auth", value, why);
}

int cli_mech_uses_password(const char *mech)
{
	smtpc_sasl_needs needs;

	return canonical_mech(mech, &needs) != NULL && needs == SMTPC_SASL_NEEDS_PASSWORD;
}

int cli_mech_uses_token(const char *mech)
{
	smtpc_sasl_needs needs;

	return canonical_mech(mech, &needs) != NULL && needs == SMTPC_SASL_NEEDS_TOKEN;
}

int cli_wants_auth(const struct cli_options *o)
{
	return o->user != NULL || o->oauth_token_cmd != NULL || o->auth_mech != NULL;
}

static int is_hex_digit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 64 hex digits, colons anywhere between pairs (as openssl prints them). */
static int fingerprint_ok(const char *p)
{
	size_t digits = 0;

	for (; *p; p++) {
		if (*p == ':')
			continue;
		if (!is_hex_digit((unsigned char)p[0]) || !is_hex_digit((unsigned char)p[1]))
			return 0;
		digits += 2;
		p++;
	}
	return digits == 64;
}

static int parse_starttls(struct cli_options *o, const char *value)
{
	if (o->starttls_given) {
		fputs("smtpc: --starttls given more than once\n", stderr);
		return EX_USAGE;
	}
	o->starttls_given = 1;
	if (strcmp(value, "required") == 0)
		o->starttls = SMTPC_STARTTLS_REQUIRED;
	else if (strcmp(value, "opportunistic") == 0)
		o->starttls = SMTPC_STARTTLS_OPPORTUNISTIC;
	else if (strcmp(value, "never") == 0)
		o->starttls = SMTPC_STARTTLS_NEVER;
	else
		return value_error("invalid --starttls", value,
		                   "expected required, opportunistic or never");
	return 0;
}

/* A file name, command or name option: given once, not empty. */
static int set_nonempty(const char **slot, const char *value, const char *name)
{
	if (*value == '\0') {
		fprintf(stderr, "smtpc: --%s needs a non-empty value\n", name);
		return EX_USAGE;
	}
	return set_once(slot, value, name);
}

/* --dsn-notify: "never", or a comma-separated list of success, failure, delay (any case). */
static int parse_dsn_notify(struct cli_options *o, const char *value)
{
	static const struct {
		const char *name;
		unsigned bit;
	} WORDS[] = {{"never", SMTPC_DSN_NEVER},
	             {"success", SMTPC_DSN_SUCCESS},
	             {"failure", SMTPC_DSN_FAILURE},
	             {"delay", SMTPC_DSN_DELAY}};
	const char *p = value;
	unsigned bits = 0;

	if (o->dsn_notify != 0) {
		fputs("smtpc: --dsn-notify given more than once\n", stderr);
		return EX_USAGE;
	}
	for (;;) {
		size_t len = strcspn(p, ","), k;

		for (k = 0; k < NELEMS(WORDS); k++) {
			if (strlen(WORDS[k].name) == len && strncasecmp(p, WORDS[k].name, len) == 0)
				break;
		}
		if (k == NELEMS(WORDS))
			return value_error("invalid --dsn-notify", value,
			                   "expected never, or a comma-separated list of success, "
			                   "failure and delay");
		bits |= WORDS[k].bit;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if ((bits & SMTPC_DSN_NEVER) && bits != SMTPC_DSN_NEVER)
		return value_error("invalid --dsn-notify", value,
		                   "never excludes success, failure and delay (RFC 3461)");
	o->dsn_notify = bits;
	return 0;
}

/* --envid: printable ASCII, at most 100 characters (RFC 3461 4.4); the library encodes it. */
static int parse_envid(struct cli_options *o, const char *value)
{
	size_t len = strlen(value), i;

	if (len == 0 || len > 100)
		return value_error("invalid --envid", value, "expected 1 to 100 characters");
	for (i = 0; i < len; i++) {
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
			return value_error("invalid --envid", value,
			                   "only printable ASCII characters are allowed");
	}
	return set_once(&o->envid, value, "envid");
}

static int parse_dsn_ret(struct cli_options *o, const char *value)
{
	if (o->dsn_ret != SMTPC_DSN_RET_DEFAULT) {
		fputs("smtpc: --dsn-ret given more than once\n", stderr);
		return EX_USAGE;
	}
	if (strcasecmp(value, "full") == 0)
		o->dsn_ret = SMTPC_DSN_RET_FULL;
	else if (strcasecmp(value, "hdrs") == 0)
		o->dsn_ret = SMTPC_DSN_RET_HDRS;
	else
		return value_error("invalid --dsn-ret", value, "expected full or hdrs");
	return 0;
}

static int parse_8bit(struct parser *ps, const char *value)
{
	if (ps->eight_bit != NULL) {
		fputs("smtpc: --8bit given more than once\n", stderr);
		return EX_USAGE;
	}
	ps->eight_bit = value;
	if (strcmp(value, "send") == 0)
		ps->o->eight_bit = SMTPC_8BIT_SEND;
	else if (strcmp(value, "refuse") == 0)
		ps->o->eight_bit = SMTPC_8BIT_REFUSE;
	else
		return value_error("invalid --8bit", value, "expected send or refuse");
	return 0;
}

/* --source-ip: a numeric IPv4 or IPv6 address (a name would be resolved, possibly to an
 * address of another family than the server's). */
static int parse_source_ip(struct cli_options *o, const char *value)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, value, buf) != 1 && inet_pton(AF_INET6, value, buf) != 1)
		return value_error("invalid --source-ip", value,
		                   "expected a numeric IPv4 or IPv6 address");
	return set_once(&o->source_ip, value, "source-ip");
}

static int apply_option(struct parser *ps, const struct opt_spec *spec, const char *value)
{
	struct cli_options *o = ps->o;

	o->given |= UINT64_C(1) << (spec - OPTIONS);
	switch (spec->id) {
	case OPT_SERVER:
		return set_once(&o->server, value, spec->name);
	case OPT_FROM:
		return set_once(&o->from, value, spec->name);
	case OPT_TO:
		return add_recipients(o, value);
	case OPT_HELO:
		if (*value == '\0')
			return value_error("invalid --helo", value, "empty name");
		return set_once(&o->helo, value, spec->name);
	case OPT_TIMEOUT:
		if (set_once(&ps->timeout, value, spec->name) != 0)
			return EX_USAGE;
		if (cli_parse_timeout(value, &o->timeout_ms) != 0)
			return value_error(
			    "invalid --timeout", value,
			    "expected a positive number of seconds (at most 2147483)");
		return 0;
	case OPT_TIMEOUT_FINAL:
		if (o->timeout_final_ms != 0) {
			fprintf(stderr, "smtpc: --%s given more than once\n", spec->name);
			return EX_USAGE;
		}
		if (cli_parse_timeout(value, &o->timeout_final_ms) != 0)
			return value_error(
			    "invalid --timeout-final", value,
			    "expected a positive number of seconds (at most 2147483)");
		return 0;
	case OPT_DEBUG:
		o->debug = 1;
		return 0;
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_HELP:
		o->command = CLI_HELP;
		return 0;
	case OPT_VERSION:
		o->command = CLI_VERSION;
		return 0;
	case OPT_STARTTLS:
		return parse_starttls(o, value);
	case OPT_CA_FILE:
		return set_nonempty(&o->ca_file, value, spec->name);
	case OPT_CA_DIR:
		return set_nonempty(&o->ca_dir, value, spec->name);
	case OPT_CERT:
		return set_nonempty(&o->cert, value, spec->name);
	case OPT_KEY:
		return set_nonempty(&o->key, value, spec->name);
	case OPT_TLS_NAME:
		return set_nonempty(&o->tls_name, value, spec->name);
	case OPT_FINGERPRINT:
		if (!fingerprint_ok(value))
			return value_error(
			    "invalid --fingerprint", value,
			    "expected the SHA-256 of the certificate: 64 hex digits, "
			    "colons allowed");
		return set_once(&o->fingerprint, value, spec->name);
	case OPT_INSECURE:
		o->insecure = 1;
		return 0;
	case OPT_USER:
		return set_nonempty(&o->user, value, spec->name);
	case OPT_PASSWORD_FILE:
		return set_nonempty(&o->password_file, value, spec->name);
	case OPT_PASSWORD_ENV:
		return set_nonempty(&o->password_env, value, spec->name);
	case OPT_PASSWORD_CMD:
		return set_nonempty(&o->password_cmd, value, spec->name);
	case OPT_OAUTH_TOKEN_CMD:
		return set_nonempty(&o->oauth_token_cmd, value, spec->name);
	case OPT_AUTH:
		if (o->auth_mech != NULL)
			return set_once(&o->auth_mech, value, spec->name);
		o->auth_mech = canonical_mech(value, NULL);
		if (o->auth_mech == NULL)
			return unknown_mech(value);
		return 0;
	case OPT_ALLOW_PLAINTEXT_AUTH:
		o->allow_plaintext_auth = 1;
		return 0;
	case OPT_READ_RECIPIENTS:
		o->read_recipients = 1;
		return 0;
	case OPT_DSN_NOTIFY:
		return parse_dsn_notify(o, value);
	case OPT_DSN_RET:
		return parse_dsn_ret(o, value);
	case OPT_ENVID:
		return parse_envid(o, value);
	case OPT_8BIT:
		return parse_8bit(ps, value);
	case OPT_NO_PIPELINING:
		o->no_pipelining = 1;
		return 0;
	case OPT_NO_CHUNKING:
		o->no_chunking = 1;
		return 0;
	case OPT_PROGRESS:
		o->progress = 1;
		return 0;
	case OPT_SOURCE_IP:
		return parse_source_ip(o, value);
	case OPT_LOG:
		return set_nonempty(&o->log_file, value, spec->name);
	case OPT_SYSLOG:
		o->syslog = 1;
		return 0;
	case OPT_ACCOUNT:
		return set_nonempty(&o->account, value, spec->name);
	/* DKIM: the values are checked together when signing (dkim.c). */
	case OPT_DKIM_KEY:
		return set_nonempty(&o->dkim_key, value, spec->name);
	case OPT_DKIM_SELECTOR:
		return set_nonempty(&o->dkim_selector, value, spec->name);
	case OPT_DKIM_DOMAIN:
		return set_nonempty(&o->dkim_domain, value, spec->name);
	case OPT_DKIM_HEADERS:
		return set_nonempty(&o->dkim_headers, value, spec->name);
	case OPT_DKIM_ALGORITHM:
		return set_nonempty(&o->dkim_algorithm, value, spec->name);
	case OPT_DKIM_CANON:
		return set_nonempty(&o->dkim_canon, value, spec->name);
	case OPT_SUBJECT:
		return set_once(&o->subject, value, spec->name);
	case OPT_TEXT:
		return set_nonempty(&o->text_file, value, spec->name);
	case OPT_HTML:
		return set_nonempty(&o->html_file, value, spec->name);
	case OPT_ATTACH:
		return push_value(&o->attach, &o->nattach, value, spec->name);
	case OPT_HEADER:
		return push_value(&o->headers, &o->nheaders, value, spec->name);
	default:
		return usage_error("internal error: unhandled option", spec->name);
	}
}

static const struct opt_spec *find_long(const char *name, size_t len)
{
	size_t k;

	for (k = 0; k < NOPTIONS; k++) {
		if (strlen(OPTIONS[k].name) == len && strncmp(OPTIONS[k].name, name, len) == 0)
			return &OPTIONS[k];
	}
	return NULL;
}

static const struct opt_spec *find_short(const char *arg)
{
	size_t k;

	if (arg[1] == '\0' || arg[2] != '\0')
		return NULL;
	for (k = 0; k < NOPTIONS; k++) {
		if (OPTIONS[k].short_name != 0 && OPTIONS[k].short_name == arg[1])
			return &OPTIONS[k];
	}
	return NULL;
}

/* argv[ps->i] starts with "-"; it may take the next argument as its value. */
static int parse_option(struct parser *ps)
{
	const char *arg = ps->argv[ps->i];
	const char *name = arg + 2, *eq = NULL, *value = NULL;
	const struct opt_spec *spec;

	size_t namelen;

	if (arg[1] == '-') {
		eq = strchr(name, '=');
		namelen = eq ? (size_t)(eq - name) : strlen(name);
		if (namelen == strlen("password") && strncmp(name, "password", namelen) == 0) {
			fprintf(stderr, "smtpc: %s\n", NO_PASSWORD_ON_ARGV);
			return EX_USAGE;
		}
		spec = find_long(name, namelen);
	} else {
		namelen = strlen(name);
		spec = find_short(arg);
	}
	if (spec == NULL) /* without the "=value": it may be a secret given by mistake */
		return usage_error_n("unknown option", arg, (size_t)(name - arg) + namelen);
	if (!spec->has_value && eq)
		return usage_error("this option takes no value:", arg);
	if (spec->has_value && eq) {
		value = eq + 1;
	} else if (spec->has_value) {
		if (ps->i + 1 >= ps->argc)
			return usage_error("this option needs a value:", arg);
		value = ps->argv[++ps->i];
	}
	return apply_option(ps, spec, value);
}

static int parse_operand(struct parser *ps, const char *arg)
{
	struct cli_options *o = ps->o;

	if (o->command == CLI_NONE) {
		if (strcmp(arg, "send") == 0)
			o->command = CLI_SEND;
		else if (strcmp(arg, "probe") == 0)
			o->command = CLI_PROBE;
		else
			return usage_error("unknown command", arg);
		return 0;
	}
	if (o->command == CLI_SEND && o->file == NULL) {
		o->file = arg;
		return 0;
	}
	return usage_error("unexpected argument", arg);
}

/* Every option given must belong to the command. */
static int check_options(const struct parser *ps)
{
	unsigned mask = ps->o->command == CLI_SEND ? FOR_SEND : FOR_PROBE;
	size_t k;

	for (k = 0; k < NOPTIONS; k++) {
		if ((ps->o->given & (UINT64_C(1) << k)) && !(OPTIONS[k].commands & mask)) {
			fprintf(stderr, "smtpc: --%s is not an option of '%s'\n", OPTIONS[k].name,
			        ps->o->command == CLI_SEND ? "send" : "probe");
			cli_print_synopsis(stderr);
			return EX_USAGE;
		}
	}
	return 0;
}

/* A one-line usage error about how options combine (no synopsis). */
static int combination_error(const char *msg)
{
	fprintf(stderr, "smtpc: %s\n", msg);
	return EX_USAGE;
}

/* Credentials: one password source at most, each with what it needs. */
static int check_auth(const struct cli_options *o)
{
	int sources =
	    (o->password_file != NULL) + (o->password_env != NULL) + (o->password_cmd != NULL);
	const char *mech = o->auth_mech;

	if (sources > 1)
		return combination_error("give one password source only: --password-file, "
		                         "--password-env or --password-cmd");
	if (sources > 0 && o->user == NULL)
		return combination_error("a password source needs --user NAME");
	if (sources > 0 && o->oauth_token_cmd != NULL)
		return combination_error("--oauth-token-cmd and a password source exclude each "
		                         "other");
	if (mech == NULL && o->oauth_token_cmd != NULL)
		mech = "XOAUTH2"; /* the default with a token (auth.c) */
	if (o->oauth_token_cmd != NULL && !cli_mech_uses_token(mech))
		return combination_error("--oauth-token-cmd goes with --auth XOAUTH2 or --auth "
		                         "OAUTHBEARER");
	if (cli_mech_uses_token(mech) && o->oauth_token_cmd == NULL)
		return combination_error(
		    "--auth XOAUTH2 and OAUTHBEARER need --oauth-token-cmd CMD");
	if (strcmp(mech ? mech : "", "XOAUTH2") == 0 && o->user == NULL)
		return combination_error(
		    "XOAUTH2 (the default with --oauth-token-cmd) needs --user "
		    "NAME; OAUTHBEARER (--auth OAUTHBEARER) does not");
	if (mech != NULL && strcmp(mech, "EXTERNAL") == 0 && sources > 0)
		return combination_error("--auth EXTERNAL takes no password (the identity is the "
		                         "client certificate; --user is the authorization "
		                         "identity)");
	if ((mech == NULL || cli_mech_uses_password(mech)) && cli_wants_auth(o) && o->user == NULL)
		return combination_error("--auth with a password mechanism needs --user NAME");
	return 0;
}

/*
 * TLS: the STARTTLS policy in force, and the combinations that would send
 * credentials where they can be read (docs/RULES.md A1, T5).
 */
static int check_tls(struct cli_options *o)
{
	int creds = cli_wants_auth(o);
	int local = o->url.is_unix;

	if (o->key != NULL && o->cert == NULL)
		return combination_error("--key needs --cert (the client certificate)");
	if (o->url.implicit_tls && o->starttls_given)
		return combination_error("--starttls does not go with smtps://, which is TLS from "
		                         "the first byte");
	if (!o->starttls_given) {
		if (o->url.implicit_tls || local)
			o->starttls = SMTPC_STARTTLS_NEVER;
		else if (creds)
			o->starttls = SMTPC_STARTTLS_REQUIRED;
		else if (o->url.proto == SMTPC_PROTO_LMTP)
			o->starttls = SMTPC_STARTTLS_NEVER;
		else
			o->starttls = SMTPC_STARTTLS_OPPORTUNISTIC;
	}
	if (!creds || local || o->allow_plaintext_auth)
		return 0;
	if (!o->url.implicit_tls && o->starttls != SMTPC_STARTTLS_REQUIRED)
		return combination_error("credentials need --starttls required (or smtps://): with "
		                         "--starttls never or opportunistic they may travel in "
		                         "clear; add --allow-plaintext-auth to allow that");
	if (o->insecure)
		return combination_error("credentials with --insecure would go to a server whose "
		                         "certificate is not checked; add --allow-plaintext-auth "
		                         "to allow that");
	return 0;
}

int cli_options_check(struct cli_options *o)
{
	const char *why = NULL;
	int rc = cli_url_parse(o->server, &o->url, &why);

	if (rc == EX_USAGE)
		return value_error("invalid --server", o->server, why);
	if (rc != 0)
		return out_of_memory();
	rc = check_auth(o);
	return rc != 0 ? rc : check_tls(o);
}

static int finish(struct parser *ps)
{
	struct cli_options *o = ps->o;
	int rc;

	if (o->command == CLI_NONE)
		return usage_error("missing command (send or probe)", NULL);
	rc = check_options(ps);
	if (rc != 0)
		return rc;
	/* What the command line does not say comes from SMTPC_SERVER and the configuration. */
	rc = cli_config_apply(o);
	if (rc != 0)
		return rc;
	if (o->server == NULL) {
		cli_config_hint_account(o->config);
		return usage_error("missing --server URL (or SMTPC_SERVER, or 'server URL' in the "
		                   "configuration file)",
		                   NULL);
	}
	/* With -t the headers give what the options do not. */
	if (o->command == CLI_SEND && o->from == NULL && !o->read_recipients)
		return usage_error("missing --from ADDR (the envelope sender; --from '' sends <>; "
		                   "or -t to take it from the headers)",
		                   NULL);
	if (o->command == CLI_SEND && o->nto == 0 && !o->read_recipients)
		return usage_error("missing --to ADDR (or -t to take the recipients from the "
		                   "headers)",
		                   NULL);
	/* A message is built or read, not both; --attach alone adds parts to the message read
	 * (docs/COMPOSE.md "Attaching to a message file"). */
	if (o->command == CLI_SEND && cli_composes(o) && !cli_attaches(o) &&
	    (o->file != NULL || o->read_recipients))
		return usage_error(
		    "--subject, --text, --html and --header build the message: they "
		    "do not go with a message FILE or -t (--attach alone does: it adds "
		    "parts to the message)",
		    NULL);
	rc = cli_options_check(o);
	return rc != 0 ? rc : cli_options_qualify(o);
}

int cli_options_qualify(struct cli_options *o)
{
	char *q;

	if (o->from != NULL && o->from_owned == NULL) {
		if (cli_qualify(o->from, o->domain, &o->from_owned) != 0)
			return EX_OSERR;
		if (o->from_owned != NULL)
			o->from = o->from_owned;
	}
	for (size_t k = 0; k < o->nto; k++) {
		if (cli_qualify(o->to[k], o->domain, &q) != 0)
			return EX_OSERR;
		if (q != NULL) {
			free(o->to[k]);
			o->to[k] = q;
		}
	}
	return 0;
}

void cli_options_init(struct cli_options *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
}

int cli_option_set(struct cli_options *o, const char *name, const char *value)
{
	struct parser ps = {o, NULL, NULL, 0, NULL, 0};
	const struct opt_spec *spec = find_long(name, strlen(name));

	if (spec == NULL || (spec->has_value && value == NULL))
		return usage_error("internal error: bad option", name);
	return apply_option(&ps, spec, spec->has_value ? value : NULL);
}

int cli_option_given(const struct cli_options *o, const char *name)
{
	const struct opt_spec *spec = find_long(name, strlen(name));

	return spec != NULL && (o->given & (UINT64_C(1) << (spec - OPTIONS))) != 0;
}

int cli_option_for_command(const struct cli_options *o, const char *name)
{
	const struct opt_spec *spec = find_long(name, strlen(name));
	unsigned mask = o->command == CLI_SEND ? FOR_SEND : o->command == CLI_PROBE ? FOR_PROBE : 0;

	return spec != NULL && (spec->commands & mask) != 0;
}

int cli_wants_dsn(const struct cli_options *o)
{
	return o->dsn_notify != 0 || o->dsn_ret != SMTPC_DSN_RET_DEFAULT || o->envid != NULL;
}

int cli_parse_args(int argc, char **argv, struct cli_options *o)
{
	struct parser ps = {o, NULL, NULL, argc, argv, 0};
	int only_operands = 0, rc = 0;

	cli_options_init(o);
	for (ps.i = 1; ps.i < argc && rc == 0; ps.i++) {
		const char *arg = argv[ps.i];

		if (!only_operands && strcmp(arg, "--") == 0)
			only_operands = 1;
		else if (!only_operands && arg[0] == '-' && arg[1] != '\0')
			rc = parse_option(&ps);
		else
			rc = parse_operand(&ps, arg);
		if (o->command == CLI_HELP || o->command == CLI_VERSION)
			return rc;
	}
	return rc != 0 ? rc : finish(&ps);
}

void cli_options_free(struct cli_options *o)
{
	size_t k;

	for (k = 0; k < o->nto; k++)
		free(o->to[k]);
	free(o->to);
	free(o->attach);
	free(o->headers);
	cli_url_free(&o->url);
	cli_config_free(o->config);
	free(o->config);
	free(o->from_owned);
	memset(o, 0, sizeof(*o));
}
