/*
 * attach.c - smtpc send FILE --attach: new parts added to an existing
 * message, in bounded memory (docs/COMPOSE.md "Attaching to a message file").
 *
 * The file is read twice: once here (its header block, at most 1 MiB, then
 * its body line by line to find where the parts go), once when it is sent.
 * Lines end as the DATA encoder ends them: CRLF, bare LF or bare CR.
 *   - multipart/mixed (RFC 2046 5.1.3): the parts go just before the one
 *     close delimiter line ("--B--", transport padding allowed: 5.1.1);
 *   - no Content-Type, or text/plain: the message is wrapped into a new
 *     multipart/mixed whose first part is the original body with its
 *     Content-* fields;
 *   - anything else is refused: it cannot take attachments as it is.
 * The parts come from the library's builder (cli_compose_parts()): its
 * output's header block is dropped and its delimiters renamed, so that the
 * parts are encoded exactly as in a built message (base64, RFC 2231 names).
 */
#include "attach.h"

#include "exitcodes.h"
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX     (1u << 20) /* the header block read into memory (as cli/input.c) */
#define BOUNDARY_MAX 70         /* RFC 2046 5.1.1 */
#define PREFIX_MAX   80         /* of a body line: "--" boundary "--" fits */
#define CANDIDATES   4          /* boundaries tried for a wrapped message, in one pass */

static int refuse(const char *why)
{
	fputs("smtpc: cannot add attachments to the message: ", stderr);
	fputs(why, stderr);
	fputc('\n', stderr);
	return EX_DATAERR;
}

static int is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int name_is(const char *p, size_t n, const char *name)
{
	size_t i;

	if (n != strlen(name))
		return 0;
	for (i = 0; i < n && lower((unsigned char)p[i]) == lower((unsigned char)name[i]); i++)
		;
	return i == n;
}

/* pread() the whole of [off, off + len) of the message, or -1. */
static ssize_t read_at(struct cli_attach *a, char *buf, size_t len, off_t off)
{
	ssize_t r;

	do
		r = pread(a->fd, buf, len, a->start + off);
	while (r < 0 && errno == EINTR);
	return r;
}

/* ---------------------------------------------------------------- Content-Type (RFC 2045 5.1) */

/* RFC 2045 5.1 token characters: printable ASCII but tspecials. */
static int is_token(int c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/*
 * The value unfolded and without comments (RFC 5322 3.2.2), quoted strings
 * kept as they are; out holds n + 1 bytes. 8-bit or control characters,
 * an unterminated comment or quoted string: -1.
 */
static int strip_comments(const char *v, size_t n, char *out)
{
	size_t i, o = 0;
	int depth = 0, quoted = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\r' || c == '\n')
			continue; /* folding (the next line starts with WSP: checked by the caller)
			           */
		if (c >= 127 || (c < 32 && c != '\t'))
			return -1;
		if (c == '\\' && (depth > 0 || quoted)) {
			if (++i == n)
				return -1;
			if (quoted) {
				out[o++] = '\\';
				out[o++] = v[i];
			}
			continue;
		}
		if (quoted) {
			quoted = c != '"';
			out[o++] = (char)c;
		} else if (c == '(') {
			depth++;
		} else if (depth > 0) {
			depth -= c == ')';
			if (depth == 0)
				out[o++] = ' ';
		} else {
			quoted = c == '"';
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return depth == 0 && !quoted ? 0 : -1;
}

static const char *skip_wsp(const char *p)
{
	while (is_wsp(*p))
		p++;
	return p;
}

static const char *token_end(const char *p)
{
	while (is_token((unsigned char)*p))
		p++;
	return p;
}

/* A parameter value, token or quoted-string (escapes removed), into val; NULL when neither. */
static const char *param_value(const char *p, char *val, size_t cap)
{
	size_t n = 0;

	if (*p != '"') {
		const char *e = token_end(p);

		if (e == p || (size_t)(e - p) >= cap)
			return NULL;
		memcpy(val, p, (size_t)(e - p));
		val[e - p] = '\0';
		return e;
	}
	for (p++; *p != '"'; p++) {
		if (*p == '\\')
			p++;
		if (*p == '\0' || n + 1 >= cap)
			return NULL;
		val[n++] = *p;
	}
	val[n] = '\0';
	return p + 1;
}

/* RFC 2046 5.1.1: 1 to 70 bchars, not ending with a space. */
static int valid_boundary(const char *b)
{
	size_t n = strlen(b), i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr("'()+_,-./:=? ", c) != NULL))
			return 0;
	}
	return n >= 1 && n <= BOUNDARY_MAX && b[n - 1] != ' ';
}

