/*
 * send.c - smtpc send: read the message (and the password), connect, greet
 * with STARTTLS per the policy, authenticate when asked to,
 * smtpc_sendmail(), QUIT, then report one line per recipient (or one JSON
 * object).
 */
#include "commands.h"

#include "auth.h"
#include "common.h"
#include "exitcodes.h"
#include "input.h"
#include "json.h"
#include "secret.h"
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct send_run {
	const struct cli_options *o;
	char *msg;
	size_t len;
	smtpc *s;
	smtpc_send_result *result; /* NULL when the server was not reached */
	struct cli_error err;      /* kind SMTPC_OK when smtpc_sendmail() returned 0 */
	char *password;            /* wiped and freed as soon as AUTH is done */
	struct cli_tls tls;
	struct cli_auth auth;
	int exit;
};

static int read_input(struct send_run *run)
{
	const char *file = run->o->file;
	int rc = cli_read_message(file, &run->msg, &run->len);

	if (rc == 0)
		return 0;
	fputs("smtpc: cannot read ", stderr);
	if (file == NULL || strcmp(file, "-") == 0)
		fputs("standard input", stderr);
	else
		cli_put_str(stderr, file);
	fprintf(stderr, ": %s\n", strerror(rc));
	return rc == ENOMEM ? EX_OSERR : EX_NOINPUT;
}

/* Connect, greet (STARTTLS per the policy), authenticate. Returns 0 or the exit status. */
static int open_session(struct send_run *run)
{
	const struct cli_options *o = run->o;
	int ex;

	if (cli_connect(run->s, o, NULL, &run->err) != 0)
		return cli_exit_for_error(&run->err);
	cli_tls_capture(run->s, &run->tls); /* smtps:// */
	ex = cli_greet(run->s, o, &run->err);
	cli_tls_capture(run->s, &run->tls); /* STARTTLS */
	if (ex != 0 || !cli_wants_auth(o))
		return ex;
	ex = cli_authenticate(run->s, o, run->password, &run->auth, &run->err);
	cli_secret_free(run->password);
	run->password = NULL;
	return ex;
}

static int transact(struct send_run *run)
{
	const struct cli_options *o = run->o;
	smtpc_send_options opts;
	int rc, ex;

	/* Every field 0/NULL: the defaults, whatever fields the header version has. */
	memset(&opts, 0, sizeof(opts));
	opts.version = SMTPC_SEND_OPTIONS_VERSION;
	ex = open_session(run);
	if (ex != 0) {
		cli_quit(run->s);
		return ex;
	}
	rc = smtpc_sendmail(run->s, o->from, (const char *const *)o->to, o->nto, run->msg, run->len,
	                    &opts, &run->result);
	if (rc != 0) {
		cli_error_capture(&run->err, run->s, rc);
		cli_error_report(&run->err, "sending failed", NULL);
	}
	ex = cli_exit_for_send(run->result, &run->err);
	/* The outcome is known: QUIT cannot change it (security-cases.md L8). */
	cli_quit(run->s);
	return ex;
}

/* ---------------------------------------------------------------- text */

static void print_recipient(const smtpc_rcpt_result *r, const struct cli_error *err)
{
	const char *label;

	switch (r->status) {
	case SMTPC_RCPT_ACCEPTED:
		label = "accepted";
		break;
	case SMTPC_RCPT_REFUSED:
		label = "refused";
		break;
	case SMTPC_RCPT_FAILED:
		label = "failed";
		break;
	case SMTPC_RCPT_UNKNOWN:
		fputs("unknown ", stdout);
		cli_put_str(stdout, r->address);
		fputs(": outcome unknown (connection lost after the end of data)\n", stdout);
		return;
	case SMTPC_RCPT_NOT_TRIED:
	default:
		fputs("not-tried ", stdout);
		cli_put_str(stdout, r->address);
		putc('\n', stdout);
		return;
	}
	printf("%s ", label);
	cli_put_str(stdout, r->address);
	fputs(": ", stdout);
	if (r->reply.code != 0)
		cli_put_reply(stdout, r->reply.code, r->reply.enhanced, r->reply.text,
		              r->reply.text_len);
	else /* no reply: the connection failed */
		cli_put_str(stdout, cli_error_message(err));
	putc('\n', stdout);
}

static void print_text(const struct send_run *run)
{
	size_t i;

	for (i = 0; run->result && i < run->result->nrecipients; i++)
		print_recipient(&run->result->recipients[i], &run->err);
}

/* ---------------------------------------------------------------- JSON */

static const char *stage_of(smtpc_rcpt_status status)
{
	switch (status) {
	case SMTPC_RCPT_REFUSED:
		return "rcpt";
	case SMTPC_RCPT_FAILED:
		return "data";
	case SMTPC_RCPT_UNKNOWN:
		return "unknown";
	case SMTPC_RCPT_NOT_TRIED:
	default:
		return "not-tried";
	}
}

