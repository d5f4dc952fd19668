/*
 * dkim.c - DKIM signing: RFC 6376 (rsa-sha256) and RFC 8463
 * (ed25519-sha256). The canonical forms are in dkim_canon.c.
 *
 * The message is read once: the header block is held (at most
 * SMTPC__MAX_HEADER_BLOCK, as send_message), the body goes through the
 * canonicaliser into SHA-256 (bh=, RFC 6376 3.7) as it is read, so memory
 * does not grow with the message. A memory source or a regular file is read
 * again when the signed message is sent; a pipe or a callback can only be
 * read once, so it is copied to an unlinked temporary file on the way.
 *
 * The header hash (3.7): the selected fields, each canonicalised and ended
 * with CRLF, then the DKIM-Signature field itself with an empty b= value
 * and no final CRLF. Fields are taken bottom-up: the n-th occurrence of a
 * name in h= selects the n-th field of that name counted from the bottom; a
 * name listed once more than present signs that no further such field
 * exists (5.4.2, "over-signing"), so none can be added above.
 * rsa-sha256 is RSASSA-PKCS1-v1_5 over that hash (3.3.1); ed25519-sha256
 * signs the 32-byte SHA-256 hash with PureEdDSA (RFC 8463 3): both start
 * from the same digest here.
 *
 * The DKIM-Signature field is folded at 78 columns (RFC 5322 2.1.1):
 * between tags, between h= names, and inside the base64 values (FWS is
 * allowed there, 3.5). b= comes last, so the verifier, which empties b=
 * with the whitespace around its value (3.7), gets the bytes signed here.
 */
#include "dkim.h"
#include "body.h"
#include "message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#define LINE_MAX_COLS 78  /* RFC 5322 2.1.1 */
#define MAX_SIGNATURE 512 /* bytes: RSA 4096 */
#define MAX_NAME      255 /* a DNS name (RFC 1035 2.3.4) */
#define MAX_IDENTITY  320 /* a local part (64, RFC 5321 4.5.3.1.1), '@', a domain */
#define MAX_TIME      INT64_C(253402300799) /* 9999-12-31: t= plus x= cannot overflow */

struct smtpc_dkim_key {
	EVP_PKEY *pkey;
	smtpc_dkim_algorithm alg;
};

struct smtpc_dkim_signed {
	char *hdr; /* the DKIM-Signature field */
	size_t hdrlen, hdrpos;
	const char *mem; /* the message in memory, or NULL */
	size_t memlen, mempos;
	int fd;     /* or read again from here (-1: none) */
	int own_fd; /* 1: fd is the temporary copy */
	smtpc_source src;
};

/* ---------------------------------------------------------------- keys */

/* Never prompt for a passphrase: an encrypted key fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *user)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)user;
	return -1;
}

static int key_algorithm(EVP_PKEY *pkey, smtpc_dkim_algorithm *alg)
{
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*alg = SMTPC_DKIM_ED25519_SHA256;
		return 0;
	}
	/* RFC 8301 3.2: signers MUST use RSA keys of at least 1024 bits; verifiers need only
	 * handle up to 4096, and a signature then fits MAX_SIGNATURE. */
	if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= 1024 &&
	    EVP_PKEY_get_bits(pkey) <= 8 * MAX_SIGNATURE) {
		*alg = SMTPC_DKIM_RSA_SHA256;
		return 0;
	}
	return SMTPC_EINVAL;
}

int smtpc_dkim_key_load(const void *pem, size_t len, smtpc_dkim_key **key)
{
	BIO *bio;
	EVP_PKEY *pkey;
	smtpc_dkim_key *k;
	smtpc_dkim_algorithm alg;

	if (key == NULL)
		return SMTPC_EINVAL;
	*key = NULL;
	if (pem == NULL || len == 0 || len > INT32_MAX)
		return SMTPC_EINVAL;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return SMTPC_ENOMEM;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL || key_algorithm(pkey, &alg) != 0) {
		EVP_PKEY_free(pkey);
		return SMTPC_EINVAL;
	}
	k = malloc(sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return SMTPC_ENOMEM;
	}
	k->pkey = pkey;
	k->alg = alg;
	*key = k;
	return 0;
}