/* One "; attribute=value" of the parameter list; the boundary kept (twice: -1). */
static const char *one_param(const char *p, char *boundary, int *seen)
{
	const char *name = skip_wsp(p + 1), *e = token_end(name);
	char val[256];

	/* RFC 2231 continuations or charsets on the boundary: not parsed with certainty. */
	if (e == name || ((size_t)(e - name) > 8 && name_is(name, 9, "boundary*")))
		return NULL;
	p = skip_wsp(e);
	if (*p != '=')
		return NULL;
	p = param_value(skip_wsp(p + 1), val, sizeof(val));
	if (p == NULL || !name_is(name, (size_t)(e - name), "boundary"))
		return p;
	if ((*seen)++ || !valid_boundary(val))
		return NULL;
	memcpy(boundary, val, strlen(val) + 1);
	return p;
}

/* type/subtype lower-cased into type (128 bytes) and the boundary parameter ("" if none);
 * -1: not parsed with certainty. */
static int parse_content_type(const char *v, size_t n, char *type, char *boundary)
{
	char *s = malloc(n + 1);
	const char *p, *e;
	int rc = -1, seen = 0;
	size_t i;

	boundary[0] = '\0';
	if (s == NULL || strip_comments(v, n, s) != 0)
		goto out;
	p = skip_wsp(s);
	e = token_end(p);
	if (e == p || *e != '/' || token_end(e + 1) == e + 1 || token_end(e + 1) - p >= 128)
		goto out;
	e = token_end(e + 1);
	for (i = 0; p + i < e; i++)
		type[i] = (char)lower((unsigned char)p[i]);
	type[i] = '\0';
	for (p = skip_wsp(e); p != NULL && *p == ';'; p = p ? skip_wsp(p) : NULL) {
		if (*skip_wsp(p + 1) == '\0') {
			p = skip_wsp(p + 1); /* a trailing ";" */
			break;
		}
		p = one_param(p, boundary, &seen);
	}
	rc = p != NULL && *p == '\0' ? 0 : -1;
out:
	free(s);
	return rc;
}

/* ---------------------------------------------------------------- the header block */

struct field {
	size_t start, colon, end; /* end: after its last line break (or the end of the block) */
};

/* The end of the line starting at i (before its break); *next: after the break. */
static size_t line_end(const char *p, size_t n, size_t i, size_t *next)
{
	while (i < n && p[i] != '\r' && p[i] != '\n')
		i++;
	*next = i < n ? i + 1 + (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') : n;
	return i;
}

/* RFC 5322 3.6.8: a field name is printable ASCII but ":", at least one character. */
static int valid_name(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i] > 32 && p[i] < 127; i++)
		;
	return n > 0 && i == n;
}

/*
 * The field starting at *i: 1 (*i moves past it), 0 at the empty line that
 * ends the block or at the end of p (*i: where the body starts), -1 when
 * the line is not a field (a continuation first, no colon, WSP before it).
 */
static int next_field(const char *p, size_t n, size_t *i, struct field *f)
{
	size_t next, e = line_end(p, n, *i, &next);
	const char *colon;

	if (e == *i) {
		*i = next;
		return 0;
	}
	colon = memchr(p + *i, ':', e - *i);
	if (colon == NULL || !valid_name(p + *i, (size_t)(colon - p) - *i))
		return -1;
	f->start = *i;
	f->colon = (size_t)(colon - p);
	while (next < n && is_wsp(p[next]))
		line_end(p, n, next, &next);
	f->end = *i = next;
	return 1;
}

static int field_is(const char *head, const struct field *f, const char *name)
{
	return name_is(head + f->start, f->colon - f->start, name);
}

static int is_content_field(const char *head, const struct field *f)
{
	return f->colon - f->start > 8 && name_is(head + f->start, 8, "Content-");
}

