/*
 * sendmail.c - DATA and the sendmail algorithm (smtplib's data() and
 * sendmail(); RFC 5321 3.3, 4.1.1.4; RFC 1870 SIZE; RFC 2033 4.2 LMTP).
 *
 * The rules we keep (docs/RULES.md L1-L9, "never lose a message"): every
 * argument is checked before the first byte of the transaction; a failed
 * transaction is reset so the connection stays usable; once the final dot
 * is out, a lost connection is "outcome unknown", never success, unless the
 * kernel shows that the dot never reached the server (then it is a plain
 * failure: not delivered); the caller learns the fate of each recipient.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "address.h"
#include "body.h"
#include "command.h"
#include "dataenc.h"
#include "flow.h"
#include "message.h"
#include "plan.h"
#include "session.h"

/* The `bdat` argument of stream_body: DATA, BDAT with CRLF line endings, BINARYMIME. */
enum { BDAT_NO = 0, BDAT_TEXT = 1, BDAT_BINARY = 2 };

/*
 * Streams the message: every piece of the body is encoded (CRLF line endings;
 * for DATA also dot-stuffing and the terminator) and written. With BDAT each
 * piece goes out as "BDAT n" + its bytes, the last as "BDAT n LAST" (RFC
 * 3030); *inflight counts the BDAT commands whose replies are not read yet
 * (replies to all but LAST are read here when more than `window` are out).
 * On failure the session is closed: the terminator (or LAST) never went out.
 */
static int stream_body(smtpc *s, smtpc__body *b, int bdat, size_t window, size_t *inflight,
                       const smtpc_send_options *o, int64_t total, const struct iovec *trailer,
                       int ntrailer)
{
	char *out = malloc(SMTPC__DATAENC_MAX_OUT(SMTPC__BODY_CHUNK) + SMTPC__DATAENC_FINISH_MAX);
	const char *p = NULL;
	size_t n = 0;
	smtpc__dataenc e;
	int more, rc = 0, source_failed = 0;

	if (out == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "DATA", NULL, "out of memory");
	if (bdat)
		smtpc__dataenc_init_bdat(&e);
	else
		smtpc__dataenc_init(&e);
	smtpc__debugf(s, "send: [message%s]", bdat ? ", in BDAT chunks" : "");
	more = smtpc__body_next(b, &p, &n);
	for (;;) {
		size_t olen = 0;

		if (more > 0 && bdat == BDAT_BINARY) {
			memcpy(out, p, n); /* RFC 3030 3: a BINARYMIME body is never converted */
			olen = n;
		} else if (more > 0) {
			olen = smtpc__dataenc_update(&e, p, n, out);
		}
		char cmd[48];
		struct iovec iov[2 + SMTPC__MAX_TRAILER];
		int iovcnt = 0;

		if (more < 0) {
			rc = more;
			source_failed = 1;
			break;
		}
		if (more > 0)
			more =
			    smtpc__body_next(b, &p, &n); /* look ahead: is this the last piece? */
		if (more < 0) {
			rc = more;
			source_failed = 1;
			break;
		}
		if (more == 0 && bdat != BDAT_BINARY)
			olen += smtpc__dataenc_finish(&e, out + olen, 1);
		if (olen == 0 && more > 0)
			continue;
		if (bdat) {
			int len = snprintf(cmd, sizeof(cmd), "BDAT %zu%s\r\n", olen,
			                   more == 0 ? " LAST" : "");

			smtpc__debug(s, "send: ", cmd, (size_t)len);
			iov[iovcnt].iov_base = cmd;
			iov[iovcnt++].iov_len = (size_t)len;
		}
		iov[iovcnt].iov_base = out;
		iov[iovcnt++].iov_len = olen;
		for (int i = 0; more == 0 && i < ntrailer; i++) {
			/* The next transaction's commands ride with the end of this one (RFC 2920).
			 */
			smtpc__debug(s, "send: ", trailer[i].iov_base, trailer[i].iov_len);
			iov[iovcnt++] = trailer[i];
		}
		if (more == 0)
			smtpc__tr_guard_end(&s->tr, 1); /* the end of data goes out now */
		rc = smtpc__tr_writev(&s->tr, iov, iovcnt,
		                      smtpc__phase_deadline(s, SMTPC_PHASE_BLOCK));
		if (rc != 0) {
			smtpc__err_io(s, rc, bdat ? "BDAT" : "DATA", "sending the message");
			break;
		}
		if (o != NULL && o->progress != NULL)
			o->progress(b->consumed, total > 0 ? (uint64_t)total : 0, o->progress_user);
		if (more == 0)
			break;
		if (bdat && ++*inflight >= (window > 0 ? window : 1)) {
			/* Keep the number of unanswered BDATs bounded (no deadlock on full
			 * buffers). */
			smtpc_reply r = {0};

			rc = smtpc__read_reply(s, "BDAT", 1, &r);
			--*inflight;
			if (rc == 0 && r.code != 250)
				rc = smtpc__err_set(s, SMTPC_EDATA, "BDAT", &r, "BDAT refused: %d",
				                    r.code);
			if (rc != 0)
				break;
		}
	}
	free(out);
	if (rc == SMTPC_EIO && source_failed) {
		/* The source failed, not the network: no command to blame (smtpc.h). */
		int err = errno;

		smtpc__err_set(s, rc, "", NULL, "cannot read the message: %s", strerror(err));
		s->err.os_error = err;
	} else if (rc == SMTPC_ENOTSUPPORTED)
		smtpc__err_set(
		    s, rc, "DATA", NULL,
		    "the message has 8-bit bytes and the server does not offer 8BITMIME");
	/* Never a terminator after a failure: nothing is delivered. A refused BDAT chunk (the
	 * server said so) leaves the connection usable: the caller drains and resets. */
	if (rc != 0 && rc != SMTPC_EDATA)
		smtpc_close(s);
	return rc;
}

