/*
 * caseparse.c - reads a scenario case file (format: README.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

enum section { SEC_HEADER, SEC_SERVER, SEC_SERVER_PL, SEC_CLIENT, SEC_DATA };

struct parser {
	sc_case *c;
	const char *path;
	int line;
	int errors;
	enum section sec;
	sc_data *cur_data;
	sc_buf data_buf;
};

static void perr(struct parser *p, const char *msg, const char *detail)
{
	fprintf(stderr, "%s:%d: %s%s%s\n", p->path, p->line, msg, detail ? ": " : "",
	        detail ? detail : "");
	p->errors++;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

static int parse_ms(const char *s, size_t n, long *out)
{
	long v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > 100000000)
			return -1;
	}
	*out = v;
	return 0;
}

static sc_sstep *add_sstep(struct parser *p, enum sc_sop op, const char *src, size_t srclen)
{
	sc_case *c = p->c;
	sc_sstep **arr = p->sec == SEC_SERVER_PL ? &c->server_pl : &c->server;
	size_t *n = p->sec == SEC_SERVER_PL ? &c->nserver_pl : &c->nserver;
	sc_sstep *st;

	*arr = sc_xrealloc(*arr, (*n + 1) * sizeof(**arr));
	st = &(*arr)[(*n)++];
	memset(st, 0, sizeof(*st));
	st->op = op;
	st->line = p->line;
	st->src = sc_xstrndup(src, srclen);
	return st;
}

/* Finishes the [data] section being read, if any. */
static void end_data(struct parser *p)
{
	if (!p->cur_data)
		return;
	if (!p->data_buf.p)
		sc_buf_add(&p->data_buf, "", 0);
	p->cur_data->bytes = p->data_buf.p;
	p->cur_data->len = p->data_buf.len;
	p->data_buf.p = NULL;
	p->data_buf.len = p->data_buf.cap = 0;
	p->cur_data = NULL;
}

static void section_line(struct parser *p, const char *s, size_t n)
{
	const char *name;
	size_t nlen;

	end_data(p);
	if (n < 2 || s[n - 1] != ']') {
		perr(p, "bad section header", NULL);
		return;
	}
	name = s + 1;
	nlen = n - 2;
	trim(&name, &nlen);
	if (nlen == 6 && memcmp(name, "server", 6) == 0) {
		if (p->c->has_server)
			perr(p, "second [server] section", NULL);
		p->c->has_server = 1;
		p->sec = SEC_SERVER;
	} else if (nlen > 6 && memcmp(name, "server", 6) == 0 && is_blank(name[6])) {
		const char *w = name + 7;
		size_t wl = nlen - 7;

		trim(&w, &wl);
		if (wl != 9 || memcmp(w, "pipelined", 9) != 0) {
			perr(p, "unknown section (server, server pipelined, client, data NAME)",
			     NULL);
			return;
		}
		if (p->c->has_server_pl)
			perr(p, "second [server pipelined] section", NULL);
		p->c->has_server_pl = 1;
		p->sec = SEC_SERVER_PL;
	} else if (nlen == 6 && memcmp(name, "client", 6) == 0) {
		p->sec = SEC_CLIENT;
	} else if (nlen > 5 && memcmp(name, "data", 4) == 0 && is_blank(name[4])) {
		sc_case *c = p->c;
		const char *dn = name + 5;
		size_t dl = nlen - 5;
		sc_data *d;

		trim(&dn, &dl);
		if (dl == 0) {
			perr(p, "[data NAME]: name missing", NULL);
			return;
		}
		c->data = sc_xrealloc(c->data, (c->ndata + 1) * sizeof(*c->data));
		d = &c->data[c->ndata++];
		memset(d, 0, sizeof(*d));
		d->name = sc_xstrndup(dn, dl);
		d->line = p->line;
		for (size_t i = 0; i + 1 < c->ndata; i++)
			if (strcmp(c->data[i].name, d->name) == 0)
				perr(p, "duplicate data section", d->name);
		p->cur_data = d;
		p->sec = SEC_DATA;
	} else {
		perr(p, "unknown section (server, server pipelined, client, data NAME)", NULL);
	}
}