void smtpc_dkim_key_free(smtpc_dkim_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* ---------------------------------------------------------------- checking the options */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int same_name(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/*
 * A domain or selector: dot-separated labels of letters, digits, '-' and
 * '_' (selectors and DNS names in practice). Anything else (';', '=', WSP,
 * CR, LF) could end the tag and inject another one.
 */
static int valid_dns_name(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > MAX_NAME || s[0] == '.' || s[len - 1] == '.' || strstr(s, ".."))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '_' && c != '.')
			return 0;
	}
	return 1;
}

/* A field name (RFC 5322 3.6.8 ftext): printable US-ASCII but ':'. */
static int ftext_name(const char *p, size_t n)
{
	if (n == 0 || n > 998)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 33 || (unsigned char)p[i] > 126 || p[i] == ':')
			return 0;
	return 1;
}

/* i= (3.5): a local part of atext and dots, '@', then d= or a subdomain of it. */
static int valid_identity(const char *id, const char *domain)
{
	const char *at = id ? strrchr(id, '@') : NULL;
	size_t dlen = strlen(domain), ilen;

	if (at == NULL || strlen(id) > MAX_IDENTITY || !valid_dns_name(at + 1))
		return 0;
	for (const char *p = id; p < at; p++)
		if (!strchr("!#$%&'*+-/=?^_`{|}~.", *p) && !(*p >= 'a' && *p <= 'z') &&
		    !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9'))
			return 0;
	ilen = strlen(at + 1);
	if (ilen < dlen || !same_name(at + 1 + ilen - dlen, dlen, domain, dlen))
		return 0;
	return ilen == dlen || at[1 + ilen - dlen - 1] == '.';
}

static int check_options(const smtpc_dkim_key *key, const smtpc_dkim_options *o)
{
	int from = 0;

	if (key == NULL || o == NULL || o->version != SMTPC_DKIM_OPTIONS_VERSION)
		return SMTPC_EINVAL;
	if (!valid_dns_name(o->domain) || !valid_dns_name(o->selector))
		return SMTPC_EINVAL;
	if (o->algorithm != SMTPC_DKIM_FROM_KEY && o->algorithm != key->alg)
		return SMTPC_EINVAL;
	if (o->identity != NULL && !valid_identity(o->identity, o->domain))
		return SMTPC_EINVAL;
	if (o->timestamp < -1 || o->timestamp > MAX_TIME || o->expire < 0 || o->expire > MAX_TIME ||
	    (o->headers == NULL && o->nheaders > 0))
		return SMTPC_EINVAL;
	for (size_t i = 0; i < o->nheaders; i++) {
		if (o->headers[i] == NULL || !ftext_name(o->headers[i], strlen(o->headers[i])))
			return SMTPC_EINVAL;
		from |= same_name(o->headers[i], strlen(o->headers[i]), "From", 4);
	}
	/* RFC 6376 5.4: the From field MUST be signed. */
	return o->headers == NULL || from ? 0 : SMTPC_EINVAL;
}

/* ---------------------------------------------------------------- the header block */

struct field {
	const char *p; /* the field, final CRLF excluded */
	size_t len;
	size_t name; /* length of its name */
	int used;    /* already selected by an earlier h= entry */
};

struct headers {
	char *block; /* the header block with CRLF line endings */
	size_t len;
	struct field *f;
	size_t n;
};

/* The block as the DATA encoder sends it: every line ending CRLF, the last line ended. */
static char *crlf_block(const char *p, size_t n, size_t *outlen)
{
	char *out = malloc(2 * n + 2);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
		} else {
			out[o++] = p[i];
		}
	}
	if (o < 2 || out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	*outlen = o;
	return out;
}

/* The end of the line at pos (after its CRLF). */
static size_t next_line(const char *b, size_t len, size_t pos)
{
	const char *lf = memchr(b + pos, '\n', len - pos);

	return lf ? (size_t)(lf - b) + 1 : len;
}

/* Splits the block into fields (a line opening with WSP continues the one above). */
static int split_fields(struct headers *h)
{
	size_t pos = 0, cap = 0;

	while (pos < h->len && h->block[pos] != '\r') {
		size_t start = pos, end;
		const char *colon;

		do
			pos = next_line(h->block, h->len, pos);
		while (pos < h->len && (h->block[pos] == ' ' || h->block[pos] == '\t'));
		end = pos - 2;
		colon = memchr(h->block + start, ':', next_line(h->block, h->len, start) - start);
		/* Not a field, or a name outside ftext such as WSP before the colon (obsolete,
		 * RFC 5322 4.5.8): verifiers refuse them (dkimpy, OpenDKIM), no signature
		 * could pass. */
		if (colon == NULL ||
		    !ftext_name(h->block + start, (size_t)(colon - (h->block + start))))
			return SMTPC_EINVAL;
		if (h->n == cap) {
			struct field *nf;

			cap = cap ? 2 * cap : 32;
			nf = realloc(h->f, cap * sizeof(*nf));
			if (nf == NULL)
				return SMTPC_ENOMEM;
			h->f = nf;
		}
		h->f[h->n].p = h->block + start;
		h->f[h->n].len = end - start;
		h->f[h->n].name = (size_t)(colon - (h->block + start));
		h->f[h->n].used = 0;
		h->n++;
	}
	return 0;
}

