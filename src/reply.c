/*
 * reply.c - incremental SMTP reply parser, no I/O, no allocation.
 *
 * RFC 5321 4.2 (reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *               Reply-code [ SP textstring ] CRLF; first digit 2-5)
 * RFC 5321 4.2.1 (every line of a multi-line reply carries the same code)
 * RFC 5321 4.5.3.1.5 (reply lines are bounded; we use SMTPC_MAX_REPLY_LINE)
 * RFC 3463 3.1, RFC 2034 3 (enhanced status code "class.subject.detail"
 *               at the start of the text, class = first digit of the code)
 *
 * The first four bytes of a line (code and separator) go through a small
 * per-byte state machine; the text is found with memchr() and copied with
 * memcpy(). Every decision depends only on the bytes seen so far, never on
 * how they were split into calls, so one byte per call and one reply per
 * call give identical results (docs/RULES.md R8).
 */
#include <string.h>

#include "reply.h"

/* Position within the current line (rp->line_state). */
enum line_state {
	LS_CODE1 = 0, /* expecting the first digit */
	LS_CODE2,     /* expecting the second digit */
	LS_CODE3,     /* expecting the third digit */
	LS_SEP,       /* expecting SP, "-", CR or LF */
	LS_SEP_CR,    /* "NNN" CR seen: only LF may follow */
	LS_TEXT,      /* in the text */
	LS_TEXT_CR,   /* in the text, the last byte seen was a CR not yet stored:
	                 it is the line end if LF follows, else a text byte */
};

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

void smtpc__rp_reset(smtpc__reply_parser *rp)
{
	/* No memset of text[]: 64 KiB per reply would cost more than parsing. */
	rp->status = SMTPC__RP_MORE;
	rp->code = 0;
	rp->line_code = 0;
	rp->nlines = 0;
	rp->line_len = 0;
	rp->text_len = 0;
	rp->line_start = 0;
	rp->line_state = LS_CODE1;
	rp->last = 0;
	rp->enhanced[0] = '\0';
	rp->text[0] = '\0';
}

/* Appends text bytes, bounded by SMTPC_MAX_REPLY_BYTES (R2). */
static int text_append(smtpc__reply_parser *rp, const char *p, size_t n)
{
	if (n > SMTPC_MAX_REPLY_BYTES - rp->text_len)
		return SMTPC__RP_ERR_TOO_MANY;
	memcpy(rp->text + rp->text_len, p, n);
	rp->text_len += n;
	return SMTPC__RP_MORE;
}

/* The separator is accepted: lines after the first are joined with "\n". */
static int begin_text(smtpc__reply_parser *rp)
{
	if (rp->nlines > 0 && text_append(rp, "\n", 1) != SMTPC__RP_MORE)
		return SMTPC__RP_ERR_TOO_MANY;
	rp->line_start = rp->text_len;
	return SMTPC__RP_MORE;
}

/*
 * Length of an RFC 3463 status code "c.s.d" at the start of s[0..n), with c
 * equal to `cls`, s and d 1-3 digits, followed by SP or the end; 0 if none.
 */
static size_t enhanced_len(const char *s, size_t n, char cls)
{
	size_t i = 0;
	int part;

	if (n < 5 || s[0] != cls || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		size_t start = i;

		while (i < n && i - start < 4 && is_digit((unsigned char)s[i]))
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && s[i] != ' ')
		return 0;
	return i;
}

/*
 * A line is complete. The enhanced code is taken from the first line only
 * (RFC 2034 3: it starts the text of every line of the reply); it is then
 * removed, with one following space, from each line that starts with it.
 */
static int end_line(smtpc__reply_parser *rp)
{
	char *line = rp->text + rp->line_start;
	size_t n = rp->text_len - rp->line_start;
	size_t elen;

	if (rp->nlines == 0) {
		elen = enhanced_len(line, n, (char)('0' + rp->code / 100));
		memcpy(rp->enhanced, line, elen);
		rp->enhanced[elen] = '\0';
	}
	elen = strlen(rp->enhanced);
	if (elen > 0 && n >= elen && memcmp(line, rp->enhanced, elen) == 0 &&
	    (n == elen || line[elen] == ' ')) {
		size_t cut = n == elen ? elen : elen + 1;

		memmove(line, line + cut, n - cut);
		rp->text_len -= cut;
	}
	rp->nlines++;
	rp->line_state = LS_CODE1;
	rp->line_len = 0;
	if (rp->last) {
		rp->text[rp->text_len] = '\0';
		return SMTPC__RP_DONE;
	}
	/* This line announced another one: that would be one too many (R2). */
	if (rp->nlines >= SMTPC_MAX_REPLY_LINES)
		return SMTPC__RP_ERR_TOO_MANY;
	return SMTPC__RP_MORE;
}

