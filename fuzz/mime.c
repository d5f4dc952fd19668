/*
 * mime.c - fuzz target for the message builder (src/mime.c, src/mimeenc.c).
 *
 * Input: byte 0 flags, byte 1 the seed of the read sizes, then fields
 * separated by 0xFF: subject, display name, file name, header name, header
 * value, text, random bytes, and the attachment (the rest, 0xFF allowed).
 * Flags: bit 0 smtpc_mime_set_8bit, bit 1 smtpc_mime_set_utf8, bit 2
 * attach, bit 3 the text also as HTML, bit 4 a To, bit 5 the attachment
 * inline (Content-ID), bit 6 the builder's random bytes are the input's
 * (boundaries and Message-ID the fuzzer can aim the text at; otherwise a
 * counter).
 *
 * Invariants: a setter returns 0 or SMTPC_EINVAL (From and To then set
 * again without the display name, which must work); smtpc_mime_source()
 * returns 0 (SMTPC_ENOMEM allowed only with the input's random bytes: no
 * boundary found). The message, read in pieces of 1 to 256 bytes: exactly
 * source.size bytes; every line ends with CRLF (but maybe the text's last),
 * at most 998 octets, no NUL, no bare CR or LF; the header block (up to the first empty line) has
 * exactly the fields the builder writes (From, To, Subject, Date,
 * Message-ID, MIME-Version, Content-Type, Content-Transfer-Encoding unless
 * multipart) and the custom one when accepted, counted at the start of
 * unfolded lines, every other line a fold (a value can never open a field);
 * 7-bit without the utf8 flag; the MIME structure parses: in each
 * multipart, every line starting with "--boundary" is exactly a delimiter
 * or the close, there is a part and a close; the attachment's base64
 * decodes to its bytes; smtpc_mime_rewind() then a second read gives the
 * same bytes.
 */
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "fuzz.h"
#include "mime.h"
#include "smtpc.h"

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

struct rnd {
	const uint8_t *p;
	size_t len, pos;
	uint32_t counter;
};

static void fuzz_random(unsigned char *buf, size_t len, void *user)
{
	struct rnd *r = user;

	for (size_t i = 0; i < len; i++) {
		if (r->len > 0) {
			buf[i] = r->p[r->pos++ % r->len];
		} else {
			r->counter = r->counter * 1103515245u + 12345u;
			buf[i] = (unsigned char)(r->counter >> 16);
		}
	}
}

static size_t next_size(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return 1 + (*seed >> 16) % 256;
}

static void read_all(const smtpc_source *s, struct buf *out, uint32_t seed)
{
	char tmp[256];
	long n;

	FUZZ_CHECK(s->read != NULL);
	while ((n = s->read(tmp, next_size(&seed), s->read_user)) > 0)
		put(out, tmp, (size_t)n);
	FUZZ_CHECK(n == 0);
}

static const char *find(const char *h, size_t n, const char *s, size_t from)
{
	size_t len = strlen(s);

	for (size_t i = from; i + len <= n; i++)
		if (memcmp(h + i, s, len) == 0)
			return h + i;
	return NULL;
}

/*
 * Lines: CRLF only, at most 998 octets, no NUL. The last line may lack its
 * CRLF (a text body without a final line ending: RFC 5322 3.5 allows it,
 * the DATA encoder adds it).
 */