static void header_line(struct parser *p, const char *s, size_t n)
{
	sc_case *c = p->c;
	const char *colon = memchr(s, ':', n);
	const char *val;
	size_t klen, vlen;
	long v;

	if (!colon) {
		perr(p, "expected 'key: value' before the first section", NULL);
		return;
	}
	klen = (size_t)(colon - s);
	val = colon + 1;
	vlen = n - klen - 1;
	trim(&val, &vlen);
	if (!(klen == 5 && memcmp(s, "title", 5) == 0)) {
		/* a trailing "  # comment" is allowed after other values */
		for (size_t i = 0; i < vlen; i++) {
			if (val[i] == '#' && (i == 0 || is_blank(val[i - 1]))) {
				vlen = i;
				break;
			}
		}
		trim(&val, &vlen);
	}
	if (klen == 5 && memcmp(s, "title", 5) == 0) {
		free(c->title);
		c->title = sc_xstrndup(val, vlen);
	} else if (klen == 8 && memcmp(s, "protocol", 8) == 0) {
		if (vlen == 4 && memcmp(val, "smtp", 4) == 0) {
			c->lmtp = 0;
			c->unix_socket = 0;
		} else if (vlen == 4 && memcmp(val, "lmtp", 4) == 0) {
			c->lmtp = 1;
			c->unix_socket = 0;
		} else if (vlen == 9 && memcmp(val, "lmtp-unix", 9) == 0) {
			c->lmtp = 1;
			c->unix_socket = 1;
		} else {
			perr(p, "protocol: smtp, lmtp or lmtp-unix", NULL);
		}
	} else if (klen == 7 && memcmp(s, "timeout", 7) == 0) {
		if (vlen == 4 && memcmp(val, "none", 4) == 0)
			c->no_timeout = 1;
		else if (parse_ms(val, vlen, &v) < 0 || v == 0)
			perr(p, "timeout: milliseconds (> 0) or none", NULL);
		else
			c->timeout_ms = (int)v;
	} else if (klen == 14 && memcmp(s, "server-timeout", 14) == 0) {
		if (parse_ms(val, vlen, &v) < 0 || v == 0)
			perr(p, "server-timeout: milliseconds (> 0)", NULL);
		else
			c->server_timeout_ms = (int)v;
	} else if (klen == 3 && memcmp(s, "tls", 3) == 0) {
		char err[160];

		if (vlen < 8 || memcmp(val, "implicit", 8) != 0 ||
		    (vlen > 8 && !is_blank(val[8]))) {
			perr(p, "tls: implicit [CERT] [OPTION...]", NULL);
			return;
		}
		free(c->implicit_tls);
		c->implicit_tls = sc_xmalloc(sizeof(*c->implicit_tls));
		if (sc_tlsopt_parse(val + 8, vlen - 8, c->implicit_tls, err, sizeof(err)) < 0)
			perr(p, "tls: implicit", err);
	} else if ((klen == 10 && memcmp(s, "pipelining", 10) == 0) ||
	           (klen == 6 && memcmp(s, "faults", 6) == 0)) {
		char **slot = klen == 6 ? &c->no_faults : &c->no_pipelining;
		const char *why = val + 2;
		size_t wl = vlen > 2 ? vlen - 2 : 0;

		trim(&why, &wl);
		if (vlen < 3 || memcmp(val, "no", 2) != 0 || !is_blank(val[2]) || wl == 0) {
			perr(p, klen == 6 ? "faults: no REASON" : "pipelining: no REASON",
			     "the reason is required");
			return;
		}
		free(*slot);
		*slot = sc_xstrndup(why, wl);
	} else if (klen == 6 && memcmp(s, "rcvbuf", 6) == 0) {
		if (parse_ms(val, vlen, &v) < 0 || v == 0)
			perr(p, "rcvbuf: bytes (> 0)", NULL);
		else
			c->rcvbuf = (int)v;
	} else {
		perr(p, "unknown header key", NULL);
	}
}

