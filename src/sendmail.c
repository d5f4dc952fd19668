/*
 * sendmail.c - DATA and the sendmail algorithm (smtplib's data() and
 * sendmail(); RFC 5321 3.3, 4.1.1.4; RFC 1870 SIZE; RFC 2033 4.2 LMTP).
 *
 * The rules we keep (security-cases.md "Never lose a message"): every
 * argument is checked before the first byte of the transaction; a failed
 * transaction is reset so the connection stays usable; once the final dot
 * is out, a lost connection is "outcome unknown", never success and never
 * a plain failure; the caller learns the fate of each recipient.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "command.h"
#include "dataenc.h"
#include "session.h"

/* Input bytes encoded per write: the output buffer is about twice this. */
#define BODY_CHUNK 65536

/* ---------------------------------------------------------------- DATA */

/* Sends the message encoded (CRLF, dot-stuffing, terminator). */
static int send_body(smtpc *s, const void *msg, size_t len)
{
	char *out = malloc(SMTPC__DATAENC_MAX_OUT(BODY_CHUNK) + SMTPC__DATAENC_FINISH_MAX);
	const char *p = msg;
	smtpc__dataenc e;
	size_t pos = 0;
	int rc = 0;

	if (out == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "DATA", NULL, "out of memory");
	smtpc__dataenc_init(&e);
	smtpc__debugf(s, "send: [message, %zu bytes before encoding]", len);
	do {
		size_t n = len - pos < BODY_CHUNK ? len - pos : BODY_CHUNK;
		size_t o = smtpc__dataenc_update(&e, p + pos, n, out);

		pos += n;
		if (pos == len)
			o += smtpc__dataenc_finish(&e, out + o, 1);
		rc = smtpc__tr_write(&s->tr, out, o, smtpc__deadline(s->timeout_ms));
	} while (rc == 0 && pos < len);
	free(out);
	if (rc != 0) {
		smtpc__err_io(s, rc, "DATA", "sending the message");
		smtpc_close(s);
	}
	return rc;
}

/* Reads the replies after the final dot: one (SMTP) or one per accepted RCPT (LMTP). */
static int read_final(smtpc *s, smtpc_reply *first)
{
	size_t want = s->proto == SMTPC_PROTO_LMTP && s->rcpt_accepted > 0 ? s->rcpt_accepted : 1;
	smtpc_reply r;
	int rc;

	s->lmtp = calloc(want, sizeof(*s->lmtp));
	if (s->lmtp == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "DATA", NULL, "out of memory");
	for (size_t i = 0; i < want; i++) {
		rc = smtpc__read_reply(s, "DATA", i + 1 < want, &r);
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
		if (rc != 0) {
			/* L2: the dot went out; we cannot know what the server did. */
			char why[256];

			memcpy(why, s->err_message, sizeof(why));
			why[sizeof(why) - 1] = '\0';
			return smtpc__err_set(s, SMTPC_EUNKNOWN, "DATA", NULL,
			                      "outcome unknown: %s after the end of data (%zu of "
			                      "%zu replies read)",
			                      why, s->nlmtp, want);
		}
	}
	return 0;
}

