/*
 * mime.c - the message builder: RFC 5322 headers, MIME structure (RFC 2045,
 * RFC 2046 5.1: multipart/mixed, alternative, RFC 2387 related), streamed
 * as a smtpc_source (docs/COMPOSE.md).
 *
 * smtpc_mime_source() writes everything but the attachments' bytes into
 * one buffer (headers, boundaries, the encoded text and HTML) and cuts it
 * into segments; a part's bytes are read and base64-encoded only while the
 * message is read, 57 KiB at a time, so memory does not grow with them.
 */
#include "mime.h"

#include "addrlist.h"
#include "body.h"
#include "mimeenc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NAME_MAX_LEN   64  /* a header name given by the caller */
#define VALUE_MAX_LEN  900 /* Date, Message-ID, an address: kept on one line */
#define RAW_CHUNK      (SMTPC__B64_LINE_IN * 1024) /* bytes of a part encoded at once */
#define BOUNDARY_TRIES 16

enum field { F_FROM, F_TO, F_CC, F_REPLY_TO };
static const char *const FIELD_NAMES[] = {"From", "To", "Cc", "Reply-To"};

struct addr {
	enum field field;
	char *name;
	char *address;
};

struct part {
	smtpc_source src;
	smtpc_rewind_fn rewind;
	char *type, *filename, *cid;
	int64_t size;   /* bytes it gives, -1: unknown */
	int64_t offset; /* a file descriptor read with pread() from here; -1: read() once */
	int started;    /* reading began since the last rewind */
};

/* A text body: the caller's text, then its encoded form and transfer encoding. */
struct body {
	int set;
	char *text;
	size_t len;
	smtpc__buf enc;
	const char *cte;
};

enum seg_kind { SEG_BYTES, SEG_PART };
struct seg {
	enum seg_kind kind;
	size_t off, len; /* SEG_BYTES: in m->out */
	struct part *part;
};

struct reader {
	size_t seg;
	size_t pos;        /* SEG_BYTES: bytes of the segment given */
	int64_t raw;       /* SEG_PART: bytes read from the part */
	int eof, first;    /* the part gave its last byte; no line written yet */
	unsigned char *in; /* RAW_CHUNK bytes */
	char *enc;         /* their base64 lines */
	size_t enc_pos, enc_len;
};

struct smtpc_mime {
	int eight_bit, utf8, finished;
	char err[200];
	struct addr *addrs;
	size_t naddrs;
	char *subject;
	char *date, *message_id;
	smtpc__buf extra; /* the caller's other headers, ready */
	struct body text, html;
	struct part *parts;
	size_t nparts;
	char **boundaries;
	size_t nboundaries;
	smtpc__buf out;
	struct seg *segs;
	size_t nsegs, seg_start;
	int64_t size;
	struct reader rd;
	smtpc__random_fn random;
	void *random_user;
};

static int fail(smtpc_mime *m, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Keeps a one-line reason for smtpc_mime_error() and returns rc. */
static int fail(smtpc_mime *m, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return rc;
}

static void default_random(unsigned char *buf, size_t len, void *user)
{
	size_t done = 0;

	(void)user;
	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno != EINTR) {
			/* No entropy source: a boundary needs to be unlikely, not secret. */
			uint64_t t =
			    (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)buf ^ (done * 0x9e37);

			buf[done] = (unsigned char)(t >> (8 * (done % 8)));
			done++;
		}
	}
}

SMTPC_API smtpc_mime *smtpc_mime_new(void)
{
	smtpc_mime *m = calloc(1, sizeof(*m));

	if (m != NULL)
		m->random = default_random;
	return m;
}

void smtpc__mime_set_random(smtpc_mime *m, smtpc__random_fn fn, void *user)
{
	m->random = fn;
	m->random_user = user;
}

static void body_free(struct body *b)
{
	free(b->text);
	smtpc__buf_free(&b->enc);
}

SMTPC_API void smtpc_mime_free(smtpc_mime *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->naddrs; i++) {
		free(m->addrs[i].name);
		free(m->addrs[i].address);
	}
	free(m->addrs);
	for (i = 0; i < m->nparts; i++) {
		free(m->parts[i].type);
		free(m->parts[i].filename);
		free(m->parts[i].cid);
	}
	free(m->parts);
	for (i = 0; i < m->nboundaries; i++)
		free(m->boundaries[i]);
	free(m->boundaries);
	free(m->subject);
	free(m->date);
	free(m->message_id);
	smtpc__buf_free(&m->extra);
	body_free(&m->text);
	body_free(&m->html);
	smtpc__buf_free(&m->out);
	free(m->segs);
	free(m->rd.in);
	free(m->rd.enc);
	free(m);
}

SMTPC_API const char *smtpc_mime_error(const smtpc_mime *m)
{
	return m ? m->err : "";
}

/* Every setter: a message still being built. */
static int open_for_change(smtpc_mime *m)
{
	if (m == NULL)
		return SMTPC_EINVAL;
	m->err[0] = '\0';
	if (m->finished)
		return fail(m, SMTPC_EINVAL, "the message is finished (smtpc_mime_source())");
	return 0;
}