/*
 * The wait after the end of data failed (timeout, EOF, error) and closed the connection. As
 * it closed, the kernel said how many of the last bytes written it had not transmitted, and
 * the close aborted the connection (RST) so that they never will be (transport.c, guard_end).
 * When they are more than the `after` bytes written behind the terminator (the next
 * transaction's commands), part of the terminator never left: the server cannot have
 * accepted the message. A terminator that left (even unacknowledged: the acknowledgement may
 * be what was lost), or whose fate the kernel cannot tell (a Unix socket: the server may
 * still read it), leaves the outcome unknown.
 */
static int end_never_arrived(const smtpc *s, size_t after)
{
	return s->tr.fd < 0 && s->tr.unsent_at_close > 0 && (size_t)s->tr.unsent_at_close > after;
}

/* The error of a failed wait after the end of data, when the end never arrived. */
static int not_delivered(smtpc *s, int kind, const char *verb)
{
	return smtpc__err_reword(s, kind, verb,
	                         "not delivered: the end of the message never reached the server "
	                         "(%ld bytes were still unsent): %s",
	                         s->tr.unsent_at_close, s->err_message);
}

/*
 * Reads the replies after the final dot: one (SMTP) or one per accepted RCPT (LMTP). `after`:
 * bytes written behind the terminator. A failed wait is SMTPC_EUNKNOWN, or its own kind when
 * no reply came and the terminator never reached the server (end_never_arrived).
 */
static int read_final(smtpc *s, const char *verb, size_t after, smtpc_reply *first)
{
	size_t want = s->proto == SMTPC_PROTO_LMTP && s->rcpt_accepted > 0 ? s->rcpt_accepted : 1;
	smtpc_reply r = {0};
	int was_open = s->tr.fd >= 0, rc;

	s->lmtp = calloc(want, sizeof(*s->lmtp));
	if (s->lmtp == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "DATA", NULL, "out of memory");
	for (size_t i = 0; i < want; i++) {
		rc = smtpc__read_reply_in(s, SMTPC_PHASE_FINAL, verb,
		                          i + 1 < want || s->more_expected, &r);
		if (rc == 0 || rc == SMTPC_ESHUTDOWN) {
			/* Copied: the parser's buffer is reused for the next reply. */
			if (smtpc__save_reply(&s->lmtp[s->nlmtp], &r) != 0)
				return smtpc__err_set(s, SMTPC_ENOMEM, "DATA", NULL,
				                      "out of memory");
			s->nlmtp++;
			if (i == 0 && first != NULL)
				smtpc__view_reply(&s->lmtp[0], first);
		}
		if (rc == SMTPC_ESHUTDOWN && i + 1 == want)
			return rc;
		if (rc != 0 && was_open && s->nlmtp == 0 && end_never_arrived(s, after))
			return not_delivered(s, rc, verb);
		if (rc != 0) {
			/* L2: the dot went out; we cannot know what the server did. */
			return smtpc__err_reword(
			    s, SMTPC_EUNKNOWN, verb,
			    "outcome unknown: %s after the end of data (%zu of "
			    "%zu replies read)",
			    s->err_message, s->nlmtp, want);
		}
	}
	return 0;
}

SMTPC_API int smtpc_data(smtpc *s, const void *msg, size_t len, smtpc_reply *reply)
{
	const char *const none[1] = {NULL};
	smtpc_source src = SMTPC_SOURCE_INIT;
	smtpc__body body;
	size_t inflight = 0;
	smtpc_reply r = {0};
	int rc;

	smtpc__err_clear(s);
	smtpc__lmtp_clear(s);
	s->data_stage = SMTPC__DATA_COMMAND;
	if (msg == NULL && len > 0)
		return smtpc__err_set(s, SMTPC_EINVAL, "DATA", NULL, "no message");
	if (msg == NULL)
		msg = "";
	smtpc__free_reply(&s->data_cmd_reply);
	rc = smtpc__command(s, "DATA", none, 0, 0, &r);
	if (reply != NULL && (rc == 0 || rc == SMTPC_ESHUTDOWN))
		*reply = r;
	if (rc == SMTPC_ESHUTDOWN && smtpc__save_reply(&s->data_cmd_reply, &r) != 0)
		return smtpc__err_set(s, SMTPC_ENOMEM, "DATA", NULL, "out of memory");
	if (rc != 0)
		return rc;
	smtpc__free_reply(&s->data_cmd_reply);
	if (smtpc__save_reply(&s->data_cmd_reply, &r) != 0)
		return smtpc__err_set(s, SMTPC_ENOMEM, "DATA", NULL, "out of memory");
	if (r.code != 354)
		return smtpc__err_set(s, SMTPC_EDATA, "DATA", &r, "DATA refused: %d", r.code);
	s->data_stage = SMTPC__DATA_BODY;
	src.data = msg;
	src.len = len;
	rc = smtpc__body_init(&body, &src);
	if (rc == 0)
		rc = stream_body(s, &body, 0, 0, &inflight, NULL, -1, NULL, 0);
	smtpc__body_free(&body);
	if (rc != 0)
		return rc;
	s->data_stage = SMTPC__DATA_SENT;
	rc = read_final(s, "DATA", 0, reply);
	smtpc__tr_guard_end(&s->tr, 0);
	s->rcpt_accepted = 0;
	s->utf8 = 0;
	return rc;
}

SMTPC_API size_t smtpc_lmtp_reply_count(const smtpc *s)
{
	return s->nlmtp;
}

SMTPC_API int smtpc_lmtp_reply(const smtpc *s, size_t i, smtpc_reply *reply)
{
	if (i >= s->nlmtp || reply == NULL)
		return SMTPC_EINVAL;
	smtpc__view_reply(&s->lmtp[i], reply);
	return 0;
}

/* ---------------------------------------------------------------- results */

typedef struct result_impl {
	smtpc_send_result pub;
	smtpc__saved_reply mail, data, final;
	smtpc__saved_reply *rcpt; /* one per recipient */
	int *pending;             /* 1 while RCPT accepted and the outcome is not known */
} result_impl;