SMTPC_API int smtpc_data(smtpc *s, const void *msg, size_t len, smtpc_reply *reply)
{
	const char *const none[1] = {NULL};
	smtpc_reply r;
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
	rc = send_body(s, msg, len);
	if (rc != 0)
		return rc;
	s->data_stage = SMTPC__DATA_SENT;
	rc = read_final(s, reply);
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

/* ---------------------------------------------------------------- sendmail */

static int wants_utf8(const smtpc_send_options *o)
{
	for (size_t i = 0; i < o->nmail_options; i++)
		if (o->mail_options[i] != NULL &&
		    strncasecmp(o->mail_options[i], "SMTPUTF8", 8) == 0 &&
		    (o->mail_options[i][8] == '\0' || o->mail_options[i][8] == '='))
			return 1;
	return 0;
}

/* Length of the message once every line ending is CRLF and it ends with one (RFC 1870). */
static uint64_t wire_size(const char *p, size_t len)
{
	const char *end = p + len, *q;
	uint64_t size = len;

	if (len == 0)
		return 2; /* an empty message is sent as one CRLF */
	/* Each bare LF and each bare CR becomes CRLF: one byte more. */
	for (q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
		if (q == p || q[-1] != '\r')
			size++;
	for (q = p; (q = memchr(q, '\r', (size_t)(end - q))) != NULL; q++)
		if (q + 1 == end || q[1] != '\n')
			size++;
	if (p[len - 1] != '\n' && p[len - 1] != '\r')
		size += 2;
	return size;
}

/* Everything the transaction will send is checked before its first byte. */
static int check_envelope(smtpc *s, const char *from, const char *const *to, size_t nto,
                          const smtpc_send_options *o, int utf8)
{
	if (smtpc__arg_check(from, strlen(from), utf8) != 0)
		return smtpc__err_set(s, SMTPC_EINVAL, "MAIL", NULL,
		                      "sender holds a control character%s",
		                      utf8 ? "" : " or a non-ASCII byte (SMTPUTF8 not requested)");
	for (size_t i = 0; i < nto; i++) {
		if (to[i] == NULL || to[i][0] == '\0' ||
		    smtpc__arg_check(to[i], strlen(to[i]), utf8) != 0)
			return smtpc__err_set(
			    s, SMTPC_EINVAL, "RCPT", NULL,
			    "recipient %zu is empty or holds a control "
			    "character%s",
			    i + 1, utf8 ? "" : " or a non-ASCII byte (SMTPUTF8 not requested)");
	}
	if (smtpc__check_options(s, o->mail_options, o->nmail_options, utf8) != 0 ||
	    smtpc__check_options(s, o->rcpt_options, o->nrcpt_options, utf8) != 0)
		return s->err.kind;
	return 0;
}

/* MAIL FROM, with SIZE= first when the server offers SIZE. */
static int send_mail(smtpc *s, result_impl *ri, const char *from, const smtpc_send_options *o,
                     uint64_t size)
{
	const char **opts = calloc(o->nmail_options + 1, sizeof(*opts));
	char size_opt[32];
	size_t n = 0;
	smtpc_reply r;
	int rc;

	if (opts == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "MAIL", NULL, "out of memory");
	if (s->does_esmtp && smtpc_has_extn(s, "SIZE")) {
		snprintf(size_opt, sizeof(size_opt), "SIZE=%llu", (unsigned long long)size);
		opts[n++] = size_opt;
	}
	for (size_t i = 0; i < o->nmail_options; i++)
		opts[n++] = o->mail_options[i];
	rc = smtpc_mail(s, from, opts, n, &r);
	free(opts);
	if (rc == 0 || rc == SMTPC_ESHUTDOWN)
		keep(s, &ri->mail, &ri->pub.mail_reply, &r);
	if (rc == SMTPC_ESHUTDOWN)
		return smtpc__err_set(s, SMTPC_ESENDER, "MAIL", &r,
		                      "sender refused: the server is closing the connection");
	if (rc != 0)
		return rc;
	if (r.code != 250) {
		smtpc__err_set(s, SMTPC_ESENDER, "MAIL", &r, "sender refused: %d", r.code);
		smtpc__safe_rset(s);
		return SMTPC_ESENDER;
	}
	return 0;
}

/* One RCPT per recipient; returns the number accepted, or a negative error. */
static int send_rcpts(smtpc *s, result_impl *ri, const char *const *to, size_t nto,
                      const smtpc_send_options *o)
{
	const smtpc_reply *last_refusal = NULL;
	int accepted = 0;

	for (size_t i = 0; i < nto; i++) {
		smtpc_rcpt_result *rr = &ri->pub.recipients[i];
		smtpc_reply r;
		int rc = smtpc_rcpt(s, to[i], o->rcpt_options, o->nrcpt_options, &r);

		if (rc == SMTPC_ESHUTDOWN) {
			/* Those accepted so far will not get the message: failed, with the 421. */
			rr->rcpt_code = r.code;
			settle(s, ri, i, SMTPC_RCPT_REFUSED, &r);
			settle_pending(s, ri, SMTPC_RCPT_FAILED, &r);
			return smtpc__err_set(s, SMTPC_ERECIPIENTS, "RCPT", &r,
			                      "recipient refused: the server is closing the "
			                      "connection");
		}
		if (rc != 0) {
			settle_pending(s, ri, SMTPC_RCPT_FAILED, NULL);
			return rc;
		}
		rr->rcpt_code = r.code;
		if (r.code == 250 || r.code == 251) {
			ri->pending[i] = 1;
			keep(s, &ri->rcpt[i], &rr->reply, &r);
			accepted++;
		} else {
			settle(s, ri, i, SMTPC_RCPT_REFUSED, &r);
			last_refusal = &ri->pub.recipients[i].reply;
		}
	}
	if (accepted == 0) {
		smtpc__err_set(s, SMTPC_ERECIPIENTS, "RCPT", last_refusal,
		               "every recipient was refused");
		smtpc__safe_rset(s);
		return SMTPC_ERECIPIENTS;
	}
	return accepted;
}

/* Maps what smtpc_data() learnt onto the pending recipients. */
static int settle_data(smtpc *s, result_impl *ri, int rc, const smtpc_reply *first)
{
	if (s->data_cmd_reply.text != NULL) {
		smtpc_reply dr;

		smtpc__view_reply(&s->data_cmd_reply, &dr);
		keep(s, &ri->data, &ri->pub.data_reply, &dr);
	}
	if (s->data_stage == SMTPC__DATA_COMMAND) {
		if (rc == SMTPC_EDATA || rc == SMTPC_ESHUTDOWN) {
			settle_pending(s, ri, SMTPC_RCPT_FAILED, &ri->pub.data_reply);
		} else {
			settle_pending(s, ri, SMTPC_RCPT_FAILED, NULL);
		}
		if (rc == SMTPC_ESHUTDOWN)
			return smtpc__err_set(s, SMTPC_EDATA, "DATA", first,
			                      "DATA refused: the server is closing the connection");
		if (rc == SMTPC_EDATA)
			smtpc__safe_rset(s);
		return rc;
	}
	if (s->data_stage == SMTPC__DATA_BODY) {
		settle_pending(s, ri, SMTPC_RCPT_FAILED, NULL);
		return rc;
	}

	/* The dot went out: one reply (SMTP) or one per pending recipient (LMTP). */
	size_t k = 0;

	if (s->nlmtp > 0) {
		smtpc_reply fr;

		smtpc__view_reply(&s->lmtp[0], &fr);
		keep(s, &ri->final, &ri->pub.final_reply, &fr);
	}
	for (size_t i = 0; i < ri->pub.nrecipients; i++) {
		smtpc_reply r;
		size_t slot = s->proto == SMTPC_PROTO_LMTP ? k : 0;

		if (!ri->pending[i])
			continue;
		if (slot >= s->nlmtp) {
			settle(s, ri, i, SMTPC_RCPT_UNKNOWN, NULL);
			continue;
		}
		smtpc__view_reply(&s->lmtp[slot], &r);
		settle(s, ri, i, r.code == 250 ? SMTPC_RCPT_ACCEPTED : SMTPC_RCPT_FAILED, &r);
		k++;
	}
	if (rc == SMTPC_EUNKNOWN)
		return rc;
	if (ri->pub.naccepted > 0)
		return 0;
	if (rc == 0 || rc == SMTPC_ESHUTDOWN) {
		smtpc_reply r;

		smtpc__view_reply(&s->lmtp[s->nlmtp - 1], &r);
		smtpc__err_set(s, SMTPC_EDATA, "DATA", &r, "message refused: %d", r.code);
		if (rc == 0)
			smtpc__safe_rset(s);
		return SMTPC_EDATA;
	}
	return rc;
}

SMTPC_API int smtpc_sendmail(smtpc *s, const char *from, const char *const *to, size_t nto,
                             const void *msg, size_t len, const smtpc_send_options *opts,
                             smtpc_send_result **result)
{
	static const smtpc_send_options defaults = SMTPC_SEND_OPTIONS_INIT;
	result_impl *ri;
	smtpc_reply first;
	int rc, utf8;

	if (result != NULL)
		*result = NULL;
	smtpc__err_clear(s);
	if (opts == NULL)
		opts = &defaults;
	if (from == NULL || to == NULL || nto == 0 || (msg == NULL && len > 0) ||
	    (opts->mail_options == NULL && opts->nmail_options > 0) ||
	    (opts->rcpt_options == NULL && opts->nrcpt_options > 0))
		return smtpc__err_set(s, SMTPC_EINVAL, "", NULL,
		                      "sendmail needs a sender, at least one recipient and a "
		                      "message");
	if (msg == NULL)
		msg = "";
	ri = result_new(to, nto);
	if (ri == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "", NULL, "out of memory");
	utf8 = wants_utf8(opts);
	rc = check_envelope(s, from, to, nto, opts, utf8);
	if (rc == 0)
		rc = smtpc_ehlo_or_helo_if_needed(s);
	if (rc == 0)
		rc = send_mail(s, ri, from, opts, wire_size(msg, len));
	if (rc == 0) {
		rc = send_rcpts(s, ri, to, nto, opts);
		if (rc > 0) {
			memset(&first, 0, sizeof(first));
			first.text = "";
			rc = smtpc_data(s, msg, len, &first);
			rc = settle_data(s, ri, rc, &first);
		}
	}
	if (rc == 0)
		smtpc__err_clear(s);
	if (result != NULL)
		*result = &ri->pub;
	else
		smtpc_send_result_free(&ri->pub);
	return rc;
}
