/*
 * address.c - the single address of an RFC 5322 (3.4) mailbox string, as
 * an RFC 5321 (4.1.2) path without its angle brackets. No I/O.
 *
 * Accepted shapes (CFWS - blanks and comments - allowed between tokens):
 *   addr-spec                     bob@x.com, "a b"@x.com, bob
 *   [display-name] angle-addr     <bob@x.com>, Bob <bob@x.com>,
 *                                 "Bob, Jr." <bob@x.com>
 *   angle-addr with obs-route     <@relay1,@relay2:bob@x.com> (4.4: the
 *                                 route is dropped, RFC 5321 C. says so too)
 * The local part is kept as written (quoted strings keep their quotes and
 * quoted pairs); comments and blanks between tokens are dropped.
 *
 * Anything else gives "no address" (0) rather than a guess: two addresses,
 * a group ("undisclosed-recipients:;"), a stray or missing bracket, an
 * unterminated quoted string, comment or domain literal, and any control
 * character (CR, LF, NUL ... ) anywhere. Older smtplib parsers returned the
 * first address of "bob@x.com\r\nRCPT TO:<evil@x>", and smtplib keeps the
 * whole string of "<a@x> NOTIFY=SUCCESS" (a parameter smuggled inside the
 * address); here "no address" is final: the caller refuses the argument.
 *
 * smtpc__addr_path() then holds what was found to RFC 5321 4.1.2: a
 * Dot-string or one Quoted-string as the local part, a domain of letters,
 * digits, '-' and '_' labels (UTF-8 bytes allowed, for SMTPUTF8) or an
 * address literal of letters, digits, '.', ':' and '-'. What goes on MAIL
 * or RCPT is exactly one path.
 *
 * No recursion: nested comments are skipped with a depth counter. The
 * output is never longer than the input, so one allocation of strlen + 1
 * is enough.
 */
#include "address.h"

#include <stdlib.h>
#include <string.h>

enum tok_type {
	T_END,
	T_ERR,   /* unterminated quote/comment/literal, stray ')' ']' '\\' */
	T_ATOM,  /* run of atext and dots (dot-atom, obs-phrase words) */
	T_QSTR,  /* quoted string, quotes included */
	T_DLIT,  /* domain literal, brackets included */
	T_LT,    /* < */
	T_GT,    /* > */
	T_AT,    /* @ */
	T_COMMA, /* , */
	T_COLON, /* : */
	T_SEMI,  /* ; */
};

struct tok {
	enum tok_type type;
	const char *s;
	size_t len;
};

struct lexer {
	const char *p;
};

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Not RFC 5322 3.2.3 specials (minus '.', which we keep inside atoms), blanks or controls. A
 * switch, not strchr over the specials: every byte of every address goes through here.
 */
static int is_atext(unsigned char c)
{
	switch (c) {
	case '(':
	case ')':
	case '<':
	case '>':
	case '[':
	case ']':
	case ':':
	case ';':
	case '@':
	case '\\':
	case ',':
	case '"':
		return 0;
	default:
		return c > ' ' && c != 0x7f;
	}
}

/*
 * Skips a comment starting at p (*p == '('); returns the byte after its
 * closing ')' or NULL when it is not closed.
 */
static const char *skip_comment(const char *p)
{
	size_t depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			p++;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return NULL;
}