/* One byte of the code or the separator. */
static int feed_head(smtpc__reply_parser *rp, unsigned char c)
{
	int st;

	rp->line_len++;
	switch (rp->line_state) {
	case LS_CODE1:
		/* RFC 5321 4.2: the first digit is 2-5; no sign, no blank (R4, R5). */
		if (c < '2' || c > '5')
			return SMTPC__RP_ERR_SYNTAX;
		rp->line_code = c - '0';
		rp->line_state = LS_CODE2;
		return SMTPC__RP_MORE;
	case LS_CODE2:
	case LS_CODE3:
		if (!is_digit(c))
			return SMTPC__RP_ERR_SYNTAX;
		rp->line_code = rp->line_code * 10 + (c - '0');
		rp->line_state++;
		if (rp->line_state != LS_SEP)
			return SMTPC__RP_MORE;
		if (rp->nlines == 0)
			rp->code = rp->line_code;
		else if (rp->line_code != rp->code)
			return SMTPC__RP_ERR_MISMATCH; /* RFC 5321 4.2.1 (R3) */
		return SMTPC__RP_MORE;
	case LS_SEP:
		switch (c) {
		case ' ':
		case '-':
			rp->last = c == ' ';
			rp->line_state = LS_TEXT;
			return begin_text(rp);
		case '\r':
			rp->line_state = LS_SEP_CR;
			return SMTPC__RP_MORE;
		case '\n':
			break;
		default:
			return SMTPC__RP_ERR_SYNTAX; /* "2500", "250x", "250\t" (R4) */
		}
		break;
	case LS_SEP_CR:
		if (c != '\n')
			return SMTPC__RP_ERR_SYNTAX;
		break;
	default:
		return SMTPC__RP_ERR_SYNTAX;
	}
	/* A bare "NNN" line: the last line, with empty text. */
	rp->last = 1;
	st = begin_text(rp);
	if (st != SMTPC__RP_MORE)
		return st;
	return end_line(rp);
}

/* Text bytes: up to the LF that ends the line, within the line bound. */
static int feed_text(smtpc__reply_parser *rp, const char *p, size_t n, size_t *used)
{
	const char *lf;
	size_t room, w, k, t;

	*used = 0;
	if (rp->line_state == LS_TEXT_CR) {
		if (p[0] == '\n') {
			*used = 1;
			if (rp->line_len >= SMTPC_MAX_REPLY_LINE)
				return SMTPC__RP_ERR_TOO_LONG;
			rp->line_len++;
			return end_line(rp);
		}
		/* A CR inside the text is kept as a byte. */
		if (text_append(rp, "\r", 1) != SMTPC__RP_MORE)
			return SMTPC__RP_ERR_TOO_MANY;
		rp->line_state = LS_TEXT;
	}
	/* R1: the byte that passes the limit is an error, LF or not. */
	room = SMTPC_MAX_REPLY_LINE - rp->line_len;
	if (room == 0) {
		*used = 1;
		return SMTPC__RP_ERR_TOO_LONG;
	}
	w = n < room ? n : room;
	lf = memchr(p, '\n', w);
	if (lf != NULL) {
		k = (size_t)(lf - p);
		*used = k + 1;
		rp->line_len += k + 1;
		t = k > 0 && p[k - 1] == '\r' ? k - 1 : k;
		if (text_append(rp, p, t) != SMTPC__RP_MORE)
			return SMTPC__RP_ERR_TOO_MANY;
		return end_line(rp);
	}
	*used = w;
	rp->line_len += w;
	t = w;
	if (p[w - 1] == '\r') {
		/* Maybe the CR of CRLF: decided by the next byte. */
		t--;
		rp->line_state = LS_TEXT_CR;
	}
	return text_append(rp, p, t);
}

int smtpc__rp_feed(smtpc__reply_parser *rp, const char *buf, size_t len, size_t *consumed)
{
	size_t i = 0;
	size_t used;
	int st = rp->status;

	while (st == SMTPC__RP_MORE && i < len) {
		if (rp->line_state >= LS_TEXT) {
			st = feed_text(rp, buf + i, len - i, &used);
			i += used;
		} else {
			st = feed_head(rp, (unsigned char)buf[i]);
			i++;
		}
	}
	rp->status = st;
	if (consumed != NULL)
		*consumed = i;
	return st;
}

void smtpc__rp_reply(const smtpc__reply_parser *rp, smtpc_reply *out)
{
	memset(out, 0, sizeof(*out));
	if (rp->status != SMTPC__RP_DONE) {
		/* No half-parsed text ever reaches the caller. */
		out->text = "";
		return;
	}
	out->code = rp->code;
	memcpy(out->enhanced, rp->enhanced, sizeof(out->enhanced));
	out->text = rp->text;
	out->text_len = rp->text_len;
	out->nlines = rp->nlines;
}

const char *smtpc__rp_strerror(int status)
{
	switch (status) {
	case SMTPC__RP_MORE:
		return "incomplete reply";
	case SMTPC__RP_DONE:
		return "complete reply";
	case SMTPC__RP_ERR_SYNTAX:
		return "malformed reply line";
	case SMTPC__RP_ERR_MISMATCH:
		return "reply lines with different codes";
	case SMTPC__RP_ERR_TOO_LONG:
		return "reply line too long";
	case SMTPC__RP_ERR_TOO_MANY:
		return "reply too long";
	default:
		return "unknown reply parser status";
	}
}
