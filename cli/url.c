/*
 * url.c - the --server URL of smtpc (RFC 3986 syntax, a small subset).
 *
 * Only what smtpc can use is accepted; everything else is refused with a
 * one-line reason, so that a typo never connects somewhere unexpected.
 * Nothing is percent-decoded: a socket path is taken literally.
 */
#include "url.h"

#include "exitcodes.h"

#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define MAX_HOST_LEN 255
#define MAX_PORT     65535

static const char EXPECTED[] =
    "expected smtp://host[:port], smtps://host[:port], lmtp://host[:port] or lmtp:/socket/path";

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int to_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* The len bytes at p equal word (lower case), ignoring case. */
static int span_is(const char *p, size_t len, const char *word)
{
	size_t i;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++) {
		if (to_lower((unsigned char)p[i]) != word[i])
			return 0;
	}
	return 1;
}

/* RFC 3986 section 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static int scheme_ok(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || !is_alpha((unsigned char)p[0]))
		return 0;
	for (i = 1; i < len; i++) {
		int c = (unsigned char)p[i];

		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
			return 0;
	}
	return 1;
}

/* A host name or IPv4 address: letters, digits, '-', '.', '_'. */
static int hostname_ok(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)p[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_')
			return 0;
	}
	return 1;
}

/* The inside of "[...]": hex digits, ':' and '.' (IPv4 tail), at least one ':'. */
static int ipv6_ok(const char *p, size_t len)
{
	size_t i;

	if (memchr(p, ':', len) == NULL)
		return 0;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)p[i];

		if (!is_hex(c) && c != ':' && c != '.')
			return 0;
	}
	return 1;
}

static int parse_port(const char *p, size_t len, int *port, const char **why)
{
	long value = 0;
	size_t i;

	if (len == 0) {
		*why = "empty port";
		return EX_USAGE;
	}
	for (i = 0; i < len; i++) {
		if (!is_digit((unsigned char)p[i])) {
			*why = "the port is not a number";
			return EX_USAGE;
		}
		value = value * 10 + (p[i] - '0');
		if (value > MAX_PORT)
			break;
	}
	if (value < 1 || value > MAX_PORT) {
		*why = "the port is out of range (1-65535)";
		return EX_USAGE;
	}
	*port = (int)value;
	return 0;
}

/*
 * Splits the authority [host or "[v6]"][":" port] into the length of the
 * host part and the position of the port (NULL when absent).
 */
static int split_authority(const char *auth, size_t len, size_t *hostlen, const char **port,
                           const char **why)
{
	const char *end = auth + len;
	const char *colon;

	*port = NULL;
	if (len > 0 && auth[0] == '[') {
		const char *close = memchr(auth, ']', len);

		if (close == NULL || !ipv6_ok(auth + 1, (size_t)(close - auth - 1))) {
			*why = "invalid IPv6 literal (expected [address], without a zone)";
			return EX_USAGE;
		}
		*hostlen = (size_t)(close - auth) + 1;
		if (close + 1 < end && close[1] != ':') {
			*why = "unexpected characters after the IPv6 literal";
			return EX_USAGE;
		}
		if (close + 1 < end)
			*port = close + 2;
		return 0;
	}
	colon = memchr(auth, ':', len);
	*hostlen = colon ? (size_t)(colon - auth) : len;
	if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
		*why = "an IPv6 address must be written in brackets: [::1]";
		return EX_USAGE;
	}
	if (!hostname_ok(auth, *hostlen)) {
		*why = "invalid character in the host name";
		return EX_USAGE;
	}
	if (colon)
		*port = colon + 1;
	return 0;
}

/* rest is what follows "scheme:"; it must be "//authority" and at most "/". */
static int parse_tcp(const char *rest, int default_port, struct cli_url *url, const char **why)
{
	const char *auth, *tail, *port;
	size_t alen, hostlen;
	int rc;

	if (strncmp(rest, "//", 2) != 0) {
		*why = EXPECTED;
		return EX_USAGE;
	}
	auth = rest + 2;
	alen = strcspn(auth, "/?#");
	tail = auth + alen;
	if (memchr(auth, '@', alen)) {
		*why = "credentials in the URL are not supported yet";
		return EX_USAGE;
	}
	if (*tail != '\0' && strcmp(tail, "/") != 0) {
		*why = "a path, query or fragment is not allowed after the host";
		return EX_USAGE;
	}
	rc = split_authority(auth, alen, &hostlen, &port, why);
	if (rc != 0)
		return rc;
	if (hostlen == 0) {
		*why = "missing host";
		return EX_USAGE;
	}
	if (hostlen > MAX_HOST_LEN) {
		*why = "the host name is too long";
		return EX_USAGE;
	}
	url->port = default_port;
	if (port) {
		rc = parse_port(port, (size_t)(tail - port), &url->port, why);
		if (rc != 0)
			return rc;
	}
	url->host = strndup(auth, hostlen);
	return url->host ? 0 : EX_OSERR;
}

static int parse_socket(const char *path, struct cli_url *url, const char **why)
{
	struct sockaddr_un addr;
	const char *p;

	if (*path == '\0') {
		*why = "missing host or socket path";
		return EX_USAGE;
	}
	if (*path != '/') {
		*why = "the socket path must be absolute";
		return EX_USAGE;
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		*why = "the socket path is too long";
		return EX_USAGE;
	}
	for (p = path; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "control character in the socket path";
			return EX_USAGE;
		}
	}
	url->port = 0;
	url->is_unix = 1;
	url->host = strdup(path);
	return url->host ? 0 : EX_OSERR;
}

static int parse_lmtp(const char *rest, struct cli_url *url, const char **why)
{
	url->proto = SMTPC_PROTO_LMTP;
	/* "lmtp://host..." has an authority; "lmtp:///path" and "lmtp:/path" do not. */
	if (strncmp(rest, "//", 2) == 0 && rest[2] != '/' && rest[2] != '\0')
		return parse_tcp(rest, SMTPC_LMTP_PORT, url, why);
	if (strncmp(rest, "//", 2) == 0)
		rest += 2;
	return parse_socket(rest, url, why);
}

int cli_url_parse(const char *text, struct cli_url *url, const char **why)
{
	const char *colon = strchr(text, ':');
	size_t slen;
	int rc;

	memset(url, 0, sizeof(*url));
	if (colon == NULL || !scheme_ok(text, (size_t)(colon - text))) {
		*why = EXPECTED;
		return EX_USAGE;
	}
	slen = (size_t)(colon - text);
	if (span_is(text, slen, "smtp")) {
		url->proto = SMTPC_PROTO_SMTP;
		rc = parse_tcp(colon + 1, SMTPC_SMTP_PORT, url, why);
	} else if (span_is(text, slen, "lmtp")) {
		rc = parse_lmtp(colon + 1, url, why);
	} else if (span_is(text, slen, "smtps")) {
		url->proto = SMTPC_PROTO_SMTP;
		url->implicit_tls = 1;
		rc = parse_tcp(colon + 1, SMTPC_SMTPS_PORT, url, why);
	} else {
		*why = "unsupported scheme (use smtp://, smtps:// or lmtp://)";
		rc = EX_USAGE;
	}
	if (rc != 0)
		cli_url_free(url);
	return rc;
}

void cli_url_free(struct cli_url *url)
{
	free(url->host);
	url->host = NULL;
}
