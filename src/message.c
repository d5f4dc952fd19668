/*
 * message.c - the header block of a message for send_message (RFC 5322
 * 2.2 header fields, 2.2.3 folding, 3.6.2 Sender, 3.6.3 To/Cc/Bcc, 3.6.6
 * Resent fields, 4.5 obsolete header syntax; smtplib's send_message). No I/O.
 *
 * A header line starting with "name:" (name: printable ASCII but ':'; blanks
 * before the colon allowed, RFC 5322 4.5) opens a field; every following
 * line up to the next field or the empty line belongs to it: continuation
 * lines (SP, HTAB) and also lines that are neither (a forgotten indent), so
 * that removing a Bcc field never leaves a piece of it behind; for the
 * addresses such a stray line starts a new list element.
 *
 * A line ends where the DATA encoder (dataenc.c) ends it: CRLF, a bare LF
 * or a bare CR. Scanning by any other rule would let "Subject: x\rBcc: y"
 * hide a Bcc field that the encoder then puts on a line of its own. Line
 * endings are kept as they are (the encoder makes them CRLF). A header
 * block holding NUL or another control character but HTAB, CR and LF is
 * refused: what another parser makes of it cannot be known.
 *
 * Every element of the address fields read must parse: one that does not
 * ("a@x b@x", a missing comma) is an error naming the field and the
 * element, never a recipient silently left out.
 */
#include "message.h"

#include "addrlist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_name_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Length of the field name at the start of the line [p, end): > 0 when the
 * line is "name *WSP :", 0 when it is not, (size_t)-1 when [p, end) ends
 * before the colon could be seen (need more).
 */
static size_t field_name_len(const char *p, const char *end)
{
	const char *q = p;
	size_t name;

	while (q < end && is_name_char((unsigned char)*q))
		q++;
	name = (size_t)(q - p);
	while (q < end && is_wsp((unsigned char)*q))
		q++;
	if (q == end)
		return (size_t)-1;
	if (name == 0 || *q != ':')
		return 0;
	return name;
}

/*
 * The length of the line ending at p: 2 for CRLF, 1 for a bare LF or a bare
 * CR (as the DATA encoder reads them), 0 when p is not a line ending.
 */
static size_t eol_len(const char *p, const char *end)
{
	if (p >= end || (*p != '\r' && *p != '\n'))
		return 0;
	return *p == '\r' && p + 1 < end && p[1] == '\n' ? 2 : 1;
}

/* The start of the line after the one at p (end when it is the last). */
static const char *next_line(const char *p, const char *end)
{
	while (p < end && *p != '\r' && *p != '\n')
		p++;
	return p + eol_len(p, end);
}

size_t smtpc__msg_header_end(const char *buf, size_t len, int at_eof)
{
	const char *end = buf + len;
	const char *p;
	size_t name;

	/* A CR at the end of what was read yet: CRLF or bare CR, the next byte tells. */
	if (!at_eof && len > 0 && buf[len - 1] == '\r')
		end--;
	if (end == buf)
		return at_eof ? (size_t)-1 : 0;
	name = field_name_len(buf, end);
	if (name == (size_t)-1)
		return at_eof ? (size_t)-1 : 0;
	if (name == 0)
		return (size_t)-1;
	for (p = next_line(buf, end); p < end; p = next_line(p, end)) {
		if (eol_len(p, end) > 0)
			return (size_t)(p + eol_len(p, end) - buf);
	}
	return at_eof ? len : 0;
}

struct field {
	size_t start;     /* first byte of its first line */
	size_t name_len;  /* 0: a line without a name (only first in a block without headers) */
	size_t value;     /* the byte after the colon */
	size_t value_end; /* the end of its last line, line ending excluded */
	size_t end;       /* the end of its last line, line ending included */
};

static size_t line_end(const char *hdr, size_t len, size_t pos)
{
	return (size_t)(next_line(hdr + pos, hdr + len) - hdr);
}

static int is_empty_line(const char *hdr, size_t len, size_t pos)
{
	return eol_len(hdr + pos, hdr + len) > 0;
}

/* A line that opens a field (or the end of the block): not a continuation. */
static int starts_field(const char *hdr, size_t len, size_t pos)
{
	size_t eol = line_end(hdr, len, pos);
	size_t name;

	if (is_empty_line(hdr, len, pos))
		return 1;
	name = field_name_len(hdr + pos, hdr + eol);
	return name != 0 && name != (size_t)-1;
}

/*
 * The field starting at *pos; advances *pos past it. Returns 0 at the end
 * of the block (end of buffer or the empty line).
 */
