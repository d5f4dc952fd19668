/*
 * addrlist.c - RFC 5322 address lists (3.4 address-list, 3.4.1 addr-spec,
 * 3.2.2 CFWS, 3.2.4 quoted strings, 3.2.5 phrases, 4.4 obsolete addressing,
 * RFC 6532 3.2 UTF-8 in atoms, quoted strings and comments).
 * No I/O. docs/ADDRESSES.md lists the best-effort choices.
 *
 * Shape: a lexer that is context-free (a token depends only on where it
 * starts), a parser for one element (mailbox or group head), and a loop
 * over the elements separated by ',' (or ';'). A malformed element is
 * skipped token by token up to the next ',' outside quotes, comments and
 * angle brackets, and counted.
 *
 * Bounded work: no recursion (comments are nested with a depth counter);
 * each byte is lexed a small constant number of times. The only backward
 * jump is the one out of an unclosed '<' (back to the first separator after
 * it); a '<' never closed up to the end is remembered (no_gt_after) so that
 * no later element scans to the end again.
 *
 * Output: the whole list is parsed twice, once to count items and bytes,
 * once to write them into a single block (list, items, strings), so that
 * smtpc_address_list_free() is one free().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addrlist.h"

enum tok_type {
	T_END,
	T_ATOM,    /* run of atext and dots (dot-atom, obs-phrase words), UTF-8 bytes included */
	T_QSTR,    /* quoted string, quotes included */
	T_DLIT,    /* domain literal, brackets included */
	T_COMMENT, /* comment, parentheses included */
	T_LT,
	T_GT,
	T_AT,
	T_COMMA,
	T_COLON,
	T_SEMI,
	T_BAD,    /* one stray byte: ')', ']', '\\', '[' never closed, control character */
	T_UNTERM, /* quoted string or comment still open at the end: runs to the end */
};

struct tok {
	enum tok_type type;
	size_t off;
	size_t len;
	int bad; /* QSTR, DLIT, COMMENT holding a control character or a bare line break */
};

struct lexer {
	const char *s;
	size_t len;
	size_t pos;
};

static int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* C0 controls and DEL; HTAB is whitespace, CR and LF are checked as folding. */
static int is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* RFC 5322 3.2.3 atext, RFC 6532 3.2 UTF8-non-ascii; '.' is added by the lexer. */
static int is_atext(unsigned char c)
{
	if (c <= ' ' || c == 0x7f)
		return 0;
	return strchr("()<>[]:;@\\,.\"", c) == NULL;
}

/*
 * Length of the line break at i when it is folding whitespace (RFC 5322
 * 3.2.2: CRLF followed by WSP; a bare LF is taken as CRLF): 2 or 1; with
 * at_end, also a line break that ends the input. 0 otherwise.
 */
static size_t fold_len(const struct lexer *lx, size_t i, int at_end)
{
	size_t n;

	if (lx->s[i] == '\r' && i + 1 < lx->len && lx->s[i + 1] == '\n')
		n = 2;
	else if (lx->s[i] == '\n')
		n = 1;
	else
		return 0;
	if (i + n == lx->len)
		return at_end ? n : 0;
	return is_wsp((unsigned char)lx->s[i + n]) ? n : 0;
}

static void skip_fws(struct lexer *lx)
{
	size_t n;

	while (lx->pos < lx->len) {
		if (is_wsp((unsigned char)lx->s[lx->pos])) {
			lx->pos++;
			continue;
		}
		n = fold_len(lx, lx->pos, 1);
		if (n == 0)
			break;
		lx->pos += n;
	}
}

/*
 * Scans a quoted string or a comment opened at t->off (closer '"' or ')';
 * comments nest). Sets t->len, or T_UNTERM when the input ends first.
 */
static void scan_quoted(const struct lexer *lx, struct tok *t, char closer)
{
	size_t i = t->off + 1;
	size_t depth = 1;
	size_t n;
	unsigned char c;

	while (i < lx->len) {
		c = (unsigned char)lx->s[i];
		if (c == '\\') {
			if (i + 1 == lx->len)
				break;
			/* quoted-pair: VCHAR or WSP (RFC 5322 3.2.1) */
			if (is_ctl((unsigned char)lx->s[i + 1]))
				t->bad = 1;
			i += 2;
			continue;
		}
		if (c == '\r' || c == '\n') {
			n = fold_len(lx, i, 0);
			if (n == 0) {
				t->bad = 1;
				n = 1;
			}
			i += n;
			continue;
		}
		if (is_ctl(c))
			t->bad = 1;
		i++;
		if (closer == ')' && c == '(') {
			depth++;
		} else if (c == (unsigned char)closer && --depth == 0) {
			t->len = i - t->off;
			return;
		}
	}
	t->type = T_UNTERM;
	t->len = lx->len - t->off;
}

