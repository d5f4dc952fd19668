/*
 * outcome.c - errors and exit statuses of smtpc (docs/RULES.md L9:
 * distinct exit codes for temporary, permanent and unknown outcomes).
 */
#include "outcome.h"

#include "exitcodes.h"
#include "json.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

static char *copy_bytes(const char *p, size_t len)
{
	char *copy;

	if (p == NULL)
		return NULL;
	copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, p, len);
	copy[len] = '\0';
	return copy;
}

static char *copy_string(const char *s)
{
	return s ? copy_bytes(s, strlen(s)) : NULL;
}

static void copy_enhanced(char dst[16], const char *src)
{
	size_t len = src ? strnlen(src, 15) : 0;

	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
}

void cli_error_capture(struct cli_error *e, const smtpc *s, int rc)
{
	const smtpc_error *last = s ? smtpc_last_error(s) : NULL;

	memset(e, 0, sizeof(*e));
	e->kind = rc;
	if (last == NULL || last->kind == SMTPC_OK) {
		e->message = copy_string(smtpc_strerror(rc));
		return;
	}
	e->code = last->code;
	copy_enhanced(e->enhanced, last->enhanced);
	e->command = copy_string(last->command);
	e->text = copy_bytes(last->text, last->text_len);
	e->text_len = e->text ? last->text_len : 0;
	e->message = copy_string(last->message);
}

void cli_error_from_reply(struct cli_error *e, int kind, const char *message,
                          const smtpc_reply *reply)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->message = copy_string(message);
	if (reply == NULL)
		return;
	e->code = reply->code;
	copy_enhanced(e->enhanced, reply->enhanced);
	e->text = copy_bytes(reply->text, reply->text_len);
	e->text_len = e->text ? reply->text_len : 0;
}

void cli_error_free(struct cli_error *e)
{
	free(e->command);
	free(e->text);
	free(e->message);
	memset(e, 0, sizeof(*e));
}

const char *cli_error_message(const struct cli_error *e)
{
	const char *m = e->message;

	if (m == NULL || *m == '\0')
		m = smtpc_strerror(e->kind);
	return m ? m : "error";
}

static const char *kind_name(int kind)
{
	const char *name = smtpc_error_name(kind);

	if (name == NULL)
		name = smtpc_strerror(kind);
	return name ? name : "unknown";
}

void cli_error_report(const struct cli_error *e, const char *what, const char *subject)
{
	fprintf(stderr, "smtpc: %s", what);
	if (subject) {
		putc(' ', stderr);
		cli_put_str(stderr, subject);
	}
	fputs(": ", stderr);
	cli_put_str(stderr, cli_error_message(e));
	if (e->code != 0) {
		fputs(e->local ? " (decided here, not by the server: " : " (server said: ", stderr);
		cli_put_reply(stderr, e->code, e->enhanced, e->text, e->text_len);
		putc(')', stderr);
	}
	putc('\n', stderr);
}

void cli_error_json(FILE *f, const struct cli_error *e)
{
	if (e->kind == SMTPC_OK) {
		fputs("null", f);
		return;
	}
	putc('{', f);
	json_key(f, "kind");
	json_cstring(f, kind_name(e->kind));
	fprintf(f, ",\"code\":%d,", e->code);
	json_key(f, "enhanced");
	json_cstring(f, e->enhanced);
	putc(',', f);
	json_key(f, "command");
	json_cstring(f, e->command ? e->command : "");
	putc(',', f);
	json_key(f, "message");
	json_cstring(f, cli_error_message(e));
	putc(',', f);
	json_key(f, "text");
	json_string(f, e->text ? e->text : "", e->text_len);
	fprintf(f, ",\"local\":%s}", e->local ? "true" : "false");
}

int cli_exit_for_code(int code)
{
	if (code >= 500 && code <= 599)
		return EX_UNAVAILABLE;
	/* 4xx, or no reply at all: the connection failed, try again later. */
	return EX_TEMPFAIL;
}