static int next_field(const char *hdr, size_t len, size_t *pos, struct field *f)
{
	size_t p = *pos;
	size_t eol;
	size_t name;

	if (p >= len || is_empty_line(hdr, len, p))
		return 0;
	eol = line_end(hdr, len, p);
	f->start = p;
	name = field_name_len(hdr + p, hdr + eol);
	if (name == (size_t)-1)
		name = 0;
	f->name_len = name;
	f->value = p;
	if (name > 0)
		f->value = (size_t)((const char *)memchr(hdr + p, ':', eol - p) - hdr) + 1;
	p = eol;
	while (p < len && !starts_field(hdr, len, p))
		p = line_end(hdr, len, p);
	f->end = p;
	f->value_end = p;
	/* the last line's ending: LF, CRLF or a bare CR */
	if (f->value_end > f->value && hdr[f->value_end - 1] == '\n')
		f->value_end--;
	if (f->value_end > f->value && hdr[f->value_end - 1] == '\r' &&
	    (f->value_end == p || hdr[f->value_end] == '\n'))
		f->value_end--;
	*pos = p;
	return 1;
}

static int name_is(const char *hdr, const struct field *f, const char *name)
{
	size_t i;
	unsigned char c;

	if (strlen(name) != f->name_len)
		return 0;
	for (i = 0; i < f->name_len; i++) {
		c = (unsigned char)hdr[f->start + i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)name[i])
			return 0;
	}
	return 1;
}

static int is_bcc(const char *hdr, const struct field *f)
{
	return name_is(hdr, f, "bcc") || name_is(hdr, f, "resent-bcc");
}

/* The fields send_message reads; the first of each name counts. */
enum slot { S_SENDER, S_FROM, S_TO, S_BCC, S_CC, S_COUNT };
static const char *const slot_names[2][S_COUNT] = {
    {"sender", "from", "to", "bcc", "cc"},
    {"resent-sender", "resent-from", "resent-to", "resent-bcc", "resent-cc"},
};

/* Writes s[0..len) into the error text, bytes outside printable ASCII as \xHH, cut at 64. */
static void describe(char *out, size_t size, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	for (size_t i = 0; i < len && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 64) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/*
 * Parses the value of f from a scratch copy, unfolded: a line break before
 * a blank is removed (RFC 5322 2.2.3); a stray line (no indent) is read as
 * a new list element, its line break made a ','. An element that does not
 * parse is SMTPC_EINVAL, with env->why naming the field and the element.
 */
static int parse_field(const char *hdr, const struct field *f, smtpc_address_list **list,
                       smtpc__envelope *env)
{
	size_t n = f->value_end - f->value;
	char *tmp = malloc(n + 1);
	size_t i;
	size_t o = 0;
	const char *v = hdr + f->value;
	size_t skipped = 0;
	smtpc__span bad;
	char elem[300];
	int rc;

	if (tmp == NULL)
		return SMTPC_ENOMEM;
	for (i = 0; i < n; i++) {
		size_t eol = eol_len(v + i, v + n);

		if (eol == 0) {
			tmp[o++] = v[i];
			continue;
		}
		if (i + eol >= n || !is_wsp((unsigned char)v[i + eol]))
			tmp[o++] = ',';
		i += eol - 1;
	}
	rc = smtpc__parse_addresses(tmp, o, list, &skipped, &bad);
	if (rc == 0 && skipped > 0) {
		describe(elem, sizeof(elem), tmp + bad.off, bad.len);
		snprintf(env->why, sizeof(env->why), "%.*s: \"%s\" is not an address%s",
		         (int)f->name_len, hdr + f->start, elem,
		         skipped > 1 ? " (nor are others)" : "");
		smtpc_address_list_free(*list);
		*list = NULL;
		rc = SMTPC_EINVAL;
	}
	free(tmp);
	return rc;
}

static int add_to(smtpc__envelope *env, size_t *cap, const char *addr)
{
	char **grown;
	size_t len = strlen(addr);

	if (env->nto == *cap) {
		if (*cap > SIZE_MAX / 2 / sizeof(char *))
			return SMTPC_ENOMEM;
		*cap = *cap == 0 ? 8 : *cap * 2;
		grown = realloc(env->to, *cap * sizeof(char *));
		if (grown == NULL)
			return SMTPC_ENOMEM;
		env->to = grown;
	}
	env->to[env->nto] = malloc(len + 1);
	if (env->to[env->nto] == NULL)
		return SMTPC_ENOMEM;
	memcpy(env->to[env->nto], addr, len + 1);
	env->nto++;
	return 0;
}

static int set_from(const char *hdr, const struct field *f, smtpc__envelope *env)
{
	smtpc_address_list *list;
	size_t i;
	size_t len;
	int rc = parse_field(hdr, f, &list, env);

	if (rc != 0)
		return rc;
	for (i = 0; i < list->n; i++) {
		if (list->items[i].address[0] == '\0')
			continue; /* an empty group */
		len = strlen(list->items[i].address);
		env->from = malloc(len + 1);
		if (env->from == NULL)
			rc = SMTPC_ENOMEM;
		else
			memcpy(env->from, list->items[i].address, len + 1);
		break;
	}
	smtpc_address_list_free(list);
	return rc;
}

static int add_recipients(const char *hdr, const struct field *f, smtpc__envelope *env, size_t *cap)
{
	smtpc_address_list *list;
	size_t i;
	int rc = parse_field(hdr, f, &list, env);

	if (rc != 0)
		return rc;
	for (i = 0; i < list->n && rc == 0; i++) {
		if (list->items[i].address[0] != '\0')
			rc = add_to(env, cap, list->items[i].address);
	}
	smtpc_address_list_free(list);
	return rc;
}

/* NUL or a control character other than HTAB, CR and LF: its offset, or len if none. */
static size_t find_control(const char *hdr, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)hdr[i];

		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return i;
	}
	return len;
}

