/*
 * caps.c - EHLO/LHLO capabilities, no I/O.
 *
 * RFC 5321 4.1.1.1 (ehlo-line = ehlo-keyword *( SP ehlo-param ))
 * RFC 1869 4.5 (ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"))
 * RFC 4954 3 (AUTH and its mechanism list; "AUTH=" is the pre-standard form
 *             some servers still send)
 * RFC 4422 3.1 (SASL mechanism names: upper-case letters, digits, "-", "_")
 * RFC 1870 4 (SIZE [number]; 0 or no number: no fixed limit)
 *
 * Stricter than smtplib: a keyword must be followed by SP, the line end, or
 * (AUTH only) "="; anything else ("X_FOO", "SIZE\t10") drops the line.
 *
 * Storage is one malloc'd buffer sized from the input length, in two
 * regions: the AUTH mechanism list (it grows with each AUTH line, so it has
 * its own contiguous region) and the keywords and parameters.
 */
#include <stdlib.h>
#include <string.h>

#include "caps.h"

/* What one parse needs besides the caps themselves. */
struct caps_ctx {
	smtpc__caps *c;
	char *auth;      /* AUTH region: the mechanisms, joined by one space */
	size_t auth_len; /* bytes used in it (without the NUL) */
	size_t nmech;    /* mechanisms kept */
	char *store;     /* keyword region */
	size_t used;     /* bytes used in it */
	size_t cap;      /* its size */
};

static int is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_alnum(unsigned char ch)
{
	return is_digit(ch) || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static int is_blank(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

/* ASCII only: the locale must not change how a keyword is spelled. */
static char to_upper(char ch)
{
	return ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
}

/* s[0..n) equals the upper-case NUL-terminated `upper`, ignoring case. */
static int ci_equal(const char *s, size_t n, const char *upper)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (upper[i] == '\0' || to_upper(s[i]) != upper[i])
			return 0;
	}
	return upper[n] == '\0';
}

void smtpc__caps_init(smtpc__caps *c)
{
	c->n = 0;
	c->size_known = 0;
	c->size_max = 0;
	c->buf = NULL;
}

void smtpc__caps_clear(smtpc__caps *c)
{
	free(c->buf);
	smtpc__caps_init(c);
}

/* Copies s[0..n) upper-cased or as is into the keyword region. */
static char *store(struct caps_ctx *x, const char *s, size_t n, int upper)
{
	char *p;
	size_t i;

	/* Cannot happen (the region is sized for the worst case), but never
	 * write past it. */
	if (n >= x->cap - x->used)
		return NULL;
	p = x->store + x->used;
	for (i = 0; i < n; i++)
		p[i] = upper ? to_upper(s[i]) : s[i];
	p[n] = '\0';
	x->used += n + 1;
	return p;
}

/* RFC 4422 3.1 mech-char, lower case accepted (stored upper-cased). */
static int is_mech_char(unsigned char ch)
{
	return is_alnum(ch) || ch == '-' || ch == '_';
}

/* Adds one mechanism to the AUTH set unless it is already there. */
static void add_mech(struct caps_ctx *x, const char *m, size_t n)
{
	size_t i = 0;

	for (i = 0; i < n; i++) {
		if (!is_mech_char((unsigned char)m[i]))
			return;
	}
	/* Walk the joined list: each entry ends at a space or the NUL. */
	for (i = 0; i < x->auth_len;) {
		size_t e = i;

		while (e < x->auth_len && x->auth[e] != ' ')
			e++;
		if (e - i == n) {
			size_t j = 0;

			while (j < n && to_upper(m[j]) == x->auth[i + j])
				j++;
			if (j == n)
				return;
		}
		i = e + 1;
	}
	if (x->nmech >= SMTPC__CAPS_MAX_AUTH)
		return;
	if (x->auth_len > 0)
		x->auth[x->auth_len++] = ' ';
	for (i = 0; i < n; i++)
		x->auth[x->auth_len++] = to_upper(m[i]);
	x->auth[x->auth_len] = '\0';
	x->nmech++;
}

static void add_mechs(struct caps_ctx *x, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start;

		while (i < n && is_blank((unsigned char)s[i]))
			i++;
		start = i;
		while (i < n && !is_blank((unsigned char)s[i]))
			i++;
		if (i > start)
			add_mech(x, s + start, i - start);
	}
}