/* The rest of "S: text" / "C: text": one blank after the colon is dropped. */
static void plain_text(const char *rest, size_t rlen, sc_sstep *st)
{
	sc_buf b = {0};

	if (rlen && rest[0] == ' ')
		rest++, rlen--;
	sc_buf_add(&b, rest, rlen);
	sc_buf_add(&b, "\r\n", 2);
	st->bytes = b.p;
	st->len = b.len;
}

static void escaped_text(struct parser *p, const char *rest, size_t rlen, sc_sstep *st)
{
	sc_buf b = {0};
	char err[128];

	trim(&rest, &rlen);
	if (sc_unescape(rest, rlen, -1, &b, NULL, err, sizeof(err)) < 0)
		perr(p, "bad escaped string", err);
	st->bytes = b.p;
	st->len = b.len;
}

/* Next blank-separated word of rest[*i..rlen); NULL at the end. */
static const char *next_word(const char *rest, size_t rlen, size_t *i, size_t *wl)
{
	const char *w;

	while (*i < rlen && is_blank(rest[*i]))
		(*i)++;
	if (*i >= rlen)
		return NULL;
	w = rest + *i;
	*wl = 0;
	while (*i < rlen && !is_blank(rest[*i]))
		(*i)++, (*wl)++;
	return w;
}

/* SCRAM: SHA-256|SHA-1 USER PASSWORD [no-final] [bad-signature] */
static void scram_line(struct parser *p, const char *s, size_t n, const char *rest, size_t rlen)
{
	sc_sstep *st = add_sstep(p, SOP_SCRAM, s, n);
	sc_scramopt *o = sc_xmalloc(sizeof(*o));
	const char *w;
	size_t i = 0, wl = 0;

	memset(o, 0, sizeof(*o));
	st->scram = o;
	w = next_word(rest, rlen, &i, &wl);
	if (w && wl == 7 && memcmp(w, "SHA-256", 7) == 0) {
		snprintf(o->md, sizeof(o->md), "SHA256");
		snprintf(o->mech, sizeof(o->mech), "SCRAM-SHA-256");
	} else if (w && wl == 5 && memcmp(w, "SHA-1", 5) == 0) {
		snprintf(o->md, sizeof(o->md), "SHA1");
		snprintf(o->mech, sizeof(o->mech), "SCRAM-SHA-1");
	} else {
		perr(p, "SCRAM: SHA-256|SHA-1 USER PASSWORD [no-final] [bad-signature]", NULL);
		return;
	}
	w = next_word(rest, rlen, &i, &wl);
	if (w)
		o->user = sc_xstrndup(w, wl);
	w = next_word(rest, rlen, &i, &wl);
	if (w)
		o->password = sc_xstrndup(w, wl);
	if (!o->user || !o->password) {
		perr(p, "SCRAM: user name and password missing", NULL);
		return;
	}
	while ((w = next_word(rest, rlen, &i, &wl)) != NULL) {
		if (wl == 8 && memcmp(w, "no-final", 8) == 0)
			o->no_final = 1;
		else if (wl == 13 && memcmp(w, "bad-signature", 13) == 0)
			o->bad_signature = 1;
		else
			perr(p, "SCRAM: unknown option (no-final, bad-signature)", NULL);
	}
}

