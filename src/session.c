/*
 * session.c - the blocking, smtplib-like session: connection, greeting,
 * and the single-command verbs (RFC 5321 4.1.1, RFC 2033 for LMTP).
 *
 * Commands go down through the command writer (command.c) to the transport;
 * replies come up through the reply parser (reply.c). Every state change of
 * the session happens in this file or in sendmail.c.
 * Rule labels (L6, S1...) refer to docs/RULES.md.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "address.h"
#include "command.h"
#include "session.h"

/* ---------------------------------------------------------------- lifetime */

/* RFC 5321 4.5.3.2: per-command timeouts; connect and the other commands are ours. */
static const int default_timeout_ms[SMTPC_PHASE_COUNT] = {
    [SMTPC_PHASE_CONNECT] = 2 * 60 * 1000, [SMTPC_PHASE_GREETING] = 5 * 60 * 1000,
    [SMTPC_PHASE_MAIL] = 5 * 60 * 1000,    [SMTPC_PHASE_RCPT] = 5 * 60 * 1000,
    [SMTPC_PHASE_DATA] = 2 * 60 * 1000,    [SMTPC_PHASE_BLOCK] = 3 * 60 * 1000,
    [SMTPC_PHASE_FINAL] = 10 * 60 * 1000,  [SMTPC_PHASE_COMMAND] = 5 * 60 * 1000,
};

SMTPC_API smtpc *smtpc_new(void)
{
	smtpc *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->rp = malloc(sizeof(*s->rp));
	if (s->rp == NULL) {
		free(s);
		return NULL;
	}
	smtpc__rp_reset(s->rp);
	s->proto = SMTPC_PROTO_SMTP;
	memcpy(s->timeout_ms, default_timeout_ms, sizeof(s->timeout_ms));
	s->tls.verify = 1;
	s->auth_ir = 1;
	s->idle_check_ms = 10000;
	smtpc__tr_init(&s->tr);
	smtpc__caps_init(&s->caps);
	smtpc__err_clear(s);
	return s;
}

static void forget_greeting(smtpc *s)
{
	free(s->helo_resp);
	free(s->ehlo_resp);
	s->helo_resp = s->ehlo_resp = NULL;
	s->does_esmtp = 0;
	smtpc__caps_clear(&s->caps);
	memset(&s->offer, 0, sizeof(s->offer));
}

SMTPC_API void smtpc_free(smtpc *s)
{
	if (s == NULL)
		return;
	smtpc_close(s);
	smtpc__tr_free(&s->tr);
	forget_greeting(s);
	smtpc__lmtp_clear(s);
	smtpc__free_reply(&s->data_cmd_reply);
	smtpc__free_reply(&s->kept);
	smtpc__tls_config_free(&s->tls);
	smtpc__err_clear(s);
	free(s->local_hostname);
	free(s->src_host);
	free(s->rp);
	free(s);
}

/* ---------------------------------------------------------------- options */

SMTPC_API int smtpc_set_protocol(smtpc *s, smtpc_protocol proto)
{
	smtpc__err_clear(s);
	if (proto != SMTPC_PROTO_SMTP && proto != SMTPC_PROTO_LMTP)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "unknown protocol %d", (int)proto);
	s->proto = proto;
	return 0;
}

static int valid_phase(smtpc_phase phase)
{
	return (int)phase >= 0 && (int)phase < SMTPC_PHASE_COUNT;
}

SMTPC_API int smtpc_set_phase_timeout(smtpc *s, smtpc_phase phase, int timeout_ms)
{
	smtpc__err_clear(s);
	if (!valid_phase(phase))
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "unknown phase %d", (int)phase);
	if (timeout_ms == 0 || timeout_ms < -1)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
		                      "timeout must be positive, or -1 for none");
	s->timeout_ms[phase] = timeout_ms;
	return 0;
}

SMTPC_API int smtpc_get_phase_timeout(const smtpc *s, smtpc_phase phase, int *timeout_ms)
{
	if (!valid_phase(phase) || timeout_ms == NULL)
		return SMTPC_EINVAL;
	*timeout_ms = s->timeout_ms[phase];
	return 0;
}

SMTPC_API int smtpc_set_timeout(smtpc *s, int timeout_ms)
{
	smtpc__err_clear(s);
	if (timeout_ms == 0 || timeout_ms < -1)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
		                      "timeout must be positive, or -1 for none");
	for (int i = 0; i < SMTPC_PHASE_COUNT; i++)
		s->timeout_ms[i] = timeout_ms;
	return 0;
}

static int set_string(smtpc *s, char **dst, const char *value, const char *what)
{
	char *copy = NULL;

	if (value != NULL) {
		size_t len = strlen(value);

		if (len == 0 || len > 255 || smtpc__arg_check(value, len, 0) != 0 ||
		    strchr(value, ' ') != NULL)
			return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
			                      "%s must be 1 to 255 printable ASCII characters "
			                      "without blanks",
			                      what);
		copy = strdup(value);
		if (copy == NULL)
			return smtpc__err_set(s, SMTPC_ENOMEM, "", NULL, "out of memory");
	}
	free(*dst);
	*dst = copy;
	return 0;
}

SMTPC_API int smtpc_set_local_hostname(smtpc *s, const char *name)
{
	smtpc__err_clear(s);
	return set_string(s, &s->local_hostname, name, "local host name");
}

SMTPC_API int smtpc_set_idle_check(smtpc *s, int idle_ms)
{
	smtpc__err_clear(s);
	if (idle_ms < -1)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "idle check must be >= 0, or -1");
	s->idle_check_ms = idle_ms;
	return 0;
}

SMTPC_API const char *smtpc_local_hostname(smtpc *s)
{
	return s->local_hostname ? s->local_hostname : s->computed_hostname;
}