SMTPC_API void smtpc_send_result_free(smtpc_send_result *r)
{
	result_impl *ri = (result_impl *)r;

	if (ri == NULL)
		return;
	for (size_t i = 0; i < r->nrecipients; i++) {
		smtpc__free_reply(&ri->rcpt[i]);
		free((char *)r->recipients[i].address);
	}
	smtpc__free_reply(&ri->mail);
	smtpc__free_reply(&ri->data);
	smtpc__free_reply(&ri->final);
	free(ri->rcpt);
	free(ri->pending);
	free(r->recipients);
	free(ri);
}

static result_impl *result_new(const char *const *to, size_t nto)
{
	result_impl *ri = calloc(1, sizeof(*ri));

	if (ri == NULL)
		return NULL;
	ri->pub.nrecipients = nto;
	ri->pub.recipients = calloc(nto, sizeof(*ri->pub.recipients));
	ri->rcpt = calloc(nto, sizeof(*ri->rcpt));
	ri->pending = calloc(nto, sizeof(*ri->pending));
	if (ri->pub.recipients == NULL || ri->rcpt == NULL || ri->pending == NULL) {
		smtpc_send_result_free(&ri->pub);
		return NULL;
	}
	for (size_t i = 0; i < nto; i++) {
		ri->pub.recipients[i].address = strdup(to[i] ? to[i] : "");
		if (ri->pub.recipients[i].address == NULL) {
			smtpc_send_result_free(&ri->pub);
			return NULL;
		}
		ri->pub.recipients[i].reply.text = "";
	}
	ri->pub.mail_reply.text = ri->pub.data_reply.text = ri->pub.final_reply.text = "";
	return ri;
}

/* Stores a reply in the result and points the public view at it. */
static int keep(smtpc *s, smtpc__saved_reply *slot, smtpc_reply *view, const smtpc_reply *r)
{
	smtpc__free_reply(slot);
	if (smtpc__save_reply(slot, r) != 0)
		return smtpc__err_set(s, SMTPC_ENOMEM, "", NULL, "out of memory");
	smtpc__view_reply(slot, view);
	return 0;
}

/* Sets the status of recipient i, with its reply (NULL: none). */
static void settle(smtpc *s, result_impl *ri, size_t i, smtpc_rcpt_status st, const smtpc_reply *r)
{
	smtpc_rcpt_result *rr = &ri->pub.recipients[i];

	rr->status = st;
	ri->pending[i] = 0;
	if (r != NULL) {
		keep(s, &ri->rcpt[i], &rr->reply, r);
	} else {
		/* No reply about the outcome: not the RCPT reply either (that is rcpt_code). */
		smtpc__free_reply(&ri->rcpt[i]);
		memset(&rr->reply, 0, sizeof(rr->reply));
		rr->reply.text = "";
	}
	if (st == SMTPC_RCPT_ACCEPTED)
		ri->pub.naccepted++;
}

/* Every recipient still pending gets this status (and reply). */
static void settle_pending(smtpc *s, result_impl *ri, smtpc_rcpt_status st, const smtpc_reply *r)
{
	for (size_t i = 0; i < ri->pub.nrecipients; i++)
		if (ri->pending[i])
			settle(s, ri, i, st, r);
}

/* ---------------------------------------------------------------- the transaction */

typedef struct txn {
	smtpc *s;
	result_impl *ri;
	const char *from;
	const char *const *to;
	size_t nto;
	const smtpc_send_options *o;
	smtpc__body body;
	int64_t size;     /* message size for SIZE=, -1 unknown */
	int64_t raw;      /* bytes the body will hand out (progress total), -1 unknown */
	int has_8bit;     /* 1, 0, or -1 when unknown (streamed sources) */
	int want_utf8;    /* SMTPUTF8 needed: non-ASCII envelope or headers */
	char **paths;     /* the sender's and each recipient's path, from check_envelope */
	smtpc__plan plan; /* its commands, once the server's capabilities are known */
} txn;

static void txn_free(txn *t)
{
	for (size_t i = 0; t->paths != NULL && i <= t->nto; i++)
		free(t->paths[i]);
	free(t->paths);
	t->paths = NULL;
	smtpc__plan_free(&t->plan);
	smtpc__body_free(&t->body);
}

/*
 * 1 when addr is exactly one RFC 5321 path (see smtpc__addr_path), kept in *path for the
 * commands (each address is parsed once); 0 if not, -1 ENOMEM.
 */
static int is_one_path(const char *addr, int allow_null, char **path)
{
	int found = smtpc__addr_path(addr, allow_null, path);

	if (found != 1) {
		free(*path);
		*path = NULL;
	}
	return found;
}

/*
 * Everything the transaction will send is checked before its first byte; the paths of the
 * sender and recipients are kept in t->paths.
 */