SMTPC_API int smtpc_mime_set_8bit(smtpc_mime *m, int on)
{
	int rc = open_for_change(m);

	if (rc != 0)
		return rc;
	if (on != 0 && on != 1)
		return fail(m, SMTPC_EINVAL, "8bit is 0 or 1");
	m->eight_bit = on;
	return 0;
}

SMTPC_API int smtpc_mime_set_utf8(smtpc_mime *m, int on)
{
	int rc = open_for_change(m);

	if (rc != 0)
		return rc;
	if (on != 0 && on != 1)
		return fail(m, SMTPC_EINVAL, "utf8 is 0 or 1");
	m->utf8 = on;
	return 0;
}

/* ---------------------------------------------------------------- checks */

static int has_control(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	}
	return 0;
}

/* Text for a header: UTF-8 without control characters (a CR or LF would end the line). */
static int check_text(smtpc_mime *m, const char *what, const char *s)
{
	if (s == NULL)
		return fail(m, SMTPC_EINVAL, "%s: NULL", what);
	if (has_control(s, strlen(s)))
		return fail(m, SMTPC_EINVAL, "%s: control character (CR, LF, TAB, NUL ...)", what);
	if (!smtpc__utf8_valid(s, strlen(s)))
		return fail(m, SMTPC_EINVAL, "%s: not UTF-8", what);
	return 0;
}

/* The address must be exactly one RFC 5322 addr-spec, as written. */
static int check_address(smtpc_mime *m, const char *address)
{
	smtpc_address_list *list = NULL;
	size_t skipped = 0, len = strlen(address);
	char *angle;
	int ok;

	if (check_text(m, "address", address) != 0)
		return SMTPC_EINVAL;
	if (len == 0 || len > VALUE_MAX_LEN)
		return fail(m, SMTPC_EINVAL, "address: empty or too long");
	angle = malloc(len + 3);
	if (angle == NULL)
		return fail(m, SMTPC_ENOMEM, "out of memory");
	angle[0] = '<';
	memcpy(angle + 1, address, len);
	memcpy(angle + 1 + len, ">", 2);
	if (smtpc__parse_addresses(angle, len + 2, &list, &skipped, NULL) != 0) {
		free(angle);
		return fail(m, SMTPC_ENOMEM, "out of memory");
	}
	ok = skipped == 0 && list->n == 1 && strcmp(list->items[0].address, address) == 0 &&
	     list->items[0].group == NULL && strchr(address, '<') == NULL &&
	     strchr(address, '>') == NULL;
	smtpc_address_list_free(list);
	free(angle);
	return ok ? 0 : fail(m, SMTPC_EINVAL, "not one address: '%.100s'", address);
}

static int add_address(smtpc_mime *m, enum field field, const smtpc_address *a)
{
	struct addr *grown;
	int rc = open_for_change(m);

	if (rc != 0)
		return rc;
	if (a == NULL || a->address == NULL || a->group != NULL)
		return fail(m, SMTPC_EINVAL, "%s: an address is needed (groups are not supported)",
		            FIELD_NAMES[field]);
	if ((rc = check_address(m, a->address)) != 0 ||
	    (rc = check_text(m, "display name", a->name ? a->name : "")) != 0)
		return rc;
	for (size_t i = 0; field == F_FROM && i < m->naddrs; i++) {
		if (m->addrs[i].field == F_FROM)
			return fail(m, SMTPC_EINVAL, "From is already set");
	}
	grown = realloc(m->addrs, (m->naddrs + 1) * sizeof(*m->addrs));
	if (grown == NULL)
		return fail(m, SMTPC_ENOMEM, "out of memory");
	m->addrs = grown;
	grown[m->naddrs].field = field;
	grown[m->naddrs].name = strdup(a->name ? a->name : "");
	grown[m->naddrs].address = strdup(a->address);
	m->naddrs++;
	if (grown[m->naddrs - 1].name == NULL || grown[m->naddrs - 1].address == NULL)
		return fail(m, SMTPC_ENOMEM, "out of memory");
	return 0;
}

SMTPC_API int smtpc_mime_set_from(smtpc_mime *m, const smtpc_address *a)
{
	return add_address(m, F_FROM, a);
}

SMTPC_API int smtpc_mime_add_to(smtpc_mime *m, const smtpc_address *a)
{
	return add_address(m, F_TO, a);
}

SMTPC_API int smtpc_mime_add_cc(smtpc_mime *m, const smtpc_address *a)
{
	return add_address(m, F_CC, a);
}

SMTPC_API int smtpc_mime_add_reply_to(smtpc_mime *m, const smtpc_address *a)
{
	return add_address(m, F_REPLY_TO, a);
}