/*
 * Scans a domain literal opened at t->off up to its ']'. Content: dtext
 * (RFC 5322 3.4.1, %d33-90 / %d94-126) and folding whitespace (dropped).
 * Quoted pairs (obs-dtext), controls and 8-bit bytes make it bad: it goes
 * onto the wire as RFC 5321 4.1.3 dcontent, which RFC 6531 does not widen.
 * A '[' without its ']' before the next '[' or the end is one stray byte.
 */
static void scan_dlit(const struct lexer *lx, struct tok *t)
{
	size_t i;
	size_t n;
	unsigned char c;

	for (i = t->off + 1; i < lx->len; i++) {
		c = (unsigned char)lx->s[i];
		if (c == ']') {
			t->len = i + 1 - t->off;
			return;
		}
		if (c == '[')
			break;
		if (c == '\r' || c == '\n') {
			n = fold_len(lx, i, 0);
			if (n == 0)
				t->bad = 1;
			else
				i += n - 1;
		} else if (c == '\\' || c >= 0x80 || is_ctl(c)) {
			t->bad = 1;
		}
	}
	t->type = T_BAD;
	t->len = 1;
	t->bad = 0;
}

/* The next token, comments included. */
static struct tok next_raw(struct lexer *lx)
{
	struct tok t = {T_END, 0, 1, 0};
	unsigned char c;
	size_t i;

	skip_fws(lx);
	t.off = lx->pos;
	if (lx->pos == lx->len) {
		t.len = 0;
		return t;
	}
	c = (unsigned char)lx->s[lx->pos];
	switch (c) {
	case '"':
		t.type = T_QSTR;
		scan_quoted(lx, &t, '"');
		break;
	case '(':
		t.type = T_COMMENT;
		scan_quoted(lx, &t, ')');
		break;
	case '[':
		t.type = T_DLIT;
		scan_dlit(lx, &t);
		break;
	case '<':
		t.type = T_LT;
		break;
	case '>':
		t.type = T_GT;
		break;
	case '@':
		t.type = T_AT;
		break;
	case ',':
		t.type = T_COMMA;
		break;
	case ':':
		t.type = T_COLON;
		break;
	case ';':
		t.type = T_SEMI;
		break;
	default:
		for (i = lx->pos; i < lx->len; i++) {
			c = (unsigned char)lx->s[i];
			if (!is_atext(c) && c != '.')
				break;
		}
		if (i == lx->pos) {
			t.type = T_BAD; /* ')', ']', '\\', a control, a bare line break */
			break;
		}
		t.type = T_ATOM;
		t.len = i - lx->pos;
		break;
	}
	lx->pos = t.off + t.len;
	return t;
}

/* The next token for the parser: comments skipped, bad tokens as T_BAD. */
static struct tok next_tok(struct lexer *lx)
{
	struct tok t;

	for (;;) {
		t = next_raw(lx);
		if (t.bad)
			t.type = T_BAD;
		if (t.type != T_COMMENT)
			return t;
	}
}

/* ---------------------------------------------------------------- output */

/*
 * Writes into buf, or only counts when buf is NULL (first pass). A failed
 * element rolls len back, so the block needs max (the high-water mark).
 */
struct wbuf {
	char *buf;
	size_t cap; /* size of buf (the first pass's max) */
	size_t len;
	size_t max;
};

static void put_byte(struct wbuf *w, char c)
{
	if (w->buf != NULL && w->len < w->cap)
		w->buf[w->len] = c;
	w->len++;
	if (w->len > w->max)
		w->max = w->len;
}

/* Copies a token as written, minus the line breaks of folding whitespace. */
static void put_raw(struct wbuf *w, const struct lexer *lx, const struct tok *t, int drop_wsp)
{
	size_t i;
	char c;

	for (i = t->off; i < t->off + t->len; i++) {
		c = lx->s[i];
		if (c == '\r' || c == '\n' || (drop_wsp && is_wsp((unsigned char)c)))
			continue;
		put_byte(w, c);
	}
}