/* The header block: its length in *len, *body where the body starts; 0 or EX_*. */
static int read_head(struct cli_attach *a, char **head, size_t *len, size_t *body)
{
	size_t n = a->size < (off_t)HEAD_MAX ? (size_t)a->size : HEAD_MAX, got = 0, i = 0;
	struct field f;
	int r;

	*head = malloc(n + 1);
	if (*head == NULL)
		return EX_OSERR;
	while (got < n) {
		ssize_t k = read_at(a, *head + got, n - got, (off_t)got);

		if (k <= 0) {
			fprintf(stderr, "smtpc: cannot read the message: %s\n",
			        strerror(k < 0 ? errno : EIO));
			return EX_NOINPUT;
		}
		got += (size_t)k;
	}
	while ((r = next_field(*head, n, &i, &f)) == 1)
		;
	if (r < 0)
		return refuse("a header line is not a field (RFC 5322 2.2)");
	if (i == n && n == HEAD_MAX && a->size > (off_t)HEAD_MAX)
		return refuse("the header block is over 1 MiB");
	if (memchr(*head, '\0', i) != NULL)
		return refuse("a NUL byte in the header block");
	*len = *body = i;
	return 0;
}

/*
 * 1 when the field is a Content-Transfer-Encoding, with its value's bounds (blanks and line
 * ends around it left out; comments are not allowed here) in *i, *e.
 */
static int cte_value(const char *head, const struct field *f, size_t *i, size_t *e)
{
	*i = f->colon + 1;
	*e = f->end;
	while (*i < *e && (is_wsp(head[*i]) || head[*i] == '\r' || head[*i] == '\n'))
		++*i;
	while (*e > *i && (is_wsp(head[*e - 1]) || head[*e - 1] == '\r' || head[*e - 1] == '\n'))
		--*e;
	return field_is(head, f, "Content-Transfer-Encoding");
}

/*
 * 1 when the field is a Content-Transfer-Encoding other than 7bit, 8bit or binary: a
 * multipart may have no other (RFC 2045 6.4), so one that says base64 is no multipart to add to.
 */
static int is_encoded_cte(const char *head, const struct field *f)
{
	size_t i, e;

	return cte_value(head, f, &i, &e) && !name_is(head + i, e - i, "7bit") &&
	       !name_is(head + i, e - i, "8bit") && !name_is(head + i, e - i, "binary");
}

/* What the Content-Type fields say: 0 (a->wrap, a->boundary set) or EX_DATAERR (reported). */
static int choose_mode(struct cli_attach *a, const char *head, size_t len)
{
	struct field f, ct = {0, 0, 0};
	size_t i = 0, nct = 0;
	int encoded = 0;
	char type[128];

	while (next_field(head, len, &i, &f) == 1) {
		if (field_is(head, &f, "Content-Type")) {
			ct = f;
			nct++;
		}
		encoded |= is_encoded_cte(head, &f);
	}
	if (nct > 1)
		return refuse("it has more than one Content-Type field");
	a->wrap = 1;
	if (nct == 0)
		return 0; /* text/plain (RFC 2045 5.2) */
	if (parse_content_type(head + ct.colon + 1, ct.end - ct.colon - 1, type, a->boundary) != 0)
		return refuse("its Content-Type field cannot be parsed with certainty");
	if (strcmp(type, "text/plain") == 0)
		return 0;
	a->wrap = 0;
	if (strcmp(type, "multipart/mixed") == 0 && encoded)
		return refuse(
		    "it is multipart/mixed with a Content-Transfer-Encoding other than 7bit, "
		    "8bit or binary (RFC 2045 6.4)");
	if (strcmp(type, "multipart/mixed") == 0 && a->boundary[0] != '\0')
		return 0;
	if (strcmp(type, "multipart/mixed") == 0)
		return refuse("it is multipart/mixed without a boundary parameter");
	if (strcmp(type, "multipart/signed") == 0)
		return refuse("it is multipart/signed: adding parts would break its signature");
	fputs("smtpc: cannot add attachments to the message: it is ", stderr);
	cli_put_str(stderr, type);
	fputs(" (only a text/plain or multipart/mixed message can take them as it is)\n", stderr);
	return EX_DATAERR;
}

/* ---------------------------------------------------------------- the body, line by line */

struct scan {
	char pre[PREFIX_MAX]; /* the line's first bytes */
	size_t len, trim;     /* its length, and up to its last byte that is not WSP */
	off_t start;          /* where it starts */
	off_t last_close;     /* the last close delimiter line, -1: none */
	int bad;              /* a line the boundary starts that is no delimiter, or a delimiter
	                         or a second close delimiter after a close delimiter */
	char cand[CANDIDATES][48]; /* wrap: the boundaries tried */
	int clash[CANDIDATES];
};

static int starts_with_dashes(const struct scan *s, const char *b, size_t bl)
{
	return s->len >= bl + 2 && s->pre[0] == '-' && s->pre[1] == '-' &&
	       memcmp(s->pre + 2, b, bl) == 0;
}