static int check_envelope(txn *t, int utf8)
{
	smtpc *s = t->s;
	const char *from = t->from;
	const char *const *to = t->to;
	size_t nto = t->nto;
	const smtpc_send_options *o = t->o;
	int found;

	t->paths = calloc(nto + 1, sizeof(*t->paths));
	if (t->paths == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "MAIL", NULL, "out of memory");

	if (smtpc__arg_check(from, strlen(from), utf8) != 0)
		return smtpc__err_set(s, SMTPC_EINVAL, "MAIL", NULL,
		                      "sender holds a control character%s",
		                      utf8 ? "" : " or a non-ASCII byte (SMTPUTF8 not requested)");
	if ((found = is_one_path(from, 1, &t->paths[0])) != 1)
		return smtpc__err_set(s, found < 0 ? SMTPC_ENOMEM : SMTPC_EINVAL, "MAIL", NULL,
		                      found < 0 ? "out of memory"
		                                : "the sender is not exactly one address (RFC "
		                                  "5321 path)");
	for (size_t i = 0; i < nto; i++) {
		if (to[i] == NULL || to[i][0] == '\0' ||
		    smtpc__arg_check(to[i], strlen(to[i]), utf8) != 0)
			return smtpc__err_set(
			    s, SMTPC_EINVAL, "RCPT", NULL,
			    "recipient %zu is empty or holds a control "
			    "character%s",
			    i + 1, utf8 ? "" : " or a non-ASCII byte (SMTPUTF8 not requested)");
		if ((found = is_one_path(to[i], 0, &t->paths[i + 1])) != 1)
			return smtpc__err_set(s, found < 0 ? SMTPC_ENOMEM : SMTPC_EINVAL, "RCPT",
			                      NULL,
			                      "recipient %zu is not exactly one address (RFC "
			                      "5321 path)",
			                      i + 1);
	}
	if (smtpc__check_options(s, o->mail_options, o->nmail_options, utf8) != 0 ||
	    smtpc__check_options(s, o->rcpt_options, o->nrcpt_options, utf8) != 0)
		return s->err.kind;
	/* A parameter the library adds must not come from the caller too (no keyword twice). */
	if ((o->dsn_ret && smtpc__has_mail_option(o, "RET")) ||
	    (o->dsn_envid && smtpc__has_mail_option(o, "ENVID")) ||
	    (o->binarymime && smtpc__has_mail_option(o, "BODY")))
		return smtpc__err_set(s, SMTPC_EINVAL, "MAIL", NULL,
		                      "RET, ENVID or BODY given both as an option field and in "
		                      "mail_options");
	if (((o->dsn_notify || o->dsn_notify_rcpt) && smtpc__has_rcpt_option(o, "NOTIFY")) ||
	    (o->dsn_orcpt && smtpc__has_rcpt_option(o, "ORCPT")))
		return smtpc__err_set(s, SMTPC_EINVAL, "RCPT", NULL,
		                      "NOTIFY or ORCPT given both as an option field and in "
		                      "rcpt_options");
	if (o->dsn_envid != NULL && smtpc__arg_check(o->dsn_envid, strlen(o->dsn_envid), 1) != 0)
		return smtpc__err_set(s, SMTPC_EINVAL, "MAIL", NULL,
		                      "ENVID holds a control character");
	for (size_t i = 0; o->dsn_orcpt != NULL && i < nto; i++)
		if (o->dsn_orcpt[i] != NULL &&
		    smtpc__arg_check(o->dsn_orcpt[i], strlen(o->dsn_orcpt[i]), 1) != 0)
			return smtpc__err_set(s, SMTPC_EINVAL, "RCPT", NULL,
			                      "ORCPT %zu holds a control character", i + 1);
	return 0;
}

/* Plans the transaction (plan.c); a failure becomes the session's error. Nothing is sent. */
static int plan(txn *t)
{
	static const smtpc_reply too_big = {552, "5.3.4", "message size exceeds the server's limit",
	                                    39, 1};
	smtpc__plan_in in = {t->paths[0], (const char *const *)t->paths + 1,
	                     t->nto,      t->o,
	                     t->size,     t->raw,
	                     t->has_8bit, t->want_utf8};
	int rc = smtpc__plan_make(&t->s->offer, &in, &t->plan);
	if (rc != 0)
		return smtpc__err_set(t->s, rc, t->plan.command, t->plan.too_big ? &too_big : NULL,
		                      "%s", t->plan.why);
	t->body.refuse_8bit = t->plan.refuse_8bit;
	return 0;
}

static const char *verb_of(const txn *t, size_t k)
{
	if (k == 0)
		return "MAIL";
	return k <= t->nto ? "RCPT" : "DATA";
}

/* Writes lines [from, to) in one write (each shown in the transcript). */
static int write_lines(txn *t, size_t from, size_t to)
{
	struct iovec iov[SMTPC__MAX_INFLIGHT];
	int n = 0, rc;

	for (size_t i = from; i < to; i++) {
		smtpc__debug(t->s, "send: ", t->plan.lines[i], t->plan.lens[i]);
		iov[n].iov_base = t->plan.lines[i];
		iov[n++].iov_len = t->plan.lens[i];
	}
	rc = smtpc__tr_writev(&t->s->tr, iov, n,
	                      smtpc__phase_deadline(t->s, smtpc__phase_of(verb_of(t, from))));
	if (rc != 0) {
		smtpc__err_io(t->s, rc, verb_of(t, from), "sending the command");
		smtpc_close(t->s);
	}
	return rc;
}

/*
 * After a failure (connection gone, 421): every recipient accepted so far
 * is failed; the error kind is the one of the step (smtplib's exceptions).
 */
static int stop(txn *t, int rc, size_t k, const smtpc_reply *r)
{
	smtpc *s = t->s;

	if (rc == SMTPC_ESHUTDOWN && r == NULL)
		rc = SMTPC_EPROTO; /* cannot happen: a 421 always comes with its reply */
	if (rc == SMTPC_ESHUTDOWN && k > 0 && k <= t->nto &&
	    t->ri->pub.recipients[k - 1].status == SMTPC_RCPT_NOT_TRIED) {
		/* The 421 is this recipient's answer; the ones after it are not tried. */
		t->ri->pub.recipients[k - 1].rcpt_code = r->code;
		settle(s, t->ri, k - 1, SMTPC_RCPT_REFUSED, r);
	}
	if (rc == SMTPC_ESHUTDOWN && k == 0)
		keep(s, &t->ri->mail, &t->ri->pub.mail_reply, r);
	else if (rc == SMTPC_ESHUTDOWN && k > t->nto)
		keep(s, &t->ri->data, &t->ri->pub.data_reply, r);
	settle_pending(s, t->ri, SMTPC_RCPT_FAILED, rc == SMTPC_ESHUTDOWN ? r : NULL);
	if (rc != SMTPC_ESHUTDOWN)
		return rc;
	if (k == 0)
		return smtpc__err_set(s, SMTPC_ESENDER, "MAIL", r,
		                      "sender refused: the server is closing the connection");
	if (k <= t->nto)
		return smtpc__err_set(s, SMTPC_ERECIPIENTS, "RCPT", r,
		                      "recipient refused: the server is closing the connection");
	return smtpc__err_set(s, SMTPC_EDATA, "DATA", r,
	                      "DATA refused: the server is closing the connection");
}