/* Skips a quoted string opened at p; NULL if not closed. */
static const char *skip_qstr(const char *p)
{
	for (p++; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			p++;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/*
 * Skips a domain literal opened at p; NULL if not closed or if it holds
 * anything but RFC 5321 4.1.3 dcontent (%d33-90 / %d94-126): no blanks, no
 * quoted pairs, no 8-bit bytes, since it goes onto the wire as written.
 */
static const char *skip_dlit(const char *p)
{
	for (p++; *p != ']'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 33 || c > 126 || c == '[' || c == '\\')
			return NULL;
	}
	return p + 1;
}

static struct tok next_tok(struct lexer *lx)
{
	struct tok t = {T_END, NULL, 0};
	const char *p = lx->p;
	const char *q;

	for (;;) {
		while (is_blank((unsigned char)*p))
			p++;
		if (*p != '(')
			break;
		p = skip_comment(p);
		if (p == NULL) {
			t.type = T_ERR;
			return t;
		}
	}
	t.s = p;
	switch (*p) {
	case '\0':
		t.type = T_END;
		break;
	case '"':
	case '[':
		q = *p == '"' ? skip_qstr(p) : skip_dlit(p);
		if (q == NULL) {
			t.type = T_ERR;
			return t;
		}
		t.type = *p == '"' ? T_QSTR : T_DLIT;
		t.len = (size_t)(q - p);
		break;
	case '<':
		t.type = T_LT;
		t.len = 1;
		break;
	case '>':
		t.type = T_GT;
		t.len = 1;
		break;
	case '@':
		t.type = T_AT;
		t.len = 1;
		break;
	case ',':
		t.type = T_COMMA;
		t.len = 1;
		break;
	case ':':
		t.type = T_COLON;
		t.len = 1;
		break;
	case ';':
		t.type = T_SEMI;
		t.len = 1;
		break;
	default:
		for (q = p; is_atext((unsigned char)*q) || *q == '.'; q++)
			;
		if (q == p) {
			t.type = T_ERR; /* ')', ']', '\\' outside a quoted string */
			return t;
		}
		t.type = T_ATOM;
		t.len = (size_t)(q - p);
		break;
	}
	lx->p = p + t.len;
	return t;
}

static int is_word(const struct tok *t)
{
	return t->type == T_ATOM || t->type == T_QSTR;
}

/*
 * Two words of a local part must be joined by a dot ("a.\"b\"", "\"a\".b");
 * "Bob bob@x.com" is a display name without brackets, not an address.
 */
static int words_joined(const struct tok *prev, const struct tok *next)
{
	if (prev->type == T_ATOM && prev->s[prev->len - 1] == '.')
		return 1;
	return next->type == T_ATOM && next->s[0] == '.';
}

/* A domain: a dot-atom without empty labels, or a domain literal. */
static int is_domain(const struct tok *t)
{
	size_t i;

	if (t->type == T_DLIT)
		return 1;
	if (t->type != T_ATOM || t->s[0] == '.' || t->s[t->len - 1] == '.')
		return 0;
	for (i = 1; i < t->len; i++) {
		if (t->s[i] == '.' && t->s[i - 1] == '.')
			return 0;
	}
	return 1;
}

struct out {
	char *buf;
	size_t len;
};

static void put(struct out *o, const struct tok *t)
{
	memcpy(o->buf + o->len, t->s, t->len);
	o->len += t->len;
}

/*
 * Parses an addr-spec whose first word is *t: words joined by dots, then
 * optionally "@" domain. Appends it to o; on return *t is the token after
 * it. Returns 1, or 0 on bad syntax.
 */
static int parse_addr_spec(struct lexer *lx, struct tok *t, struct out *o)
{
	struct tok prev;

	if (!is_word(t))
		return 0;
	put(o, t);
	prev = *t;
	*t = next_tok(lx);
	while (is_word(t)) {
		if (!words_joined(&prev, t))
			return 0;
		put(o, t);
		prev = *t;
		*t = next_tok(lx);
	}
	if (t->type != T_AT)
		return 1; /* a bare local part, as smtplib accepts "bob" */
	put(o, t);
	*t = next_tok(lx);
	if (!is_domain(t))
		return 0;
	put(o, t);
	*t = next_tok(lx);
	return 1;
}

/*
 * Parses what follows "<": [obs-route] addr-spec ">". On return *t is the
 * token after ">". Returns 1, or 0 on bad syntax or "<>".
 */
static int parse_angle_addr(struct lexer *lx, struct tok *t, struct out *o)
{
	*t = next_tok(lx);
	if (t->type == T_AT) {
		/* RFC 5322 4.4 obs-route: "@" domain *("," ["@" domain]) ":" */
		for (;;) {
			*t = next_tok(lx);
			if (!is_domain(t))
				return 0;
			*t = next_tok(lx);
			while (t->type == T_COMMA)
				*t = next_tok(lx);
			if (t->type == T_COLON)
				break;
			if (t->type != T_AT)
				return 0;
		}
		*t = next_tok(lx);
	}
	if (!parse_addr_spec(lx, t, o))
		return 0;
	if (t->type != T_GT)
		return 0;
	*t = next_tok(lx);
	return 1;
}

static int has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 1;
	}
	return 0;
}