SMTPC_API int smtpc_set_source_address(smtpc *s, const char *host, int port)
{
	smtpc__err_clear(s);
	if (port < 0 || port > 65535)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "source port out of range");
	if (set_string(s, &s->src_host, host, "source address") != 0)
		return s->err.kind;
	s->src_port = port;
	return 0;
}

SMTPC_API void smtpc_set_debuglevel(smtpc *s, int level, smtpc_debug_fn fn, void *user)
{
	s->debuglevel = level < 0 ? 0 : level;
	s->debug_fn = fn;
	s->debug_user = user;
}

/* Any change of TLS settings drops the context built from the old ones. */
static void tls_changed(smtpc *s)
{
	smtpc__tls_ctx_reset(&s->tls);
}

SMTPC_API int smtpc_set_implicit_tls(smtpc *s, int on)
{
	smtpc__err_clear(s);
	s->implicit_tls = on != 0;
	return 0;
}

SMTPC_API int smtpc_set_starttls(smtpc *s, smtpc_starttls_policy policy)
{
	smtpc__err_clear(s);
	if (policy != SMTPC_STARTTLS_NEVER && policy != SMTPC_STARTTLS_OPPORTUNISTIC &&
	    policy != SMTPC_STARTTLS_REQUIRED)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "unknown STARTTLS policy");
	s->starttls_policy = policy;
	return 0;
}

SMTPC_API int smtpc_set_auth_expected(smtpc *s, int on)
{
	smtpc__err_clear(s);
	s->auth_expected = on != 0;
	return 0;
}

SMTPC_API int smtpc_set_tls_verify(smtpc *s, int verify)
{
	smtpc__err_clear(s);
	s->tls.verify = verify != 0;
	return 0;
}

/* A path or name option: any bytes but controls, NULL clears it. */
static int set_path(smtpc *s, char **dst, const char *value)
{
	char *copy = NULL;

	smtpc__err_clear(s);
	if (value != NULL) {
		if (value[0] == '\0' || smtpc__arg_check(value, strlen(value), 1) != 0)
			return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
			                      "empty, or a control character in a TLS setting");
		copy = strdup(value);
		if (copy == NULL)
			return smtpc__err_set(s, SMTPC_ENOMEM, "", NULL, "out of memory");
	}
	free(*dst);
	*dst = copy;
	tls_changed(s);
	return 0;
}

SMTPC_API int smtpc_set_ca_file(smtpc *s, const char *path)
{
	return set_path(s, &s->tls.ca_file, path);
}

SMTPC_API int smtpc_set_ca_dir(smtpc *s, const char *path)
{
	return set_path(s, &s->tls.ca_dir, path);
}

SMTPC_API int smtpc_set_client_cert(smtpc *s, const char *cert_file, const char *key_file)
{
	int rc = set_path(s, &s->tls.cert_file, cert_file);

	return rc != 0 ? rc : set_path(s, &s->tls.key_file, key_file);
}

SMTPC_API int smtpc_set_tls_name(smtpc *s, const char *name)
{
	return set_path(s, &s->tls.name, name);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

SMTPC_API int smtpc_set_tls_pin(smtpc *s, const char *sha256_hex)
{
	unsigned char pin[32];
	size_t n = 0;

	smtpc__err_clear(s);
	if (sha256_hex == NULL) {
		s->tls.has_pin = 0;
		return 0;
	}
	for (const char *p = sha256_hex; *p != '\0'; p++) {
		int hi, lo;

		if (*p == ':')
			continue;
		hi = hexval(p[0]);
		lo = hi < 0 ? -1 : hexval(p[1]);
		if (lo < 0 || n == sizeof(pin))
			return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
			                      "a pin is 64 hex digits (SHA-256), colons allowed");
		pin[n++] = (unsigned char)(hi << 4 | lo);
		p++;
	}
	if (n != sizeof(pin))
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
		                      "a pin is 64 hex digits (SHA-256), colons allowed");
	memcpy(s->tls.pin, pin, sizeof(pin));
	s->tls.has_pin = 1;
	return 0;
}

SMTPC_API int smtpc_set_auth_plaintext(smtpc *s, int allow)
{
	smtpc__err_clear(s);
	s->auth_plaintext = allow != 0;
	return 0;
}

SMTPC_API int smtpc_set_auth_initial_response(smtpc *s, int ok)
{
	smtpc__err_clear(s);
	s->auth_ir = ok != 0;
	return 0;
}

/* ---------------------------------------------------------------- connection */

/* Parses a decimal port 1-65535 from [p, p+len); -1 when it is not one. */
static int parse_port(const char *p, size_t len)
{
	int port = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		port = port * 10 + (p[i] - '0');
	}
	return port >= 1 && port <= 65535 ? port : -1;
}

/*
 * Splits the host argument of smtpc_connect(): "name", "name:port",
 * "[v6]", "[v6]:port", "v6" (two colons or more). The address goes to
 * buf; *port is updated when the string carries one.
 */
static int split_host(smtpc *s, const char *host, char *buf, size_t size, int *port)
{
	const char *colon = strchr(host, ':');
	const char *addr = host, *rest = NULL;
	size_t alen = strlen(host);

	if (host[0] == '[') {
		const char *close = strchr(host, ']');

		if (close == NULL)
			return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "missing ']' in host");
		addr = host + 1;
		alen = (size_t)(close - addr);
		if (alen > 5 && strncasecmp(addr, "IPv6:", 5) == 0) {
			addr += 5;
			alen -= 5;
		}
		rest = close + 1;
		if (*rest != '\0' && *rest != ':')
			return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "junk after ']' in host");
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		alen = (size_t)(colon - host);
		rest = colon;
	}
	if (rest != NULL && *rest == ':') {
		int p = parse_port(rest + 1, strlen(rest + 1));

		if (p < 0)
			return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "bad port in host \"%s\"",
			                      host);
		if (*port != 0 && *port != p)
			return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
			                      "two different ports given for \"%s\"", host);
		*port = p;
	}
	if (alen == 0 || alen >= size)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "bad host \"%s\"", host);
	memcpy(buf, addr, alen);
	buf[alen] = '\0';
	return 0;
}