/* The server answered DATA with 354 although the transaction failed: end it empty. */
static void abandon_data(txn *t)
{
	smtpc_reply r = {0};

	if (smtpc__send_line(t->s, "DATA", ".\r\n", 3) == 0)
		smtpc__read_reply_in(t->s, SMTPC_PHASE_FINAL, "DATA", 0, &r);
}

/*
 * MAIL, RCPT..., DATA: lock-step, or with PIPELINING in flights of at most
 * SMTPC__MAX_INFLIGHT commands (the first `present` lines were already written, with
 * the end of the previous message). The replies are handled the same way in both modes,
 * so the results are the same; only the number of round trips differs.
 */
static int envelope(txn *t, size_t present)
{
	smtpc *s = t->s;
	result_impl *ri = t->ri;
	size_t sent = present, accepted = 0, last_refused = 0;
	int mail_code = 0, data_code = 0, rc;

	for (size_t k = 0; k < t->plan.nlines; k++) {
		smtpc_reply r = {0};

		if (k == sent) {
			size_t upto = t->plan.pipelined ? t->plan.nlines : k + 1;

			if (upto - k > SMTPC__MAX_INFLIGHT)
				upto = k + SMTPC__MAX_INFLIGHT;
			/* Lock-step: no DATA when the sender or every recipient was refused. */
			if (!t->plan.pipelined && k > 0 &&
			    (mail_code != 250 || (k > t->nto && !accepted)))
				break;
			rc = write_lines(t, k, upto);
			if (rc != 0)
				return stop(t, rc, k, NULL);
			sent = upto;
		}
		rc = smtpc__read_reply(s, verb_of(t, k), k + 1 < sent, &r);
		if (rc != 0)
			return stop(t, rc, k, &r);
		if (k == 0) {
			mail_code = r.code;
			keep(s, &ri->mail, &ri->pub.mail_reply, &r);
			if (r.code != 250)
				smtpc__err_set(s, SMTPC_ESENDER, "MAIL", &r, "sender refused: %d",
				               r.code);
		} else if (k <= t->nto) {
			smtpc_rcpt_result *rr = &ri->pub.recipients[k - 1];

			if (mail_code != 250)
				continue; /* answers to a transaction that does not exist */
			rr->rcpt_code = r.code;
			if (r.code == 250 || r.code == 251) {
				ri->pending[k - 1] = 1;
				keep(s, &ri->rcpt[k - 1], &rr->reply, &r);
				accepted++;
			} else {
				settle(s, ri, k - 1, SMTPC_RCPT_REFUSED, &r);
				last_refused = k;
			}
		} else {
			data_code = r.code;
			keep(s, &ri->data, &ri->pub.data_reply, &r);
		}
	}

	if (mail_code != 250 || accepted == 0) {
		if (data_code == 354)
			abandon_data(t);
		if (mail_code != 250) /* again: abandon_data may have failed */
			smtpc__err_set(s, SMTPC_ESENDER, "MAIL", &ri->pub.mail_reply,
			               "sender refused: %d", mail_code);
		else
			smtpc__err_set(s, SMTPC_ERECIPIENTS, "RCPT",
			               last_refused ? &ri->pub.recipients[last_refused - 1].reply
			                            : NULL,
			               "every recipient was refused");
		smtpc__safe_rset(s);
		return mail_code != 250 ? SMTPC_ESENDER : SMTPC_ERECIPIENTS;
	}
	if (!t->plan.bdat && data_code != 354) {
		settle_pending(s, ri, SMTPC_RCPT_FAILED, &ri->pub.data_reply);
		smtpc__err_set(s, SMTPC_EDATA, "DATA", &ri->pub.data_reply, "DATA refused: %d",
		               data_code);
		smtpc__safe_rset(s);
		return SMTPC_EDATA;
	}
	s->rcpt_accepted = accepted;
	return 0;
}

/*
 * A BDAT chunk was refused (the error is recorded): `unread` replies are still to come
 * (chunks in flight, and LAST if it was sent); the transaction is over and the message
 * was not delivered. RSET, unless the next transaction's commands already went out.
 */
static int bdat_refused(txn *t, size_t unread, size_t next_sent)
{
	smtpc *s = t->s;
	smtpc__err_saved why = {0};
	smtpc_reply refusal = {0};

	/* The refusal is the message's final reply, and every pending recipient's. */
	smtpc__err_take(s, &why);
	refusal.code = why.err.code;
	memcpy(refusal.enhanced, why.err.enhanced, sizeof(refusal.enhanced));
	refusal.text = why.text != NULL ? why.text : "";
	refusal.text_len = why.err.text_len;
	refusal.nlines = 1;
	keep(s, &t->ri->final, &t->ri->pub.final_reply, &refusal);
	settle_pending(s, t->ri, SMTPC_RCPT_FAILED, &refusal);
	for (; unread > 0 && s->tr.fd >= 0; unread--) {
		smtpc_reply r = {0};

		smtpc__read_reply(s, "BDAT", 1, &r);
	}
	smtpc__tr_guard_end(&s->tr, 0);
	smtpc__err_put(s, &why);
	if (next_sent == 0)
		smtpc__safe_rset(s);
	return SMTPC_EDATA;
}

