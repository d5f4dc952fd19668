/*
 * dkim.c - fuzz target for the DKIM signer (src/dkim.c, src/dkim_canon.c):
 * smtpc_dkim_sign() with an Ed25519 key made once per process.
 *
 * Input: byte 0 flags, then a raw message. Flags: bit 0 c=simple/...,
 * bit 1 c=.../simple, bits 2-3 h= (0 the default list, 1 "From", 2 a list
 * with repeats and a name absent, 3 a list without From: always refused),
 * bits 4-6 the seed of the piece sizes a callback source gives, bit 7 no
 * t= (else a fixed t=, and x=, i=).
 *
 * The message is signed twice: from memory (read whole) and from a
 * callback giving pieces of 1 to 64 bytes. Invariants:
 * - both give the same result: 0 or SMTPC_EINVAL, with *out NULL then;
 * - on 0 the signed source (read in pieces) is exactly the field of
 *   smtpc_dkim_header() then the input unchanged, source.size bytes, the
 *   field byte-identical for both reads (Ed25519 is deterministic and t=
 *   is fixed, so the cutting of the input may not matter);
 * - the field: "DKIM-Signature:", printable ASCII, SP, HTAB, CRLF only;
 *   lines of at most 78 characters; every CRLF but the final one followed
 *   by WSP (a fold, never a new field); the tags v a c d s t x i h as
 *   asked; bh= and b= strict base64 of 32 and 64 bytes;
 * - bh= equals SHA-256 of the body canonicalised here by a reference
 *   written from RFC 6376 3.4.3 / 3.4.4 (line endings first made CRLF as
 *   the DATA encoder does: CRLF, bare CR, bare LF each end a line);
 * - b= verifies with the public key over SHA-256 of the selected header
 *   fields canonicalised by a reference of 3.4.1 / 3.4.2, chosen bottom-up
 *   as 5.4.2 says, then the signature field with b= emptied (3.7).
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "fuzz.h"
#include "smtpc.h"

#define TIMESTAMP 1700000000

static EVP_PKEY *pkey;
static smtpc_dkim_key *key;

static void setup(void)
{
	BIO *bio;
	char *pem;
	long len;

	if (key != NULL)
		return;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FUZZ_CHECK(pkey != NULL);
	bio = BIO_new(BIO_s_mem());
	FUZZ_CHECK(bio != NULL);
	FUZZ_CHECK(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1);
	len = BIO_get_mem_data(bio, &pem);
	FUZZ_CHECK(len > 0);
	FUZZ_CHECK(smtpc_dkim_key_load(pem, (size_t)len, &key) == 0);
	BIO_free(bio);
}

/* ---------------------------------------------------------------- a growing buffer */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = 2 * (b->len + n) + 16;
		b->p = realloc(b->p, b->cap);
		FUZZ_CHECK(b->p != NULL);
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void putc1(struct buf *b, char c)
{
	put(b, &c, 1);
}

/* ---------------------------------------------------------------- sources */

struct chunks {
	const char *p;
	size_t len, pos;
	uint32_t seed;
};

static size_t next_size(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return 1 + (*seed >> 16) % 64;
}

static long read_chunks(void *out, size_t cap, void *user)
{
	struct chunks *c = user;
	size_t n = next_size(&c->seed);

	if (n > cap)
		n = cap;
	if (n > c->len - c->pos)
		n = c->len - c->pos;
	memcpy(out, c->p + c->pos, n);
	c->pos += n;
	return (long)n;
}

/* Everything a source gives, asked for in pieces of 1 to 64 bytes. */
static void read_source(const smtpc_source *s, struct buf *out, uint32_t seed)
{
	char tmp[64];
	long n;

	FUZZ_CHECK(s->read != NULL);
	while ((n = s->read(tmp, next_size(&seed), s->read_user)) > 0)
		put(out, tmp, (size_t)n);
	FUZZ_CHECK(n == 0);
}

/* ---------------------------------------------------------------- reference canonicalisation */

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* The message as the DATA encoder sends it: CRLF, bare CR, bare LF each become CRLF. */
static void normalise(const char *p, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
			put(out, "\r\n", 2);
			i++;
		} else if (p[i] == '\r' || p[i] == '\n') {
			put(out, "\r\n", 2);
		} else {
			putc1(out, p[i]);
		}
	}
}