/* RFC 5321 4.1.4: the fully qualified name, else an address literal. */
static void compute_hostname(smtpc *s)
{
	char name[256];
	struct addrinfo hints = {0}, *res = NULL;

	if (s->local_hostname != NULL)
		return;
	s->computed_hostname[0] = '\0';
	if (gethostname(name, sizeof(name)) == 0) {
		name[sizeof(name) - 1] = '\0';
		if (strchr(name, '.') != NULL && smtpc__arg_check(name, strlen(name), 0) == 0) {
			memcpy(s->computed_hostname, name, strlen(name) + 1);
			return;
		}
		hints.ai_flags = AI_CANONNAME;
		if (getaddrinfo(name, NULL, &hints, &res) == 0) {
			const char *canon = res->ai_canonname;

			if (canon != NULL && strchr(canon, '.') != NULL && strlen(canon) < 256 &&
			    smtpc__arg_check(canon, strlen(canon), 0) == 0)
				memcpy(s->computed_hostname, canon, strlen(canon) + 1);
			freeaddrinfo(res);
			if (s->computed_hostname[0] != '\0')
				return;
		}
	}
	if (smtpc__tr_local_literal(&s->tr, s->computed_hostname, sizeof(s->computed_hostname)) !=
	    0)
		memcpy(s->computed_hostname, "[127.0.0.1]", sizeof("[127.0.0.1]"));
}

/* The TLS handshake on the open connection; closes it on failure (never plaintext after).
 * optional: a certificate that does not verify still encrypts (opportunistic STARTTLS). */
static int start_tls(smtpc *s, const char *verb, int optional, int64_t deadline)
{
	const char *name = s->tls.name ? s->tls.name : s->peer;
	char why[300] = "";
	int rc = smtpc__tr_start_tls(&s->tr, &s->tls, name, optional, deadline, why, sizeof(why));

	if (rc != 0) {
		smtpc_close(s);
		return smtpc__err_set(s, rc, verb, NULL, "%s", why);
	}
	if (s->tr.verified)
		smtpc__debugf(s, "tls: %s, certificate verified", s->tr.tls_info);
	else if (s->tls.verify)
		smtpc__debugf(s,
		              "tls: %s, encrypted, certificate NOT verified (%s; opportunistic "
		              "STARTTLS without credentials: no AUTH on this connection)",
		              s->tr.tls_info, why);
	else
		smtpc__debugf(s,
		              "tls: %s, certificate NOT verified (verification is off: insecure)",
		              s->tr.tls_info);
	return 0;
}

SMTPC_API int smtpc_connect(smtpc *s, const char *host, int port, smtpc_reply *greeting)
{
	char addr[256];
	int64_t deadline = smtpc__phase_deadline(s, SMTPC_PHASE_CONNECT);
	smtpc_reply r = {0};
	int rc;

	smtpc__err_clear(s);
	if (host == NULL || host[0] == '\0')
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "no host given");
	if (port < 0 || port > 65535)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "port %d out of range", port);
	if (smtpc__arg_check(host, strlen(host), 0) != 0)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "control character in host");
	smtpc_close(s);
	forget_greeting(s);
	smtpc__lmtp_clear(s);
	s->utf8 = 0;
	s->rcpt_accepted = 0;
	s->auth_mech[0] = '\0';

	s->peer[0] = '\0';
	s->is_unix = host[0] == '/';
	if (s->is_unix) {
		smtpc__debugf(s, "connect: to %s", host);
		rc = smtpc__tr_connect_unix(&s->tr, host, deadline);
		memcpy(s->peer, "localhost", sizeof("localhost"));
	} else {
		rc = split_host(s, host, addr, sizeof(addr), &port);
		if (rc != 0)
			return rc;
		memcpy(s->peer, addr, strlen(addr) + 1);
		if (port == 0 && s->proto == SMTPC_PROTO_LMTP)
			port = SMTPC_LMTP_PORT;
		else if (port == 0)
			port = s->implicit_tls ? SMTPC_SMTPS_PORT : SMTPC_SMTP_PORT;
		smtpc__debugf(s, "connect: to (%s, %d)", addr, port);
		rc = smtpc__tr_connect_tcp(&s->tr, addr, port, s->src_host, s->src_port, deadline);
	}
	if (rc != 0) {
		char doing[300];

		smtpc__debugf(s, "connect fail: %s", host);
		snprintf(doing, sizeof(doing), "cannot connect to %s", host);
		return smtpc__err_io(s, rc, "", doing);
	}
	compute_hostname(s);
	if (s->implicit_tls && (rc = start_tls(s, "CONNECT", 0, deadline)) != 0)
		return rc;

	rc = smtpc__read_reply(s, "CONNECT", 0, &r);
	if (greeting != NULL && (rc == 0 || rc == SMTPC_ESHUTDOWN))
		*greeting = r;
	if (rc != 0)
		return rc;
	if (r.code != 220) {
		smtpc_close(s);
		return smtpc__err_set(s, SMTPC_ECONNECT, "CONNECT", &r,
		                      "server refused the connection: greeting %d", r.code);
	}
	return 0;
}

SMTPC_API int smtpc_is_connected(const smtpc *s)
{
	return s->tr.fd >= 0;
}

SMTPC_API void smtpc_close(smtpc *s)
{
	smtpc__tr_close(&s->tr);
	s->utf8 = 0;
	s->rcpt_accepted = 0;
}