static int set_string(smtpc_mime *m, char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return fail(m, SMTPC_ENOMEM, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

SMTPC_API int smtpc_mime_set_subject(smtpc_mime *m, const char *utf8)
{
	int rc = open_for_change(m);

	if (rc == 0)
		rc = check_text(m, "Subject", utf8);
	return rc != 0 ? rc : set_string(m, &m->subject, utf8);
}

/* ---------------------------------------------------------------- header writing */

static void put_addresses(const smtpc_mime *m, smtpc__buf *out, enum field field)
{
	size_t n = 0, i;

	for (i = 0; i < m->naddrs; i++) {
		const struct addr *a = &m->addrs[i];
		int fold;

		if (a->field != field)
			continue;
		smtpc__buf_str(out, n++ == 0 ? FIELD_NAMES[field] : ",\r\n");
		smtpc__buf_str(out, n == 1 ? ": " : " ");
		if (a->name[0] == '\0') {
			smtpc__buf_str(out, a->address);
			continue;
		}
		smtpc__mime_phrase(out, a->name, m->utf8);
		/* Fold before the address when it would make the line long. */
		fold = smtpc__buf_column(out) + strlen(a->address) + 3 > SMTPC__FOLD_AT;
		smtpc__buf_str(out, fold ? "\r\n <" : " <");
		smtpc__buf_str(out, a->address);
		smtpc__buf_add(out, ">", 1);
	}
	if (n > 0)
		smtpc__buf_add(out, "\r\n", 2);
}

/* Header names the builder writes itself, and Bcc (never in a composed message). */
static int reserved_name(const char *name)
{
	static const char *const OWN[] = {"From",     "To",      "Cc",          "Bcc",
	                                  "Reply-To", "Subject", "MIME-Version"};
	size_t i;

	for (i = 0; i < sizeof(OWN) / sizeof(OWN[0]); i++) {
		if (strcasecmp(name, OWN[i]) == 0)
			return 1;
	}
	return strncasecmp(name, "Content-", 8) == 0;
}

static int check_name(smtpc_mime *m, const char *name)
{
	size_t len = name ? strlen(name) : 0, i;

	if (len == 0 || len > NAME_MAX_LEN)
		return fail(m, SMTPC_EINVAL, "header name: 1 to %d characters", NAME_MAX_LEN);
	for (i = 0; i < len; i++) {
		/* RFC 5322 2.2 ftext: printable ASCII but ":" */
		if ((unsigned char)name[i] <= 0x20 || (unsigned char)name[i] >= 0x7f ||
		    name[i] == ':')
			return fail(m, SMTPC_EINVAL, "header name: invalid character");
	}
	if (reserved_name(name))
		return fail(m, SMTPC_EINVAL, "header %s: set by the builder", name);
	return 0;
}

/* Date and Message-ID as given: one line of printable ASCII. */
static int set_verbatim(smtpc_mime *m, char **slot, const char *name, const char *value)
{
	size_t len = strlen(value);

	if (len == 0 || len > VALUE_MAX_LEN || has_control(value, len) ||
	    smtpc__has_8bit(value, len))
		return fail(m, SMTPC_EINVAL, "%s: 1 to %d printable ASCII characters", name,
		            VALUE_MAX_LEN);
	return set_string(m, slot, value);
}

SMTPC_API int smtpc_mime_add_header(smtpc_mime *m, const char *name, const char *value)
{
	int rc = open_for_change(m);

	if (rc != 0 || (rc = check_name(m, name)) != 0 || (rc = check_text(m, name, value)) != 0)
		return rc;
	if (strcasecmp(name, "Date") == 0)
		return set_verbatim(m, &m->date, "Date", value);
	if (strcasecmp(name, "Message-ID") == 0)
		return set_verbatim(m, &m->message_id, "Message-ID", value);
	smtpc__buf_str(&m->extra, name);
	smtpc__buf_add(&m->extra, ": ", 2);
	smtpc__mime_unstructured(&m->extra, value, m->utf8);
	smtpc__buf_add(&m->extra, "\r\n", 2);
	return m->extra.oom ? fail(m, SMTPC_ENOMEM, "out of memory") : 0;
}

/* ---------------------------------------------------------------- bodies and parts */

static int set_body(smtpc_mime *m, struct body *b, const char *what, const char *utf8, size_t len)
{
	int rc = open_for_change(m);

	if (rc != 0)
		return rc;
	if (b->set)
		return fail(m, SMTPC_EINVAL, "%s: already set", what);
	if (utf8 == NULL && len > 0)
		return fail(m, SMTPC_EINVAL, "%s: NULL", what);
	if (len > 0 && memchr(utf8, '\0', len) != NULL)
		return fail(m, SMTPC_EINVAL, "%s: NUL byte", what);
	if (!smtpc__utf8_valid(utf8 ? utf8 : "", len))
		return fail(m, SMTPC_EINVAL, "%s: not UTF-8", what);
	b->text = malloc(len + 1);
	if (b->text == NULL)
		return fail(m, SMTPC_ENOMEM, "out of memory");
	if (len > 0)
		memcpy(b->text, utf8, len);
	b->text[len] = '\0';
	b->len = len;
	b->set = 1;
	return 0;
}

SMTPC_API int smtpc_mime_set_text(smtpc_mime *m, const char *utf8, size_t len)
{
	return set_body(m, m ? &m->text : NULL, "text", utf8, len);
}

SMTPC_API int smtpc_mime_set_html(smtpc_mime *m, const char *utf8, size_t len)
{
	return set_body(m, m ? &m->html : NULL, "HTML", utf8, len);
}

SMTPC_API const char *smtpc_mime_guess_type(const char *filename)
{
	static const char *const TYPES[][2] = {
	    {"pdf", "application/pdf"},   {"png", "image/png"},       {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},       {"gif", "image/gif"},       {"txt", "text/plain"},
	    {"html", "text/html"},        {"htm", "text/html"},       {"csv", "text/csv"},
	    {"json", "application/json"}, {"zip", "application/zip"}, {"gz", "application/gzip"},
	    {"ics", "text/calendar"},     {"svg", "image/svg+xml"},   {"webp", "image/webp"},
	};
	const char *dot = filename ? strrchr(filename, '.') : NULL;
	size_t i;

	for (i = 0; dot != NULL && i < sizeof(TYPES) / sizeof(TYPES[0]); i++) {
		if (strcasecmp(dot + 1, TYPES[i][0]) == 0)
			return TYPES[i][1];
	}
	return "application/octet-stream";
}

/* RFC 2045 5.1 token: printable ASCII but blanks and tspecials. */
static size_t token_len(const char *p)
{
	size_t n = 0;

	while ((unsigned char)p[n] > 0x20 && (unsigned char)p[n] < 0x7f &&
	       strchr("()<>@,;:\\\"/[]?=", p[n]) == NULL)
		n++;
	return n;
}

/* "type/subtype", no parameters; composite types would need their own encodings. */
static int check_type(smtpc_mime *m, const char *type)
{
	size_t a = token_len(type), b;

	if (a == 0 || type[a] != '/' || (b = token_len(type + a + 1)) == 0 ||
	    type[a + 1 + b] != '\0' || a + b > 120)
		return fail(m, SMTPC_EINVAL, "content type '%.100s': expected type/subtype", type);
	if (strncasecmp(type, "multipart/", 10) == 0 || strncasecmp(type, "message/", 8) == 0)
		return fail(m, SMTPC_EINVAL,
		            "content type %.100s: not allowed in base64 (RFC 2045 6.4)", type);
	return 0;
}

/* A Content-ID "left@right": dot-atom text on both sides (RFC 5322 3.6.4 msg-id). */
static int check_cid(smtpc_mime *m, const char *cid)
{
	const char *at = strchr(cid, '@');
	size_t i, len = strlen(cid);

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)cid[i];

		if (c <= 0x20 || c >= 0x7f || strchr("()<>[]:;\\,\"", c) != NULL)
			break;
	}
	if (i < len || at == NULL || at == cid || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    len > 200)
		return fail(m, SMTPC_EINVAL, "Content-ID '%.100s': expected id@host", cid);
	return 0;
}

