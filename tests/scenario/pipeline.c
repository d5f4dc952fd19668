/*
 * pipeline.c - pipelined mode (runner --pipelining): the case's script is made
 * to advertise PIPELINING in every 250 reply to EHLO/LHLO, and the
 * [server pipelined] script replaces [server] when the case has one.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scenario.h"

/* A position in the server script: step and byte offset. */
struct pos {
	size_t step, off;
};

/* Inserts n bytes into step st at offset off. */
static void insert_at(sc_sstep *st, size_t off, const char *p, size_t n)
{
	char *b = sc_xmalloc(st->len + n + 1);

	memcpy(b, st->bytes, off);
	memcpy(b + off, p, n);
	memcpy(b + off + n, st->bytes + off, st->len - off);
	b[st->len + n] = '\0';
	free(st->bytes);
	st->bytes = b;
	st->len += n;
}

/* 1 when the bytes end with a line that is an EHLO or LHLO command. */
static int ends_with_hello(const sc_sstep *st)
{
	const char *p = st->bytes;
	size_t n = st->len, start;

	if (st->op != SOP_EXPECT || n < 6 || p[n - 1] != '\n')
		return 0;
	/* the start of the last line */
	start = n - 1;
	while (start > 0 && p[start - 1] != '\n')
		start--;
	if (n - start < 6)
		return 0;
	if (strncasecmp(p + start, "EHLO", 4) != 0 && strncasecmp(p + start, "LHLO", 4) != 0)
		return 0;
	return p[start + 4] == ' ' || p[start + 4] == '\r' || p[start + 4] == '\n';
}

/*
 * The reply sent by the steps from `from` on (S:, SRAW:, SDRIP: only): when it is a
 * complete 250 reply without PIPELINING, PIPELINING is added. Returns 1 when rewritten.
 */
static int rewrite_reply(sc_sstep *steps, size_t nsteps, size_t from)
{
	sc_buf line = {0};
	struct pos start = {0, 0}, last_start = {0, 0}, end = {0, 0};
	size_t nlines = 0;
	int done = 0, rc = 0;

	for (size_t j = from; j < nsteps && !done; j++) {
		sc_sstep *st = &steps[j];

		if (st->op != SOP_SEND && st->op != SOP_DRIP)
			break;
		for (size_t i = 0; i < st->len && !done; i++) {
			if (line.len == 0)
				start = (struct pos){j, i};
			sc_buf_addc(&line, st->bytes[i]);
			if (st->bytes[i] != '\n')
				continue;
			end = (struct pos){j, i + 1};
			nlines++;
			if (line.len < 4 || memcmp(line.p, "250", 3) != 0) {
				done = 1; /* not a 250 reply (or a malformed one): left alone */
				break;
			}
			if (line.len >= 14 && strncasecmp(line.p + 4, "PIPELINING", 10) == 0 &&
			    (line.len == 14 || line.p[14] == ' ' || line.p[14] == '\r' ||
			     line.p[14] == '\n')) {
				done = 1; /* advertised already */
				break;
			}
			last_start = start;
			if (line.p[3] == '-') {
				sc_buf_free(&line);
				continue;
			}
			if (line.p[3] != ' ' && line.p[3] != '\r' && line.p[3] != '\n') {
				done = 1;
				break;
			}
			/* the last line of a 250 reply */
			{
				int crlf = line.len >= 2 && line.p[line.len - 2] == '\r';
				const char *eol = crlf ? "\r\n" : "\n";
				char add[32];

				if (nlines >= 2) {
					snprintf(add, sizeof(add), "250-PIPELINING%s", eol);
					insert_at(&steps[last_start.step], last_start.off, add,
					          strlen(add));
				} else {
					/* "250 text" -> "250-text" + "250 PIPELINING" */
					snprintf(add, sizeof(add), "250 PIPELINING%s", eol);
					insert_at(&steps[end.step], end.off, add, strlen(add));
					if (line.p[3] == ' ') {
						sc_sstep *s0 = &steps[start.step];

						/* the separator may be in a later step than the
						 * code */
						size_t k = start.off + 3, sj = start.step;

						while (k >= s0->len) {
							k -= steps[sj].len;
							sj++;
							s0 = &steps[sj];
						}
						s0->bytes[k] = '-';
					} else if (start.off + 3 <= steps[start.step].len) {
						insert_at(&steps[start.step], start.off + 3, "-",
						          1);
					}
				}
				rc = 1;
				done = 1;
			}
		}
	}
	sc_buf_free(&line);
	return rc;
}

size_t sc_case_pipelined(sc_case *c)
{
	size_t count = 0;

	if (c->pipelined)
		return 0;
	c->pipelined = 1;
	if (c->has_server_pl) {
		sc_sstep *t = c->server;
		size_t n = c->nserver;

		c->server = c->server_pl;
		c->nserver = c->nserver_pl;
		c->server_pl = t;
		c->nserver_pl = n;
	}
	for (size_t i = 0; i < c->nserver; i++)
		if (ends_with_hello(&c->server[i]))
			count += (size_t)rewrite_reply(c->server, c->nserver, i + 1);
	return count;
}

int sc_case_sends(const sc_case *c)
{
	for (size_t i = 0; i < c->nclient; i++) {
		const char *n = c->client[i].argv[0].s;

		if (strcmp(n, "sendmail") == 0 || strcmp(n, "sendmail_source") == 0 ||
		    strcmp(n, "send_message") == 0 || strcmp(n, "batch") == 0)
			return 1;
	}
	return 0;
}