/* ---------------------------------------------------------------- lines and replies */

smtpc_phase smtpc__phase_of(const char *verb)
{
	static const struct {
		const char *verb;
		smtpc_phase phase;
	} phases[] = {{"CONNECT", SMTPC_PHASE_GREETING},
	              {"MAIL", SMTPC_PHASE_MAIL},
	              {"RCPT", SMTPC_PHASE_RCPT},
	              {"DATA", SMTPC_PHASE_DATA},
	              {"BDAT", SMTPC_PHASE_BLOCK}};

	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (strcmp(verb, phases[i].verb) == 0)
			return phases[i].phase;
	return SMTPC_PHASE_COMMAND;
}

int64_t smtpc__phase_deadline(const smtpc *s, smtpc_phase phase)
{
	return smtpc__deadline(s->timeout_ms[phase]);
}

int smtpc__send_line(smtpc *s, const char *verb, const char *line, size_t len)
{
	int rc;

	if (s->tr.fd < 0)
		return smtpc__err_set(s, SMTPC_EDISCONNECTED, verb, NULL,
		                      "not connected: run smtpc_connect() first");
	smtpc__debug(s, "send: ", line, len);
	rc = smtpc__tr_write(&s->tr, line, len, smtpc__phase_deadline(s, smtpc__phase_of(verb)));
	if (rc != 0) {
		smtpc__err_io(s, rc, verb, "sending the command");
		smtpc_close(s);
	}
	return rc;
}

int smtpc__send_secret(smtpc *s, const char *verb, const char *line, size_t len, const char *shown)
{
	int level = s->debuglevel, rc;

	smtpc__debug(s, "send: ", shown, strlen(shown));
	s->debuglevel = 0;
	rc = smtpc__send_line(s, verb, line, len);
	s->debuglevel = level;
	return rc;
}

int smtpc__read_reply(smtpc *s, const char *verb, int more_expected, smtpc_reply *out)
{
	return smtpc__read_reply_in(s, smtpc__phase_of(verb), verb, more_expected, out);
}

int smtpc__read_reply_in(smtpc *s, smtpc_phase phase, const char *verb, int more_expected,
                         smtpc_reply *out)
{
	int64_t deadline = smtpc__phase_deadline(s, phase);
	smtpc_reply r = {0};

	if (s->tr.fd < 0)
		return smtpc__err_set(s, SMTPC_EDISCONNECTED, verb, NULL,
		                      "not connected: run smtpc_connect() first");
	smtpc__rp_reset(s->rp);
	for (;;) {
		if (s->tr.rpos < s->tr.rlen) {
			size_t used = 0;
			int st = smtpc__rp_feed(s->rp, s->tr.rbuf + s->tr.rpos,
			                        s->tr.rlen - s->tr.rpos, &used);

			s->tr.rpos += used;
			if (st == SMTPC__RP_DONE)
				break;
			if (st < 0) {
				smtpc_close(s);
				return smtpc__err_set(s, SMTPC_EPROTO, verb, NULL,
				                      "malformed reply to %s: %s", verb,
				                      smtpc__rp_strerror(st));
			}
		}
		long n = smtpc__tr_fill(&s->tr, deadline);

		if (n == 0) {
			int partial = s->rp->nlines > 0 || s->rp->line_len > 0;

			smtpc_close(s);
			return smtpc__err_set(s, SMTPC_EDISCONNECTED, verb, NULL,
			                      "connection closed by the server%s",
			                      partial ? " in the middle of a reply" : "");
		}
		if (n < 0) {
			smtpc__err_io(s, (int)n, verb, "reading the reply");
			smtpc_close(s);
			return (int)n;
		}
	}
	smtpc__rp_reply(s->rp, &r);
	smtpc__debug_reply(s, &r);
	s->last_reply_ms = smtpc__now_ms();
	if (out != NULL)
		*out = r;
	if (!more_expected && s->tr.rpos < s->tr.rlen) {
		size_t extra = s->tr.rlen - s->tr.rpos;

		smtpc_close(s);
		return smtpc__err_set(s, SMTPC_EPROTO, verb, &r,
		                      "server sent %zu unexpected bytes after its reply to %s",
		                      extra, verb);
	}
	if (r.code == 421) {
		smtpc_close(s);
		return smtpc__err_set(s, SMTPC_ESHUTDOWN, verb, &r,
		                      "server is closing the connection (421 to %s)", verb);
	}
	return 0;
}

int smtpc__command(smtpc *s, const char *verb, const char *const *args, size_t nargs,
                   int allow_8bit, smtpc_reply *out)
{
	char *line = NULL;
	size_t len = 0;
	int rc;

	smtpc__err_clear(s);
	rc = smtpc__cmd_build(&line, &len, verb, args, nargs, allow_8bit);
	if (rc == SMTPC_ENOMEM)
		return smtpc__err_set(s, rc, verb, NULL, "out of memory");
	if (rc != 0)
		return smtpc__err_set(s, rc, verb, NULL,
		                      "refused to send %s: an argument holds a control character%s",
		                      verb, allow_8bit ? "" : " or a non-ASCII byte");
	rc = smtpc__send_line(s, verb, line, len);
	free(line);
	if (rc != 0)
		return rc;
	return smtpc__read_reply(s, verb, 0, out);
}

void smtpc__safe_rset(smtpc *s)
{
	smtpc__err_saved why = {0};

	/* Keep the error that made us reset: RSET's own outcome does not matter. */
	smtpc__err_take(s, &why);
	if (s->tr.fd >= 0) {
		const char *const none[1] = {NULL};

		if (smtpc__command(s, "RSET", none, 0, 0, NULL) != 0 && s->tr.fd >= 0)
			smtpc_close(s); /* L6: a failed RSET leaves the connection unusable */
	}
	s->utf8 = 0;
	s->rcpt_accepted = 0;
	smtpc__err_put(s, &why);
}