/* RFC 6376 3.4.3 / 3.4.4 on a body with CRLF line endings only (but maybe the last). */
static void canon_body(const char *p, size_t n, int relaxed, struct buf *out)
{
	struct buf lines = {0}; /* the lines, each with CRLF */
	size_t i = 0;

	while (i < n) {
		const char *crlf = NULL;
		size_t len, start = lines.len;

		for (size_t j = i; j + 1 < n; j++)
			if (p[j] == '\r' && p[j + 1] == '\n') {
				crlf = p + j;
				break;
			}
		len = crlf != NULL ? (size_t)(crlf - (p + i)) : n - i;
		if (!relaxed) {
			put(&lines, p + i, len);
		} else {
			/* WSP runs become one SP; WSP at the end of the line goes. */
			for (size_t k = 0; k < len; k++) {
				if (is_wsp(p[i + k])) {
					if (lines.len > start && lines.p[lines.len - 1] == ' ')
						continue;
					putc1(&lines, ' ');
				} else {
					putc1(&lines, p[i + k]);
				}
			}
			if (lines.len > start && lines.p[lines.len - 1] == ' ')
				lines.len--;
		}
		put(&lines, "\r\n", 2); /* a last line without CRLF gets one */
		i += len + (crlf != NULL ? 2 : 0);
	}
	/* Empty lines at the end are ignored. */
	while (lines.len >= 2 && (lines.len == 2 || (lines.p[lines.len - 3] == '\n')))
		lines.len -= 2;
	if (lines.len == 0 && !relaxed)
		put(&lines, "\r\n", 2); /* simple: an empty body is one CRLF */
	put(out, lines.p, lines.len);
	free(lines.p);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* RFC 6376 3.4.1 / 3.4.2 on one field (CRLF folds inside, no final CRLF). */
static void canon_header(const char *f, size_t n, int relaxed, struct buf *out)
{
	const char *colon = memchr(f, ':', n);
	size_t start, name;

	FUZZ_CHECK(colon != NULL);
	if (!relaxed) {
		put(out, f, n);
		return;
	}
	name = (size_t)(colon - f);
	while (name > 0 && is_wsp(f[name - 1]))
		name--;
	for (size_t i = 0; i < name; i++)
		putc1(out, lower(f[i]));
	putc1(out, ':');
	start = out->len;
	for (size_t i = (size_t)(colon - f) + 1; i < n; i++) {
		char c = f[i];

		if (c == '\r' || c == '\n')
			continue; /* unfolded */
		if (is_wsp(c)) {
			if (out->len > start && out->p[out->len - 1] == ' ')
				continue;
			c = ' ';
		}
		putc1(out, c);
	}
	/* No WSP after the colon nor at the end. */
	if (out->len > start && out->p[start] == ' ') {
		memmove(out->p + start, out->p + start + 1, out->len - start - 1);
		out->len--;
	}
	if (out->len > start && out->p[out->len - 1] == ' ')
		out->len--;
}

struct field {
	const char *p;
	size_t len, name;
	int used;
};

/* ---------------------------------------------------------------- the field's tags */

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64 (FWS removed first); the decoded length, or -1. */
static long b64_decode(const char *p, size_t n, unsigned char *out, size_t cap)
{
	char t[512];
	size_t m = 0, o = 0, pad = 0;

	for (size_t i = 0; i < n; i++) {
		if (is_wsp(p[i]) || p[i] == '\r' || p[i] == '\n')
			continue;
		if (m == sizeof(t))
			return -1;
		t[m++] = p[i];
	}
	if (m == 0 || m % 4 != 0)
		return -1;
	while (pad < 2 && t[m - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < m; i += 4) {
		int v[4];

		for (int k = 0; k < 4; k++) {
			v[k] = i + (size_t)k >= m - pad ? 0 : b64val(t[i + (size_t)k]);
			if (v[k] < 0)
				return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		size_t take = i + 4 < m ? 3 : 3 - pad;

		if (o + take > cap)
			return -1;
		for (size_t k = 0; k < take; k++)
			out[o++] = (unsigned char)(w >> (16 - 8 * k));
	}
	return (long)o;
}

/* The value of tag name in the field (FWS around it removed), or NULL. */
static const char *tag(const char *f, size_t n, const char *name, size_t *vlen)
{
	const char *p = (const char *)memchr(f, ':', n) + 1;
	const char *end = f + n;

	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *te = semi != NULL ? semi : end;
		const char *eq = memchr(p, '=', (size_t)(te - p));
		const char *ns = p;
		const char *ne;

		FUZZ_CHECK(eq != NULL);
		while (ns < eq && (is_wsp(*ns) || *ns == '\r' || *ns == '\n'))
			ns++;
		ne = eq;
		while (ne > ns && is_wsp(ne[-1]))
			ne--;
		if ((size_t)(ne - ns) == strlen(name) && memcmp(ns, name, strlen(name)) == 0) {
			const char *vs = eq + 1;
			const char *ve = te;

			while (vs < ve && (is_wsp(*vs) || *vs == '\r' || *vs == '\n'))
				vs++;
			while (ve > vs && (is_wsp(ve[-1]) || ve[-1] == '\r' || ve[-1] == '\n'))
				ve--;
			*vlen = (size_t)(ve - vs);
			return vs;
		}
		p = te + 1;
	}
	return NULL;
}

/* The value of tag name without FWS (folds may be anywhere in h=), or NULL. */
static char *tag_clean(const char *f, size_t n, const char *name)
{
	size_t len, o = 0;
	const char *v = tag(f, n, name, &len);
	char *c;

	if (v == NULL)
		return NULL;
	c = malloc(len + 1);
	FUZZ_CHECK(c != NULL);
	for (size_t i = 0; i < len; i++)
		if (!is_wsp(v[i]) && v[i] != '\r' && v[i] != '\n')
			c[o++] = v[i];
	c[o] = '\0';
	return c;
}

static void check_tag(const char *f, size_t n, const char *name, const char *want)
{
	char *v = tag_clean(f, n, name);

	if (want == NULL) {
		FUZZ_CHECK(v == NULL);
		return;
	}
	FUZZ_CHECK(v != NULL);
	FUZZ_CHECK(strcmp(v, want) == 0);
	free(v);
}

/* The shape of the field: printable, folded with CRLF WSP only, 78 columns. */
static void check_field_syntax(const char *f, size_t n)
{
	size_t col = 0;

	FUZZ_CHECK(n > 17 && memcmp(f, "DKIM-Signature:", 15) == 0);
	FUZZ_CHECK(f[n - 2] == '\r' && f[n - 1] == '\n');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f[i];

		if (c == '\r') {
			FUZZ_CHECK(i + 1 < n && f[i + 1] == '\n');
			FUZZ_CHECK(i + 2 == n || is_wsp(f[i + 2])); /* a fold, never a new field */
			FUZZ_CHECK(col <= 78);
			col = 0;
			i++;
			continue;
		}
		FUZZ_CHECK((c >= 0x20 && c <= 0x7e) || c == '\t');
		col++;
	}
}

/* ---------------------------------------------------------------- verification */

static size_t split_fields(const char *h, size_t n, struct field *f, size_t cap)
{
	size_t nf = 0, i = 0;

	while (i < n) {
		const char *lf = memchr(h + i, '\n', n - i);
		size_t eol = (size_t)(lf - h) + 1;

		FUZZ_CHECK(lf != NULL && lf > h + i && lf[-1] == '\r');
		if (is_wsp(h[i])) {
			FUZZ_CHECK(nf > 0); /* the library refuses a block opening with WSP */
			f[nf - 1].len = eol - 2 - (size_t)(f[nf - 1].p - h);
		} else {
			const char *colon = memchr(h + i, ':', eol - i);

			FUZZ_CHECK(colon != NULL); /* the library refuses a line not a field */
			FUZZ_CHECK(nf < cap);
			f[nf].p = h + i;
			f[nf].len = eol - 2 - i;
			f[nf].name = (size_t)(colon - (h + i));
			f[nf].used = 0;
			nf++;
		}
		i = eol;
	}
	return nf;
}

static int same_name(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

static void check_signature(const char *in, size_t size, const char *sig, size_t siglen,
                            int simple_header, int simple_body)
{
	struct buf norm = {0}, canon = {0}, hdr = {0};
	size_t hend, vlen, nf, hl;
	const char *v;
	char *h;
	unsigned char bh[32], got[64], dig[32];
	struct field *f;
	EVP_MD_CTX *md;

	/* The header block ends with the first empty line; the body follows. */
	normalise(in, size, &norm);
	for (hend = 0; hend < norm.len;) {
		const char *lf = memchr(norm.p + hend, '\n', norm.len - hend);

		if (lf == NULL) {
			hend = norm.len;
			break;
		}
		if (lf == norm.p + hend + 1)
			break; /* the empty line */
		hend = (size_t)(lf - norm.p) + 1;
	}

	/* bh= */
	canon_body(norm.p + (hend < norm.len ? hend + 2 : norm.len),
	           hend < norm.len ? norm.len - hend - 2 : 0, !simple_body, &canon);
	FUZZ_CHECK(EVP_Digest(canon.p ? canon.p : "", canon.len, bh, NULL, EVP_sha256(), NULL) ==
	           1);
	v = tag(sig, siglen - 2, "bh", &vlen);
	FUZZ_CHECK(v != NULL);
	FUZZ_CHECK(b64_decode(v, vlen, got, sizeof(got)) == 32);
	FUZZ_CHECK(memcmp(got, bh, 32) == 0);

	/* b=: the fields of h=, bottom-up (5.4.2), then this field with b= empty (3.7). */
	put(&hdr, norm.p, hend);
	if (hdr.len > 0 && hdr.p[hdr.len - 1] != '\n')
		put(&hdr, "\r\n", 2);
	f = malloc((hdr.len / 2 + 1) * sizeof(*f));
	FUZZ_CHECK(f != NULL);
	nf = split_fields(hdr.p, hdr.len, f, hdr.len / 2 + 1);
	canon.len = 0;
	h = tag_clean(sig, siglen - 2, "h");
	FUZZ_CHECK(h != NULL);
	hl = strlen(h);
	for (size_t i = 0; i < hl;) {
		const char *colon = memchr(h + i, ':', hl - i);
		size_t len = colon != NULL ? (size_t)(colon - (h + i)) : hl - i;
		size_t j = nf;

		while (j > 0 &&
		       (f[j - 1].used || !same_name(f[j - 1].p, f[j - 1].name, h + i, len)))
			j--;
		if (j > 0) {
			f[j - 1].used = 1;
			canon_header(f[j - 1].p, f[j - 1].len, !simple_header, &canon);
			put(&canon, "\r\n", 2);
		}
		i += len + 1;
	}
	free(h);
	v = tag(sig, siglen - 2, "b", &vlen);
	FUZZ_CHECK(v != NULL);
	FUZZ_CHECK(v + vlen == sig + siglen - 2); /* b= is last */
	FUZZ_CHECK(b64_decode(v, vlen, got, sizeof(got)) == 64);
	{
		const char *eq = v;

		while (eq[-1] != '=')
			eq--; /* the value and the FWS before it go */
		canon_header(sig, (size_t)(eq - sig), !simple_header, &canon);
	}
	FUZZ_CHECK(EVP_Digest(canon.p, canon.len, dig, NULL, EVP_sha256(), NULL) == 1);
	md = EVP_MD_CTX_new();
	FUZZ_CHECK(md != NULL);
	FUZZ_CHECK(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1);
	FUZZ_CHECK(EVP_DigestVerify(md, got, 64, dig, 32) == 1);
	EVP_MD_CTX_free(md);
	free(f);
	free(norm.p);
	free(canon.p);
	free(hdr.p);
}

/* ---------------------------------------------------------------- the target */

static const char *const LIST1[] = {"From"};
static const char *const LIST2[] = {"from", "To", "Subject", "Date", "X-Absent", "From", "To"};
static const char *const LIST3[] = {"Subject", "To"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smtpc_dkim_options o = SMTPC_DKIM_OPTIONS_INIT;
	smtpc_source mem = SMTPC_SOURCE_INIT, cb = SMTPC_SOURCE_INIT;
	smtpc_dkim_signed *s1 = (smtpc_dkim_signed *)1, *s2 = (smtpc_dkim_signed *)1;
	struct chunks ch;
	struct buf out1 = {0}, out2 = {0};
	const char *f1, *f2;
	size_t n1, n2;
	unsigned flags;
	char *in;
	int rc1, rc2;

	if (size < 1 || size > 65536)
		return 0;
	setup();
	flags = data[0];
	in = fuzz_dup(data + 1, size - 1);
	if (in == NULL)
		return 0;
	size--;

	o.domain = "example.org";
	o.selector = "sel-2024";
	o.simple_header = flags & 1;
	o.simple_body = (flags >> 1) & 1;
	switch ((flags >> 2) & 3) {
	case 1:
		o.headers = LIST1;
		o.nheaders = 1;
		break;
	case 2:
		o.headers = LIST2;
		o.nheaders = sizeof(LIST2) / sizeof(LIST2[0]);
		break;
	case 3:
		o.headers = LIST3;
		o.nheaders = sizeof(LIST3) / sizeof(LIST3[0]);
		break;
	}
	if (flags & 0x80) {
		o.timestamp = -1;
	} else {
		o.timestamp = TIMESTAMP;
		o.expire = 86400;
		o.identity = "news@mail.example.org";
	}

	mem.data = in;
	mem.len = size;
	rc1 = smtpc_dkim_sign(key, &o, &mem, &s1);
	ch.p = in;
	ch.len = size;
	ch.pos = 0;
	ch.seed = (flags >> 4) & 7;
	cb.read = read_chunks;
	cb.read_user = &ch;
	rc2 = smtpc_dkim_sign(key, &o, &cb, &s2);
	if (getenv("SMTPC_FUZZ_DEBUG") != NULL)
		fprintf(stderr, "flags 0x%02x: rc %d %s", flags, rc1,
		        rc1 == 0 ? smtpc_dkim_header(s1, NULL) : "\n");

	FUZZ_CHECK(rc1 == rc2); /* where the input is cut does not matter */
	FUZZ_CHECK(rc1 == 0 || rc1 == SMTPC_EINVAL);
	if (((flags >> 2) & 3) == 3)
		FUZZ_CHECK(rc1 == SMTPC_EINVAL); /* From not in h= */
	if (rc1 != 0) {
		FUZZ_CHECK(s1 == NULL && s2 == NULL); /* nothing produced */
		free(in);
		return 0;
	}
	FUZZ_CHECK(ch.pos == size); /* read to the end */

	/* The same field whatever the cutting. */
	f1 = smtpc_dkim_header(s1, &n1);
	f2 = smtpc_dkim_header(s2, &n2);
	FUZZ_CHECK(f1 != NULL && f2 != NULL && f1[n1] == '\0');
	FUZZ_CHECK(n1 == n2 && memcmp(f1, f2, n1) == 0);
	FUZZ_CHECK(strlen(f1) == n1);
	check_field_syntax(f1, n1);

	/* The signed message: the field, then the input unchanged. */
	read_source(smtpc_dkim_source(s1), &out1, flags);
	read_source(smtpc_dkim_source(s2), &out2, flags + 1);
	FUZZ_CHECK(smtpc_dkim_source(s1)->size == (int64_t)out1.len);
	FUZZ_CHECK(smtpc_dkim_source(s2)->size == (int64_t)out2.len);
	FUZZ_CHECK(out1.len == n1 + size && out2.len == n1 + size);
	FUZZ_CHECK(memcmp(out1.p, f1, n1) == 0 && memcmp(out2.p, f1, n1) == 0);
	FUZZ_CHECK(size == 0 || memcmp(out1.p + n1, in, size) == 0);
	FUZZ_CHECK(size == 0 || memcmp(out2.p + n1, in, size) == 0);

	/* The tags asked for. */
	check_tag(f1, n1 - 2, "v", "1");
	check_tag(f1, n1 - 2, "a", "ed25519-sha256");
	check_tag(f1, n1 - 2, "c",
	          o.simple_header ? (o.simple_body ? "simple/simple" : "simple/relaxed")
	                          : (o.simple_body ? "relaxed/simple" : "relaxed/relaxed"));
	check_tag(f1, n1 - 2, "d", "example.org");
	check_tag(f1, n1 - 2, "s", "sel-2024");
	check_tag(f1, n1 - 2, "t", flags & 0x80 ? NULL : "1700000000");
	check_tag(f1, n1 - 2, "x", flags & 0x80 ? NULL : "1700086400");
	check_tag(f1, n1 - 2, "i", o.identity);
	if (((flags >> 2) & 3) == 1)
		check_tag(f1, n1 - 2, "h", "From");
	if (((flags >> 2) & 3) == 2)
		check_tag(f1, n1 - 2, "h", "from:To:Subject:Date:X-Absent:From:To");

	check_signature(in, size, f1, n1, o.simple_header, o.simple_body);

	smtpc_dkim_signed_free(s1);
	smtpc_dkim_signed_free(s2);
	free(out1.p);
	free(out2.p);
	free(in);
	return 0;
}