/* A quoted string's content: quotes removed, quoted pairs resolved, folds unfolded. */
static void put_unquoted(struct wbuf *w, const struct lexer *lx, const struct tok *t)
{
	size_t i;
	char c;

	for (i = t->off + 1; i < t->off + t->len - 1; i++) {
		c = lx->s[i];
		if (c == '\\')
			c = lx->s[++i];
		else if (c == '\r' || c == '\n')
			continue;
		put_byte(w, c);
	}
}

/*
 * The display name made of the comments of [start, end) ("a@b (Bob)"):
 * their content with quoted pairs resolved and nested parentheses kept,
 * blank runs as one space, comments joined by one space.
 */
static void put_comments(struct wbuf *w, const char *s, size_t start, size_t end)
{
	struct lexer lx = {s, end, start};
	struct tok t;
	int any = 0;
	int space = 0;
	size_t i;
	char c;

	for (t = next_raw(&lx); t.type != T_END; t = next_raw(&lx)) {
		if (t.type != T_COMMENT)
			continue;
		space = any;
		for (i = t.off + 1; i < t.off + t.len - 1; i++) {
			c = s[i];
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
				space = any;
				continue;
			}
			if (c == '\\')
				c = s[++i];
			if (space)
				put_byte(w, ' ');
			put_byte(w, c);
			space = 0;
			any = 1;
		}
	}
	put_byte(w, '\0');
}

/* ---------------------------------------------------------------- parser */

struct parser {
	struct lexer lx;
	struct wbuf w;
	smtpc_address *items; /* NULL in the counting pass */
	size_t cap;           /* room in items */
	size_t n;
	size_t skipped;
	size_t bad_start; /* the first skipped element: [bad_start, bad_end) */
	size_t bad_end;
	int in_group;
	size_t group_off;
	size_t group_items;
	size_t no_gt_after; /* no '>' token after this offset (SIZE_MAX: unknown) */
};

static void emit(struct parser *ps, size_t name_off, size_t addr_off)
{
	if (ps->items != NULL && ps->n < ps->cap) {
		ps->items[ps->n].name = ps->w.buf + name_off;
		ps->items[ps->n].address = ps->w.buf + addr_off;
		ps->items[ps->n].group = ps->in_group ? ps->w.buf + ps->group_off : NULL;
	}
	ps->n++;
	if (ps->in_group)
		ps->group_items++;
}

/* Closes the open group; an empty group still yields one item, address "". */
static void close_group(struct parser *ps)
{
	size_t off = ps->w.len;

	if (ps->in_group && ps->group_items == 0) {
		put_byte(&ps->w, '\0');
		emit(ps, off, off);
	}
	ps->in_group = 0;
}

static int is_word(const struct tok *t)
{
	return t->type == T_ATOM || t->type == T_QSTR;
}

/* Two words of a local part or domain are joined by a dot: "a.b", "a . b", "\"a\".b". */
static int words_joined(const struct lexer *lx, const struct tok *prev, const struct tok *next)
{
	if (prev->type == T_ATOM && lx->s[prev->off + prev->len - 1] == '.')
		return 1;
	return next->type == T_ATOM && lx->s[next->off] == '.';
}

/*
 * domain = dot-atom / domain-literal / obs-domain (atoms and dots with CFWS
 * between them). No empty label, no leading or trailing dot. *t is the
 * first token; on return the token after the domain. Writes it if put.
 */
static int parse_domain(struct parser *ps, struct tok *t, int put)
{
	struct lexer *lx = &ps->lx;
	struct tok prev;
	char last = '.';
	size_t i;

	if (t->type == T_DLIT) {
		if (t->len == 2)
			return 0; /* "[]" */
		if (put)
			put_raw(&ps->w, lx, t, 1);
		*t = next_tok(lx);
		return 1;
	}
	if (t->type != T_ATOM)
		return 0;
	do {
		for (i = t->off; i < t->off + t->len; i++) {
			if (lx->s[i] == '.' && last == '.')
				return 0;
			last = lx->s[i];
		}
		if (put)
			put_raw(&ps->w, lx, t, 0);
		prev = *t;
		*t = next_tok(lx);
	} while (t->type == T_ATOM && words_joined(lx, &prev, t));
	return last != '.';
}

