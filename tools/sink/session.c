/*
 * smtpc-sink: the SMTP/LMTP server side of one connection, without I/O.
 *
 * Bytes arrive in c->in; session_process() consumes every complete command (RFC 2920: any
 * number of pipelined commands per read), streams DATA and BDAT bytes to the store and queues
 * the replies in c->out; the event loop sends them with one write per batch.
 *
 * RFC 5321 (SMTP), RFC 2033 (LMTP), RFC 2920 (PIPELINING), RFC 3030 (CHUNKING, BINARYMIME),
 * RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 2034 (ENHANCEDSTATUSCODES), RFC 6531 (SMTPUTF8),
 * RFC 3461 (DSN).
 */
#include "sink.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct param {
	const char *kw;
	size_t kwlen;
	const char *val; /* NULL: no "=value" */
	size_t vlen;
	const char *raw; /* "KW=value" as sent */
	size_t rawlen;
};

static const struct sink_reply r_need_mail = {503, "5.5.1", "Error: need MAIL command"};
static const struct sink_reply r_need_rcpt = {503, "5.5.1", "Error: need RCPT command"};
static const struct sink_reply r_no_valid = {554, "5.5.1", "Error: no valid recipients"};
static const struct sink_reply r_store = {451, "4.3.0", "Error: cannot store the message"};

/* ------------------------------------------------------------------ replies */

static void log_out(struct conn *c, size_t from)
{
	const char *p = c->out.p + from;
	const char *end = c->out.p + c->out.len;

	while (p < end) {
		const char *cr = memchr(p, '\r', (size_t)(end - p));
		size_t n = cr ? (size_t)(cr - p) : (size_t)(end - p);

		sink_log(c->sink, c->id, 'S', p, n);
		p += n + 2;
	}
}

/* Queue one reply line. The enhanced status code is given only when ENHANCEDSTATUSCODES is
 * configured (RFC 2034 section 4: never on the greeting, HELO/EHLO or 354). */
static void vreply(struct conn *c, bool more, int code, const char *esc, const char *fmt,
                   va_list ap) __attribute__((format(printf, 5, 0)));

static void vreply(struct conn *c, bool more, int code, const char *esc, const char *fmt,
                   va_list ap)
{
	char line[SINK_PATH_MAX + 256];
	size_t from = c->out.len;
	int n;

	n = snprintf(line, sizeof(line), "%03d%c", code, more ? '-' : ' ');
	if (esc && (c->sink->cfg.ext & EXT_ENHANCED))
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s ", esc);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	buf_add(&c->out, line, (size_t)n);
	buf_add(&c->out, "\r\n", 2);
	if (c->sink->log)
		log_out(c, from);
}