static size_t count_fields(const struct headers *h, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		n += same_name(h->f[i].p, h->f[i].name, name, strlen(name));
	return n;
}

/* ---------------------------------------------------------------- building the field */

struct sb {
	char *p;
	size_t len, cap;
	size_t col; /* characters on the current line */
	int oom;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	for (size_t i = 0; i < n; i++)
		b->col = s[i] == '\n' ? 0 : b->col + 1;
}

/* A piece that must not be split: on this line after sep, or on a new one. */
static void sb_piece(struct sb *b, const char *sep, const char *s)
{
	size_t n = strlen(s);

	if (b->col + strlen(sep) + n > LINE_MAX_COLS)
		sb_put(b, "\r\n\t", 3);
	else
		sb_put(b, sep, strlen(sep));
	sb_put(b, s, n);
}

/* A tag: "name=value;" on this line or the next. */
static void sb_tag(struct sb *b, const char *name, const char *value)
{
	char t[MAX_IDENTITY + 16];

	snprintf(t, sizeof(t), "%s=%s;", name, value);
	sb_piece(b, " ", t);
}

/* Base64 text cut wherever the line is full (FWS inside a base64 value, 3.5). */
static void sb_base64(struct sb *b, const unsigned char *data, size_t n)
{
	char enc[(MAX_SIGNATURE + 2) / 3 * 4 + 1];
	size_t len = (size_t)EVP_EncodeBlock((unsigned char *)enc, data, (int)n);

	for (size_t i = 0; i < len; i++) {
		if (b->col >= LINE_MAX_COLS)
			sb_put(b, "\r\n\t", 3);
		sb_put(b, enc + i, 1);
	}
}

static void sb_headers(struct sb *b, const char *const *names, size_t n)
{
	char t[1024];

	for (size_t i = 0; i < n; i++) {
		snprintf(t, sizeof(t), "%s%s%s", i == 0 ? "h=" : ":", names[i],
		         i + 1 == n ? ";" : "");
		sb_piece(b, i == 0 ? " " : "", t);
	}
}

/* ---------------------------------------------------------------- reading the message */

struct reader {
	smtpc__body body;
	int spool; /* the temporary copy, or -1 */
	char *hdr; /* the header block as read (and the first body bytes after it) */
	size_t hlen, hcap;
	size_t hend;       /* length of the header block, 0 while its end is not found */
	size_t next_check; /* look for the end again once hlen reaches this */
	uint64_t total;    /* bytes read */
	smtpc__dkim_body canon;
	EVP_MD_CTX *bh;
	int hash_failed;
};