/*
 * addr-spec = local-part ["@" domain]; the local part is words joined by
 * dots (obs-local-part: CFWS allowed around the dots), written as it is
 * (quoted strings with their quotes). Without "@" it is a bare local part,
 * which smtplib accepts ("postmaster"), if it has no quoted string. On
 * return *t is the next token.
 */
static int parse_addr_spec(struct parser *ps, struct tok *t)
{
	struct lexer *lx = &ps->lx;
	struct tok prev;
	int quoted = 0;

	if (!is_word(t))
		return 0;
	for (;;) {
		quoted |= t->type == T_QSTR;
		put_raw(&ps->w, lx, t, 0);
		prev = *t;
		*t = next_tok(lx);
		if (!is_word(t))
			break;
		if (!words_joined(lx, &prev, t))
			return 0;
	}
	if (t->type != T_AT)
		return !quoted; /* "\"a@b\"" alone is a name without an address */
	put_byte(&ps->w, '@');
	*t = next_tok(lx);
	return parse_domain(ps, t, 1);
}

/*
 * What follows '<': [obs-route] addr-spec '>' (RFC 5322 4.4: the route
 * "@a,@b:" is dropped). "<>" is not an address. On return *t is the token
 * after '>'.
 */
static int parse_angle_addr(struct parser *ps, struct tok *t)
{
	struct lexer *lx = &ps->lx;

	*t = next_tok(lx);
	if (t->type == T_AT) {
		for (;;) {
			*t = next_tok(lx);
			if (!parse_domain(ps, t, 0))
				return 0;
			while (t->type == T_COMMA)
				*t = next_tok(lx);
			if (t->type == T_COLON)
				break;
			if (t->type != T_AT)
				return 0;
		}
		*t = next_tok(lx);
	}
	if (!parse_addr_spec(ps, t) || t->type != T_GT)
		return 0;
	put_byte(&ps->w, '\0');
	*t = next_tok(lx);
	return 1;
}

static int is_end_of_element(const struct tok *t)
{
	return t->type == T_END || t->type == T_COMMA || t->type == T_SEMI;
}

/*
 * One element starting at start: a mailbox (emitted) or a group head
 * ("name:", opens the group). Returns 1, or 0 when malformed (nothing
 * written, nothing emitted). On success the lexer is left on the ',' ';'
 * or end that follows.
 */
static int parse_element(struct parser *ps, size_t start)
{
	struct lexer *lx = &ps->lx;
	size_t mark = ps->w.len;
	size_t name_off = mark;
	size_t addr_off;
	size_t words = 0;
	struct tok t;

	lx->pos = start;
	for (t = next_tok(lx); is_word(&t); t = next_tok(lx)) {
		if (words++ > 0)
			put_byte(&ps->w, ' ');
		if (t.type == T_QSTR)
			put_unquoted(&ps->w, lx, &t);
		else
			put_raw(&ps->w, lx, &t, 0);
	}
	if (t.type == T_COLON) {
		if (ps->in_group)
			goto bad; /* groups do not nest */
		put_byte(&ps->w, '\0');
		ps->in_group = 1;
		ps->group_off = name_off;
		ps->group_items = 0;
		return 1;
	}
	if (t.type == T_LT) {
		if (words > 0)
			put_byte(&ps->w, '\0');
		addr_off = ps->w.len;
		if (!parse_angle_addr(ps, &t))
			goto bad;
	} else {
		/* not a phrase: read it again as an addr-spec */
		ps->w.len = mark;
		lx->pos = start;
		addr_off = mark;
		words = 0;
		t = next_tok(lx);
		if (!parse_addr_spec(ps, &t))
			goto bad;
		put_byte(&ps->w, '\0');
	}
	if (!is_end_of_element(&t))
		goto bad;
	lx->pos = t.off;
	if (words == 0) {
		name_off = ps->w.len;
		put_comments(&ps->w, lx->s, start, t.off);
	}
	emit(ps, name_off, addr_off);
	return 1;
bad:
	ps->w.len = mark;
	return 0;
}

/*
 * Skips a malformed element from start to the next ',' (or ';') outside
 * quotes, comments and angle brackets. A '<' that is not closed before the
 * next '<' or the end does not hide the separators after it: the skip ends
 * at the first of them.
 */