static void server_line(struct parser *p, const char *s, size_t n)
{
	size_t wl = 0;
	const char *rest;
	size_t rlen;
	int colon;
	sc_sstep *st;

	while (wl < n && ((s[wl] >= 'A' && s[wl] <= 'Z') || (s[wl] == '-' && wl > 0) ||
	                  (s[wl] >= '0' && s[wl] <= '9' && wl > 0)))
		wl++;
	colon = wl < n && s[wl] == ':';
	rest = s + wl + (colon ? 1 : 0);
	rlen = n - wl - (colon ? 1 : 0);

#define IS(w) (wl == sizeof(w) - 1 && memcmp(s, w, wl) == 0)
	if (colon && (IS("S") || IS("C"))) {
		st = add_sstep(p, IS("S") ? SOP_SEND : SOP_EXPECT, s, n);
		plain_text(rest, rlen, st);
	} else if (colon && (IS("SRAW") || IS("CRAW"))) {
		st = add_sstep(p, IS("SRAW") ? SOP_SEND : SOP_EXPECT, s, n);
		escaped_text(p, rest, rlen, st);
	} else if (colon && IS("SDRIP")) {
		size_t i = 0;

		st = add_sstep(p, SOP_DRIP, s, n);
		trim(&rest, &rlen);
		while (i < rlen && !is_blank(rest[i]))
			i++;
		if (parse_ms(rest, i, &st->ms) < 0)
			perr(p, "SDRIP: MS BYTES", NULL);
		escaped_text(p, rest + i, rlen - i, st);
	} else if (colon && IS("CDATA")) {
		st = add_sstep(p, SOP_EXPECT, s, n);
		trim(&rest, &rlen);
		/* resolved once every [data] section is known; keep the name in bytes */
		st->bytes = sc_xstrndup(rest, rlen);
		st->len = (size_t)-1;
	} else if (colon && IS("CBATCH")) {
		st = add_sstep(p, SOP_BATCH, s, n);
		trim(&rest, &rlen);
		if (parse_ms(rest, rlen, &st->ms) < 0 || st->ms < 1)
			perr(p, "CBATCH: N (the number of client steps that follow)", NULL);
	} else if (colon && (IS("SLEEP") || IS("CNOTHING"))) {
		st = add_sstep(p, IS("SLEEP") ? SOP_SLEEP : SOP_NOTHING, s, n);
		trim(&rest, &rlen);
		if (parse_ms(rest, rlen, &st->ms) < 0)
			perr(p, "expected milliseconds", NULL);
	} else if ((IS("TLS") || IS("TLS-FAIL")) && (colon || wl == n)) {
		char err[160];

		st = add_sstep(p, IS("TLS") ? SOP_TLS : SOP_TLS_FAIL, s, n);
		st->tls = sc_xmalloc(sizeof(*st->tls));
		if (sc_tlsopt_parse(rest, colon ? rlen : 0, st->tls, err, sizeof(err)) < 0)
			perr(p, "bad TLS step", err);
	} else if (IS("CANY") && (colon || wl == n)) {
		st = add_sstep(p, SOP_ANY, s, n);
		if (colon && rlen && rest[0] == ' ')
			rest++, rlen--;
		st->bytes = sc_xstrndup(rest, colon ? rlen : 0);
		st->len = colon ? rlen : 0;
	} else if (colon && IS("CLOSE")) {
		/* CLOSE: no-close-notify: end a TLS connection with a bare FIN */
		trim(&rest, &rlen);
		if (rlen == 15 && memcmp(rest, "no-close-notify", 15) == 0)
			add_sstep(p, SOP_CLOSE, s, n)->ms = 1;
		else
			perr(p, "CLOSE: no-close-notify", NULL);
	} else if (colon && IS("SCRAM")) {
		scram_line(p, s, n, rest, rlen);
	} else if (!colon && wl == n && (IS("CHELLO") || IS("CALERT"))) {
		add_sstep(p, IS("CHELLO") ? SOP_HELLO : SOP_ALERT, s, n);
	} else if (!colon && wl == n &&
	           (IS("CLOSE") || IS("ABORT") || IS("SHUT") || IS("EOF") || IS("ACCEPT"))) {
		enum sc_sop op = IS("CLOSE")   ? SOP_CLOSE
		                 : IS("ABORT") ? SOP_ABORT
		                 : IS("SHUT")  ? SOP_SHUT
		                 : IS("EOF")   ? SOP_EOF
		                               : SOP_ACCEPT;

		add_sstep(p, op, s, n);
	} else {
		perr(p,
		     "unknown server line (S: C: SRAW: CRAW: CDATA: CBATCH: SDRIP: SLEEP: "
		     "CNOTHING: CLOSE ABORT SHUT EOF ACCEPT TLS TLS-FAIL CANY CHELLO CALERT "
		     "SCRAM:)",
		     NULL);
	}
#undef IS
}

