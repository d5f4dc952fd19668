/*
 * plan.c - the commands of one transaction (see plan.h).
 */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "command.h"

int smtpc__has_keyword(const char *const *opts, size_t n, const char *keyword)
{
	size_t len = strlen(keyword);

	for (size_t i = 0; i < n; i++)
		if (opts[i] != NULL && strncasecmp(opts[i], keyword, len) == 0 &&
		    (opts[i][len] == '\0' || opts[i][len] == '='))
			return 1;
	return 0;
}

int smtpc__has_mail_option(const smtpc_send_options *o, const char *keyword)
{
	return smtpc__has_keyword(o->mail_options, o->nmail_options, keyword);
}

int smtpc__has_rcpt_option(const smtpc_send_options *o, const char *keyword)
{
	return smtpc__has_keyword(o->rcpt_options, o->nrcpt_options, keyword);
}

/* xtext (RFC 3461 4): '+', '=' and bytes outside 33..126 become "+HH". */
static char *xtext(const char *prefix, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t plen = strlen(prefix), vlen = strlen(value);
	char *out = malloc(plen + 3 * vlen + 1), *o;

	if (out == NULL)
		return NULL;
	memcpy(out, prefix, plen);
	o = out + plen;
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 33 || *p > 126 || *p == '+' || *p == '=') {
			*o++ = '+';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

static char *notify_option(unsigned bits)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{SMTPC_DSN_SUCCESS, "SUCCESS"},
	             {SMTPC_DSN_FAILURE, "FAILURE"},
	             {SMTPC_DSN_DELAY, "DELAY"}};
	char buf[64];
	int len = snprintf(buf, sizeof(buf), "NOTIFY=");

	if (bits & SMTPC_DSN_NEVER)
		return strdup("NOTIFY=NEVER"); /* NEVER stands alone (RFC 3461 4.1) */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & names[i].bit)
			len += snprintf(buf + len, sizeof(buf) - (size_t)len, "%s%s",
			                len > 7 ? "," : "", names[i].name);
	return strdup(buf);
}

/* A list of strings to free together. */
typedef struct strlist {
	char *item[8];
	size_t n;
} strlist;

static const char *own(strlist *l, char *str)
{
	if (str == NULL || l->n == sizeof(l->item) / sizeof(l->item[0])) {
		free(str);
		return NULL;
	}
	l->item[l->n++] = str;
	return str;
}

static void strlist_free(strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->item[i]);
	l->n = 0;
}

/* "FROM:<path>" / "TO:<path>": the path as smtpc__addr_path found it ("" is the null path). */
static char *path_arg(const char *prefix, const char *path)
{
	size_t plen = strlen(prefix), len = strlen(path);
	char *out = malloc(plen + len + 3);

	if (out != NULL) {
		memcpy(out, prefix, plen);
		out[plen] = '<';
		memcpy(out + plen + 1, path, len);
		memcpy(out + plen + 1 + len, ">", 2);
	}
	return out;
}