static void skip_element(struct parser *ps, size_t start)
{
	struct lexer *lx = &ps->lx;
	int in_angle = 0;
	size_t angle_at = 0;
	size_t sep = SIZE_MAX;
	struct tok t;

	lx->pos = start;
	for (;;) {
		t = next_raw(lx);
		switch (t.type) {
		case T_END:
			if (in_angle && sep != SIZE_MAX) {
				if (angle_at < ps->no_gt_after)
					ps->no_gt_after = angle_at;
				lx->pos = sep;
			}
			return;
		case T_UNTERM:
			return; /* the rest of the input is inside it */
		case T_LT:
			if (in_angle && sep != SIZE_MAX) {
				lx->pos = sep;
				return;
			}
			/* known not to close: its commas separate */
			in_angle = t.off < ps->no_gt_after;
			angle_at = t.off;
			sep = SIZE_MAX;
			break;
		case T_GT:
			in_angle = 0;
			sep = SIZE_MAX;
			break;
		case T_COMMA:
		case T_SEMI:
			if (!in_angle) {
				lx->pos = t.off;
				return;
			}
			if (sep == SIZE_MAX)
				sep = t.off;
			break;
		default:
			break;
		}
	}
}

static void parse_list(struct parser *ps)
{
	struct lexer *lx = &ps->lx;
	struct tok t;
	size_t start;

	for (;;) {
		start = lx->pos;
		t = next_tok(lx);
		if (t.type == T_END)
			break;
		if (t.type == T_COMMA)
			continue; /* empty element */
		if (t.type == T_SEMI) {
			/* ends a group; outside one, a separator (the Outlook habit) */
			close_group(ps);
			continue;
		}
		if (!parse_element(ps, start)) {
			skip_element(ps, start);
			if (ps->skipped++ == 0) {
				ps->bad_start = start;
				ps->bad_end = lx->pos;
			}
		}
	}
	close_group(ps); /* a group left open at the end */
}

static void parser_init(struct parser *ps, const char *value, size_t len)
{
	memset(ps, 0, sizeof(*ps));
	ps->lx.s = value;
	ps->lx.len = len;
	ps->no_gt_after = SIZE_MAX;
}

SMTPC_API int smtpc_parse_addresses(const char *value, size_t len, smtpc_address_list **out,
                                    size_t *skipped)
{
	return smtpc__parse_addresses(value, len, out, skipped, NULL);
}

int smtpc__parse_addresses(const char *value, size_t len, smtpc_address_list **out, size_t *skipped,
                           smtpc__span *first_bad)
{
	struct parser ps;
	smtpc_address_list *list;
	size_t n;
	size_t bytes;
	size_t size;

	if (skipped != NULL)
		*skipped = 0;
	if (out == NULL)
		return SMTPC_EINVAL;
	*out = NULL;
	if (value == NULL)
		return SMTPC_EINVAL;

	parser_init(&ps, value, len);
	parse_list(&ps);
	n = ps.n;
	bytes = ps.w.max;
	if (n > (SIZE_MAX - sizeof(*list)) / sizeof(smtpc_address))
		return SMTPC_ENOMEM;
	size = sizeof(*list) + n * sizeof(smtpc_address);
	if (bytes > SIZE_MAX - size)
		return SMTPC_ENOMEM;
	size += bytes;
	list = malloc(size);
	if (list == NULL)
		return SMTPC_ENOMEM;

	list->items = n > 0 ? (smtpc_address *)(list + 1) : NULL;
	parser_init(&ps, value, len);
	ps.items = list->items;
	ps.cap = n;
	ps.w.buf = (char *)(list + 1) + n * sizeof(smtpc_address);
	ps.w.cap = bytes;
	parse_list(&ps);
	/* the same input parsed the same way: the counts cannot differ */
	list->n = ps.n < n ? ps.n : n;
	if (skipped != NULL)
		*skipped = ps.skipped;
	if (first_bad != NULL) {
		first_bad->off = ps.skipped > 0 ? ps.bad_start : 0;
		first_bad->len = ps.skipped > 0 ? ps.bad_end - ps.bad_start : 0;
	}
	*out = list;
	return 0;
}

SMTPC_API void smtpc_address_list_free(smtpc_address_list *list)
{
	free(list);
}