/* How many bytes the part gives, and where a file descriptor is read from. */
static int measure(smtpc_mime *m, struct part *p)
{
	struct stat st;
	off_t at;

	p->size = p->src.size;
	p->offset = -1;
	if (p->src.data != NULL) {
		p->size = (int64_t)p->src.len;
		return 0;
	}
	if (p->src.read != NULL)
		return 0;
	if (fstat(p->src.fd, &st) != 0)
		return fail(m, SMTPC_EINVAL, "attachment: bad file descriptor: %s",
		            strerror(errno));
	at = lseek(p->src.fd, 0, SEEK_CUR);
	if (at < 0)
		return 0; /* a pipe: read once */
	p->offset = at;
	if (S_ISREG(st.st_mode))
		p->size = st.st_size > at ? st.st_size - at : 0;
	return 0;
}

static int check_part(smtpc_mime *m, const smtpc_mime_part *part)
{
	const smtpc_source *s = &part->source;
	int kinds;

	if (part->version != SMTPC_MIME_PART_VERSION || s->version != SMTPC_SOURCE_VERSION)
		return fail(m, SMTPC_EINVAL, "attachment: unknown version");
	kinds = (s->data != NULL) + (s->fd >= 0) + (s->read != NULL);
	if (kinds != 1 && !(kinds == 0 && s->len == 0))
		return fail(m, SMTPC_EINVAL, "attachment: give one of data, fd and read");
	if (part->type != NULL && check_type(m, part->type) != 0)
		return SMTPC_EINVAL;
	if (part->filename != NULL &&
	    (check_text(m, "file name", part->filename) != 0 || strlen(part->filename) > 1000))
		return fail(m, SMTPC_EINVAL, "file name: control character, not UTF-8 or too long");
	if (part->content_id != NULL && check_cid(m, part->content_id) != 0)
		return SMTPC_EINVAL;
	return 0;
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d = s ? strdup(s) : NULL;

	*oom |= s != NULL && d == NULL;
	return d;
}

SMTPC_API int smtpc_mime_attach(smtpc_mime *m, const smtpc_mime_part *part)
{
	struct part *grown, *p;
	int rc = open_for_change(m), oom = 0;

	if (rc != 0)
		return rc;
	if (part == NULL || (rc = check_part(m, part)) != 0)
		return part == NULL ? fail(m, SMTPC_EINVAL, "attachment: NULL") : rc;
	grown = realloc(m->parts, (m->nparts + 1) * sizeof(*m->parts));
	if (grown == NULL)
		return fail(m, SMTPC_ENOMEM, "out of memory");
	m->parts = grown;
	p = &grown[m->nparts];
	memset(p, 0, sizeof(*p));
	p->src = part->source;
	if (p->src.data == NULL && p->src.fd < 0 && p->src.read == NULL)
		p->src.data = ""; /* an empty part */
	p->rewind = part->rewind;
	if ((rc = measure(m, p)) != 0)
		return rc;
	p->type =
	    dup_or_null(part->type ? part->type : smtpc_mime_guess_type(part->filename), &oom);
	p->filename = dup_or_null(part->filename, &oom);
	p->cid = dup_or_null(part->content_id, &oom);
	m->nparts++;
	return oom ? fail(m, SMTPC_ENOMEM, "out of memory") : 0;
}