/* RFC 2046 5.1.1: "--" boundary, or "--" boundary "--", then transport padding only. */
static void end_line(struct cli_attach *a, struct scan *s)
{
	size_t bl = strlen(a->boundary), k;

	if (a->wrap) {
		for (k = 0; k < CANDIDATES; k++)
			s->clash[k] |= starts_with_dashes(s, s->cand[k], strlen(s->cand[k]));
	} else if (starts_with_dashes(s, a->boundary, bl)) {
		/* A second close delimiter: the first one ends the multipart for a reader
		 * (RFC 2046 5.1.1), so which is meant is a guess: refused. */
		if (s->trim == bl + 4 && memcmp(s->pre + bl + 2, "--", 2) == 0)
			s->bad |= s->last_close >= 0;
		else if (s->trim != bl + 2 || s->last_close >= 0)
			s->bad = 1;
		if (s->trim == bl + 4 && memcmp(s->pre + bl + 2, "--", 2) == 0)
			s->last_close = s->start;
	}
	s->len = s->trim = 0;
}

static void scan_bytes(struct cli_attach *a, struct scan *s, const char *p, size_t n, off_t off,
                       int *prev_cr)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (*prev_cr && c == '\n') {
			*prev_cr = 0;
			s->start = off + (off_t)i + 1;
			continue; /* the LF of a CRLF */
		}
		*prev_cr = c == '\r';
		if (c == '\r' || c == '\n') {
			end_line(a, s);
			s->start = off + (off_t)i + 1;
			continue;
		}
		if (s->len < PREFIX_MAX)
			s->pre[s->len] = c;
		s->len++;
		if (!is_wsp((unsigned char)c))
			s->trim = s->len;
	}
}

/* Reads the body from off to the end; 0 or EX_NOINPUT (reported). */
static int scan_body(struct cli_attach *a, struct scan *s, off_t off)
{
	char buf[65536];
	int prev_cr = 0;

	s->start = off;
	while (off < a->size) {
		size_t want =
		    a->size - off < (off_t)sizeof(buf) ? (size_t)(a->size - off) : sizeof(buf);
		ssize_t k = read_at(a, buf, want, off);

		if (k <= 0) {
			fprintf(stderr, "smtpc: cannot read the message: %s\n",
			        strerror(k < 0 ? errno : EIO));
			return EX_NOINPUT;
		}
		scan_bytes(a, s, buf, (size_t)k, off, &prev_cr);
		off += k;
	}
	if (s->len > 0)
		end_line(a, s); /* the last line, without a line break */
	return 0;
}

/* Boundaries like the builder's: "=_smtpc_" and 24 hex digits. */
static void make_candidates(struct scan *s)
{
	unsigned char r[CANDIDATES][12];
	size_t k, i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* No entropy source: the body is searched for it all the same. */
		for (i = 0; i < sizeof(r); i++)
			((unsigned char *)r)[i] = (unsigned char)(rand() ^ time(NULL) ^ getpid());
	}
	for (k = 0; k < CANDIDATES; k++) {
		memcpy(s->cand[k], "=_smtpc_", 8);
		for (i = 0; i < sizeof(r[k]); i++)
			snprintf(s->cand[k] + 8 + 2 * i, 3, "%02x", r[k][i]);
	}
}

/* ---------------------------------------------------------------- the new parts */

static void put(struct cli_attach *a, const char *p, size_t n)
{
	memcpy(a->out + a->out_len, p, n);
	a->out_len += n;
}

static void put_delimiter(struct cli_attach *a)
{
	put(a, "--", 2);
	put(a, a->boundary, strlen(a->boundary));
	put(a, "\r\n", 2);
}

static int is_inner(const struct cli_attach *a, const char *l, size_t n, const char *tail)
{
	size_t tl = strlen(tail);

	return n == a->inner_len + 2 + tl && l[0] == '-' && l[1] == '-' &&
	       memcmp(l + 2, a->inner, a->inner_len) == 0 && memcmp(l + n - tl, tail, tl) == 0;
}

/*
 * One line of the builder's multipart/mixed (CRLF removed): its header block
 * is dropped, its delimiters become ours, its close delimiter ends the parts.
 * No other line can start with "--": part headers are fields, bodies base64.
 */
