/*
 * flow.c - what a server script says about message delivery, for fault
 * injection (runner --faults): which final replies the server has sent, and
 * which ends of data it has received, when its script is cut before step k.
 *
 * The script is read as a conversation: the client's expected bytes (C:,
 * CRAW:, CDATA:, CANY:) are split into commands, message bodies ("DATA" answered
 * 354, up to the terminator) and BDAT chunks; the server's bytes (S:, SRAW:,
 * SDRIP:) into replies; replies answer commands in order (RFC 5321 4.1; RFC 2920
 * keeps the order). Every MAIL starts a transaction; its RCPT replies say how
 * many recipients were accepted; the reply (SMTP) or replies (LMTP, one per
 * accepted recipient) to its end of data are its final replies.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scenario.h"

enum ukind { U_CONNECT, U_LINE, U_MAIL, U_RCPT, U_DATA, U_BODY, U_BDAT, U_BDAT_LAST };

struct unit {
	enum ukind k;
	long txn;   /* -1: none */
	size_t got; /* replies received (LMTP end of data: several) */
};

struct final {
	size_t step;
	int code;
};

struct txn {
	long rcpt_ok;      /* RCPT answered 250/251 */
	long gate;         /* the step of the reply the client waits for before its body
	                      (354, or the last envelope reply before BDAT); -1: none */
	long dot;          /* the step in which the server got the end of data; -1 */
	long failed;       /* the step of a refusal of a BDAT chunk before LAST (RFC 3030 2:
	                      the transaction has failed, the chunks after it are
	                      discarded); -1 */
	struct final *fin; /* final replies */
	size_t nfin;
};

enum cmode { M_LINE, M_WAIT, M_BODY, M_BDAT };

struct sc_flow {
	int lmtp;
	long lost; /* from this step on the script cannot be followed; -1: never */
	struct txn *tx;
	size_t ntx;

	/* the parse */
	struct unit *q; /* commands waiting for their reply (FIFO) */
	size_t nq, qhead;
	sc_buf cin;  /* client bytes not parsed yet */
	size_t cpos; /* parsed up to here */
	enum cmode mode;
	size_t bdat_left;
	int bdat_last;
	long cur_txn;
	long wait_txn; /* M_WAIT: the transaction whose DATA reply is awaited */
	sc_buf rline;  /* the server's reply line being read */
	int rcode;     /* the code of the reply being read, -1 before its first line */
	long last_reply_step;
};

static long new_txn(sc_flow *f)
{
	f->tx = sc_xrealloc(f->tx, (f->ntx + 1) * sizeof(*f->tx));
	memset(&f->tx[f->ntx], 0, sizeof(*f->tx));
	f->tx[f->ntx].gate = -1;
	f->tx[f->ntx].dot = -1;
	f->tx[f->ntx].failed = -1;
	return (long)f->ntx++;
}

static void push(sc_flow *f, enum ukind k, long txn)
{
	f->q = sc_xrealloc(f->q, (f->nq + 1) * sizeof(*f->q));
	f->q[f->nq].k = k;
	f->q[f->nq].txn = txn;
	f->q[f->nq].got = 0;
	f->nq++;
}

static int starts(const char *p, size_t n, const char *w)
{
	size_t wl = strlen(w);

	return n >= wl && strncasecmp(p, w, wl) == 0;
}

/* One command line (CRLF removed). */
static void command(sc_flow *f, const char *p, size_t n, size_t step)
{
	if (starts(p, n, "MAIL FROM:")) {
		f->cur_txn = new_txn(f);
		push(f, U_MAIL, f->cur_txn);
	} else if (starts(p, n, "RCPT TO:")) {
		push(f, U_RCPT, f->cur_txn);
	} else if (n == 4 && strncasecmp(p, "DATA", 4) == 0) {
		push(f, U_DATA, f->cur_txn);
		f->mode = M_WAIT;
		f->wait_txn = f->cur_txn;
	} else if (starts(p, n, "BDAT ")) {
		size_t i = 5, v = 0;

		while (i < n && p[i] >= '0' && p[i] <= '9')
			v = v * 10 + (size_t)(p[i++] - '0');
		f->bdat_left = v;
		f->bdat_last = i < n && starts(p + i, n - i, " LAST");
		f->mode = M_BDAT;
		if (f->cur_txn >= 0 && f->tx[f->cur_txn].gate < 0)
			f->tx[f->cur_txn].gate = f->last_reply_step;
	} else {
		push(f, U_LINE, -1);
	}
	(void)step;
}

/* Parses the client bytes received so far, as far as the replies allow. */
static void parse_client(sc_flow *f, size_t step)
{
	for (;;) {
		const char *p = f->cin.p + f->cpos;
		size_t n = f->cin.len - f->cpos;

		if (n == 0)
			return;
		if (f->mode == M_WAIT)
			return; /* the reply to DATA decides what follows */
		if (f->mode == M_LINE) {
			const char *lf = memchr(p, '\n', n);
			size_t len;

			if (!lf)
				return;
			len = (size_t)(lf - p);
			f->cpos += len + 1;
			if (len && p[len - 1] == '\r')
				len--;
			command(f, p, len, step);
			continue;
		}
		if (f->mode == M_BDAT) {
			size_t take = n < f->bdat_left ? n : f->bdat_left;

			f->cpos += take;
			f->bdat_left -= take;
			if (f->bdat_left)
				return;
			push(f, f->bdat_last ? U_BDAT_LAST : U_BDAT, f->cur_txn);
			if (f->bdat_last && f->cur_txn >= 0)
				f->tx[f->cur_txn].dot = (long)step;
			f->mode = M_LINE;
			continue;
		}
		/* M_BODY: up to the terminator (an empty abandoned body is ".\r\n") */
		{
			size_t end = 0;

			if (n >= 3 && memcmp(p, ".\r\n", 3) == 0) {
				end = 3;
			} else {
				for (size_t i = 0; i + 5 <= n; i++) {
					if (memcmp(p + i, "\r\n.\r\n", 5) == 0) {
						end = i + 5;
						break;
					}
				}
			}
			if (!end)
				return;
			f->cpos += end;
			push(f, U_BODY, f->cur_txn);
			if (f->cur_txn >= 0)
				f->tx[f->cur_txn].dot = (long)step;
			f->mode = M_LINE;
		}
	}
}

