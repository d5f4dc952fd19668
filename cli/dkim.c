/*
 * dkim.c - smtpc send --dkim-*: options checked, the key file read, the
 * message signed (see dkim.h and docs/DKIM.md).
 *
 * The private key file is refused when its group or others have any
 * permission on it (fail closed, as OpenDKIM's RequireSafeKeys): a DKIM key
 * lets anyone send mail in the domain's name. It is read into memory that
 * is wiped after use, at most MAX_KEY_FILE bytes.
 */
#include "dkim.h"

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

#define MAX_KEY_FILE     65536 /* an RSA 8192 PEM is about 6.5 KiB */
#define MAX_DKIM_HEADERS 64

int cli_dkim_wanted(const struct cli_options *o)
{
	return o->dkim_key != NULL || o->dkim_selector != NULL || o->dkim_domain != NULL ||
	       o->dkim_headers != NULL || o->dkim_algorithm != NULL || o->dkim_canon != NULL;
}

static int bad_value(const char *option, const char *value, const char *why)
{
	fprintf(stderr, "smtpc: invalid --%s '", option);
	cli_put_str(stderr, value);
	fprintf(stderr, "': %s\n", why);
	return EX_USAGE;
}

/* Letters, digits, '-', '_' and dots between labels: nothing that ends a tag or a line. */
static int dns_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 255 || s[0] == '.' || s[len - 1] == '.' || strstr(s, "..") != NULL)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
	       len;
}

/* --dkim-canon: HEADER/BODY, each relaxed or simple; one word sets the header's, body simple. */
static int parse_canon(const char *value, smtpc_dkim_options *d)
{
	const char *slash = strchr(value, '/');
	size_t hlen = slash ? (size_t)(slash - value) : strlen(value);
	const char *body = slash ? slash + 1 : "simple";

	if ((hlen == 6 && strncmp(value, "simple", 6) == 0) ||
	    (hlen == 7 && strncmp(value, "relaxed", 7) == 0)) {
		d->simple_header = hlen == 6;
		if (strcmp(body, "simple") == 0 || strcmp(body, "relaxed") == 0) {
			d->simple_body = strcmp(body, "simple") == 0;
			return 0;
		}
	}
	return bad_value(
	    "dkim-canon", value,
	    "expected relaxed/relaxed, relaxed/simple, simple/relaxed or simple/simple");
}

/* --dkim-headers: field names separated by ':' or ',' (From among them). */
static int parse_headers(const char *value, char *copy, const char **names, size_t *n)
{
	int from = 0;

	*n = 0;
	memcpy(copy, value, strlen(value) + 1);
	for (char *p = copy, *end; *p != '\0'; p = end) {
		end = p + strcspn(p, ":,");
		if (*end != '\0')
			*end++ = '\0';
		if (*p == '\0' || *n == MAX_DKIM_HEADERS || strcspn(p, " \t\r\n") != strlen(p))
			return bad_value("dkim-headers", value,
			                 "expected at most 64 field names separated by ':'");
		for (const char *c = p; *c; c++)
			if ((unsigned char)*c < 33 || (unsigned char)*c > 126)
				return bad_value("dkim-headers", value,
				                 "a field name is printable ASCII");
		from |= strcasecmp(p, "From") == 0;
		names[(*n)++] = p;
	}
	if (!from)
		return bad_value("dkim-headers", value, "From must be signed (RFC 6376 5.4)");
	return 0;
}