static void reply(struct conn *c, int code, const char *esc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply(struct conn *c, int code, const char *esc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(c, false, code, esc, fmt, ap);
	va_end(ap);
}

static void reply_more(struct conn *c, int code, const char *esc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_more(struct conn *c, int code, const char *esc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(c, true, code, esc, fmt, ap);
	va_end(ap);
}

static void reply_canned(struct conn *c, const struct sink_reply *r)
{
	reply(c, r->code, r->esc, "%s", r->text);
}

static void reply_unknown(struct conn *c)
{
	reply(c, 500, "5.5.2", "Error: command not recognized");
}

/* ------------------------------------------------------------------ transaction state */

static void message_abort(struct conn *c)
{
	if (!c->msg.active)
		return;
	store_discard(&c->msg);
	c->msg.active = false;
}

/* Forget MAIL, RCPT and any message in progress; keep the HELO. */
static void transaction_reset(struct conn *c)
{
	message_abort(c);
	free(c->mail_from);
	c->mail_from = NULL;
	strvec_free(&c->mail_opts);
	for (size_t i = 0; i < c->nrcpts; i++) {
		free(c->rcpts[i].addr);
		strvec_free(&c->rcpts[i].opts);
	}
	c->nrcpts = 0;
	c->rcpt_attempts = 0;
	c->has_mail = false;
	c->smtputf8 = false;
	c->binarymime = false;
}

void session_end(struct conn *c)
{
	transaction_reset(c);
	free(c->rcpts);
	c->rcpts = NULL;
	c->rcpt_cap = 0;
	free(c->helo);
	c->helo = NULL;
}

static int message_begin(struct conn *c, bool bdat)
{
	struct sink *s = c->sink;
	struct message *m = &c->msg;
	unsigned long n = ++s->msg_counter;
	const char *first = c->rcpts[0].addr;

	m->active = true;
	m->bdat = bdat;
	m->too_big = false;
	m->store_error = false;
	m->fd = -1;
	m->size = 0;
	m->tmp_path = NULL;
	snprintf(m->name, sizeof(m->name), "%lld.%ld_%lu.sink", (long long)time(NULL), (long)s->pid,
	         n);
	snprintf(m->id, sizeof(m->id), "%lX%06lX", (unsigned long)s->pid, n);
	if (!s->cfg.maildir)
		return 0;
	/* The tmp file goes to a recipient that will get the message, when there is one. */
	for (size_t i = 0; i < c->nrcpts; i++) {
		if (c->rcpts[i].kind == RCPT_NORMAL) {
			first = c->rcpts[i].addr;
			break;
		}
	}
	if (store_open(s, m, first) < 0) {
		m->active = false;
		return -1;
	}
	return 0;
}

/* Message content, after dot-unstuffing: count it, store it unless over the limit. */
static void message_write(struct conn *c, const char *p, size_t n)
{
	struct message *m = &c->msg;
	uint64_t limit = c->sink->cfg.size_limit;

	if (n == 0)
		return;
	m->size += n;
	if (m->too_big || m->store_error)
		return;
	if (limit && m->size > limit) {
		/* RFC 1870: refuse after the data; nothing more is kept. */
		m->too_big = true;
		store_discard(m);
		return;
	}
	if (m->fd >= 0 && store_write(m, p, n) < 0) {
		sink_warn(c->sink, "%s: write failed", m->tmp_path);
		m->store_error = true;
		store_discard(m);
	}
}

/* ------------------------------------------------------------------ addresses and parameters */

/*
 * Parse "<path>" (RFC 5321 4.1.2), leading spaces tolerated. The mailbox (source route
 * dropped) is p[*astart..*astart+*alen); *used counts the bytes up to and including '>'.
 * Returns 0, -1 for a syntax error, -2 for a path over 256 octets (RFC 5321 4.5.3.1.3).
 */
static int parse_path(const char *p, size_t n, size_t *astart, size_t *alen, size_t *used)
{
	size_t i = 0, start, len;
	bool quoted = false;

	while (i < n && p[i] == ' ')
		i++;
	if (i == n || p[i] != '<')
		return -1;
	start = ++i;
	for (; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch < 0x20 || ch == 0x7f)
			return -1;
		if (quoted) {
			if (ch == '\\' && i + 1 < n)
				i++;
			else if (ch == '"')
				quoted = false;
			continue;
		}
		if (ch == '"')
			quoted = true;
		else if (ch == '>')
			break;
		else if (ch == ' ' || ch == '<')
			return -1;
	}
	if (i == n)
		return -1;
	if (i - start + 2 > SINK_PATH_MAX)
		return -2;
	*used = i + 1;
	len = i - start;
	if (len > 0 && p[start] == '@') {
		const char *colon = memchr(p + start, ':', len);

		if (!colon)
			return -1;
		len -= (size_t)(colon + 1 - (p + start));
		start = (size_t)(colon + 1 - p);
	}
	*astart = start;
	*alen = len;
	return 0;
}

/* Offset of the '@' that starts the domain, or alen when there is none. */
static size_t domain_at(const char *a, size_t alen)
{
	for (size_t i = alen; i > 0; i--) {
		if (a[i - 1] == '@')
			return i - 1;
	}
	return alen;
}

static bool domain_is(const char *a, size_t alen, const char *domain)
{
	size_t at = domain_at(a, alen);

	return at < alen && sink_ascii_ieq(a + at + 1, alen - at - 1, domain);
}

static bool local_is(const char *a, size_t alen, const char *local)
{
	size_t at = domain_at(a, alen);

	return sink_ascii_ieq(a, at, local);
}

/* local@domain with both parts non-empty. */
static bool mailbox_ok(const char *a, size_t alen)
{
	size_t at = domain_at(a, alen);

	return at > 0 && at + 1 < alen;
}

static bool has_non_ascii(const char *a, size_t alen)
{
	for (size_t i = 0; i < alen; i++) {
		if ((unsigned char)a[i] >= 0x80)
			return true;
	}
	return false;
}

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* Split "KW[=VALUE] KW[=VALUE]..." (RFC 5321 4.1.2 esmtp-param). Returns the count or -1. */
static int split_params(const char *p, size_t n, struct param *out)
{
	size_t i = 0;
	int count = 0;

	for (;;) {
		size_t start, eq = 0;

		while (i < n && p[i] == ' ')
			i++;
		if (i == n)
			return count;
		if (count == SINK_MAX_PARAMS)
			return -1;
		start = i;
		while (i < n && p[i] != ' ') {
			unsigned char ch = (unsigned char)p[i];

			if (ch == '=' && !eq)
				eq = i;
			else if (ch < 0x21 || ch > 0x7e || (ch == '=' && eq))
				return -1;
			else if (!eq && !is_alnum((char)ch) && !(ch == '-' && i > start))
				return -1;
			i++;
		}
		if (eq == start || (eq && eq + 1 == i))
			return -1;
		out[count].raw = p + start;
		out[count].rawlen = i - start;
		out[count].kw = p + start;
		out[count].kwlen = (eq ? eq : i) - start;
		out[count].val = eq ? p + eq + 1 : NULL;
		out[count].vlen = eq ? i - eq - 1 : 0;
		count++;
	}
}

static bool digits_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* RFC 3461 4.1: NEVER, or a comma list of SUCCESS, FAILURE, DELAY. */
static bool notify_ok(const char *v, size_t n)
{
	size_t i = 0;

	if (sink_ascii_ieq(v, n, "NEVER"))
		return true;
	while (i < n) {
		const char *comma = memchr(v + i, ',', n - i);
		size_t len = comma ? (size_t)(comma - (v + i)) : n - i;

		if (!sink_ascii_ieq(v + i, len, "SUCCESS") &&
		    !sink_ascii_ieq(v + i, len, "FAILURE") && !sink_ascii_ieq(v + i, len, "DELAY"))
			return false;
		i += len + 1;
		if (comma && i == n)
			return false;
	}
	return true;
}

static bool duplicate_param(const struct param *pv, int i)
{
	for (int j = 0; j < i; j++) {
		size_t k;

		if (pv[j].kwlen != pv[i].kwlen)
			continue;
		for (k = 0; k < pv[i].kwlen; k++) {
			if ((pv[j].kw[k] | 0x20) != (pv[i].kw[k] | 0x20))
				break;
		}
		if (k == pv[i].kwlen)
			return true;
	}
	return false;
}

/*
 * Check the MAIL parameters. A parameter is accepted only when the extension that defines it
 * is advertised in an EHLO/LHLO session (RFC 5321 4.1.1.11); AUTH= is always accepted.
 * Returns 0 or queues the error reply and returns -1.
 */
static int mail_params(struct conn *c, const struct param *pv, int np)
{
	unsigned ext = c->esmtp ? c->sink->cfg.ext : 0;
	uint64_t limit = c->sink->cfg.size_limit;

	for (int i = 0; i < np; i++) {
		const struct param *pp = &pv[i];
		const char *v = pp->val;
		size_t vn = pp->vlen;

		if (duplicate_param(pv, i)) {
			reply(c, 501, "5.5.4", "Error: duplicate parameter %.*s", (int)pp->kwlen,
			      pp->kw);
			return -1;
		}
		if (sink_ascii_ieq(pp->kw, pp->kwlen, "SIZE") && (ext & EXT_SIZE)) {
			uint64_t size;

			if (!v || !digits_u64(v, vn, &size)) {
				reply(c, 501, "5.5.4", "Error: bad SIZE parameter");
				return -1;
			}
			if (limit && size > limit) {
				reply(c, 552, "5.3.4", "Error: message size exceeds fixed limit");
				return -1;
			}
		} else if (sink_ascii_ieq(pp->kw, pp->kwlen, "BODY") &&
		           (ext & (EXT_8BITMIME | EXT_BINARYMIME))) {
			if (v && sink_ascii_ieq(v, vn, "7BIT")) {
				c->binarymime = false;
			} else if (v && sink_ascii_ieq(v, vn, "8BITMIME") && (ext & EXT_8BITMIME)) {
				c->binarymime = false;
			} else if (v && sink_ascii_ieq(v, vn, "BINARYMIME") &&
			           (ext & EXT_BINARYMIME)) {
				c->binarymime = true;
			} else {
				reply(c, 501, "5.5.4", "Error: bad BODY parameter");
				return -1;
			}
		} else if (sink_ascii_ieq(pp->kw, pp->kwlen, "SMTPUTF8") && (ext & EXT_SMTPUTF8)) {
			if (v) {
				reply(c, 501, "5.5.4", "Error: SMTPUTF8 takes no value");
				return -1;
			}
			c->smtputf8 = true;
		} else if (sink_ascii_ieq(pp->kw, pp->kwlen, "RET") && (ext & EXT_DSN)) {
			if (!v ||
			    !(sink_ascii_ieq(v, vn, "FULL") || sink_ascii_ieq(v, vn, "HDRS"))) {
				reply(c, 501, "5.5.4", "Error: bad RET parameter");
				return -1;
			}
		} else if (sink_ascii_ieq(pp->kw, pp->kwlen, "ENVID") && (ext & EXT_DSN)) {
			if (!v || vn > 100) {
				reply(c, 501, "5.5.4", "Error: bad ENVID parameter");
				return -1;
			}
		} else if (sink_ascii_ieq(pp->kw, pp->kwlen, "AUTH")) {
			if (!v) {
				reply(c, 501, "5.5.4", "Error: bad AUTH parameter");
				return -1;
			}
		} else {
			reply(c, 555, "5.5.4", "Error: unsupported parameter %.*s", (int)pp->kwlen,
			      pp->kw);
			return -1;
		}
	}
	return 0;
}

static int rcpt_params(struct conn *c, const struct param *pv, int np)
{
	unsigned ext = c->esmtp ? c->sink->cfg.ext : 0;

	for (int i = 0; i < np; i++) {
		const struct param *pp = &pv[i];

		if (duplicate_param(pv, i)) {
			reply(c, 501, "5.5.4", "Error: duplicate parameter %.*s", (int)pp->kwlen,
			      pp->kw);
			return -1;
		}
		if (sink_ascii_ieq(pp->kw, pp->kwlen, "NOTIFY") && (ext & EXT_DSN)) {
			if (!pp->val || !notify_ok(pp->val, pp->vlen)) {
				reply(c, 501, "5.5.4", "Error: bad NOTIFY parameter");
				return -1;
			}
		} else if (sink_ascii_ieq(pp->kw, pp->kwlen, "ORCPT") && (ext & EXT_DSN)) {
			const char *semi = pp->val ? memchr(pp->val, ';', pp->vlen) : NULL;

			if (!semi || semi == pp->val || semi + 1 == pp->val + pp->vlen) {
				reply(c, 501, "5.5.4", "Error: bad ORCPT parameter");
				return -1;
			}
		} else {
			reply(c, 555, "5.5.4", "Error: unsupported parameter %.*s", (int)pp->kwlen,
			      pp->kw);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ commands */

static bool need_greeting(struct conn *c)
{
	if (c->helo)
		return false;
	reply(c, 503, "5.5.1", "Error: send %s first", c->sink->cfg.lmtp ? "LHLO" : "HELO/EHLO");
	return true;
}

static void cmd_greet(struct conn *c, const char *arg, size_t alen, bool esmtp)
{
	struct sink *s = c->sink;
	size_t from;

	while (alen > 0 && arg[alen - 1] == ' ')
		alen--;
	if (alen == 0) {
		reply(c, 501, "5.5.4", "Syntax: %s hostname",
		      s->cfg.lmtp ? "LHLO"
		      : esmtp     ? "EHLO"
		                  : "HELO");
		return;
	}
	/* RFC 5321 4.1.4: a new EHLO is an implicit RSET. */
	transaction_reset(c);
	free(c->helo);
	c->helo = sink_xstrndup(arg, alen);
	c->esmtp = esmtp;
	if (!esmtp || s->cfg.ehlo_tail[0] == '\0') {
		reply(c, 250, NULL, "%s", s->cfg.hostname);
		return;
	}
	reply_more(c, 250, NULL, "%s", s->cfg.hostname);
	from = c->out.len;
	buf_adds(&c->out, s->cfg.ehlo_tail);
	if (s->log)
		log_out(c, from);
}

static void cmd_mail(struct conn *c, const char *arg, size_t alen)
{
	struct param pv[SINK_MAX_PARAMS];
	size_t start, len, used;
	int np, rc;

	if (need_greeting(c))
		return;
	if (c->has_mail) {
		reply(c, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (alen < 5 || !sink_ascii_ieq(arg, 5, "FROM:")) {
		reply(c, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	arg += 5;
	alen -= 5;
	rc = parse_path(arg, alen, &start, &len, &used);
	if (rc == -2) {
		reply(c, 501, "5.1.7", "Error: sender address too long");
		return;
	}
	if (rc < 0 || (used < alen && arg[used] != ' ')) {
		reply(c, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	if (len > 0 && !mailbox_ok(arg + start, len)) {
		reply(c, 501, "5.1.7", "Error: bad sender address syntax");
		return;
	}
	np = split_params(arg + used, alen - used, pv);
	if (np < 0) {
		reply(c, 501, "5.5.4", "Error: bad parameter syntax");
		return;
	}
	c->smtputf8 = false;
	c->binarymime = false;
	if (mail_params(c, pv, np) < 0)
		return;
	/* RFC 6531 3.5: a non-ASCII address needs SMTPUTF8 on this MAIL. */
	if (has_non_ascii(arg + start, len) && !c->smtputf8) {
		reply(c, 553, "5.6.7", "Error: non-ASCII address needs SMTPUTF8");
		return;
	}
	if (domain_is(arg + start, len, "reject.test")) {
		reply(c, 550, "5.7.1", "Sender refused");
		return;
	}
	if (domain_is(arg + start, len, "defer.test")) {
		reply(c, 450, "4.7.1", "Sender temporarily refused");
		return;
	}
	c->has_mail = true;
	c->mail_from = sink_xstrndup(arg + start, len);
	for (int i = 0; i < np; i++)
		strvec_push(&c->mail_opts, pv[i].raw, pv[i].rawlen);
	reply(c, 250, "2.1.0", "Ok");
}

static enum rcpt_kind rcpt_kind(struct conn *c, const char *a, size_t alen)
{
	if (domain_is(a, alen, "hangup.test"))
		return RCPT_HANGUP;
	if (domain_is(a, alen, "datafail.test"))
		return RCPT_DATAFAIL;
	if (c->sink->cfg.lmtp && local_is(a, alen, "full"))
		return RCPT_FULL;
	if (c->sink->cfg.lmtp && local_is(a, alen, "tempfail"))
		return RCPT_TEMPFAIL;
	return RCPT_NORMAL;
}

static void cmd_rcpt(struct conn *c, const char *arg, size_t alen)
{
	struct param pv[SINK_MAX_PARAMS];
	size_t start, len, used;
	struct rcpt *r;
	const char *a;
	int np, rc;

	if (!c->has_mail) {
		reply_canned(c, &r_need_mail);
		return;
	}
	if (c->msg.active) {
		reply(c, 503, "5.5.1", "Error: RCPT after BDAT");
		return;
	}
	c->rcpt_attempts++;
	if (alen < 3 || !sink_ascii_ieq(arg, 3, "TO:")) {
		reply(c, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	arg += 3;
	alen -= 3;
	rc = parse_path(arg, alen, &start, &len, &used);
	if (rc == -2) {
		reply(c, 501, "5.1.3", "Error: recipient address too long");
		return;
	}
	if (rc < 0 || (used < alen && arg[used] != ' ')) {
		reply(c, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	a = arg + start;
	if (!mailbox_ok(a, len) && !sink_ascii_ieq(a, len, "postmaster")) {
		reply(c, 501, "5.1.3", "Error: bad recipient address syntax");
		return;
	}
	np = split_params(arg + used, alen - used, pv);
	if (np < 0) {
		reply(c, 501, "5.5.4", "Error: bad parameter syntax");
		return;
	}
	if (rcpt_params(c, pv, np) < 0)
		return;
	if (has_non_ascii(a, len) && !c->smtputf8) {
		reply(c, 553, "5.6.7", "Error: non-ASCII address needs SMTPUTF8");
		return;
	}
	if (c->nrcpts >= SINK_MAX_RCPTS) {
		reply(c, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (domain_is(a, len, "reject.test")) {
		reply(c, 550, "5.1.1", "<%.*s>: Recipient address rejected", (int)len, a);
		return;
	}
	if (domain_is(a, len, "defer.test")) {
		reply(c, 450, "4.2.1", "<%.*s>: Mailbox temporarily unavailable", (int)len, a);
		return;
	}
	if (c->nrcpts == c->rcpt_cap) {
		c->rcpt_cap = c->rcpt_cap ? c->rcpt_cap * 2 : 4;
		c->rcpts = sink_xrealloc(c->rcpts, c->rcpt_cap * sizeof(*c->rcpts));
	}
	r = &c->rcpts[c->nrcpts++];
	r->addr = sink_xstrndup(a, len);
	r->kind = rcpt_kind(c, a, len);
	memset(&r->opts, 0, sizeof(r->opts));
	for (int i = 0; i < np; i++)
		strvec_push(&r->opts, pv[i].raw, pv[i].rawlen);
	reply(c, 250, "2.1.5", "Ok");
}

/* The reply that refuses DATA or BDAT before any byte of content, or NULL. */
static const struct sink_reply *transfer_refusal(struct conn *c)
{
	if (!c->has_mail)
		return &r_need_mail;
	if (c->nrcpts == 0)
		return c->rcpt_attempts ? &r_no_valid : &r_need_rcpt;
	return NULL;
}

static void cmd_data(struct conn *c, const char *arg, size_t alen)
{
	const struct sink_reply *refusal;

	if (alen > 0) {
		reply(c, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	refusal = transfer_refusal(c);
	if (refusal) {
		reply_canned(c, refusal);
		return;
	}
	if (c->msg.active) {
		reply(c, 503, "5.5.1", "Error: DATA after BDAT");
		return;
	}
	/* RFC 3030 3: a BINARYMIME message can only be sent with BDAT. */
	if (c->binarymime) {
		reply(c, 503, "5.5.1", "Error: BODY=BINARYMIME requires BDAT");
		return;
	}
	if (message_begin(c, false) < 0) {
		reply_canned(c, &r_store);
		return;
	}
	reply(c, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	c->mode = MODE_DATA;
	c->bol = true;
	c->prev_cr = false;
}

static void end_of_message(struct conn *c);
static void bdat_chunk_end(struct conn *c);

static void cmd_bdat(struct conn *c, const char *arg, size_t alen)
{
	const char *sp = memchr(arg, ' ', alen);
	size_t nlen = sp ? (size_t)(sp - arg) : alen;
	uint64_t size;
	bool last = false;

	if (!(c->sink->cfg.ext & EXT_CHUNKING)) {
		reply_unknown(c);
		return;
	}
	if (sp) {
		size_t rest = alen - nlen - 1;

		last = sink_ascii_ieq(sp + 1, rest, "LAST");
		if (!last) {
			reply(c, 501, "5.5.4", "Syntax: BDAT size [LAST]");
			return;
		}
	}
	if (!digits_u64(arg, nlen, &size)) {
		reply(c, 501, "5.5.4", "Syntax: BDAT size [LAST]");
		return;
	}
	c->bdat_left = size;
	c->bdat_chunk = size;
	c->bdat_last = last;
	/* RFC 3030 2: even a refused chunk is read and thrown away, to stay in step. */
	c->bdat_error = transfer_refusal(c);
	if (!c->bdat_error && !c->msg.active && message_begin(c, true) < 0)
		c->bdat_error = &r_store;
	c->mode = MODE_BDAT;
	if (size == 0)
		bdat_chunk_end(c);
}

static void cmd_rset(struct conn *c, const char *arg, size_t alen)
{
	if (alen > 0) {
		reply(c, 501, "5.5.4", "Syntax: RSET");
		return;
	}
	transaction_reset(c);
	reply(c, 250, "2.0.0", "Ok");
}

static void cmd_noop(struct conn *c, const char *arg, size_t alen)
{
	reply(c, 250, "2.0.0", "Ok");
}

static void cmd_vrfy(struct conn *c, const char *arg, size_t alen)
{
	if (alen == 0) {
		reply(c, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	reply(c, 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_expn(struct conn *c, const char *arg, size_t alen)
{
	reply(c, 502, "5.5.1", "Error: EXPN not implemented");
}

static void cmd_help(struct conn *c, const char *arg, size_t alen)
{
	reply_more(c, 214, "2.0.0", "smtpc-sink: a loopback %s test server",
	           c->sink->cfg.lmtp ? "LMTP" : "SMTP");
	reply_more(c, 214, "2.0.0", "Commands: %s MAIL RCPT DATA%s RSET",
	           c->sink->cfg.lmtp ? "LHLO" : "HELO EHLO",
	           (c->sink->cfg.ext & EXT_CHUNKING) ? " BDAT" : "");
	reply(c, 214, "2.0.0", "NOOP VRFY EXPN HELP QUIT");
}

static void cmd_quit(struct conn *c, const char *arg, size_t alen)
{
	reply(c, 221, "2.0.0", "Bye");
	c->closing = true;
}

static void cmd_helo(struct conn *c, const char *arg, size_t alen)
{
	if (c->sink->cfg.lmtp) {
		reply(c, 500, "5.5.1", "LMTP requires LHLO");
		return;
	}
	cmd_greet(c, arg, alen, false);
}

static void cmd_ehlo(struct conn *c, const char *arg, size_t alen)
{
	if (c->sink->cfg.lmtp) {
		reply(c, 500, "5.5.1", "LMTP requires LHLO");
		return;
	}
	cmd_greet(c, arg, alen, true);
}

static void cmd_lhlo(struct conn *c, const char *arg, size_t alen)
{
	if (!c->sink->cfg.lmtp) {
		reply_unknown(c);
		return;
	}
	cmd_greet(c, arg, alen, true);
}

static void cmd_not_implemented(struct conn *c, const char *arg, size_t alen)
{
	reply(c, 502, "5.5.1", "Error: command not implemented");
}

static const struct {
	const char *verb;
	void (*fn)(struct conn *c, const char *arg, size_t alen);
} commands[] = {
    {"MAIL", cmd_mail},
    {"RCPT", cmd_rcpt},
    {"DATA", cmd_data},
    {"BDAT", cmd_bdat},
    {"EHLO", cmd_ehlo},
    {"LHLO", cmd_lhlo},
    {"HELO", cmd_helo},
    {"RSET", cmd_rset},
    {"NOOP", cmd_noop},
    {"QUIT", cmd_quit},
    {"VRFY", cmd_vrfy},
    {"EXPN", cmd_expn},
    {"HELP", cmd_help},
    {"STARTTLS", cmd_not_implemented},
    {"AUTH", cmd_not_implemented},
};

static void command(struct conn *c, const char *line, size_t n)
{
	const char *sp;
	size_t vlen, alen;
	const char *arg;

	sink_log(c->sink, c->id, 'C', line, n);
	if (memchr(line, '\0', n)) {
		reply(c, 500, "5.5.2", "Error: NUL character in command");
		return;
	}
	sp = memchr(line, ' ', n);
	vlen = sp ? (size_t)(sp - line) : n;
	arg = sp ? sp + 1 : line + n;
	alen = sp ? n - vlen - 1 : 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (sink_ascii_ieq(line, vlen, commands[i].verb)) {
			commands[i].fn(c, arg, alen);
			return;
		}
	}
	reply_unknown(c);
}

/* ------------------------------------------------------------------ message content */

/*
 * DATA content (RFC 5321 4.1.1.4, 4.5.2): remove the dot that starts a line, stop at
 * CRLF "." CRLF. A line starts after CRLF only; a bare LF is content. The unstuffed bytes are
 * compacted in place (they never outgrow the input) and written in one go.
 * Returns the bytes consumed; *done is set once the terminator has been consumed. Up to two
 * bytes ("." or ".\r" at a line start) stay unconsumed until the next read decides them.
 */
static size_t data_feed(struct conn *c, char *p, size_t n, bool *done)
{
	size_t r = 0, w = 0;

	*done = false;
	while (r < n) {
		const char *lf;
		size_t end;

		if (c->bol) {
			if (p[r] == '.') {
				if (n - r < 2 || (p[r + 1] == '\r' && n - r < 3))
					break;
				if (p[r + 1] == '\r' && p[r + 2] == '\n') {
					r += 3;
					*done = true;
					break;
				}
				r++;
				c->prev_cr = false;
			}
			c->bol = false;
		}
		lf = memchr(p + r, '\n', n - r);
		if (lf) {
			end = (size_t)(lf - p) + 1;
			c->bol = end - r >= 2 ? p[end - 2] == '\r' : c->prev_cr;
			c->prev_cr = false;
		} else {
			end = n;
			c->prev_cr = p[n - 1] == '\r';
		}
		if (w != r)
			memmove(p + w, p + r, end - r);
		w += end - r;
		r = end;
	}
	message_write(c, p, w);
	return r;
}

static void log_content(struct conn *c, uint64_t n)
{
	char line[64];
	int len;

	if (!c->sink->log)
		return;
	len = snprintf(line, sizeof(line), "<%llu bytes of message data>", (unsigned long long)n);
	sink_log(c->sink, c->id, 'C', line, (size_t)len);
}

static bool message_hangs_up(const struct conn *c)
{
	for (size_t i = 0; i < c->nrcpts; i++) {
		if (c->rcpts[i].kind == RCPT_HANGUP)
			return true;
	}
	return false;
}

/* SMTP: one reply for the whole message. */
static void finish_smtp(struct conn *c)
{
	struct message *m = &c->msg;
	size_t *targets;
	bool *delivered;

	if (m->too_big) {
		reply(c, 552, "5.3.4", "Error: message size exceeds fixed limit");
		return;
	}
	for (size_t i = 0; i < c->nrcpts; i++) {
		if (c->rcpts[i].kind == RCPT_DATAFAIL) {
			reply(c, 554, "5.6.0", "Message refused");
			return;
		}
	}
	if (m->store_error) {
		reply_canned(c, &r_store);
		return;
	}
	if (m->fd >= 0) {
		targets = sink_xmalloc(c->nrcpts * sizeof(*targets));
		delivered = sink_xmalloc(c->nrcpts * sizeof(*delivered));
		for (size_t i = 0; i < c->nrcpts; i++)
			targets[i] = i;
		if (store_deliver(c->sink, c, targets, c->nrcpts, delivered) <= 0)
			m->store_error = true;
		free(targets);
		free(delivered);
		if (m->store_error) {
			reply_canned(c, &r_store);
			return;
		}
	}
	reply(c, 250, "2.0.0", "Ok: queued as %s", m->id);
}

/* LMTP (RFC 2033 4.2): one reply per accepted recipient, in RCPT order. */
static void finish_lmtp(struct conn *c)
{
	struct message *m = &c->msg;
	size_t *targets = sink_xmalloc(c->nrcpts * sizeof(*targets));
	bool *delivered = sink_xmalloc(c->nrcpts * sizeof(*delivered));
	bool *ok = sink_xmalloc(c->nrcpts * sizeof(*ok));
	size_t nt = 0;

	for (size_t i = 0; i < c->nrcpts; i++) {
		ok[i] = !m->too_big && !m->store_error && c->rcpts[i].kind == RCPT_NORMAL;
		if (ok[i])
			targets[nt++] = i;
	}
	if (m->fd >= 0 && nt > 0) {
		store_deliver(c->sink, c, targets, nt, delivered);
		for (size_t j = 0; j < nt; j++) {
			if (!delivered[j]) {
				ok[targets[j]] = false;
				m->store_error = true;
			}
		}
	}
	for (size_t i = 0; i < c->nrcpts; i++) {
		const struct rcpt *r = &c->rcpts[i];
		int len = (int)strlen(r->addr);

		if (ok[i])
			reply(c, 250, "2.0.0", "<%.*s> Saved", len, r->addr);
		else if (m->too_big)
			reply(c, 552, "5.3.4", "<%.*s> Message size exceeds fixed limit", len,
			      r->addr);
		else if (r->kind == RCPT_FULL)
			reply(c, 552, "5.2.2", "<%.*s> Quota exceeded", len, r->addr);
		else if (r->kind == RCPT_TEMPFAIL)
			reply(c, 452, "4.2.2", "<%.*s> Mailbox busy", len, r->addr);
		else if (r->kind == RCPT_DATAFAIL)
			reply(c, 554, "5.6.0", "<%.*s> Message refused", len, r->addr);
		else
			reply(c, 451, "4.3.0", "<%.*s> Error: cannot store the message", len,
			      r->addr);
	}
	free(targets);
	free(delivered);
	free(ok);
}

static void end_of_message(struct conn *c)
{
	c->mode = MODE_CMD;
	log_content(c, c->msg.size);
	if (message_hangs_up(c)) {
		/* The "outcome unknown" case: the data is complete, the reply never comes. */
		message_abort(c);
		c->hangup = true;
		sink_log(c->sink, c->id, '*', "hanging up without a reply", 26);
		return;
	}
	if (c->sink->cfg.lmtp)
		finish_lmtp(c);
	else
		finish_smtp(c);
	transaction_reset(c);
}

static void bdat_chunk_end(struct conn *c)
{
	const struct sink_reply *err = c->bdat_error;

	c->mode = MODE_CMD;
	if (err) {
		log_content(c, c->bdat_chunk);
		reply_canned(c, err);
		if (err == &r_store)
			transaction_reset(c);
		return;
	}
	if (c->bdat_last) {
		end_of_message(c);
		return;
	}
	log_content(c, c->bdat_chunk);
	if (c->msg.too_big) {
		reply(c, 552, "5.3.4", "Error: message size exceeds fixed limit");
		transaction_reset(c);
	} else if (c->msg.store_error) {
		reply_canned(c, &r_store);
		transaction_reset(c);
	} else {
		reply(c, 250, "2.0.0", "Ok: %llu octets received",
		      (unsigned long long)c->bdat_chunk);
	}
}

/* ------------------------------------------------------------------ driver */

void session_start(struct conn *c)
{
	const struct sink_config *cfg = &c->sink->cfg;

	reply(c, 220, NULL, "%s smtpc-sink %s", cfg->hostname, cfg->lmtp ? "LMTP" : "ESMTP");
}

void session_timeout(struct conn *c)
{
	reply(c, 421, "4.4.2", "%s Error: timeout exceeded", c->sink->cfg.hostname);
	c->closing = true;
}

/*
 * Consume what c->in holds: every complete command, and content bytes in DATA or BDAT mode.
 * Stops early when the unsent replies pass SINK_OUT_HIGH (returns true: call again once
 * c->out has drained) or when the connection is to be closed.
 */
bool session_process(struct conn *c)
{
	size_t pos = 0;
	bool stalled = false;

	while (pos < c->in_len && !c->closing && !c->hangup) {
		char *p = c->in + pos;
		size_t n = c->in_len - pos;

		if (c->mode == MODE_DATA) {
			bool done;

			pos += data_feed(c, p, n, &done);
			if (!done)
				break;
			end_of_message(c);
		} else if (c->mode == MODE_BDAT) {
			size_t take = c->bdat_left < n ? (size_t)c->bdat_left : n;

			if (!c->bdat_error)
				message_write(c, p, take);
			pos += take;
			c->bdat_left -= take;
			if (c->bdat_left > 0)
				break;
			bdat_chunk_end(c);
		} else {
			char *lf;
			size_t len;

			if (c->out.len - c->out_off > SINK_OUT_HIGH) {
				stalled = true;
				break;
			}
			lf = memchr(p, '\n', n);
			if (c->discarding) {
				pos = lf ? pos + (size_t)(lf - p) + 1 : c->in_len;
				c->discarding = !lf;
				continue;
			}
			if (!lf) {
				if (n > SINK_LINE_MAX + 1) {
					sink_log(c->sink, c->id, 'C', p, 80);
					reply(c, 500, "5.5.2", "Line too long");
					c->discarding = true;
					pos = c->in_len;
				}
				break;
			}
			len = (size_t)(lf - p);
			pos += len + 1;
			if (len > 0 && p[len - 1] == '\r')
				len--;
			if (len > SINK_LINE_MAX) {
				sink_log(c->sink, c->id, 'C', p, 80);
				reply(c, 500, "5.5.2", "Line too long");
				continue;
			}
			command(c, p, len);
		}
	}
	if (pos > 0) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	return stalled;
}