static int parts_line(struct cli_attach *a)
{
	const char *l = a->line;
	size_t n = a->line_len;

	a->out_len = a->out_pos = 0;
	if (a->phase == 0) {
		a->phase = n == 0;
	} else if (a->inner_len == 0) {
		if (n < 3 || n - 2 >= sizeof(a->inner) || l[0] != '-' || l[1] != '-')
			return -1; /* not the builder's first delimiter */
		memcpy(a->inner, l + 2, a->inner_len = n - 2);
		put_delimiter(a);
	} else if (is_inner(a, l, n, "--")) {
		a->phase = 2;
	} else if (is_inner(a, l, n, "")) {
		put_delimiter(a);
	} else {
		put(a, l, n);
		put(a, "\r\n", 2);
	}
	return 0;
}

static long parts_read(struct cli_attach *a, char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		char c;

		if (a->out_pos < a->out_len) {
			size_t k = a->out_len - a->out_pos < len - done ? a->out_len - a->out_pos
			                                                : len - done;

			memcpy(buf + done, a->out + a->out_pos, k);
			a->out_pos += k;
			done += k;
			continue;
		}
		if (a->phase == 2)
			break;
		if (a->in_pos == a->in_len) {
			long r = a->parts_src.read(a->in, sizeof(a->in), a->parts_src.read_user);

			if (r <= 0)
				return -1; /* an attachment failed, or the builder's output ended
				              early */
			a->in_len = (size_t)r;
			a->in_pos = 0;
		}
		c = a->in[a->in_pos++];
		if (c == '\n') {
			a->line_len -= a->line_len > 0 && a->line[a->line_len - 1] == '\r';
			if (parts_line(a) != 0)
				return -1;
			a->line_len = 0;
		} else if (a->line_len == sizeof(a->line)) {
			return -1; /* the builder's lines are at most 998 octets */
		} else {
			a->line[a->line_len++] = c;
		}
	}
	return (long)done;
}

/* ---------------------------------------------------------------- the message sent */

static long seg_read(struct cli_attach *a, const struct cli_attach_seg *s, char *buf, size_t len)
{
	size_t left;
	ssize_t r;

	switch (s->kind) {
	case SEG_MEM:
		left = s->len - (size_t)a->pos;
		left = left < len ? left : len;
		memcpy(buf, s->p + a->pos, left);
		a->pos += (off_t)left;
		return (long)left;
	case SEG_FILE:
		left = (size_t)(s->to - s->from - a->pos);
		left = left < len ? left : len;
		if (left == 0)
			return 0;
		r = read_at(a, buf, left, s->from + a->pos);
		if (r <= 0) {
			a->err = r < 0 ? errno : EIO; /* shorter than when it was read first */
			return -1;
		}
		a->pos += r;
		return (long)r;
	case SEG_PARTS:
		return parts_read(a, buf, len);
	default:
		return -1;
	}
}

static long attach_read(void *buf, size_t len, void *user)
{
	struct cli_attach *a = user;

	while (a->seg < a->nsegs) {
		long r = seg_read(a, &a->segs[a->seg], buf, len);

		if (r != 0)
			return r;
		a->seg++;
		a->pos = 0;
	}
	return 0;
}

static void add_seg(struct cli_attach *a, struct cli_attach_seg s)
{
	a->segs[a->nsegs++] = s;
}

static void add_mem(struct cli_attach *a, const char *p, size_t len)
{
	add_seg(a, (struct cli_attach_seg){SEG_MEM, p, len, 0, 0});
}

static void add_file(struct cli_attach *a, off_t from, off_t to)
{
	add_seg(a, (struct cli_attach_seg){SEG_FILE, NULL, 0, from, to});
}

static void add_parts(struct cli_attach *a)
{
	add_seg(a, (struct cli_attach_seg){SEG_PARTS, NULL, 0, 0, 0});
}

/* Appends the field, with a line break when the header block ends without one. */
static void copy_field(char *out, size_t *n, const char *head, const struct field *f)
{
	memcpy(out + *n, head + f->start, f->end - f->start);
	*n += f->end - f->start;
	if (head[f->end - 1] != '\n' && head[f->end - 1] != '\r') {
		memcpy(out + *n, "\r\n", 2);
		*n += 2;
	}
}

/* 1 when the field is Content-Transfer-Encoding: 8bit or binary. */
static int is_8bit_cte(const char *head, const struct field *f)
{
	size_t i, e;

	return cte_value(head, f, &i, &e) &&
	       (name_is(head + i, e - i, "8bit") || name_is(head + i, e - i, "binary"));
}

/*
 * The wrapped message's header block: the fields but Content-*, MIME-Version
 * when missing, the new Content-Type; then the first delimiter and the
 * first part's header: the original Content-* fields (RFC 2045 9: they
 * describe the body, which the part now holds).
 */