/* ---------------------------------------------------------------- saved replies */

int smtpc__save_reply(smtpc__saved_reply *dst, const smtpc_reply *src)
{
	dst->code = src->code;
	memcpy(dst->enhanced, src->enhanced, sizeof(dst->enhanced));
	dst->nlines = src->nlines;
	dst->text_len = src->text_len;
	dst->text = malloc(src->text_len + 1);
	if (dst->text == NULL)
		return SMTPC_ENOMEM;
	if (src->text_len > 0)
		memcpy(dst->text, src->text, src->text_len);
	dst->text[src->text_len] = '\0';
	return 0;
}

void smtpc__free_reply(smtpc__saved_reply *r)
{
	free(r->text);
	r->text = NULL;
}

void smtpc__view_reply(const smtpc__saved_reply *src, smtpc_reply *dst)
{
	dst->code = src->code;
	memcpy(dst->enhanced, src->enhanced, sizeof(dst->enhanced));
	dst->text = src->text ? src->text : "";
	dst->text_len = src->text_len;
	dst->nlines = src->nlines;
}

void smtpc__lmtp_clear(smtpc *s)
{
	for (size_t i = 0; i < s->nlmtp; i++)
		smtpc__free_reply(&s->lmtp[i]);
	free(s->lmtp);
	s->lmtp = NULL;
	s->nlmtp = 0;
}

/* ---------------------------------------------------------------- greeting */

static const char *hello_name(smtpc *s, const char *name)
{
	if (name != NULL && name[0] != '\0')
		return name;
	return smtpc_local_hostname(s);
}

static int store_text(smtpc *s, char **dst, const smtpc_reply *r)
{
	char *copy = malloc(r->text_len + 1);

	if (copy == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "", NULL, "out of memory");
	if (r->text_len > 0)
		memcpy(copy, r->text, r->text_len);
	copy[r->text_len] = '\0';
	free(*dst);
	*dst = copy;
	return 0;
}

SMTPC_API int smtpc_helo(smtpc *s, const char *name, smtpc_reply *reply)
{
	const char *args[1] = {hello_name(s, name)};
	smtpc_reply r = {0};
	int rc;

	smtpc__err_clear(s);
	if (s->proto == SMTPC_PROTO_LMTP)
		return smtpc__err_set(s, SMTPC_ENOTSUPPORTED, "HELO", NULL,
		                      "LMTP has no HELO (RFC 2033 4.1): use LHLO");
	rc = smtpc__command(s, "HELO", args, 1, 0, &r);
	if (reply != NULL && (rc == 0 || rc == SMTPC_ESHUTDOWN))
		*reply = r;
	if (rc != 0)
		return rc;
	return store_text(s, &s->helo_resp, &r);
}

/* What the server offers, as the plan needs it: looked up once per EHLO, not per message. */
static void set_offer(smtpc *s)
{
	smtpc__offer *f = &s->offer;
	int esmtp = s->does_esmtp;
	uint64_t limit = 0;

	memset(f, 0, sizeof(*f));
	f->esmtp = esmtp;
	f->pipelining = esmtp && smtpc_has_extn(s, "PIPELINING");
	f->chunking = esmtp && smtpc_has_extn(s, "CHUNKING");
	f->binarymime = esmtp && smtpc_has_extn(s, "BINARYMIME");
	f->eightbitmime = esmtp && smtpc_has_extn(s, "8BITMIME");
	f->smtputf8 = esmtp && smtpc_has_extn(s, "SMTPUTF8");
	f->dsn = esmtp && smtpc_has_extn(s, "DSN");
	f->size = esmtp && smtpc_has_extn(s, "SIZE");
	if (smtpc_size_limit(s, &limit))
		f->size_limit = limit;
}

SMTPC_API int smtpc_ehlo(smtpc *s, const char *name, smtpc_reply *reply)
{
	const char *args[1] = {hello_name(s, name)};
	const char *verb = s->proto == SMTPC_PROTO_LMTP ? "LHLO" : "EHLO";
	smtpc_reply r = {0};
	int rc;

	smtpc__caps_clear(&s->caps);
	s->does_esmtp = 0;
	memset(&s->offer, 0, sizeof(s->offer));
	rc = smtpc__command(s, verb, args, 1, 0, &r);
	if (reply != NULL && (rc == 0 || rc == SMTPC_ESHUTDOWN))
		*reply = r;
	if (rc != 0)
		return rc;
	rc = store_text(s, &s->ehlo_resp, &r);
	if (rc != 0 || r.code != 250)
		return rc;
	s->does_esmtp = 1;
	if (smtpc__caps_parse(&s->caps, r.text, r.text_len) != 0)
		return smtpc__err_set(s, SMTPC_ENOMEM, verb, NULL, "out of memory");
	set_offer(s);
	return 0;
}

int smtpc__greet(smtpc *s)
{
	smtpc_reply r = {0};
	int rc;

	rc = smtpc_ehlo(s, NULL, &r);
	if (rc != 0)
		return rc;
	if (r.code >= 200 && r.code <= 299)
		return 0;
	free(s->ehlo_resp);
	s->ehlo_resp = NULL;
	if (s->proto == SMTPC_PROTO_LMTP)
		return smtpc__err_set(s, SMTPC_EHELO, "LHLO", &r, "LHLO refused: %d", r.code);
	if (s->starttls_policy == SMTPC_STARTTLS_REQUIRED && s->tr.ssl == NULL)
		return smtpc__err_set(
		    s, SMTPC_EHELO, "EHLO", &r,
		    "EHLO refused (%d) and STARTTLS is required: no HELO fallback", r.code);
	rc = smtpc_helo(s, NULL, &r);
	if (rc != 0)
		return rc;
	if (r.code >= 200 && r.code <= 299)
		return 0;
	free(s->helo_resp);
	s->helo_resp = NULL;
	return smtpc__err_set(s, SMTPC_EHELO, "HELO", &r, "EHLO and HELO refused: %d", r.code);
}