/* The message, then the replies to the final dot (or BDAT LAST). */
static int data_phase(txn *t, txn *next, size_t *next_sent)
{
	smtpc *s = t->s;
	result_impl *ri = t->ri;
	size_t inflight = 0, k = 0, after = 0;
	struct iovec trailer[SMTPC__MAX_TRAILER];
	int ntrailer = 0;
	smtpc_reply first = {0};
	smtpc_rcpt_status missing;
	int rc;

	*next_sent = 0;
	for (size_t i = 0; next != NULL && i < next->plan.nlines && i < SMTPC__MAX_TRAILER; i++) {
		trailer[i].iov_base = next->plan.lines[i];
		trailer[i].iov_len = next->plan.lens[i];
		after += smtpc__tr_wire_max(&s->tr, next->plan.lens[i]);
		ntrailer++;
	}
	smtpc__lmtp_clear(s);
	rc = stream_body(s, &t->body,
	                 t->o->binarymime ? BDAT_BINARY
	                 : t->plan.bdat   ? BDAT_TEXT
	                                  : BDAT_NO,
	                 t->plan.pipelined ? SMTPC__BDAT_WINDOW : 0, &inflight, t->o, t->raw,
	                 trailer, ntrailer);
	if (rc == 0)
		*next_sent = (size_t)ntrailer;
	if (rc == SMTPC_EDATA && s->tr.fd >= 0) {
		/* A BDAT chunk was refused before LAST went out (RFC 3030 2: the server
		 * discards the message): read the answers to the chunks still in flight, then
		 * RSET; the message was not delivered. */
		return bdat_refused(t, inflight, 0);
	}
	if (rc != 0) {
		settle_pending(s, ri, SMTPC_RCPT_FAILED, NULL);
		return rc;
	}
	/* Replies to the BDAT chunks before LAST, all 250 (RFC 3030 2). */
	while (inflight > 0) {
		smtpc_reply r = {0};

		rc = smtpc__read_reply(s, "BDAT", 1, &r);
		inflight--;
		if (rc == 0 && r.code != 250) {
			/* Refused with LAST already sent: that one is refused too (one reply). */
			smtpc__err_set(s, SMTPC_EDATA, "BDAT", &r, "BDAT refused: %d", r.code);
			return bdat_refused(t, inflight + 1, *next_sent);
		}
		if (rc != 0 && end_never_arrived(s, after)) {
			/* LAST never reached the server: the message was not delivered. */
			settle_pending(s, ri, SMTPC_RCPT_FAILED, NULL);
			return not_delivered(s, rc, "BDAT");
		}
		if (rc != 0) {
			/* LAST went out already: what the server did with it is unknown. */
			settle_pending(s, ri, SMTPC_RCPT_UNKNOWN, NULL);
			smtpc_close(s);
			return smtpc__err_set(
			    s, SMTPC_EUNKNOWN, "BDAT", NULL,
			    "outcome unknown: the connection failed after the last BDAT chunk");
		}
	}
	memset(&first, 0, sizeof(first));
	first.text = "";
	/* The next transaction's replies follow these: more bytes may be buffered. */
	s->more_expected = *next_sent > 0;
	rc = read_final(s, t->plan.bdat ? "BDAT" : "DATA", after, &first);
	smtpc__tr_guard_end(&s->tr, 0);
	s->more_expected = 0;
	/* Recipients without a reply: unknown, or failed when the end never arrived. */
	missing = rc == 0 || rc == SMTPC_EUNKNOWN || rc == SMTPC_ENOMEM || rc == SMTPC_ESHUTDOWN
	              ? SMTPC_RCPT_UNKNOWN
	              : SMTPC_RCPT_FAILED;
	if (s->nlmtp > 0) {
		smtpc_reply fr;

		smtpc__view_reply(&s->lmtp[0], &fr);
		keep(s, &ri->final, &ri->pub.final_reply, &fr);
	}
	/* One reply for all (SMTP) or one per accepted recipient in RCPT order (LMTP). */
	for (size_t i = 0; i < ri->pub.nrecipients; i++) {
		size_t slot = s->proto == SMTPC_PROTO_LMTP ? k : 0;
		smtpc_reply r = {0};

		if (!ri->pending[i])
			continue;
		if (slot >= s->nlmtp) {
			settle(s, ri, i, missing, NULL);
			continue;
		}
		smtpc__view_reply(&s->lmtp[slot], &r);
		settle(s, ri, i, r.code == 250 ? SMTPC_RCPT_ACCEPTED : SMTPC_RCPT_FAILED, &r);
		k++;
	}
	s->rcpt_accepted = 0;
	s->utf8 = 0;
	if (rc != 0 && rc != SMTPC_ESHUTDOWN)
		return rc;
	if (ri->pub.naccepted > 0)
		return 0;
	smtpc_reply r = {0};

	smtpc__view_reply(&s->lmtp[s->nlmtp - 1], &r);
	smtpc__err_set(s, SMTPC_EDATA, t->plan.bdat ? "BDAT" : "DATA", &r, "message refused: %d",
	               r.code);
	if (rc == 0 && *next_sent == 0)
		smtpc__safe_rset(s); /* never behind the next MAIL: it would reset that one */
	return SMTPC_EDATA;
}

/*
 * A connection that sat idle may have been dropped by the server (RFC 5321
 * 4.5.3.2.7: servers wait 5 minutes): a NOOP first tells, before a new
 * transaction is started on it.
 */
static int check_idle(smtpc *s)
{
	smtpc_reply r = {0};

	if (s->tr.fd < 0 || s->last_reply_ms == 0 || s->idle_check_ms < 0 ||
	    smtpc__now_ms() - s->last_reply_ms < s->idle_check_ms)
		return 0;
	return smtpc_noop(s, &r);
}

/* The whole transaction over a prepared txn (body and sizes set). */
static int transact(txn *t)
{
	int rc = check_idle(t->s);

	if (rc == 0)
		rc = smtpc_ehlo_or_helo_if_needed(t->s);

	size_t none;

	if (rc == 0)
		rc = plan(t);
	if (rc == 0)
		rc = envelope(t, 0);
	if (rc == 0)
		rc = data_phase(t, NULL, &none);
	return rc;
}

static int start(smtpc *s, const char *from, const char *const *to, size_t nto,
                 const smtpc_source *msg, const smtpc_send_options *opts, result_impl **ri)
{
	*ri = NULL;
	if (from == NULL || to == NULL || nto == 0 || msg == NULL ||
	    msg->version != SMTPC_SOURCE_VERSION || (msg->data == NULL && msg->len > 0) ||
	    (opts->mail_options == NULL && opts->nmail_options > 0) ||
	    (opts->rcpt_options == NULL && opts->nrcpt_options > 0))
		return smtpc__err_set(
		    s, SMTPC_EINVAL, "", NULL,
		    "sending needs a sender, at least one recipient and a message");
	*ri = result_new(to, nto);
	if (*ri == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "", NULL, "out of memory");
	return 0;
}