static int wrap_head(struct cli_attach *a, const char *head, size_t len)
{
	/* The fields once each (a line break added to the last at most), the 8bit
	 * Content-Transfer-Encoding twice, the lines below. */
	size_t i = 0, n = 0, cap = 2 * len + 4 + 2 * strlen(a->boundary) + 128;
	struct field f, cte = {0, 0, 0};
	int mime = 0, pass;
	char *out = malloc(cap);

	if (out == NULL)
		return EX_OSERR;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; next_field(head, len, &i, &f) == 1;) {
			mime |= field_is(head, &f, "MIME-Version");
			if (is_8bit_cte(head, &f))
				cte = f;
			if (is_content_field(head, &f) == pass)
				copy_field(out, &n, head, &f);
		}
		if (pass == 1)
			break;
		if (!mime)
			n += (size_t)snprintf(out + n, cap - n, "MIME-Version: 1.0\r\n");
		/* RFC 2045 6.4: a multipart holding an 8bit or binary part says so. */
		if (cte.end > 0)
			copy_field(out, &n, head, &cte);
		n += (size_t)snprintf(
		    out + n, cap - n,
		    "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n\r\n--%s\r\n",
		    a->boundary, a->boundary);
	}
	memcpy(out + n, "\r\n", 2);
	a->head = out;
	a->head_len = n + 2;
	return 0;
}

/* The pieces of the message sent, in order. */
static int plan(struct cli_attach *a, const char *head, size_t len, size_t body, off_t close)
{
	int ex;

	if (!a->wrap) {
		add_file(a, 0, close);
		add_parts(a);
		add_file(a, close, a->size);
		return 0;
	}
	ex = wrap_head(a, head, len);
	if (ex != 0)
		return ex;
	snprintf(a->close, sizeof(a->close), "--%s--\r\n", a->boundary);
	add_mem(a, a->head, a->head_len);
	add_file(a, (off_t)body, a->size);
	add_mem(a, "\r\n", 2); /* the delimiter's: the body keeps its last line break */
	add_parts(a);
	add_mem(a, a->close, strlen(a->close));
	return 0;
}

/* Where the parts go, or the boundary of the wrapping multipart; 0 or EX_* (reported). */
static int find_place(struct cli_attach *a, size_t body, off_t *close)
{
	struct scan s;
	int ex, k;

	memset(&s, 0, sizeof(s));
	s.last_close = -1;
	if (a->wrap)
		make_candidates(&s);
	ex = scan_body(a, &s, (off_t)body);
	if (ex != 0)
		return ex;
	if (!a->wrap && s.bad)
		return refuse("a line in its body starts with its boundary but is not the one "
		              "delimiter it can be (RFC 2046 5.1.1)");
	if (!a->wrap && s.last_close < 0)
		return refuse("its multipart/mixed body has no close delimiter line");
	*close = s.last_close;
	for (k = 0; a->wrap && k < CANDIDATES && s.clash[k]; k++)
		;
	if (k == CANDIDATES)
		return refuse("no boundary found that its body does not hold");
	if (a->wrap)
		memcpy(a->boundary, s.cand[k], strlen(s.cand[k]) + 1);
	return 0;
}

int cli_attach_open(struct cli_attach *a, const struct cli_options *o, int fd, off_t start,
                    off_t size)
{
	char *head = NULL;
	size_t len = 0, body = 0;
	off_t close = 0;
	int ex;

	memset(a, 0, sizeof(*a));
	a->fd = fd;
	a->start = start;
	a->size = size;
	ex = read_head(a, &head, &len, &body);
	if (ex == 0)
		ex = choose_mode(a, head, len);
	if (ex == 0)
		ex = find_place(a, body, &close);
	if (ex == 0)
		ex = cli_compose_open(&a->parts, o);
	if (ex == 0)
		ex = cli_compose_parts(&a->parts, o, &a->parts_src);
	if (ex == 0)
		ex = plan(a, head, len, body, close);
	free(head);
	return ex;
}

void cli_attach_source(struct cli_attach *a, smtpc_source *src)
{
	smtpc_source init = SMTPC_SOURCE_INIT;

	*src = init;
	src->read = attach_read;
	src->read_user = a;
}

void cli_attach_close(struct cli_attach *a)
{
	cli_compose_close(&a->parts);
	free(a->head);
	memset(a, 0, sizeof(*a));
}