/* Index of the keyword kw[0..n) (any case), or c->n. */
static size_t find(const smtpc__caps *c, const char *kw, size_t n)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (ci_equal(kw, n, c->cap[i].keyword))
			break;
	}
	return i;
}

/* One line after the greeting line. */
static void parse_line(struct caps_ctx *x, const char *s, size_t n)
{
	smtpc__caps *c = x->c;
	smtpc__cap *cap;
	const char *param;
	char *copy;
	size_t k = 1;
	size_t i, plen;
	int is_auth;

	/* A NUL cannot be kept in a C string parameter: the line is garbage. */
	if (n == 0 || !is_alnum((unsigned char)s[0]) || memchr(s, '\0', n) != NULL)
		return;
	while (k < n && (is_alnum((unsigned char)s[k]) || s[k] == '-'))
		k++;
	is_auth = ci_equal(s, k, "AUTH");
	if (k == n) {
		param = s + n;
		plen = 0;
	} else if (s[k] == ' ' || (s[k] == '=' && is_auth)) {
		param = s + k + 1;
		plen = n - k - 1;
	} else {
		return;
	}
	while (plen > 0 && is_blank((unsigned char)param[0])) {
		param++;
		plen--;
	}
	while (plen > 0 && is_blank((unsigned char)param[plen - 1]))
		plen--;

	/* A new keyword beyond the limit is dropped; one already listed is
	 * still updated. */
	i = find(c, s, k);
	if (i >= SMTPC__CAPS_MAX)
		return;
	cap = &c->cap[i];
	if (i == c->n) {
		cap->keyword = store(x, s, k, 1);
		if (cap->keyword == NULL)
			return;
		cap->params = is_auth ? x->auth : cap->keyword + k;
		c->n++;
	}
	if (is_auth) {
		add_mechs(x, param, plen);
		return;
	}
	if (plen == 0) {
		cap->params = cap->keyword + strlen(cap->keyword); /* "" */
		return;
	}
	copy = store(x, param, plen, 0);
	if (copy != NULL)
		cap->params = copy;
}

/* RFC 1870 4: all digits, no sign, no overflow; anything else is unknown. */
static int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	for (; *s != '\0'; s++) {
		unsigned d;

		if (!is_digit((unsigned char)*s))
			return 0;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

int smtpc__caps_parse(smtpc__caps *c, const char *text, size_t len)
{
	struct caps_ctx x;
	const smtpc__cap *size;
	const char *p, *end, *nl;
	size_t total;

	smtpc__caps_clear(c);
	if (text == NULL || len == 0)
		return 0;
	/*
	 * AUTH region: distinct mechanisms, each preceded in the input by at
	 * least one byte, joined by one space: at most len bytes plus the NUL.
	 * Keyword region: a keyword line of n bytes (plus its LF) stores at
	 * most n + 2 bytes (two NULs), so all of them fit in 2 * len.
	 */
	if (len > (SIZE_MAX - 16) / 3)
		return SMTPC_ENOMEM;
	total = 3 * len + 16;
	c->buf = malloc(total);
	if (c->buf == NULL)
		return SMTPC_ENOMEM;
	x.c = c;
	x.auth = c->buf;
	x.auth_len = 0;
	x.auth[0] = '\0';
	x.nmech = 0;
	x.store = c->buf + len + 1;
	x.used = 0;
	x.cap = total - (len + 1);

	/* The first line is the server's name and greeting. */
	end = text + len;
	p = memchr(text, '\n', len);
	while (p != NULL) {
		p++;
		nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		parse_line(&x, p, (size_t)((nl != NULL ? nl : end) - p));
		p = nl;
	}

	size = smtpc__caps_find(c, "SIZE");
	if (size != NULL)
		c->size_known = parse_size(size->params, &c->size_max);
	if (!c->size_known)
		c->size_max = 0;
	return 0;
}

const smtpc__cap *smtpc__caps_find(const smtpc__caps *c, const char *keyword)
{
	size_t i;

	if (keyword == NULL)
		return NULL;
	i = find(c, keyword, strlen(keyword));
	return i < c->n ? &c->cap[i] : NULL;
}