/* ---------------------------------------------------------------- finishing */

/* The text with every line ending made CRLF; *longest: the longest line in octets. */
static void crlf_lines(smtpc__buf *out, const char *t, size_t len, size_t *longest)
{
	size_t i, start = 0;

	*longest = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && t[i] != '\r' && t[i] != '\n')
			continue;
		if (i - start > *longest)
			*longest = i - start;
		smtpc__buf_add(out, t + start, i - start);
		if (i == len)
			break;
		smtpc__buf_add(out, "\r\n", 2);
		if (t[i] == '\r' && i + 1 < len && t[i + 1] == '\n')
			i++;
		start = i + 1;
	}
}

/*
 * The lightest encoding that keeps the text intact (RFC 2045 6, RFC 6152):
 * 7bit for ASCII in lines of at most 998 octets, 8bit likewise when allowed,
 * else quoted-printable, or base64 when it is shorter (mostly non-Latin text).
 */
static void encode_body(const smtpc_mime *m, struct body *b)
{
	smtpc__buf lines = {0}, qp = {0};
	size_t longest, high = 0, i;
	int first = 1;

	crlf_lines(&lines, b->text, b->len, &longest);
	if (longest <= SMTPC__LINE_MAX &&
	    (!smtpc__has_8bit(b->text, b->len) || m->eight_bit || m->utf8)) {
		b->cte = !smtpc__has_8bit(b->text, b->len) ? "7bit" : "8bit";
		b->enc = lines;
		return;
	}
	/* Quoted-printable keeps mostly-ASCII text readable; base64 is shorter beyond a third of
	 * 8-bit bytes (3 characters each in quoted-printable, 4/3 in base64). */
	for (i = 0; i < b->len; i++)
		high += (unsigned char)b->text[i] >= 0x80;
	if (high * 3 <= b->len || lines.oom) {
		smtpc__qp_encode(&qp, b->text, b->len);
		b->cte = "quoted-printable";
		b->enc = qp;
		smtpc__buf_free(&lines);
		return;
	}
	b->cte = "base64";
	b->enc.p = malloc(smtpc__b64_lines_room(lines.len) + 1);
	if (b->enc.p == NULL) {
		b->enc.oom = 1;
	} else {
		b->enc.len =
		    smtpc__b64_lines((const unsigned char *)lines.p, lines.len, b->enc.p, &first);
		b->enc.p[b->enc.len] = '\0';
	}
	smtpc__buf_free(&lines);
}

/* 1 when the text, as sent, holds s (only 7bit and 8bit text can: see mimeenc.c). */
static int body_holds(const struct body *b, const char *s)
{
	return b->set && b->enc.p != NULL && strstr(b->enc.p, s) != NULL;
}

/*
 * A boundary that occurs in no content (RFC 2046 5.1.1): it starts with "=_",
 * which neither quoted-printable nor base64 can produce, so only 7bit and
 * 8bit text is searched; nor is it a prefix of another boundary.
 */