/* Only a refusal has a reply that explains it; not-tried and unknown have none. */
static const smtpc_reply *explaining_reply(const smtpc_rcpt_result *r)
{
	if (r->status == SMTPC_RCPT_REFUSED || r->status == SMTPC_RCPT_FAILED)
		return &r->reply;
	return NULL;
}

/* {"address":..,"stage":..,"code":..,"enhanced":..,"text":..}; null fields without a reply. */
static void json_refused(FILE *f, const char *address, const char *stage, const smtpc_reply *r)
{
	putc('{', f);
	json_key(f, "address");
	json_cstring(f, address);
	putc(',', f);
	json_key(f, "stage");
	json_cstring(f, stage);
	if (r == NULL || r->code == 0) {
		fputs(",\"code\":null,\"enhanced\":null,\"text\":null}", f);
		return;
	}
	fprintf(f, ",\"code\":%d,", r->code);
	json_key(f, "enhanced");
	json_string(f, r->enhanced, strnlen(r->enhanced, sizeof(r->enhanced)));
	putc(',', f);
	json_key(f, "text");
	json_string(f, r->text ? r->text : "", r->text ? r->text_len : 0);
	putc('}', f);
}

static void json_accepted_list(FILE *f, const smtpc_send_result *r)
{
	const char *sep = "";
	size_t i;

	putc('[', f);
	for (i = 0; r && i < r->nrecipients; i++) {
		if (r->recipients[i].status != SMTPC_RCPT_ACCEPTED)
			continue;
		fputs(sep, f);
		json_cstring(f, r->recipients[i].address);
		sep = ",";
	}
	putc(']', f);
}

static void json_refused_list(FILE *f, const struct send_run *run)
{
	const smtpc_send_result *r = run->result;
	const char *sep = "";
	size_t i;

	putc('[', f);
	for (i = 0; r && i < r->nrecipients; i++) {
		const smtpc_rcpt_result *rr = &r->recipients[i];

		if (rr->status == SMTPC_RCPT_ACCEPTED)
			continue;
		fputs(sep, f);
		json_refused(f, rr->address, stage_of(rr->status), explaining_reply(rr));
		sep = ",";
	}
	/* Without a result no recipient was tried. */
	for (i = 0; r == NULL && i < run->o->nto; i++) {
		fputs(sep, f);
		json_refused(f, run->o->to[i], "not-tried", NULL);
		sep = ",";
	}
	putc(']', f);
}

static void json_reply_or_null(FILE *f, const smtpc_send_result *r, int final)
{
	const smtpc_reply *reply;

	if (r == NULL) {
		fputs("null", f);
		return;
	}
	reply = final ? &r->final_reply : &r->mail_reply;
	if (reply->code == 0)
		fputs("null", f);
	else
		json_reply(f, reply->code, reply->enhanced, reply->text, reply->text_len);
}

static void print_json(const struct send_run *run)
{
	FILE *f = stdout;

	putc('{', f);
	json_key(f, "server");
	json_cstring(f, run->o->server);
	putc(',', f);
	json_key(f, "accepted");
	json_accepted_list(f, run->result);
	putc(',', f);
	json_key(f, "refused");
	json_refused_list(f, run);
	putc(',', f);
	json_key(f, "mail");
	json_reply_or_null(f, run->result, 0);
	putc(',', f);
	json_key(f, "final");
	json_reply_or_null(f, run->result, 1);
	putc(',', f);
	json_key(f, "tls");
	cli_tls_json(f, &run->tls);
	putc(',', f);
	json_key(f, "auth");
	cli_auth_json(f, &run->auth);
	putc(',', f);
	json_key(f, "error");
	cli_error_json(f, &run->err);
	fprintf(f, ",\"exit\":%d}\n", run->exit);
}

/* ---------------------------------------------------------------- command */

int cli_send(const struct cli_options *o)
{
	struct send_run run;
	int ex = 0;

	memset(&run, 0, sizeof(run));
	run.o = o;
	/* No password source: say so before waiting for a message on standard input. */
	if (cli_needs_password(o))
		ex = cli_password_check(o);
	if (ex == 0)
		ex = read_input(&run);
	if (ex == 0 && cli_wants_auth(o))
		cli_secret_no_core();
	if (ex == 0 && cli_needs_password(o))
		ex = cli_password_get(o, &run.password);
	if (ex == 0)
		ex = cli_session_open(o, &run.s);
	if (ex == 0) {
		run.exit = transact(&run);
		if (o->json)
			print_json(&run);
		else
			print_text(&run);
		ex = run.exit;
	}
	if (run.result)
		smtpc_send_result_free(run.result);
	cli_error_free(&run.err);
	cli_secret_free(run.password);
	smtpc_free(run.s);
	free(run.msg);
	return ex;
}