static int check_options(const struct cli_options *o, smtpc_dkim_options *d)
{
	if (o->dkim_key == NULL || o->dkim_selector == NULL || o->dkim_domain == NULL) {
		fputs("smtpc: --dkim-key, --dkim-selector and --dkim-domain go together\n", stderr);
		return EX_USAGE;
	}
	if (!dns_name_ok(o->dkim_selector))
		return bad_value("dkim-selector", o->dkim_selector,
		                 "expected letters, digits, '-', '_' and dots");
	if (!dns_name_ok(o->dkim_domain))
		return bad_value("dkim-domain", o->dkim_domain,
		                 "expected a domain name (letters, digits, '-', '_' and dots)");
	d->selector = o->dkim_selector;
	d->domain = o->dkim_domain;
	if (o->dkim_algorithm == NULL)
		d->algorithm = SMTPC_DKIM_FROM_KEY;
	else if (strcmp(o->dkim_algorithm, "rsa-sha256") == 0)
		d->algorithm = SMTPC_DKIM_RSA_SHA256;
	else if (strcmp(o->dkim_algorithm, "ed25519-sha256") == 0)
		d->algorithm = SMTPC_DKIM_ED25519_SHA256;
	else
		return bad_value("dkim-algorithm", o->dkim_algorithm,
		                 "expected rsa-sha256 or ed25519-sha256");
	return o->dkim_canon != NULL ? parse_canon(o->dkim_canon, d) : 0;
}

static int key_error(const char *path, const char *why)
{
	fputs("smtpc: DKIM key ", stderr);
	cli_put_str(stderr, path);
	fprintf(stderr, ": %s\n", why);
	return EX_CONFIG;
}

/* Reads the key file into buf (MAX_KEY_FILE bytes); refuses a file others may read. */
static int read_key_file(const char *path, char *buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t got = 0;

	if (fd < 0)
		return key_error(path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return key_error(path, "not a regular file");
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return key_error(path, "its group or others have access to it: chmod 600 it");
	}
	*len = 0;
	while (*len < MAX_KEY_FILE && ((got = read(fd, buf + *len, MAX_KEY_FILE - *len)) > 0 ||
	                               (got < 0 && errno == EINTR)))
		*len += got > 0 ? (size_t)got : 0;
	close(fd);
	if (got < 0)
		return key_error(path, strerror(errno));
	if (*len == MAX_KEY_FILE)
		return key_error(path, "too big for a key");
	return 0;
}

static int load_key(const char *path, smtpc_dkim_key **key)
{
	char *buf = malloc(MAX_KEY_FILE);
	size_t len = 0;
	int ex;

	if (buf == NULL) {
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	ex = read_key_file(path, buf, &len);
	if (ex == 0 && smtpc_dkim_key_load(buf, len, key) != 0)
		ex = key_error(path, "not an unencrypted PEM private key, RSA of 1024 to 4096 bits "
		                     "or Ed25519");
	explicit_bzero(buf, MAX_KEY_FILE);
	free(buf);
	return ex;
}

static int sign_error(int rc)
{
	switch (rc) {
	case SMTPC_EINVAL:
		fputs("smtpc: cannot sign the message: no From field, a header line that is not "
		      "a field, WSP before a colon, a header block over 1 MiB, or a key not for "
		      "--dkim-algorithm\n",
		      stderr);
		return EX_DATAERR;
	case SMTPC_EIO:
		fprintf(stderr,
		        "smtpc: cannot read the message, or copy it to a temporary file "
		        "(TMPDIR), to sign it: %s\n",
		        strerror(errno));
		return EX_IOERR;
	default:
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
}

int cli_dkim_sign(const struct cli_options *o, const smtpc_source *src, smtpc_dkim_signed **out)
{
	smtpc_dkim_options d = SMTPC_DKIM_OPTIONS_INIT;
	const char *names[MAX_DKIM_HEADERS];
	char *copy = NULL;
	smtpc_dkim_key *key = NULL;
	int ex, rc;

	*out = NULL;
	ex = check_options(o, &d);
	if (ex == 0 && o->dkim_headers != NULL) {
		copy = malloc(strlen(o->dkim_headers) + 1);
		if (copy == NULL) {
			fputs("smtpc: out of memory\n", stderr);
			return EX_OSERR;
		}
		ex = parse_headers(o->dkim_headers, copy, names, &d.nheaders);
		d.headers = names;
	}
	if (ex == 0)
		ex = load_key(o->dkim_key, &key);
	if (ex == 0 && (rc = smtpc_dkim_sign(key, &d, src, out)) != 0)
		ex = sign_error(rc);
	smtpc_dkim_key_free(key);
	free(copy);
	return ex;
}