static const char *new_boundary(smtpc_mime *m)
{
	char b[48], **grown;
	int tries;

	for (tries = 0; tries < BOUNDARY_TRIES; tries++) {
		unsigned char r[12];
		int clash = 0;
		size_t i;

		m->random(r, sizeof(r), m->random_user);
		memcpy(b, "=_smtpc_", 8);
		for (i = 0; i < sizeof(r); i++)
			snprintf(b + 8 + 2 * i, 3, "%02x", r[i]);
		for (i = 0; i < m->nboundaries; i++)
			clash |= strncmp(m->boundaries[i], b, strlen(b)) == 0;
		if (!clash && !body_holds(&m->text, b) && !body_holds(&m->html, b))
			break;
	}
	if (tries == BOUNDARY_TRIES)
		return NULL;
	grown = realloc(m->boundaries, (m->nboundaries + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	m->boundaries = grown;
	grown[m->nboundaries] = strdup(b);
	return grown[m->nboundaries] ? grown[m->nboundaries++] : NULL;
}

static int push_seg(smtpc_mime *m, enum seg_kind kind, struct part *p)
{
	struct seg *grown = realloc(m->segs, (m->nsegs + 2) * sizeof(*grown));

	if (grown == NULL)
		return SMTPC_ENOMEM;
	m->segs = grown;
	/* The bytes written since the last segment, then the part. */
	grown[m->nsegs++] = (struct seg){SEG_BYTES, m->seg_start, m->out.len - m->seg_start, NULL};
	if (kind == SEG_PART)
		grown[m->nsegs++] = (struct seg){SEG_PART, 0, 0, p};
	m->seg_start = m->out.len;
	return 0;
}

static void emit_body(smtpc_mime *m, const struct body *b, const char *subtype)
{
	smtpc__buf *o = &m->out;

	smtpc__buf_str(o, "Content-Type: text/");
	smtpc__buf_str(o, subtype);
	smtpc__buf_str(o, "; charset=utf-8\r\nContent-Transfer-Encoding: ");
	smtpc__buf_str(o, b->cte);
	smtpc__buf_str(o, "\r\n\r\n");
	smtpc__buf_add(o, b->enc.p, b->enc.len);
}

static int emit_part(smtpc_mime *m, struct part *p)
{
	smtpc__buf *o = &m->out;

	smtpc__buf_str(o, "Content-Type: ");
	smtpc__buf_str(o, p->type);
	smtpc__buf_str(o, "\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: ");
	smtpc__buf_str(o, p->cid ? "inline" : "attachment");
	if (p->filename != NULL)
		smtpc__mime_param(o, "filename", p->filename);
	if (p->cid != NULL) {
		smtpc__buf_str(o, "\r\nContent-ID: <");
		smtpc__buf_str(o, p->cid);
		smtpc__buf_str(o, ">");
	}
	smtpc__buf_str(o, "\r\n\r\n");
	return push_seg(m, SEG_PART, p);
}

/* The pieces of a multipart, in order. */
enum piece_kind { P_TEXT, P_HTML, P_RELATED, P_ALTERNATIVE, P_PART };
struct piece {
	enum piece_kind kind;
	struct part *part;
};

static int emit_piece(smtpc_mime *m, struct piece pc);

static int emit_multipart(smtpc_mime *m, const char *subtype, const struct piece *pcs, size_t n)
{
	const char *b = new_boundary(m);
	smtpc__buf *o = &m->out;
	size_t i;
	int rc = 0;

	if (b == NULL)
		return SMTPC_ENOMEM;
	smtpc__buf_str(o, "Content-Type: multipart/");
	smtpc__buf_str(o, subtype);
	smtpc__buf_str(o, ";\r\n boundary=\"");
	smtpc__buf_str(o, b);
	smtpc__buf_str(o, "\"\r\n\r\n");
	/* The CRLF before each delimiter belongs to it (RFC 2046 5.1.1): no part ends with one. */
	for (i = 0; i < n && rc == 0; i++) {
		smtpc__buf_str(o, i == 0 ? "--" : "\r\n--");
		smtpc__buf_str(o, b);
		smtpc__buf_str(o, "\r\n");
		rc = emit_piece(m, pcs[i]);
	}
	smtpc__buf_str(o, "\r\n--");
	smtpc__buf_str(o, b);
	smtpc__buf_str(o, "--");
	return rc;
}

/* The HTML with its inline parts (RFC 2387), or alone. */
static int emit_related(smtpc_mime *m)
{
	struct piece *pcs = malloc((m->nparts + 1) * sizeof(*pcs));
	size_t n = 0, i;
	int rc;

	if (pcs == NULL)
		return SMTPC_ENOMEM;
	pcs[n++] = (struct piece){P_HTML, NULL};
	for (i = 0; i < m->nparts; i++) {
		if (m->parts[i].cid != NULL)
			pcs[n++] = (struct piece){P_PART, &m->parts[i]};
	}
	rc = n == 1 ? emit_piece(m, pcs[0]) : emit_multipart(m, "related", pcs, n);
	free(pcs);
	return rc;
}

static int emit_piece(smtpc_mime *m, struct piece pc)
{
	static const struct piece ALTERNATIVE[] = {{P_TEXT, NULL}, {P_RELATED, NULL}};

	switch (pc.kind) {
	case P_TEXT:
		emit_body(m, &m->text, "plain");
		return 0;
	case P_HTML:
		emit_body(m, &m->html, "html");
		return 0;
	case P_RELATED:
		return emit_related(m);
	case P_ALTERNATIVE:
		return emit_multipart(m, "alternative", ALTERNATIVE, 2);
	case P_PART:
		return emit_part(m, pc.part);
	default:
		return SMTPC_EINVAL;
	}
}

/* The body of the message: text and/or HTML (with its inline parts); NULL-kind when none. */
static int main_piece(const smtpc_mime *m, struct piece *pc)
{
	if (m->text.set && m->html.set)
		*pc = (struct piece){P_ALTERNATIVE, NULL};
	else if (m->html.set)
		*pc = (struct piece){P_RELATED, NULL};
	else if (m->text.set)
		*pc = (struct piece){P_TEXT, NULL};
	else
		return 0;
	return 1;
}

/* Everything after the headers: one piece, or a multipart/mixed with the attachments. */
static int emit_top(smtpc_mime *m)
{
	struct piece *pcs = malloc((m->nparts + 1) * sizeof(*pcs));
	size_t n = 0, i;
	int rc;

	if (pcs == NULL)
		return SMTPC_ENOMEM;
	n = (size_t)main_piece(m, &pcs[0]);
	/* Inline parts go with the HTML; without HTML they are shown as attachments are. */
	for (i = 0; i < m->nparts; i++) {
		if (m->parts[i].cid == NULL || !m->html.set)
			pcs[n++] = (struct piece){P_PART, &m->parts[i]};
	}
	/* Attachments always go in a multipart/mixed, where readers look for them. */
	if (n == 1 && pcs[0].kind != P_PART) {
		rc = emit_piece(m, pcs[0]);
	} else {
		rc = emit_multipart(m, "mixed", pcs, n);
		smtpc__buf_str(&m->out, "\r\n");
	}
	free(pcs);
	return rc;
}

/* RFC 5322 3.3 date-time in UTC, with English names whatever the locale. */
static void put_date(smtpc__buf *o)
{
	static const char DAYS[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char MONTHS[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t now = time(NULL);
	struct tm tm;
	char line[64];

	gmtime_r(&now, &tm);
	snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	         DAYS[tm.tm_wday % 7], tm.tm_mday, MONTHS[tm.tm_mon % 12], tm.tm_year + 1900,
	         tm.tm_hour, tm.tm_min, tm.tm_sec);
	smtpc__buf_str(o, line);
}

/* "<random@domain of From>" (RFC 5322 3.6.4); a domain that is not a plain name: "smtpc.invalid".
 */
static void put_message_id(smtpc_mime *m, smtpc__buf *o)
{
	const char *domain = "smtpc.invalid", *at = NULL;
	unsigned char r[16];
	char hex[33];
	size_t i;

	for (i = 0; i < m->naddrs && at == NULL; i++) {
		if (m->addrs[i].field == F_FROM)
			at = strrchr(m->addrs[i].address, '@');
	}
	if (at != NULL && at[1] != '\0' &&
	    strspn(at + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                   "0123456789.-") == strlen(at + 1))
		domain = at + 1;
	m->random(r, sizeof(r), m->random_user);
	for (i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	smtpc__buf_str(o, "Message-ID: <");
	smtpc__buf_str(o, hex);
	smtpc__buf_str(o, "@");
	smtpc__buf_str(o, domain);
	smtpc__buf_str(o, ">\r\n");
}

static void emit_headers(smtpc_mime *m)
{
	smtpc__buf *o = &m->out;

	for (int f = F_FROM; f <= F_REPLY_TO; f++)
		put_addresses(m, o, (enum field)f);
	if (m->subject != NULL) {
		smtpc__buf_str(o, "Subject: ");
		smtpc__mime_unstructured(o, m->subject, m->utf8);
		smtpc__buf_str(o, "\r\n");
	}
	if (m->date != NULL) {
		smtpc__buf_str(o, "Date: ");
		smtpc__buf_str(o, m->date);
		smtpc__buf_str(o, "\r\n");
	} else {
		put_date(o);
	}
	if (m->message_id != NULL) {
		smtpc__buf_str(o, "Message-ID: ");
		smtpc__buf_str(o, m->message_id);
		smtpc__buf_str(o, "\r\n");
	} else {
		put_message_id(m, o);
	}
	smtpc__buf_add(o, m->extra.p, m->extra.len);
	smtpc__buf_str(o, "MIME-Version: 1.0\r\n");
}

/* A non-ASCII address cannot be encoded: it needs SMTPUTF8 (RFC 6532 3.2). */
static int check_utf8_addresses(smtpc_mime *m)
{
	size_t i;

	for (i = 0; i < m->naddrs && !m->utf8; i++) {
		const char *a = m->addrs[i].address;

		if (smtpc__has_8bit(a, strlen(a)))
			return fail(
			    m, SMTPC_EINVAL,
			    "non-ASCII address '%.100s' needs SMTPUTF8 (smtpc_mime_set_utf8())", a);
	}
	return 0;
}

/* Forgets a half-written message (out of memory), so that a later call starts afresh. */
static void unfinish(smtpc_mime *m)
{
	size_t i;

	smtpc__buf_free(&m->out);
	smtpc__buf_free(&m->text.enc);
	smtpc__buf_free(&m->html.enc);
	for (i = 0; i < m->nboundaries; i++)
		free(m->boundaries[i]);
	free(m->boundaries);
	m->boundaries = NULL;
	m->nboundaries = 0;
	free(m->segs);
	m->segs = NULL;
	m->nsegs = m->seg_start = 0;
}

static int64_t total_size(const smtpc_mime *m)
{
	int64_t size = 0;
	size_t i;

	for (i = 0; i < m->nsegs; i++) {
		const struct seg *s = &m->segs[i];

		if (s->kind == SEG_BYTES)
			size += (int64_t)s->len;
		else if (s->part->size < 0)
			return -1;
		else
			size += (int64_t)smtpc__b64_lines_size((uint64_t)s->part->size);
	}
	return size;
}

static long mime_read(void *buf, size_t len, void *user);
static void reader_start(smtpc_mime *m);

SMTPC_API int smtpc_mime_source(smtpc_mime *m, smtpc_source *out)
{
	int rc = open_for_change(m), has_from = 0;

	if (rc != 0 || out == NULL)
		return rc != 0 ? rc : fail(m, SMTPC_EINVAL, "NULL source");
	for (size_t i = 0; i < m->naddrs; i++)
		has_from |= m->addrs[i].field == F_FROM;
	if (!has_from)
		return fail(m, SMTPC_EINVAL, "no From (RFC 5322 3.6)");
	rc = check_utf8_addresses(m);
	if (rc != 0)
		return rc;
	/* Nothing to send is an empty text. */
	if (!m->text.set && !m->html.set && m->nparts == 0 &&
	    (rc = set_body(m, &m->text, "text", "", 0)) != 0)
		return rc;
	if (m->text.set)
		encode_body(m, &m->text);
	if (m->html.set)
		encode_body(m, &m->html);
	emit_headers(m);
	rc = emit_top(m);
	if (rc == 0)
		rc = push_seg(m, SEG_BYTES, NULL);
	if (rc == 0) {
		m->rd.in = malloc(RAW_CHUNK);
		m->rd.enc = malloc(smtpc__b64_lines_room(RAW_CHUNK));
	}
	if (rc != 0 || m->out.oom || m->text.enc.oom || m->html.enc.oom || m->rd.in == NULL ||
	    m->rd.enc == NULL) {
		unfinish(m);
		return fail(m, SMTPC_ENOMEM, "out of memory");
	}
	m->finished = 1;
	m->size = total_size(m);
	reader_start(m);
	*out = (smtpc_source)SMTPC_SOURCE_INIT;
	out->read = mime_read;
	out->read_user = m;
	out->size = m->size;
	return 0;
}

/* ---------------------------------------------------------------- reading */

/* Up to len bytes of the part from where the reader is: > 0, 0 at its end, -1 on error. */
static long part_read(smtpc_mime *m, struct part *p, unsigned char *buf, size_t len)
{
	int64_t at = m->rd.raw;
	ssize_t n;

	if (p->src.data != NULL) {
		size_t left = p->src.len - (size_t)at;

		n = (ssize_t)(left < len ? left : len);
		memcpy(buf, (const char *)p->src.data + at, (size_t)n);
		return n;
	}
	if (p->src.read != NULL) {
		long r = p->src.read(buf, len, p->src.read_user);

		return r < 0 || (size_t)r > len
		           ? fail(m, -1, "an attachment's read callback failed")
		           : r;
	}
	do {
		n = p->offset >= 0 ? pread(p->src.fd, buf, len, (off_t)(p->offset + at))
		                   : read(p->src.fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(m, -1, "cannot read an attachment: %s", strerror(errno));
	return n;
}

/* Reads and encodes the next RAW_CHUNK bytes of the part (fewer at its end). */
static int fill(smtpc_mime *m, struct part *p)
{
	struct reader *r = &m->rd;
	size_t have = 0;

	while (have < RAW_CHUNK && !r->eof) {
		long n = part_read(m, p, r->in + have, RAW_CHUNK - have);

		if (n < 0)
			return -1;
		r->eof = n == 0;
		have += (size_t)n;
		r->raw += n;
	}
	/* The size announced (SIZE=, the size of the message) must be the size sent. */
	if (p->size >= 0 && (r->raw > p->size || (r->eof && r->raw != p->size)))
		return fail(m, -1,
		            "an attachment changed size while being sent (%lld bytes, not %lld)",
		            (long long)r->raw, (long long)p->size);
	r->enc_len = smtpc__b64_lines(r->in, have, r->enc, &r->first);
	r->enc_pos = 0;
	return 0;
}

static void next_seg(smtpc_mime *m)
{
	struct reader *r = &m->rd;

	r->seg++;
	r->pos = 0;
	r->raw = 0;
	r->eof = 0;
	r->first = 1;
	r->enc_pos = r->enc_len = 0;
	if (r->seg < m->nsegs && m->segs[r->seg].kind == SEG_PART)
		m->segs[r->seg].part->started = 1;
}

static long mime_read(void *buf, size_t len, void *user)
{
	smtpc_mime *m = user;
	struct reader *r = &m->rd;

	while (r->seg < m->nsegs) {
		const struct seg *s = &m->segs[r->seg];
		size_t n;

		if (s->kind == SEG_BYTES) {
			n = s->len - r->pos < len ? s->len - r->pos : len;
			memcpy(buf, m->out.p + s->off + r->pos, n);
			r->pos += n;
		} else {
			if (r->enc_pos == r->enc_len && !r->eof && fill(m, s->part) != 0)
				return -1;
			n = r->enc_len - r->enc_pos < len ? r->enc_len - r->enc_pos : len;
			memcpy(buf, r->enc + r->enc_pos, n);
			r->enc_pos += n;
		}
		if (n > 0)
			return (long)n;
		next_seg(m);
	}
	return 0;
}

/* A callback without a rewind callback, or a file descriptor that cannot seek (a pipe). */
static int one_pass(const struct part *p)
{
	if (p->src.read != NULL)
		return p->rewind == NULL;
	return p->src.data == NULL && p->offset < 0;
}

/* The reader at the first byte of the message. */
static void reader_start(smtpc_mime *m)
{
	m->rd.seg = (size_t)-1; /* next_seg() moves to segment 0 */
	next_seg(m);
}

SMTPC_API int smtpc_mime_rewind(smtpc_mime *m)
{
	size_t i;

	if (m == NULL || !m->finished)
		return m ? fail(m, SMTPC_EINVAL, "the message is not finished") : SMTPC_EINVAL;
	for (i = 0; i < m->nparts; i++) {
		if (m->parts[i].started && one_pass(&m->parts[i]))
			return fail(m, SMTPC_EINVAL, "a one-pass attachment was already read");
	}
	for (i = 0; i < m->nparts; i++) {
		struct part *p = &m->parts[i];

		if (p->started && p->src.read != NULL && p->rewind(p->src.read_user) < 0)
			return fail(m, SMTPC_EIO, "an attachment's rewind callback failed");
		p->started = 0;
	}
	reader_start(m);
	return 0;
}