/* A complete reply with this code, sent in `step`. */
static void reply(sc_flow *f, int code, size_t step)
{
	struct unit *u;
	struct txn *t;

	f->last_reply_step = (long)step;
	if (f->qhead >= f->nq)
		return; /* unsolicited (a hostile case): nothing to answer */
	u = &f->q[f->qhead];
	t = u->txn >= 0 ? &f->tx[u->txn] : NULL;
	switch (u->k) {
	case U_RCPT:
		if (t && (code == 250 || code == 251))
			t->rcpt_ok++;
		break;
	case U_BDAT:
		if (t && code != 250 && t->failed < 0)
			t->failed = (long)step;
		break;
	case U_DATA:
		if (t && code == 354)
			t->gate = (long)step;
		if (f->mode == M_WAIT && f->wait_txn == u->txn)
			f->mode = code == 354 ? M_BODY : M_LINE;
		break;
	case U_BODY:
	case U_BDAT_LAST:
		if (t) {
			t->fin = sc_xrealloc(t->fin, (t->nfin + 1) * sizeof(*t->fin));
			t->fin[t->nfin].step = step;
			t->fin[t->nfin].code = code;
			t->nfin++;
			/* LMTP: one reply per accepted recipient */
			if (f->lmtp && ++u->got < (size_t)(t->rcpt_ok > 0 ? t->rcpt_ok : 1))
				return;
		}
		break;
	default:
		break;
	}
	f->qhead++;
	if (u->k == U_DATA)
		parse_client(f, step);
}

static void server_bytes(sc_flow *f, const char *p, size_t n, size_t step)
{
	for (size_t i = 0; i < n; i++) {
		sc_buf_addc(&f->rline, p[i]);
		if (p[i] != '\n')
			continue;
		{
			const char *l = f->rline.p;
			size_t len = f->rline.len;
			int code = -1, last;

			if (len >= 3 && l[0] >= '0' && l[0] <= '9' && l[1] >= '0' && l[1] <= '9' &&
			    l[2] >= '0' && l[2] <= '9')
				code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
			last = !(len >= 4 && l[3] == '-');
			if (f->rcode < 0)
				f->rcode = code;
			f->rline.len = 0;
			if (last) {
				int c = f->rcode;

				f->rcode = -1;
				reply(f, c, step);
			}
		}
	}
}

static void new_connection(sc_flow *f)
{
	f->nq = f->qhead = 0;
	f->cin.len = 0;
	f->cpos = 0;
	f->mode = M_LINE;
	f->rline.len = 0;
	f->rcode = -1;
	f->cur_txn = -1;
	push(f, U_CONNECT, -1);
}

sc_flow *sc_flow_analyze(const sc_case *c)
{
	sc_flow *f = sc_xmalloc(sizeof(*f));

	memset(f, 0, sizeof(*f));
	f->lmtp = c->lmtp;
	f->lost = -1;
	f->last_reply_step = -1;
	sc_buf_add(&f->cin, "", 0);
	sc_buf_add(&f->rline, "", 0);
	new_connection(f);
	for (size_t i = 0; i < c->nserver && f->lost < 0; i++) {
		const sc_sstep *st = &c->server[i];

		switch (st->op) {
		case SOP_EXPECT:
			sc_buf_add(&f->cin, st->bytes, st->len);
			parse_client(f, i);
			break;
		case SOP_SEND:
		case SOP_DRIP:
			server_bytes(f, st->bytes, st->len, i);
			break;
		case SOP_ANY:
			/* one line whatever it is: a command unknown to us */
			if (f->mode != M_LINE || f->cpos != f->cin.len)
				f->lost = (long)i;
			else
				push(f, U_LINE, -1);
			break;
		case SOP_SCRAM:
			f->lost = (long)i;
			break;
		case SOP_ACCEPT:
			new_connection(f);
			break;
		default:
			break;
		}
	}
	free(f->q);
	f->q = NULL;
	sc_buf_free(&f->cin);
	sc_buf_free(&f->rline);
	return f;
}

void sc_flow_free(sc_flow *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ntx; i++)
		free(f->tx[i].fin);
	free(f->tx);
	free(f);
}

int sc_flow_known(const sc_flow *f, size_t cut)
{
	return f->lost < 0 || cut <= (size_t)f->lost;
}

void sc_flow_at(const sc_flow *f, size_t cut, sc_flow_cut *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < f->ntx; i++) {
		const struct txn *t = &f->tx[i];
		long fin = 0, fin250 = 0;

		for (size_t j = 0; j < t->nfin; j++) {
			if (t->fin[j].step >= cut)
				continue;
			fin++;
			if (t->fin[j].code == 250)
				fin250++;
		}
		out->final250 += fin250;
		/* a refused chunk decided the outcome: failed, whatever follows */
		if (t->dot >= 0 && (size_t)t->dot < cut &&
		    !(t->failed >= 0 && (size_t)t->failed < cut)) {
			long left = f->lmtp ? t->rcpt_ok - fin : (fin ? 0 : t->rcpt_ok);

			if (left > 0)
				out->outstanding += left;
		}
		if (t->gate >= 0 && (size_t)t->gate < cut)
			out->maybe += t->rcpt_ok;
	}
}