/* Records why the plan failed and returns kind. */
static int fail(smtpc__plan *p, int kind, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(smtpc__plan *p, int kind, const char *command, const char *fmt, ...)
{
	va_list ap;

	p->command = command;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return kind;
}

/* Adds one command line (built and checked by the command writer). */
static int add_line(smtpc__plan *p, const char *verb, const char *const *args, size_t nargs,
                    int utf8)
{
	int rc =
	    smtpc__cmd_build(&p->lines[p->nlines], &p->lens[p->nlines], verb, args, nargs, utf8);

	if (rc == SMTPC_ENOMEM)
		return fail(p, rc, verb, "out of memory");
	if (rc != 0)
		return fail(p, rc, verb,
		            "refused to send %s: a control character, a non-ASCII byte without "
		            "SMTPUTF8, or a line too long",
		            verb);
	p->nlines++;
	return 0;
}

int smtpc__plan_make(const smtpc__offer *offer, const smtpc__plan_in *in, smtpc__plan *p)
{
	const smtpc_send_options *o = in->o;
	int esmtp = offer->esmtp, utf8 = 0, rc = 0;
	int64_t size = o->binarymime ? in->raw : in->size; /* BINARYMIME: sent as it is */
	const char *margs[16];
	size_t nm = 0, na = 0;
	strlist owned = {{0}, 0};
	char size_opt[32];
	const char **args;

	memset(p, 0, sizeof(*p));
	if (in->want_utf8 || smtpc__has_mail_option(o, "SMTPUTF8")) {
		if (!offer->smtputf8)
			return fail(
			    p, SMTPC_ENOTSUPPORTED, "MAIL",
			    "non-ASCII addresses or headers need SMTPUTF8, which the server "
			    "does not offer");
		utf8 = 1;
	}
	if ((o->dsn_ret || o->dsn_envid || o->dsn_notify || o->dsn_notify_rcpt || o->dsn_orcpt) &&
	    !offer->dsn)
		return fail(p, SMTPC_ENOTSUPPORTED, "MAIL",
		            "DSN options given, but the server does not offer DSN");
	if (o->binarymime && (!offer->chunking || !offer->binarymime))
		return fail(p, SMTPC_ENOTSUPPORTED, "MAIL",
		            "BINARYMIME needs the server's CHUNKING and BINARYMIME");
	/* Decided here, before MAIL, but permanent as the server's 552 would be (RFC 1870). */
	if (in->size >= 0 && offer->size_limit > 0 && (uint64_t)in->size > offer->size_limit) {
		p->too_big = 1;
		return fail(p, SMTPC_EDATA, "MAIL",
		            "the message (%lld bytes) is larger than the server's SIZE limit (%llu "
		            "bytes): not sent",
		            (long long)in->size, (unsigned long long)offer->size_limit);
	}
	p->pipelined = offer->pipelining && !o->no_pipelining;
	p->bdat = offer->chunking && (!o->no_chunking || o->binarymime);

	/* RFC 6152: 8-bit bodies need 8BITMIME; a caller's BODY= wins. */
	if (o->binarymime) {
		margs[nm++] = "BODY=BINARYMIME";
	} else if (offer->eightbitmime && !smtpc__has_mail_option(o, "BODY") &&
	           (in->has_8bit != 0 || utf8)) {
		margs[nm++] = "BODY=8BITMIME";
	} else if (!offer->eightbitmime && o->eight_bit == SMTPC_8BIT_REFUSE) {
		if (in->has_8bit == 1)
			return fail(p, SMTPC_ENOTSUPPORTED, "MAIL",
			            "the message has 8-bit bytes and the server does not offer "
			            "8BITMIME");
		p->refuse_8bit = in->has_8bit < 0;
	}
	if (utf8 && !smtpc__has_mail_option(o, "SMTPUTF8")) /* the caller's is not sent twice */
		margs[nm++] = "SMTPUTF8";
	if (o->dsn_ret)
		margs[nm++] = o->dsn_ret == SMTPC_DSN_RET_HDRS ? "RET=HDRS" : "RET=FULL";
	if (o->dsn_envid && (margs[nm] = own(&owned, xtext("ENVID=", o->dsn_envid))) != NULL)
		nm++;

	/* Lines: MAIL, one RCPT per recipient, DATA. */
	p->lines = calloc(in->nto + 2, sizeof(*p->lines));
	p->lens = calloc(in->nto + 2, sizeof(*p->lens));
	args = calloc(o->nmail_options + o->nrcpt_options + nm + 8, sizeof(*args));
	if (p->lines == NULL || p->lens == NULL || args == NULL) {
		strlist_free(&owned);
		free(args);
		return fail(p, SMTPC_ENOMEM, "MAIL", "out of memory");
	}
	args[na++] = own(&owned, path_arg("FROM:", in->from));
	if (offer->size && size >= 0 && !smtpc__has_mail_option(o, "SIZE")) {
		snprintf(size_opt, sizeof(size_opt), "SIZE=%lld", (long long)size);
		args[na++] = size_opt;
	}
	for (size_t i = 0; esmtp && i < o->nmail_options; i++)
		args[na++] = o->mail_options[i];
	for (size_t i = 0; esmtp && i < nm; i++)
		args[na++] = margs[i];
	rc = args[0] == NULL ? fail(p, SMTPC_ENOMEM, "MAIL", "out of memory")
	                     : add_line(p, "MAIL", args, na, utf8);
	strlist_free(&owned);

	for (size_t i = 0; rc == 0 && i < in->nto; i++) {
		unsigned notify = o->dsn_notify_rcpt && o->dsn_notify_rcpt[i]
		                      ? o->dsn_notify_rcpt[i]
		                      : o->dsn_notify;

		na = 0;
		args[na++] = own(&owned, path_arg("TO:", in->to[i]));
		for (size_t j = 0; esmtp && j < o->nrcpt_options; j++)
			args[na++] = o->rcpt_options[j];
		if (notify && (args[na] = own(&owned, notify_option(notify))) != NULL)
			na++;
		if (o->dsn_orcpt && o->dsn_orcpt[i] &&
		    (args[na] = own(&owned, xtext("ORCPT=rfc822;", o->dsn_orcpt[i]))) != NULL)
			na++;
		rc = args[0] == NULL ? fail(p, SMTPC_ENOMEM, "RCPT", "out of memory")
		                     : add_line(p, "RCPT", args, na, utf8);
		strlist_free(&owned);
	}
	free(args);
	if (rc == 0 && !p->bdat)
		rc = add_line(p, "DATA", NULL, 0, 0);
	return rc;
}

void smtpc__plan_free(smtpc__plan *p)
{
	for (size_t i = 0; i < p->nlines; i++)
		free(p->lines[i]);
	free(p->lines);
	free(p->lens);
	p->lines = NULL;
	p->lens = NULL;
	p->nlines = 0;
}