static void check_lines(const char *p, size_t n)
{
	size_t col = 0;

	FUZZ_CHECK(n >= 2);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(p[i] != '\0');
		if (p[i] == '\r') {
			FUZZ_CHECK(i + 1 < n && p[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		FUZZ_CHECK(p[i] != '\n');
		FUZZ_CHECK(++col <= 998);
	}
}

enum { H_FROM, H_TO, H_SUBJECT, H_DATE, H_MSGID, H_MIMEV, H_CT, H_CTE, H_CUSTOM, H_N };
static const char *const NAMES[H_N] = {
    "From",       "To",           "Subject",      "Date",
    "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    NULL};

/* The header block's fields against the expected counts; returns its length. */
static size_t check_headers(const char *p, size_t n, int *want, const char *custom, int utf8)
{
	int got[H_N] = {0};
	size_t i = 0, nlines = 0;
	int multipart = 0;

	while (1) {
		const char *crlf = find(p, n, "\r\n", i);
		size_t len, name, k;

		FUZZ_CHECK(crlf != NULL);
		len = (size_t)(crlf - (p + i));
		if (len == 0)
			break;
		for (k = 0; k < len + 2 && !utf8; k++)
			FUZZ_CHECK((unsigned char)p[i + k] < 0x80);
		if (p[i] == ' ' || p[i] == '\t') {
			FUZZ_CHECK(nlines > 0); /* a fold */
		} else {
			const char *colon = memchr(p + i, ':', len);

			FUZZ_CHECK(colon != NULL);
			name = (size_t)(colon - (p + i));
			for (k = 0; k < H_N; k++) {
				const char *nm = k == H_CUSTOM ? custom : NAMES[k];

				if (nm != NULL && strlen(nm) == name &&
				    strncasecmp(p + i, nm, name) == 0)
					break;
			}
			FUZZ_CHECK(k < H_N); /* no field the builder does not write */
			got[k]++;
			if (k == H_CT)
				multipart =
				    len > 24 && memcmp(p + i, "Content-Type: multipart/", 24) == 0;
		}
		nlines++;
		i += len + 2;
	}
	want[H_CTE] = !multipart;
	for (size_t k = 0; k < H_N; k++)
		FUZZ_CHECK(got[k] == want[k]);
	return i + 2;
}

/* The end of the line at i (its CRLF, or e for a last line without one). */
static size_t line_end(const char *p, size_t i, size_t e)
{
	const char *crlf = find(p, e, "\r\n", i);

	return crlf != NULL ? (size_t)(crlf - p) : e;
}

/*
 * The MIME structure of the entity [s, e): when its Content-Type is
 * multipart, every line of its body starting with "--boundary" is exactly
 * a delimiter or the close (RFC 2046 5.1.1: the boundary occurs in no
 * content, the boundary elsewhere in a line is harmless), there is at least
 * one part and the close; each part is checked the same way.
 */
static void check_entity(const char *p, size_t s, size_t e, int depth)
{
	struct buf ct = {0};
	size_t i = s, hend = (size_t)-1, blen, nparts = 0, part = 0;
	const char *b, *q;
	char bnd[80];
	int in_ct = 0, closed = 0;

	FUZZ_CHECK(depth < 4);
	/* Every part the builder writes opens with its Content-Type (and has a header block). */
	if (depth > 0)
		FUZZ_CHECK(e - s >= 14 && memcmp(p + s, "Content-Type: ", 14) == 0);
	while (i < e) {
		size_t le = line_end(p, i, e);

		if (le == i) {
			hend = le + 2;
			break;
		}
		if (p[i] == ' ' || p[i] == '\t') {
			if (in_ct)
				put(&ct, p + i, le - i);
		} else {
			in_ct = le - i >= 13 && memcmp(p + i, "Content-Type:", 13) == 0;
			if (in_ct)
				put(&ct, p + i, le - i);
		}
		i = le + 2;
	}
	FUZZ_CHECK(hend != (size_t)-1 && hend <= e); /* the empty line was found */
	put(&ct, "", 1);
	if (strncmp(ct.p, "Content-Type: multipart/", 24) != 0) {
		free(ct.p);
		return;
	}
	b = strstr(ct.p, "boundary=\"");
	FUZZ_CHECK(b != NULL);
	b += 10;
	q = strchr(b, '"');
	FUZZ_CHECK(q != NULL && q > b && (size_t)(q - b) < sizeof(bnd));
	blen = (size_t)(q - b);
	memcpy(bnd, b, blen);
	free(ct.p);
	for (i = hend; i < e && !closed;) {
		size_t le = line_end(p, i, e);

		if (le - i >= blen + 2 && p[i] == '-' && p[i + 1] == '-' &&
		    memcmp(p + i + 2, bnd, blen) == 0) {
			FUZZ_CHECK(le - i == blen + 2 || le - i == blen + 4);
			if (le - i == blen + 4)
				FUZZ_CHECK(p[le - 2] == '-' && p[le - 1] == '-');
			if (nparts > 0)
				check_entity(p, part, i - 2,
				             depth + 1); /* its CRLF is the delimiter's */
			else
				FUZZ_CHECK(i == hend); /* no preamble */
			closed = le - i == blen + 4;
			/* The close ends the entity (but an epilogue CRLF): no part after it. */
			if (closed)
				FUZZ_CHECK(le == e || (le + 2 == e && p[le] == '\r'));
			nparts++;
			part = le + 2;
		}
		i = le + 2;
	}
	FUZZ_CHECK(closed && nparts >= 2);
}

/* The attachment comes last: its base64 decodes to its bytes. */
static void check_attachment(const char *p, size_t n, const uint8_t *att, size_t alen)
{
	const char *key = "\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: ";
	const char *q = NULL, *body, *end;
	struct buf b64 = {0};
	unsigned char *dec;
	size_t dlen;

	for (const char *o = find(p, n, key, 0); o != NULL;
	     o = find(p, n, key, (size_t)(o - p) + 1))
		q = o;
	FUZZ_CHECK(q != NULL);
	body = find(p, n, "\r\n\r\n", (size_t)(q - p) + 2);
	FUZZ_CHECK(body != NULL);
	body += 4;
	end = find(p, n, "\r\n--", (size_t)(body - p));
	FUZZ_CHECK(end != NULL);
	for (const char *c = body; c < end; c++) {
		if (*c == '\r' || *c == '\n')
			continue;
		put(&b64, c, 1);
	}
	dec = malloc(b64.len / 4 * 3 + 1);
	FUZZ_CHECK(dec != NULL);
	dlen = b64.len == 0 ? 0 : smtpc__b64_decode(b64.p, b64.len, dec);
	FUZZ_CHECK(dlen == alen);
	FUZZ_CHECK(alen == 0 || memcmp(dec, att, alen) == 0);
	free(dec);
	free(b64.p);
}

#define NFIELDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *f[NFIELDS];
	size_t flen[NFIELDS];
	char *s[NFIELDS];
	unsigned flags;
	uint32_t seed;
	size_t pos = 2, i;
	smtpc_mime *m;
	smtpc_address from = {"", "sender@example.org", NULL}, to = {"", "rcpt@example.com", NULL};
	smtpc_mime_part part = SMTPC_MIME_PART_INIT;
	smtpc_source src;
	struct rnd rnd = {0};
	struct buf out1 = {0}, out2 = {0};
	int want[H_N] = {0};
	int rc, custom_ok;

	if (size < 2 || size > 65536)
		return 0;
	flags = data[0];
	seed = data[1];
	for (i = 0; i < NFIELDS; i++) {
		const uint8_t *sep =
		    i + 1 < NFIELDS && pos < size ? memchr(data + pos, 0xff, size - pos) : NULL;
		size_t end = sep != NULL ? (size_t)(sep - data) : size;

		if (pos > size)
			pos = size;
		if (i + 1 == NFIELDS)
			end = size;
		f[i] = data + pos;
		flen[i] = end - pos;
		s[i] = fuzz_strdup(f[i], flen[i]);
		FUZZ_CHECK(s[i] != NULL);
		pos = end + 1;
	}
	/* 0 subject, 1 display name, 2 file name, 3 header name, 4 header value, 5 text,
	 * 6 random, 7 attachment */
	m = smtpc_mime_new();
	FUZZ_CHECK(m != NULL);
	if (flags & 0x40) {
		rnd.p = f[6];
		rnd.len = flen[6];
	}
	smtpc__mime_set_random(m, fuzz_random, &rnd);
	FUZZ_CHECK(smtpc_mime_set_8bit(m, flags & 1) == 0);
	FUZZ_CHECK(smtpc_mime_set_utf8(m, (flags >> 1) & 1) == 0);

	from.name = s[1];
	rc = smtpc_mime_set_from(m, &from);
	FUZZ_CHECK(rc == 0 || rc == SMTPC_EINVAL);
	if (rc != 0) {
		from.name = "";
		FUZZ_CHECK(smtpc_mime_set_from(m, &from) == 0);
	}
	want[H_FROM] = 1;
	if (flags & 0x10) {
		to.name = s[1];
		rc = smtpc_mime_add_to(m, &to);
		FUZZ_CHECK(rc == 0 || rc == SMTPC_EINVAL);
		if (rc != 0) {
			to.name = NULL;
			FUZZ_CHECK(smtpc_mime_add_to(m, &to) == 0);
		}
		want[H_TO] = 1;
	}
	rc = smtpc_mime_set_subject(m, s[0]);
	FUZZ_CHECK(rc == 0 || rc == SMTPC_EINVAL);
	want[H_SUBJECT] = rc == 0;
	rc = smtpc_mime_add_header(m, s[3], s[4]);
	FUZZ_CHECK(rc == 0 || rc == SMTPC_EINVAL);
	custom_ok = rc == 0 && strcasecmp(s[3], "Date") != 0 && strcasecmp(s[3], "Message-ID") != 0;
	want[H_DATE] = want[H_MSGID] = want[H_MIMEV] = want[H_CT] = 1;
	if (custom_ok) {
		for (i = 0; i < H_CUSTOM; i++)
			if (strcasecmp(s[3], NAMES[i]) == 0)
				want[i]++; /* e.g. a second To: the caller asked for it */
		want[H_CUSTOM] = 1;
		for (i = 0; i < H_CUSTOM; i++)
			if (strcasecmp(s[3], NAMES[i]) == 0)
				want[H_CUSTOM] = 0; /* counted under its own name */
	}
	rc = smtpc_mime_set_text(m, s[5], flen[5]);
	FUZZ_CHECK(rc == 0 || rc == SMTPC_EINVAL);
	if (flags & 8) {
		int hrc = smtpc_mime_set_html(m, s[5], flen[5]);

		FUZZ_CHECK(hrc == rc);
	}
	if (flags & 4) {
		part.source.data = s[7];
		part.source.len = flen[7];
		part.filename = s[2];
		part.content_id = flags & 0x20 ? "img1@example.org" : NULL;
		rc = smtpc_mime_attach(m, &part);
		FUZZ_CHECK(rc == 0 || rc == SMTPC_EINVAL);
		if (rc != 0) {
			part.filename = NULL;
			FUZZ_CHECK(smtpc_mime_attach(m, &part) == 0);
		}
	}

	rc = smtpc_mime_source(m, &src);
	if (rc == SMTPC_ENOMEM && (flags & 0x40)) {
		goto done; /* every boundary tried clashed with the text */
	}
	FUZZ_CHECK(rc == 0);
	read_all(&src, &out1, seed);
	if (getenv("SMTPC_FUZZ_DEBUG") != NULL)
		fwrite(out1.p, 1, out1.len, stderr);
	FUZZ_CHECK(src.size == (int64_t)out1.len);
	check_lines(out1.p, out1.len);
	(void)check_headers(out1.p, out1.len, want, custom_ok ? s[3] : NULL, (flags >> 1) & 1);
	check_entity(out1.p, 0, out1.len, 0);
	if (flags & 4)
		check_attachment(out1.p, out1.len, f[7], flen[7]);
	FUZZ_CHECK(smtpc_mime_rewind(m) == 0);
	read_all(&src, &out2, seed * 7 + 1);
	FUZZ_CHECK(out1.len == out2.len && memcmp(out1.p, out2.p, out1.len) == 0);
done:
	smtpc_mime_free(m);
	for (i = 0; i < NFIELDS; i++)
		free(s[i]);
	free(out1.p);
	free(out2.p);
	return 0;
}