/* Fails closed: QUIT (the only command sent after a STARTTLS failure), close, SMTPC_ETLS. */
static int tls_required_failed(smtpc *s)
{
	smtpc__err_saved why = {0};

	/* Keep the server's reply that made it fail (454 is temporary, 5xx is not). */
	smtpc__err_take(s, &why);
	if (s->tr.fd >= 0) {
		int level = s->debuglevel;

		smtpc__send_line(s, "QUIT", "QUIT\r\n", 6);
		s->debuglevel = level;
		smtpc_close(s);
	}
	smtpc__err_put(s, &why);
	return smtpc__err_reword(s, SMTPC_ETLS, "STARTTLS", "STARTTLS is required: %s",
	                         s->err_message);
}

SMTPC_API int smtpc_ehlo_or_helo_if_needed(smtpc *s)
{
	int rc;

	smtpc__err_clear(s);
	if (s->helo_resp != NULL || s->ehlo_resp != NULL)
		return 0;
	rc = smtpc__greet(s);
	if (s->starttls_policy == SMTPC_STARTTLS_NEVER || s->tr.ssl != NULL)
		return rc;
	if (rc != 0) {
		if (s->starttls_policy == SMTPC_STARTTLS_REQUIRED && rc == SMTPC_EHELO)
			return tls_required_failed(s);
		return rc;
	}
	rc = smtpc_starttls(s, NULL);
	if (rc == 0)
		return 0;
	if (s->starttls_policy == SMTPC_STARTTLS_REQUIRED)
		return s->tr.fd >= 0 ? tls_required_failed(s) : rc;
	/* Opportunistic: not offered or refused (454): carry on in plaintext. */
	if ((rc == SMTPC_ENOTSUPPORTED || rc == SMTPC_ERESPONSE) && s->tr.fd >= 0) {
		smtpc__err_clear(s);
		return 0;
	}
	return rc;
}

SMTPC_API int smtpc_starttls(smtpc *s, smtpc_reply *reply)
{
	const char *const none[1] = {NULL};
	smtpc_reply r = {0};
	int rc;

	smtpc__err_clear(s);
	if (s->tr.ssl != NULL)
		return smtpc__err_set(s, SMTPC_ENOTSUPPORTED, "STARTTLS", NULL,
		                      "TLS is already active: no second STARTTLS");
	if (s->helo_resp == NULL && s->ehlo_resp == NULL && (rc = smtpc__greet(s)) != 0)
		return rc;
	if (!smtpc_has_extn(s, "STARTTLS"))
		return smtpc__err_set(s, SMTPC_ENOTSUPPORTED, "STARTTLS", NULL,
		                      "STARTTLS extension not supported by the server");
	/* Sent alone, nothing behind it (S4); a reply with bytes after it
	 * fails in smtpc__read_reply (S1, S2). */
	rc = smtpc__command(s, "STARTTLS", none, 0, 0, &r);
	smtpc__free_reply(&s->kept);
	if (rc == SMTPC_ESHUTDOWN && reply != NULL && smtpc__save_reply(&s->kept, &r) == 0)
		smtpc__view_reply(&s->kept, reply);
	if (rc != 0)
		return rc;
	if (r.code != 220 || r.nlines != 1) {
		smtpc__free_reply(&s->kept);
		smtpc__save_reply(&s->kept, &r);
		if (reply != NULL)
			smtpc__view_reply(&s->kept, reply);
		if (r.code == 220) {
			smtpc_close(s);
			return smtpc__err_set(s, SMTPC_EPROTO, "STARTTLS", &r,
			                      "multi-line 220 to STARTTLS");
		}
		return smtpc__err_set(s, SMTPC_ERESPONSE, "STARTTLS", &r, "STARTTLS refused: %d",
		                      r.code);
	}
	smtpc__free_reply(&s->kept);
	if (smtpc__save_reply(&s->kept, &r) != 0)
		return smtpc__err_set(s, SMTPC_ENOMEM, "STARTTLS", NULL, "out of memory");
	/* Opportunistic without credentials in play: encrypt even when the certificate does
	 * not verify (Postfix's "may"); credentials or "required" keep verification mandatory. */
	rc = start_tls(s, "STARTTLS",
	               s->starttls_policy == SMTPC_STARTTLS_OPPORTUNISTIC && !s->auth_expected &&
	                   !s->auth_running,
	               smtpc__phase_deadline(s, SMTPC_PHASE_COMMAND));
	if (rc != 0)
		return rc;
	/* RFC 3207 4.2: forget everything learnt before TLS, then greet again. */
	forget_greeting(s);
	rc = smtpc__greet(s);
	if (rc == 0 && reply != NULL)
		smtpc__view_reply(&s->kept, reply);
	return rc;
}

SMTPC_API int smtpc_is_tls(const smtpc *s, int *verified)
{
	if (verified != NULL)
		*verified = s->tr.ssl != NULL && s->tr.verified;
	return s->tr.ssl != NULL;
}

SMTPC_API const char *smtpc_tls_info(const smtpc *s)
{
	return s->tr.tls_info;
}

SMTPC_API int smtpc_does_esmtp(const smtpc *s)
{
	return s->does_esmtp;
}

SMTPC_API const char *smtpc_helo_resp(const smtpc *s)
{
	return s->helo_resp;
}

SMTPC_API const char *smtpc_ehlo_resp(const smtpc *s)
{
	return s->ehlo_resp;
}