static void client_line(struct parser *p, const char *s, size_t n)
{
	sc_case *c = p->c;
	sc_cstep *st;
	size_t i = 0;

	c->client = sc_xrealloc(c->client, (c->nclient + 1) * sizeof(*c->client));
	st = &c->client[c->nclient++];
	memset(st, 0, sizeof(*st));
	st->line = p->line;
	st->src = sc_xstrndup(s, n);

	while (i < n) {
		sc_tok *t;
		sc_buf b = {0};

		while (i < n && is_blank(s[i]))
			i++;
		if (i >= n || s[i] == '#')
			break;
		st->argv = sc_xrealloc(st->argv, (st->argc + 1) * sizeof(*st->argv));
		t = &st->argv[st->argc++];
		memset(t, 0, sizeof(*t));
		sc_buf_add(&b, "", 0);
		while (i < n && !is_blank(s[i])) {
			if (s[i] == '"') {
				size_t used = 0;
				char err[128];

				t->quoted = 1;
				if (sc_unescape(s + i + 1, n - i - 1, '"', &b, &used, err,
				                sizeof(err)) < 0) {
					perr(p, "bad quoted string", err);
					i = n;
					break;
				}
				i += used + 2;
			} else {
				if (s[i] == '=' && !t->quoted && !t->eq_plain)
					t->eq_plain = b.len + 1;
				sc_buf_addc(&b, s[i]);
				i++;
			}
		}
		t->s = b.p;
		t->len = b.len;
	}
	if (st->argc == 0) {
		/* only a trailing comment: not a step */
		free(st->src);
		free(st->argv);
		c->nclient--;
	}
}

/* What the client must send for a [data] block: CRLF line endings, dot-stuffing, terminator. */
static void encode_data(const char *in, size_t len, char **out, size_t *outlen)
{
	sc_buf b = {0};
	int bol = 1;
	size_t i;

	sc_buf_add(&b, "", 0);
	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '\r' || ch == '\n') {
			if (ch == '\r' && i + 1 < len && in[i + 1] == '\n')
				i++;
			sc_buf_add(&b, "\r\n", 2);
			bol = 1;
			continue;
		}
		if (bol && ch == '.')
			sc_buf_addc(&b, '.');
		sc_buf_addc(&b, ch);
		bol = 0;
	}
	if (!bol || len == 0)
		sc_buf_add(&b, "\r\n", 2);
	sc_buf_add(&b, ".\r\n", 3);
	*out = b.p;
	*outlen = b.len;
}

const sc_data *sc_case_data(const sc_case *c, const char *name)
{
	for (size_t i = 0; i < c->ndata; i++)
		if (strcmp(c->data[i].name, name) == 0)
			return &c->data[i];
	return NULL;
}