/* Hands the result over (or frees it) and returns rc, clearing the error on success. */
static int finish(smtpc *s, int rc, result_impl *ri, smtpc_send_result **result)
{
	if (rc == 0)
		smtpc__err_clear(s);
	if (result != NULL)
		*result = ri ? &ri->pub : NULL;
	else
		smtpc_send_result_free(ri ? &ri->pub : NULL);
	return rc;
}

static const smtpc_send_options default_options = SMTPC_SEND_OPTIONS_INIT;

/*
 * Checks one message and sets up its transaction (result, sizes, body); the
 * command lines are planned later, once the server's capabilities are known.
 */
static int setup_txn(smtpc *s, const smtpc_message *m, txn *t)
{
	const smtpc_send_options *o = m->opts ? m->opts : &default_options;
	const smtpc_source *src = &m->source;
	int rc = start(s, m->from, m->to, m->nto, src, o, &t->ri);

	if (rc != 0)
		return rc;
	t->s = s;
	t->from = m->from;
	t->to = m->to;
	t->nto = m->nto;
	t->o = o;
	smtpc__source_info(src, &t->size, &t->has_8bit, &t->raw);
	rc = check_envelope(t, smtpc__has_mail_option(o, "SMTPUTF8"));
	if (rc == 0 && (rc = smtpc__body_init(&t->body, src)) != 0)
		rc = smtpc__err_set(s, rc, "", NULL, "out of memory");
	return rc;
}

SMTPC_API int smtpc_sendmail_source(smtpc *s, const char *from, const char *const *to, size_t nto,
                                    const smtpc_source *msg, const smtpc_send_options *opts,
                                    smtpc_send_result **result)
{
	smtpc_message m = {from, to, nto, SMTPC_SOURCE_INIT, opts};
	txn t = {0};
	int rc;

	if (result != NULL)
		*result = NULL;
	smtpc__err_clear(s);
	if (msg == NULL)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "no message");
	m.source = *msg;
	rc = setup_txn(s, &m, &t);
	if (rc == 0)
		rc = transact(&t);
	txn_free(&t);
	return finish(s, rc, t.ri, result);
}

SMTPC_API int smtpc_sendmail(smtpc *s, const char *from, const char *const *to, size_t nto,
                             const void *msg, size_t len, const smtpc_send_options *opts,
                             smtpc_send_result **result)
{
	smtpc_source src = SMTPC_SOURCE_INIT;

	src.data = msg ? msg : (len == 0 ? "" : NULL);
	src.len = len;
	return smtpc_sendmail_source(s, from, to, nto, &src, opts, result);
}

/* ---------------------------------------------------------------- send_message */

/* Reads from a streamed source until the header block is complete (bounded). */
static int read_headers(smtpc *s, const smtpc_source *msg, char **buf, size_t *len, size_t *hlen)
{
	size_t cap = 16384;

	*len = 0;
	*buf = malloc(cap);
	if (*buf == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "", NULL, "out of memory");
	for (;;) {
		long got;

		if (*len == cap) {
			char *bigger;

			if (cap >= SMTPC__MAX_HEADER_BLOCK)
				return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
				                      "the header block is larger than %d bytes",
				                      SMTPC__MAX_HEADER_BLOCK);
			cap *= 2;
			bigger = realloc(*buf, cap);
			if (bigger == NULL)
				return smtpc__err_set(s, SMTPC_ENOMEM, "", NULL, "out of memory");
			*buf = bigger;
		}
		if (msg->read != NULL)
			got = msg->read(*buf + *len, cap - *len, msg->read_user);
		else
			got = (long)read(msg->fd, *buf + *len, cap - *len);
		if (got < 0 && msg->read == NULL && errno == EINTR)
			continue;
		if (got < 0 || (size_t)got > cap - *len)
			return smtpc__err_set(s, SMTPC_EIO, "", NULL, "cannot read the message");
		*len += (size_t)got;
		*hlen = smtpc__msg_header_end(*buf, *len, got == 0);
		if (*hlen != 0)
			return 0;
	}
}