static int build(const char *hdr, size_t len, unsigned need, smtpc__envelope *env)
{
	struct field first[2][S_COUNT];
	int found[2][S_COUNT] = {{0}};
	size_t resent_dates = 0;
	size_t pos = 0;
	size_t cap = 0;
	size_t bad;
	struct field f;
	int mode;
	int k;
	int rc;

	if ((bad = find_control(hdr, len)) < len) {
		snprintf(env->why, sizeof(env->why),
		         "the header block holds the control character \\x%02x (byte %zu)",
		         (unsigned)(unsigned char)hdr[bad], bad + 1);
		return SMTPC_EINVAL;
	}
	while (next_field(hdr, len, &pos, &f)) {
		if (name_is(hdr, &f, "resent-date"))
			resent_dates++;
		for (mode = 0; mode < 2; mode++) {
			for (k = 0; k < S_COUNT; k++) {
				if (!found[mode][k] && name_is(hdr, &f, slot_names[mode][k])) {
					found[mode][k] = 1;
					first[mode][k] = f;
				}
			}
		}
	}
	if (resent_dates > 1) {
		/* several resent blocks: which one? (RFC 5322 3.6.6) */
		snprintf(env->why, sizeof(env->why),
		         "several Resent- blocks: the envelope is ambiguous (refused as smtplib "
		         "does; smtpc_sendmail_source sends the message as it is)");
		return SMTPC_EINVAL;
	}
	mode = resent_dates == 1;
	env->resent = mode;

	/* RFC 5322 3.6.2: Sender is the one who sent it when From lists several */
	k = found[mode][S_SENDER] ? S_SENDER : S_FROM;
	if ((need & SMTPC__ENV_FROM) && found[mode][k]) {
		rc = set_from(hdr, &first[mode][k], env);
		if (rc != 0)
			return rc;
	}
	/* Every To, then every Bcc, then every Cc field: a second field is not skipped. */
	for (k = S_TO; (need & SMTPC__ENV_TO) && k <= S_CC; k++) {
		pos = 0;
		while (found[mode][k] && next_field(hdr, len, &pos, &f)) {
			if (!name_is(hdr, &f, slot_names[mode][k]))
				continue;
			rc = add_recipients(hdr, &f, env, &cap);
			if (rc != 0)
				return rc;
		}
	}

	env->headers = malloc(len + 1);
	if (env->headers == NULL)
		return SMTPC_ENOMEM;
	pos = 0;
	while (next_field(hdr, len, &pos, &f)) {
		if (is_bcc(hdr, &f))
			continue;
		memcpy(env->headers + env->headers_len, hdr + f.start, f.end - f.start);
		env->headers_len += f.end - f.start;
	}
	/* the empty line, and whatever the caller passed after it */
	memcpy(env->headers + env->headers_len, hdr + pos, len - pos);
	env->headers_len += len - pos;
	env->headers[env->headers_len] = '\0';
	return 0;
}

int smtpc__msg_envelope(const char *hdr, size_t len, unsigned need, smtpc__envelope *env)
{
	char why[sizeof(env->why)];
	int rc;

	if (env == NULL)
		return SMTPC_EINVAL;
	memset(env, 0, sizeof(*env));
	if (hdr == NULL && len > 0)
		return SMTPC_EINVAL;
	if (hdr == NULL)
		hdr = "";
	rc = build(hdr, len, need, env);
	if (rc != 0) {
		memcpy(why, env->why, sizeof(why));
		smtpc__envelope_free(env);
		memcpy(env->why, why, sizeof(why));
	}
	return rc;
}

void smtpc__envelope_free(smtpc__envelope *env)
{
	size_t i;

	if (env == NULL)
		return;
	free(env->from);
	for (i = 0; i < env->nto; i++)
		free(env->to[i]);
	free(env->to);
	free(env->headers);
	memset(env, 0, sizeof(*env));
}