int sc_case_load(sc_case *c, const char *path)
{
	struct parser p;
	FILE *f;
	sc_buf file = {0};
	char chunk[65536];
	size_t got, pos;

	memset(c, 0, sizeof(*c));
	c->path = path;
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.path = path;
	p.sec = SEC_HEADER;

	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sc_buf_add(&file, chunk, got);
	fclose(f);
	sc_buf_add(&file, "", 0);

	for (pos = 0; pos < file.len;) {
		const char *s = file.p + pos;
		const char *nl = memchr(s, '\n', file.len - pos);
		size_t n = nl ? (size_t)(nl - s) : file.len - pos;
		size_t k;

		pos += n + (nl ? 1 : 0);
		p.line++;
		if (n && s[n - 1] == '\r')
			n--;
		while (n && is_blank(s[n - 1]))
			n--;
		for (k = 0; k < n && is_blank(s[k]); k++)
			;
		if (k == n || s[k] == '#')
			continue;
		if (s[0] == '[') {
			section_line(&p, s, n);
			continue;
		}
		switch (p.sec) {
		case SEC_HEADER:
			header_line(&p, s, n);
			break;
		case SEC_SERVER:
		case SEC_SERVER_PL:
			server_line(&p, s + k, n - k);
			break;
		case SEC_CLIENT:
			client_line(&p, s, n);
			break;
		case SEC_DATA: {
			char err[128];

			if (sc_unescape(s, n, -1, &p.data_buf, NULL, err, sizeof(err)) < 0)
				perr(&p, "bad escaped data line", err);
			break;
		}
		default:
			perr(&p, "internal: bad section", NULL);
		}
	}
	end_data(&p);
	sc_buf_free(&file);

	p.line = 0;
	if (!c->title)
		perr(&p, "the header has no 'title:'", NULL);
	for (int pl = 0; pl < 2; pl++) {
		sc_sstep *steps = pl ? c->server_pl : c->server;
		size_t nsteps = pl ? c->nserver_pl : c->nserver;

		for (size_t i = 0; i < nsteps; i++) {
			sc_sstep *st = &steps[i];
			const sc_data *d;

			if (st->op != SOP_EXPECT || st->len != (size_t)-1)
				continue;
			p.line = st->line;
			d = sc_case_data(c, st->bytes);
			free(st->bytes);
			st->bytes = NULL;
			st->len = 0;
			if (!d) {
				perr(&p, "CDATA: no such [data] section", NULL);
				st->bytes = sc_xstrndup("", 0);
				continue;
			}
			encode_data(d->bytes, d->len, &st->bytes, &st->len);
		}
		/* CBATCH: N must be followed by N expectations of fixed bytes */
		for (size_t i = 0; i < nsteps; i++) {
			if (steps[i].op != SOP_BATCH)
				continue;
			p.line = steps[i].line;
			for (long j = 1; j <= steps[i].ms; j++) {
				if (i + (size_t)j >= nsteps ||
				    steps[i + (size_t)j].op != SOP_EXPECT) {
					perr(&p,
					     "CBATCH: N must be followed by N steps C:, CRAW: or "
					     "CDATA:",
					     NULL);
					break;
				}
			}
		}
	}
	if (c->has_server_pl && !c->has_server)
		perr(&p, "[server pipelined] without [server]", NULL);
	if (c->has_server_pl && c->no_pipelining)
		perr(&p, "[server pipelined] in a case marked 'pipelining: no'", NULL);
	if (c->server_timeout_ms == 0)
		c->server_timeout_ms = 5000;
	/* the test certificates are made only for the cases that use them */
	c->uses_tls = c->implicit_tls != NULL;
	for (size_t i = 0; i < c->nserver; i++)
		if (c->server[i].op == SOP_TLS || c->server[i].op == SOP_TLS_FAIL)
			c->uses_tls = 1;
	for (size_t i = 0; i < c->nserver_pl; i++)
		if (c->server_pl[i].op == SOP_TLS || c->server_pl[i].op == SOP_TLS_FAIL)
			c->uses_tls = 1;
	for (size_t i = 0; i < c->nclient; i++) {
		const sc_cstep *st = &c->client[i];

		if (st->argc >= 2 && strcmp(st->argv[0].s, "set") == 0 &&
		    (strcmp(st->argv[1].s, "ca_file") == 0 ||
		     strcmp(st->argv[1].s, "ca_dir") == 0 ||
		     strcmp(st->argv[1].s, "client_cert") == 0 ||
		     strcmp(st->argv[1].s, "tls_pin") == 0))
			c->uses_tls = 1;
	}
	return p.errors ? -1 : 0;
}

static void free_steps(sc_sstep *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(steps[i].src);
		free(steps[i].bytes);
		free(steps[i].tls);
		if (steps[i].scram) {
			free(steps[i].scram->user);
			free(steps[i].scram->password);
			free(steps[i].scram);
		}
	}
	free(steps);
}

void sc_case_free(sc_case *c)
{
	size_t i, j;

	free(c->title);
	free_steps(c->server, c->nserver);
	free_steps(c->server_pl, c->nserver_pl);
	free(c->no_pipelining);
	free(c->no_faults);
	free(c->implicit_tls);
	for (i = 0; i < c->nclient; i++) {
		for (j = 0; j < c->client[i].argc; j++)
			free(c->client[i].argv[j].s);
		free(c->client[i].argv);
		free(c->client[i].src);
	}
	free(c->client);
	for (i = 0; i < c->ndata; i++) {
		free(c->data[i].name);
		free(c->data[i].bytes);
	}
	free(c->data);
	memset(c, 0, sizeof(*c));
}