SMTPC_API int smtpc_has_extn(const smtpc *s, const char *name)
{
	return name != NULL && smtpc__caps_find(&s->caps, name) != NULL;
}

SMTPC_API const char *smtpc_extn_param(const smtpc *s, const char *name)
{
	const smtpc__cap *c = name ? smtpc__caps_find(&s->caps, name) : NULL;

	return c ? c->params : NULL;
}

SMTPC_API size_t smtpc_extn_count(const smtpc *s)
{
	return s->caps.n;
}

SMTPC_API int smtpc_extn_at(const smtpc *s, size_t i, const char **keyword, const char **params)
{
	if (i >= s->caps.n)
		return SMTPC_EINVAL;
	if (keyword != NULL)
		*keyword = s->caps.cap[i].keyword;
	if (params != NULL)
		*params = s->caps.cap[i].params;
	return 0;
}

SMTPC_API int smtpc_size_limit(const smtpc *s, uint64_t *limit)
{
	if (smtpc__caps_find(&s->caps, "SIZE") == NULL || !s->caps.size_known)
		return 0;
	if (limit != NULL)
		*limit = s->caps.size_max;
	return 1;
}

/* ---------------------------------------------------------------- raw commands */

SMTPC_API int smtpc_putcmd(smtpc *s, const char *cmd, const char *args)
{
	const char *list[1] = {args};
	char *line = NULL;
	size_t len = 0;
	int rc;

	smtpc__err_clear(s);
	if (cmd == NULL)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "no command");
	rc = smtpc__cmd_build(&line, &len, cmd, list, 1, s->utf8);
	if (rc != 0)
		return smtpc__err_set(s, rc, "", NULL, "refused to send the command: %s",
		                      rc == SMTPC_ENOMEM ? "out of memory"
		                                         : "control character, or empty command");
	rc = smtpc__send_line(s, cmd, line, len);
	free(line);
	return rc;
}

SMTPC_API int smtpc_getreply(smtpc *s, smtpc_reply *reply)
{
	smtpc_reply r = {0};
	int rc;

	smtpc__err_clear(s);
	rc = smtpc__read_reply(s, "", 0, &r);
	if (reply != NULL && (rc == 0 || rc == SMTPC_ESHUTDOWN))
		*reply = r;
	return rc;
}

SMTPC_API int smtpc_docmd(smtpc *s, const char *cmd, const char *args, smtpc_reply *reply)
{
	int rc = smtpc_putcmd(s, cmd, args);

	if (rc != 0)
		return rc;
	return smtpc_getreply(s, reply);
}

SMTPC_API int smtpc_send(smtpc *s, const void *data, size_t len)
{
	smtpc__err_clear(s);
	if (data == NULL && len > 0)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "no data");
	return smtpc__send_line(s, "", data, len);
}

/* ---------------------------------------------------------------- MAIL, RCPT */

static int is_option(const char *opt, const char *keyword)
{
	size_t n = strlen(keyword);

	return strncasecmp(opt, keyword, n) == 0 && (opt[n] == '\0' || opt[n] == '=');
}

/* The keyword of an ESMTP parameter: its length up to '=' or the end. */
static size_t keyword_len(const char *opt)
{
	const char *eq = strchr(opt, '=');

	return eq != NULL ? (size_t)(eq - opt) : strlen(opt);
}

int smtpc__check_options(smtpc *s, const char *const *options, size_t n, int allow_8bit)
{
	for (size_t i = 0; i < n; i++) {
		if (options[i] == NULL || options[i][0] == '\0' ||
		    smtpc__arg_check(options[i], strlen(options[i]), allow_8bit) != 0 ||
		    strchr(options[i], ' ') != NULL)
			return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
			                      "ESMTP option %zu is empty, or holds a blank or a "
			                      "control character",
			                      i + 1);
		/* RFC 5321 4.1.2: a parameter keyword once per command (Dovecot refuses more). */
		for (size_t j = 0; j < i; j++) {
			size_t k = keyword_len(options[i]);

			if (keyword_len(options[j]) == k &&
			    strncasecmp(options[i], options[j], k) == 0)
				return smtpc__err_set(
				    s, SMTPC_EINVAL, "", NULL,
				    "ESMTP options %zu and %zu have the same keyword", j + 1,
				    i + 1);
		}
	}
	return 0;
}

/* "FROM:<addr>" or "TO:<addr>" for MAIL/RCPT: exactly one path, or EINVAL. */
static int path_arg(smtpc *s, const char *verb, const char *prefix, const char *addr, char **out)
{
	char *path;
	size_t plen = strlen(prefix), alen;
	int found = smtpc__addr_path(addr, strcmp(verb, "MAIL") == 0, &path);

	if (found < 0)
		return smtpc__err_set(s, SMTPC_ENOMEM, verb, NULL, "out of memory");
	if (found == 0)
		return smtpc__err_set(s, SMTPC_EINVAL, verb, NULL,
		                      "the %s is not exactly one address (RFC 5321 path)",
		                      strcmp(verb, "MAIL") == 0 ? "sender" : "recipient");
	alen = strlen(path);
	*out = malloc(plen + alen + 3);
	if (*out == NULL) {
		free(path);
		return smtpc__err_set(s, SMTPC_ENOMEM, verb, NULL, "out of memory");
	}
	memcpy(*out, prefix, plen);
	(*out)[plen] = '<';
	memcpy(*out + plen + 1, path, alen);
	memcpy(*out + plen + 1 + alen, ">", 2);
	free(path);
	return 0;
}