static int parse_mailbox(const char *in, struct out *o)
{
	struct lexer lx = {in};
	struct lexer start;
	struct tok t;

	if (has_control(in))
		return 0;
	start = lx;
	t = next_tok(&lx);
	if (t.type == T_LT) {
		if (!parse_angle_addr(&lx, &t, o))
			return 0;
		return t.type == T_END;
	}
	if (!is_word(&t))
		return 0;
	/* A phrase followed by "<" is a display name; otherwise an addr-spec. */
	while (is_word(&t))
		t = next_tok(&lx);
	if (t.type == T_LT) {
		if (!parse_angle_addr(&lx, &t, o))
			return 0;
		return t.type == T_END;
	}
	lx = start;
	t = next_tok(&lx);
	if (!parse_addr_spec(&lx, &t, o))
		return 0;
	return t.type == T_END;
}

int smtpc__addr_extract(const char *in, char **out)
{
	struct out o;
	size_t len;

	*out = NULL;
	if (in == NULL)
		return 0;
	len = strlen(in);
	o.buf = malloc(len + 1);
	if (o.buf == NULL)
		return -1;
	o.len = 0;
	if (!parse_mailbox(in, &o)) {
		free(o.buf);
		return 0;
	}
	o.buf[o.len] = '\0';
	*out = o.buf;
	return 1;
}

/* RFC 5321 4.1.2 Dot-string: atoms of atext joined by single dots. */
static int is_dot_string(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.' ? s[i - 1] == '.' : !is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/*
 * RFC 5321 4.1.2 Quoted-string, the whole local part: qtextSMTP and
 * quoted-pairSMTP (UTF-8 allowed). '<' and '>' are refused although the
 * grammar allows them: no legitimate mailbox needs them, and a server that
 * looks for the first '>' would read what follows as parameters.
 */
static int is_quoted_string(const char *s, size_t len)
{
	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return 0;
	for (size_t i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		int pair = c == '\\';

		if (pair) {
			if (++i == len - 1)
				return 0; /* it would quote the closing quote */
			c = (unsigned char)s[i];
		}
		if (c < 32 || c == 127 || c == '<' || c == '>' || (c == '"' && !pair) ||
		    (c > 126 && pair))
			return 0;
	}
	return 1;
}

static int is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

/*
 * An address literal (RFC 5321 4.1.3): IPv4, "IPv6:..." or "tag:content";
 * letters, digits, '-', '.' and ':' only, of all that dcontent allows.
 */
static int is_address_literal(const char *s, size_t len)
{
	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return 0;
	for (size_t i = 1; i < len - 1; i++) {
		if (!is_ldh((unsigned char)s[i]) && s[i] != '.' && s[i] != ':')
			return 0;
	}
	return 1;
}

/* A domain name of LDH labels ('_' and UTF-8 bytes too), or an address literal. */
static int is_path_domain(const char *s, size_t len)
{
	if (len >= 1 && s[0] == '[')
		return is_address_literal(s, len);
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' ? s[i - 1] == '.' : !(c >= 0x80 || is_ldh(c) || c == '_'))
			return 0;
	}
	return 1;
}

/* The local part ends at the first '@' after its quoted string, if it is one. */
static int is_path(const char *a)
{
	size_t len = strlen(a);
	const char *end = a[0] == '"' ? skip_qstr(a) : a;
	const char *at = end != NULL ? strchr(end, '@') : NULL;
	size_t llen = at != NULL ? (size_t)(at - a) : len;

	if (at != NULL && !is_path_domain(at + 1, len - llen - 1))
		return 0;
	return is_dot_string(a, llen) || is_quoted_string(a, llen);
}

static int is_null_path(const char *in)
{
	while (is_blank((unsigned char)*in))
		in++;
	if (in[0] == '<' && in[1] == '>')
		in += 2;
	while (is_blank((unsigned char)*in))
		in++;
	return *in == '\0';
}

int smtpc__addr_path(const char *in, int allow_null, char **out)
{
	int rc;

	*out = NULL;
	if (in == NULL)
		return 0;
	if (is_null_path(in)) {
		if (!allow_null)
			return 0;
		*out = malloc(1);
		if (*out == NULL)
			return -1;
		**out = '\0';
		return 1;
	}
	rc = smtpc__addr_extract(in, out);
	if (rc == 1 && !is_path(*out)) {
		free(*out);
		*out = NULL;
		rc = 0;
	}
	return rc;
}