static void hash_sink(const char *p, size_t n, void *user)
{
	struct reader *r = user;

	if (EVP_DigestUpdate(r->bh, p, n) != 1)
		r->hash_failed = 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return SMTPC_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The header block grows until its end is found; then every byte goes to the body hash.
 * The end is looked for each time the bytes held have doubled (and past the limit), so
 * that a source giving one byte at a time costs linear time, not a scan per byte; bytes
 * read past the end are simply handed to the body then.
 */
static int take(struct reader *r, const char *p, size_t n)
{
	size_t end;

	r->total += n;
	if (r->spool >= 0 && write_all(r->spool, p, n) != 0)
		return SMTPC_EIO;
	if (r->hend > 0) {
		smtpc__dkim_body_update(&r->canon, p, n);
		return 0;
	}
	if (r->hlen + n > r->hcap) {
		size_t cap = 2 * (r->hlen + n);
		char *h = realloc(r->hdr, cap);

		if (h == NULL)
			return SMTPC_ENOMEM;
		r->hdr = h;
		r->hcap = cap;
	}
	memcpy(r->hdr + r->hlen, p, n);
	r->hlen += n;
	if (r->hlen < r->next_check && r->hlen <= SMTPC__MAX_HEADER_BLOCK)
		return 0;
	r->next_check = 2 * r->hlen;
	end = smtpc__msg_header_end(r->hdr, r->hlen, 0);
	if (end == (size_t)-1 || end > SMTPC__MAX_HEADER_BLOCK ||
	    (end == 0 && r->hlen > SMTPC__MAX_HEADER_BLOCK))
		return SMTPC_EINVAL; /* no header block, or one too big to hold */
	if (end > 0) {
		r->hend = end;
		smtpc__dkim_body_update(&r->canon, r->hdr + end, r->hlen - end);
	}
	return 0;
}

static int read_all(struct reader *r)
{
	const char *p;
	size_t n;
	int rc;

	while ((rc = smtpc__body_next(&r->body, &p, &n)) == 1)
		if ((rc = take(r, p, n)) != 0)
			return rc;
	if (rc != 0)
		return rc;
	if (r->hend == 0) {
		/* No empty line: the whole message is the header block, the body is empty. */
		size_t end = r->hlen > 0 ? smtpc__msg_header_end(r->hdr, r->hlen, 1) : (size_t)-1;

		if (end == (size_t)-1 || end > SMTPC__MAX_HEADER_BLOCK)
			return SMTPC_EINVAL;
		r->hend = end;
		smtpc__dkim_body_update(&r->canon, r->hdr + end, r->hlen - end);
	}
	smtpc__dkim_body_finish(&r->canon);
	return r->hash_failed ? SMTPC_ENOMEM : 0;
}

/* An unlinked temporary file, as the smtpc command spools its input. */
static int open_spool(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/smtpc-dkim.XXXXXX", dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* ---------------------------------------------------------------- signing */

/* The names of h=, in order: the caller's, or the default list with From over-signed. */
static int header_names(const smtpc_dkim_options *o, const struct headers *h, const char ***names,
                        size_t *n)
{
	static const char *const DEFAULT[] = {
	    "From",         "To",           "Cc",
	    "Subject",      "Date",         "Message-ID",
	    "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	    "Reply-To",     "In-Reply-To",  "References",
	};
	size_t total = 1;

	if (o->headers != NULL) {
		*names = malloc((o->nheaders ? o->nheaders : 1) * sizeof(**names));
		if (*names == NULL)
			return SMTPC_ENOMEM;
		memcpy(*names, o->headers, o->nheaders * sizeof(**names));
		*n = o->nheaders;
		return 0;
	}
	for (size_t i = 0; i < sizeof(DEFAULT) / sizeof(DEFAULT[0]); i++)
		total += count_fields(h, DEFAULT[i]);
	*names = malloc(total * sizeof(**names));
	if (*names == NULL)
		return SMTPC_ENOMEM;
	*n = 0;
	for (size_t i = 0; i < sizeof(DEFAULT) / sizeof(DEFAULT[0]); i++)
		for (size_t c = count_fields(h, DEFAULT[i]) + (i == 0); c > 0; c--)
			(*names)[(*n)++] = DEFAULT[i];
	return 0;
}

/* Hashes one field in canonical form; crlf: 1 to end it with CRLF (all but the signature). */
static int hash_field(EVP_MD_CTX *md, const char *p, size_t len, int relaxed, int crlf)
{
	char *c = malloc(len ? len : 1);
	size_t n;
	int ok;

	if (c == NULL)
		return SMTPC_ENOMEM;
	n = smtpc__dkim_canon_header(p, len, relaxed, c);
	ok = EVP_DigestUpdate(md, c, n) == 1 && (!crlf || EVP_DigestUpdate(md, "\r\n", 2) == 1);
	free(c);
	return ok ? 0 : SMTPC_ENOMEM;
}

/*
 * The selected fields (3.7): for each name, the last field of that name not taken yet.
 * A name repeated right after itself resumes the search where the previous one stopped
 * (every field of that name below is taken): the default list repeats a name once per
 * field, and a header block of 200,000 To fields must not cost 200,000 scans.
 */
static int hash_selected(EVP_MD_CTX *md, struct headers *h, const char *const *names, size_t n,
                         int relaxed)
{
	size_t j = h->n;

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (i == 0 || !same_name(names[i], len, names[i - 1], strlen(names[i - 1])))
			j = h->n;
		while (j > 0 && (h->f[j - 1].used ||
		                 !same_name(h->f[j - 1].p, h->f[j - 1].name, names[i], len)))
			j--;
		if (j == 0)
			continue; /* none (left): the name signs an absence */
		h->f[j - 1].used = 1;
		if (hash_field(md, h->f[j - 1].p, h->f[j - 1].len, relaxed, 1) != 0)
			return SMTPC_ENOMEM;
	}
	return 0;
}

/* Signs the 32-byte header hash (rsa: PKCS#1 v1.5 with SHA-256's DigestInfo). */
static int sign_digest(const smtpc_dkim_key *key, const unsigned char *dig, unsigned char *sig,
                       size_t *siglen)
{
	int ok;

	if (key->alg == SMTPC_DKIM_ED25519_SHA256) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
		     EVP_DigestSign(ctx, sig, siglen, dig, 32) == 1;
		EVP_MD_CTX_free(ctx);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);

		ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(ctx, sig, siglen, dig, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	return ok ? 0 : SMTPC_ENOMEM;
}

/* The DKIM-Signature field up to "b=", the tags in the order of RFC 6376 3.5. */
static void signature_start(struct sb *b, const smtpc_dkim_key *key, const smtpc_dkim_options *o,
                            const char *const *names, size_t n, const unsigned char *bh)
{
	int64_t now = o->timestamp > 0 ? o->timestamp : (int64_t)time(NULL);
	char num[32];

	sb_put(b, "DKIM-Signature:", 15);
	sb_tag(b, "v", "1");
	sb_tag(b, "a", key->alg == SMTPC_DKIM_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256");
	sb_tag(b, "c",
	       o->simple_header ? (o->simple_body ? "simple/simple" : "simple/relaxed")
	                        : (o->simple_body ? "relaxed/simple" : "relaxed/relaxed"));
	sb_tag(b, "d", o->domain);
	sb_tag(b, "s", o->selector);
	if (o->timestamp >= 0) {
		snprintf(num, sizeof(num), "%lld", (long long)now);
		sb_tag(b, "t", num);
	}
	if (o->expire > 0) {
		int64_t expire = now + o->expire;

		snprintf(num, sizeof(num), "%lld", (long long)expire);
		sb_tag(b, "x", num);
	}
	if (o->identity != NULL)
		sb_tag(b, "i", o->identity);
	sb_headers(b, names, n);
	sb_piece(b, " ", "bh=");
	sb_base64(b, bh, 32);
	if (b->col >= LINE_MAX_COLS)
		sb_put(b, "\r\n\t", 3); /* the ';' would be column 79 */
	sb_put(b, ";", 1);
	sb_piece(b, " ", "b=");
}

static int make_signature(const smtpc_dkim_key *key, const smtpc_dkim_options *o, struct headers *h,
                          const unsigned char *bh, struct sb *b)
{
	const char **names = NULL;
	size_t n = 0;
	unsigned char dig[32], sig[MAX_SIGNATURE];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc;

	rc = md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ? SMTPC_ENOMEM : 0;
	if (rc == 0)
		rc = count_fields(h, "From") > 0 ? header_names(o, h, &names, &n) : SMTPC_EINVAL;
	if (rc == 0)
		rc = hash_selected(md, h, names, n, !o->simple_header);
	if (rc == 0) {
		signature_start(b, key, o, names, n, bh);
		rc = b->oom ? SMTPC_ENOMEM : hash_field(md, b->p, b->len, !o->simple_header, 0);
	}
	if (rc == 0 && EVP_DigestFinal_ex(md, dig, NULL) != 1)
		rc = SMTPC_ENOMEM;
	if (rc == 0)
		rc = sign_digest(key, dig, sig, &siglen);
	if (rc == 0) {
		sb_base64(b, sig, siglen);
		sb_put(b, "\r\n", 2);
		rc = b->oom ? SMTPC_ENOMEM : 0;
	}
	free(names);
	EVP_MD_CTX_free(md);
	return rc;
}

/* ---------------------------------------------------------------- the signed source */

static long read_signed(void *buf, size_t len, void *user)
{
	smtpc_dkim_signed *s = user;
	size_t n;
	ssize_t got;

	if (s->hdrpos < s->hdrlen) {
		n = s->hdrlen - s->hdrpos < len ? s->hdrlen - s->hdrpos : len;
		memcpy(buf, s->hdr + s->hdrpos, n);
		s->hdrpos += n;
		return (long)n;
	}
	if (s->mem != NULL) {
		n = s->memlen - s->mempos < len ? s->memlen - s->mempos : len;
		memcpy(buf, s->mem + s->mempos, n);
		s->mempos += n;
		return (long)n;
	}
	do
		got = read(s->fd, buf, len);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -1 : (long)got;
}

const smtpc_source *smtpc_dkim_source(smtpc_dkim_signed *sig)
{
	return sig ? &sig->src : NULL;
}

const char *smtpc_dkim_header(const smtpc_dkim_signed *sig, size_t *len)
{
	if (len != NULL)
		*len = sig ? sig->hdrlen : 0;
	return sig ? sig->hdr : NULL;
}

void smtpc_dkim_signed_free(smtpc_dkim_signed *sig)
{
	if (sig == NULL)
		return;
	if (sig->own_fd)
		close(sig->fd);
	free(sig->hdr);
	free(sig);
}

/*
 * How the message will be read again: memory as it is, a regular file from
 * where it was (returned in *offset), anything else from a temporary copy.
 */
static int plan_reread(const smtpc_source *in, smtpc_dkim_signed *s, struct reader *r,
                       off_t *offset)
{
	struct stat st;

	*offset = -1;
	if (in->read == NULL && (in->data != NULL || in->fd < 0)) {
		s->mem = in->data ? in->data : "";
		s->memlen = in->data ? in->len : 0;
		return 0;
	}
	if (in->read == NULL && fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (*offset = lseek(in->fd, 0, SEEK_CUR)) >= 0) {
		s->fd = in->fd;
		return 0;
	}
	r->spool = open_spool();
	if (r->spool < 0)
		return SMTPC_EIO;
	s->fd = r->spool;
	s->own_fd = 1;
	return 0;
}

static int sign_read(const smtpc_dkim_key *key, const smtpc_dkim_options *opts, struct reader *r,
                     smtpc_dkim_signed *s)
{
	struct headers h = {0};
	unsigned char bh[32];
	struct sb b = {0};
	int rc;

	rc = read_all(r);
	if (rc == 0 && EVP_DigestFinal_ex(r->bh, bh, NULL) != 1)
		rc = SMTPC_ENOMEM;
	if (rc == 0) {
		h.block = crlf_block(r->hdr, r->hend, &h.len);
		rc = h.block == NULL ? SMTPC_ENOMEM : split_fields(&h);
	}
	if (rc == 0)
		rc = make_signature(key, opts, &h, bh, &b);
	free(h.block);
	free(h.f);
	if (rc != 0) {
		free(b.p);
		return rc;
	}
	s->hdr = b.p;
	s->hdrlen = b.len;
	return 0;
}

int smtpc_dkim_sign(const smtpc_dkim_key *key, const smtpc_dkim_options *opts,
                    const smtpc_source *in, smtpc_dkim_signed **out)
{
	smtpc_source init = SMTPC_SOURCE_INIT;
	struct reader r = {.spool = -1};
	smtpc_dkim_signed *s;
	off_t offset;
	int rc;

	if (out == NULL)
		return SMTPC_EINVAL;
	*out = NULL;
	if (in == NULL || check_options(key, opts) != 0)
		return SMTPC_EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SMTPC_ENOMEM;
	s->fd = -1;
	rc = plan_reread(in, s, &r, &offset);
	if (rc == 0)
		rc = smtpc__body_init(&r.body, in);
	r.bh = EVP_MD_CTX_new();
	if (rc == 0 && (r.bh == NULL || EVP_DigestInit_ex(r.bh, EVP_sha256(), NULL) != 1))
		rc = SMTPC_ENOMEM;
	smtpc__dkim_body_init(&r.canon, !opts->simple_body, hash_sink, &r);
	if (rc == 0)
		rc = sign_read(key, opts, &r, s);
	/* Back to where the message starts, for sending. */
	if (rc == 0 && s->fd >= 0 && lseek(s->fd, s->own_fd ? 0 : offset, SEEK_SET) < 0)
		rc = SMTPC_EIO;
	smtpc__body_free(&r.body);
	EVP_MD_CTX_free(r.bh);
	free(r.hdr);
	if (rc != 0) {
		int err = errno;

		smtpc_dkim_signed_free(s);
		errno = err;
		return rc;
	}
	s->src = init;
	s->src.read = read_signed;
	s->src.read_user = s;
	s->src.size = (int64_t)(s->hdrlen + r.total);
	*out = s;
	return 0;
}