/* Sends MAIL or RCPT: verb, "FROM:<a>"/"TO:<a>", then the options when ESMTP is on. */
static int envelope_command(smtpc *s, const char *verb, const char *prefix, const char *addr,
                            const char *const *options, size_t noptions, smtpc_reply *reply)
{
	const char *stack[16];
	const char **args = stack;
	char *path = NULL;
	size_t nargs = 0;
	int rc;

	if (addr == NULL)
		return smtpc__err_set(s, SMTPC_EINVAL, verb, NULL, "no address");
	if (smtpc__arg_check(addr, strlen(addr), s->utf8) != 0)
		return smtpc__err_set(s, SMTPC_EINVAL, verb, NULL,
		                      "address holds a control character%s",
		                      s->utf8 ? "" : " or a non-ASCII byte (SMTPUTF8 not in use)");
	if (!s->does_esmtp)
		noptions = 0; /* options need ESMTP (smtplib drops them the same way) */
	if (noptions > 0 && (rc = smtpc__check_options(s, options, noptions, s->utf8)) != 0)
		return rc;
	if (noptions + 1 > sizeof(stack) / sizeof(stack[0])) {
		args = malloc((noptions + 1) * sizeof(*args));
		if (args == NULL)
			return smtpc__err_set(s, SMTPC_ENOMEM, verb, NULL, "out of memory");
	}
	rc = path_arg(s, verb, prefix, addr, &path);
	if (rc == 0) {
		args[nargs++] = path;
		for (size_t i = 0; i < noptions; i++)
			args[nargs++] = options[i];
		rc = smtpc__command(s, verb, args, nargs, s->utf8, reply);
	}
	free(path);
	if (args != stack)
		free(args);
	return rc;
}

SMTPC_API int smtpc_mail(smtpc *s, const char *sender, const char *const *options, size_t noptions,
                         smtpc_reply *reply)
{
	smtpc_reply r = {0};
	int rc;

	smtpc__err_clear(s);
	if (options == NULL)
		noptions = 0;
	s->utf8 = 0;
	for (size_t i = 0; s->does_esmtp && i < noptions; i++) {
		if (options[i] == NULL || !is_option(options[i], "SMTPUTF8"))
			continue;
		if (!smtpc_has_extn(s, "SMTPUTF8"))
			return smtpc__err_set(s, SMTPC_ENOTSUPPORTED, "MAIL", NULL,
			                      "SMTPUTF8 not supported by the server");
		s->utf8 = 1;
	}
	smtpc__lmtp_clear(s);
	s->rcpt_accepted = 0;
	rc = envelope_command(s, "MAIL", "FROM:", sender, options, noptions, &r);
	if (reply != NULL && (rc == 0 || rc == SMTPC_ESHUTDOWN))
		*reply = r;
	if (rc != 0 || r.code / 100 != 2)
		s->utf8 = 0;
	return rc;
}

SMTPC_API int smtpc_rcpt(smtpc *s, const char *recipient, const char *const *options,
                         size_t noptions, smtpc_reply *reply)
{
	smtpc_reply r = {0};
	int rc;

	smtpc__err_clear(s);
	if (options == NULL)
		noptions = 0;
	rc = envelope_command(s, "RCPT", "TO:", recipient, options, noptions, &r);
	if (reply != NULL && (rc == 0 || rc == SMTPC_ESHUTDOWN))
		*reply = r;
	if (rc == 0 && (r.code == 250 || r.code == 251))
		s->rcpt_accepted++;
	return rc;
}

/* ---------------------------------------------------------------- simple verbs */

static int simple(smtpc *s, const char *verb, const char *arg, int allow_8bit, smtpc_reply *reply)
{
	const char *args[1] = {arg};
	smtpc_reply r = {0};
	int rc = smtpc__command(s, verb, args, arg ? 1 : 0, allow_8bit, &r);

	if (reply != NULL && (rc == 0 || rc == SMTPC_ESHUTDOWN))
		*reply = r;
	return rc;
}

SMTPC_API int smtpc_rset(smtpc *s, smtpc_reply *reply)
{
	s->utf8 = 0;
	s->rcpt_accepted = 0;
	return simple(s, "RSET", NULL, 0, reply);
}

SMTPC_API int smtpc_noop(smtpc *s, smtpc_reply *reply)
{
	return simple(s, "NOOP", NULL, 0, reply);
}

SMTPC_API int smtpc_help(smtpc *s, const char *arg, smtpc_reply *reply)
{
	return simple(s, "HELP", arg, 0, reply);
}

/* VRFY and EXPN take the bare address ("Bob <b@x>" -> "b@x"). */
static int address_verb(smtpc *s, const char *verb, const char *address, smtpc_reply *reply)
{
	char *bare = NULL;
	int found, rc;

	smtpc__err_clear(s);
	if (address == NULL)
		return smtpc__err_set(s, SMTPC_EINVAL, verb, NULL, "no address");
	found = smtpc__addr_path(address, 0, &bare);
	if (found < 0)
		return smtpc__err_set(s, SMTPC_ENOMEM, verb, NULL, "out of memory");
	if (found == 0)
		return smtpc__err_set(s, SMTPC_EINVAL, verb, NULL,
		                      "not exactly one address (RFC 5321 path)");
	rc = simple(s, verb, bare, 0, reply);
	free(bare);
	return rc;
}

SMTPC_API int smtpc_verify(smtpc *s, const char *address, smtpc_reply *reply)
{
	return address_verb(s, "VRFY", address, reply);
}

SMTPC_API int smtpc_expn(smtpc *s, const char *address, smtpc_reply *reply)
{
	return address_verb(s, "EXPN", address, reply);
}

SMTPC_API int smtpc_quit(smtpc *s, smtpc_reply *reply)
{
	int rc = simple(s, "QUIT", NULL, 0, reply);

	/* QUIT is answered 221, but any reply (even 421) ends the session cleanly. */
	if (rc == SMTPC_ESHUTDOWN) {
		smtpc__err_clear(s);
		rc = 0;
	}
	forget_greeting(s);
	smtpc_close(s);
	return rc;
}