SMTPC_API int smtpc_send_message(smtpc *s, const smtpc_source *msg, const char *from,
                                 const char *const *to, size_t nto, const smtpc_send_options *opts,
                                 smtpc_send_result **result)
{
	smtpc__envelope env = {0};
	const smtpc_source *src = msg;
	char *ahead = NULL;
	size_t alen = 0, hlen = 0;
	const char *data;
	txn t = {0};
	int rc;

	if (result != NULL)
		*result = NULL;
	smtpc__err_clear(s);
	if (opts == NULL)
		opts = &default_options;
	if (msg == NULL || msg->version != SMTPC_SOURCE_VERSION ||
	    (msg->data == NULL && msg->len > 0) || (to == NULL && nto > 0))
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "send_message needs a message");

	/* The header block: in place for memory, read ahead for streams. */
	if (msg->data != NULL || (msg->fd < 0 && msg->read == NULL)) {
		data = msg->data ? msg->data : "";
		hlen = smtpc__msg_header_end(data, msg->len, 1);
		alen = msg->len;
	} else {
		rc = read_headers(s, msg, &ahead, &alen, &hlen);
		if (rc != 0) {
			free(ahead);
			return rc;
		}
		data = ahead;
	}
	if (hlen == (size_t)-1)
		hlen = 0; /* no header block: all body */
	rc = smtpc__msg_envelope(
	    data, hlen, (from == NULL ? SMTPC__ENV_FROM : 0u) | (nto == 0 ? SMTPC__ENV_TO : 0u),
	    &env);
	if (rc != 0) {
		free(ahead);
		rc = smtpc__err_set(s, rc, "", NULL, "%s",
		                    rc == SMTPC_ENOMEM ? "out of memory" : env.why);
		smtpc__envelope_free(&env);
		return rc;
	}
	if (from == NULL)
		from = env.from;
	if (nto == 0) {
		to = (const char *const *)env.to;
		nto = env.nto;
	}
	if (from == NULL || to == NULL || nto == 0) {
		rc = smtpc__err_set(
		    s, SMTPC_EINVAL, "", NULL, "no %s in the headers and none given",
		    from == NULL ? "sender (Sender or From)" : "recipient (To, Cc or Bcc)");
	} else {
		rc = start(s, from, to, nto, src, opts, &t.ri);
	}
	if (rc == 0 && from != NULL && to != NULL) {
		t.s = s;
		t.from = from;
		t.to = to;
		t.nto = nto;
		t.o = opts;
		/* Only non-ASCII addresses need SMTPUTF8; 8-bit header text goes with the body
		 * (BODY=8BITMIME). */
		t.want_utf8 = smtpc__has_8bit(from, strlen(from));
		for (size_t i = 0; i < nto; i++)
			t.want_utf8 |= smtpc__has_8bit(to[i], strlen(to[i]));
		rc = check_envelope(&t, t.want_utf8 || smtpc__has_mail_option(opts, "SMTPUTF8"));
	}
	if (rc == 0) {
		smtpc_source rest = *msg;
		smtpc__wire w;
		int rest_8bit = 0;
		int64_t rest_raw = 0;

		/* SIZE= and BODY= from what will be sent: the stripped header block, the bytes
		 * read ahead, then the rest of the source (read once ahead if it is a file). */
		smtpc__wire_init(&w);
		smtpc__wire_add(&w, env.headers, env.headers_len);
		smtpc__wire_add(&w, data + hlen, alen - hlen);
		t.has_8bit = smtpc__has_8bit(env.headers, env.headers_len) ||
		             smtpc__has_8bit(data + hlen, alen - hlen);
		if (msg->data != NULL || (msg->fd < 0 && msg->read == NULL)) {
			rest.data = data + hlen;
			rest.len = alen - hlen;
			t.size = (int64_t)smtpc__wire_total(&w);
			t.raw = (int64_t)(env.headers_len + rest.len);
		} else if (msg->read == NULL &&
		           smtpc__scan_file(msg->fd, &w, &rest_8bit, &rest_raw) == 0) {
			t.size = (int64_t)smtpc__wire_total(&w);
			t.has_8bit |= rest_8bit;
			t.raw = (int64_t)(env.headers_len + (alen - hlen)) + rest_raw;
		} else {
			t.has_8bit = -1;
			t.raw = msg->size >= 0
			            ? msg->size - (int64_t)hlen + (int64_t)env.headers_len
			            : -1;
			t.size = msg->size >= 0
			             ? msg->size - (int64_t)hlen + (int64_t)env.headers_len
			             : -1;
		}
		rc = smtpc__body_init(&t.body, &rest);
		t.body.seg[0] = env.headers;
		t.body.seglen[0] = env.headers_len;
		if (ahead != NULL) {
			t.body.seg[1] = ahead + hlen;
			t.body.seglen[1] = alen - hlen;
		}
		if (rc != 0)
			rc = smtpc__err_set(s, rc, "", NULL, "out of memory");
	}
	if (rc == 0)
		rc = transact(&t);
	txn_free(&t);
	rc = finish(s, rc, t.ri, result);
	smtpc__envelope_free(&env);
	free(ahead);
	return rc;
}

/* ---------------------------------------------------------------- batches */

/* Prepares (without sending) the transaction of one batch message. */
static int prepare_txn(smtpc *s, const smtpc_message *m, txn *t)
{
	int rc = setup_txn(s, m, t);

	return rc != 0 ? rc : plan(t);
}

SMTPC_API int smtpc_send_batch(smtpc *s, const smtpc_message *msgs, size_t n,
                               smtpc_send_result **results)
{
	txn cur = {0}, next = {0};
	smtpc__err_saved first_err = {0}; /* the first failure, reported at the end */
	size_t present = 0;
	int first_rc = 0, rc;

	smtpc__err_clear(s);
	if (msgs == NULL || results == NULL)
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL, "no messages or no result array");
	for (size_t i = 0; i < n; i++)
		results[i] = NULL;
	rc = check_idle(s);
	if (rc == 0)
		rc = smtpc_ehlo_or_helo_if_needed(s);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int have_next = 0;

		txn_free(&cur);
		memset(&cur, 0, sizeof(cur));
		if (present == 0) {
			rc = prepare_txn(s, &msgs[i], &cur);
		} else {
			cur = next; /* prepared, and its first lines already written */
			memset(&next, 0, sizeof(next));
			rc = 0;
		}
		if (rc == 0)
			rc = envelope(&cur, present);
		present = 0;
		if (rc == 0) {
			/* Prepare the next message so that its envelope rides with this one's end.
			 */
			if (i + 1 < n && cur.plan.pipelined) {
				int nrc = prepare_txn(s, &msgs[i + 1], &next);

				have_next = nrc == 0;
				if (nrc != 0) {
					/* It fails again, and is reported, at its own turn. */
					smtpc_send_result_free(next.ri ? &next.ri->pub : NULL);
					next.ri = NULL;
					txn_free(&next);
					memset(&next, 0, sizeof(next));
					smtpc__err_clear(s);
				}
			}
			rc = data_phase(&cur, have_next ? &next : NULL, &present);
			if (have_next && present == 0) {
				/* Not sent after all (the data failed): prepare it again later. */
				smtpc_send_result_free(next.ri ? &next.ri->pub : NULL);
				next.ri = NULL;
				txn_free(&next);
				memset(&next, 0, sizeof(next));
			}
		}
		results[i] = cur.ri ? &cur.ri->pub : NULL;
		cur.ri = NULL;
		if (rc != 0 && first_rc == 0) {
			first_rc = rc;
			smtpc__err_copy(s, &first_err);
		}
		if (s->tr.fd < 0) {
			/* Connection lost: the messages after this one are not attempted. */
			if (present > 0) {
				smtpc_send_result_free(next.ri ? &next.ri->pub : NULL);
				next.ri = NULL;
			}
			break;
		}
	}
	txn_free(&cur);
	txn_free(&next);
	smtpc__err_clear(s);
	if (first_rc != 0)
		smtpc__err_put(s, &first_err); /* the error returned is the one the session tells */
	smtpc__err_saved_free(&first_err);
	return first_rc;
}