int cli_exit_for_error(const struct cli_error *e)
{
	switch (e->kind) {
	case SMTPC_OK:
		return EX_OK;
	case SMTPC_EUNKNOWN:
		return EX_OUTCOME_UNKNOWN;
	case SMTPC_EPROTO:
		return EX_PROTOCOL;
	case SMTPC_ERESOLVE:
		return EX_NOHOST;
	case SMTPC_EINVAL:
		return EX_DATAERR;
	case SMTPC_ENOMEM:
		return EX_OSERR;
	case SMTPC_EIO:
	case SMTPC_ETIMEOUT:
	case SMTPC_EDISCONNECTED:
	case SMTPC_ESHUTDOWN:
		return EX_TEMPFAIL;
	case SMTPC_ENOTSUPPORTED:
		return EX_UNAVAILABLE;
	case SMTPC_ETLS: /* no TLS where it is required, a failed handshake or check */
		return e->code >= 400 && e->code <= 499 ? EX_TEMPFAIL : EX_UNAVAILABLE;
	case SMTPC_EAUTH: /* 454 "temporary authentication failure" is worth a retry */
		return e->code >= 400 && e->code <= 499 ? EX_TEMPFAIL : EX_NOPERM;
	case SMTPC_ECONNECT:
	case SMTPC_ERESPONSE:
	case SMTPC_ESENDER:
	case SMTPC_ERECIPIENTS:
	case SMTPC_EDATA:
	case SMTPC_EHELO:
		return cli_exit_for_code(e->code);
	default:
		return EX_SOFTWARE;
	}
}

/* Adds a refusal's reply code to the flags (no reply: nothing to add). */
static void classify_code(int code, int *temp, int *perm)
{
	if (code >= 400 && code <= 499)
		*temp = 1;
	else if (code >= 500 && code <= 599)
		*perm = 1;
}

/* Adds one recipient's outcome to the flags. */
static void classify(const smtpc_rcpt_result *r, int *unknown, int *temp, int *perm)
{
	switch (r->status) {
	case SMTPC_RCPT_ACCEPTED:
		return;
	case SMTPC_RCPT_UNKNOWN:
		*unknown = 1;
		return;
	case SMTPC_RCPT_REFUSED:
	case SMTPC_RCPT_FAILED:
		/* Without a reply (code 0) the error of the run says why. */
		classify_code(r->reply.code, temp, perm);
		return;
	case SMTPC_RCPT_NOT_TRIED:
	default:
		/* Not tried because of the error of the run: it decides. */
		return;
	}
}

/*
 * The exit status the error of the run adds. A refusal reported without a
 * reply code of its own (every recipient refused: their replies say it)
 * adds nothing.
 */
static int exit_for_run_error(const struct cli_error *e)
{
	switch (e->kind) {
	case SMTPC_ESENDER:
	case SMTPC_ERECIPIENTS:
	case SMTPC_EDATA:
		if (e->code == 0)
			return EX_OK;
		return cli_exit_for_code(e->code);
	default:
		return cli_exit_for_error(e);
	}
}

int cli_exit_for_send(const smtpc_send_result *r, const struct cli_error *e)
{
	int unknown = e->kind == SMTPC_EUNKNOWN, temp = 0, perm = 0;
	int all_accepted = 1, err_exit;
	size_t i;

	for (i = 0; r && i < r->nrecipients; i++) {
		classify(&r->recipients[i], &unknown, &temp, &perm);
		if (r->recipients[i].status != SMTPC_RCPT_ACCEPTED)
			all_accepted = 0;
	}
	if (r) { /* a refused MAIL or DATA (2xx and 354 add nothing) */
		classify_code(r->mail_reply.code, &temp, &perm);
		classify_code(r->data_reply.code, &temp, &perm);
	}
	if (unknown)
		return EX_OUTCOME_UNKNOWN;
	err_exit = exit_for_run_error(e);
	if (err_exit != EX_OK && err_exit != EX_TEMPFAIL && err_exit != EX_UNAVAILABLE)
		return err_exit;
	if (temp || err_exit == EX_TEMPFAIL)
		return EX_TEMPFAIL;
	if (perm || err_exit == EX_UNAVAILABLE)
		return EX_UNAVAILABLE;
	/* No result, or a recipient left without a reason: do not claim success. */
	return (r && all_accepted && e->kind == SMTPC_OK) ? EX_OK : EX_TEMPFAIL;
}
