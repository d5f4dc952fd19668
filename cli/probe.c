/*
 * probe.c - smtpc probe: connect, EHLO (LHLO in LMTP), report the greeting
 * and the extensions in the order advertised, QUIT.
 */
#include "commands.h"

#include "common.h"
#include "exitcodes.h"
#include "json.h"
#include "text.h"

#include <string.h>

struct probe_run {
	const struct cli_options *o;
	smtpc *s;
	struct cli_reply greeting;
	struct cli_reply ehlo;
	struct cli_error err; /* kind SMTPC_OK when EHLO was answered 250 */
	int exit;
};

static const char *hello_verb(const struct probe_run *run)
{
	return run->o->url.proto == SMTPC_PROTO_LMTP ? "LHLO" : "EHLO";
}

static int out_of_memory(struct probe_run *run)
{
	cli_error_free(&run->err);
	cli_error_from_reply(&run->err, SMTPC_ENOMEM, "out of memory", NULL);
	fputs("smtpc: out of memory\n", stderr);
	return EX_OSERR;
}

/* Connects and greets; the replies are copied into run. Returns the exit status. */
static int greet(struct probe_run *run)
{
	smtpc_reply reply;
	int rc;

	memset(&reply, 0, sizeof(reply));
	rc = cli_connect(run->s, run->o, &reply, &run->err);
	if (cli_reply_copy(&run->greeting, &reply) != 0)
		return out_of_memory(run);
	if (rc != 0)
		return cli_exit_for_error(&run->err);
	memset(&reply, 0, sizeof(reply));
	rc = smtpc_ehlo(run->s, NULL, &reply);
	if (rc != 0) {
		cli_error_capture(&run->err, run->s, rc);
		cli_error_report(&run->err, hello_verb(run), "failed");
		return cli_exit_for_error(&run->err);
	}
	if (cli_reply_copy(&run->ehlo, &reply) != 0)
		return out_of_memory(run);
	if (reply.code == 250)
		return EX_OK;
	cli_error_from_reply(
	    &run->err, SMTPC_EHELO,
	    run->o->url.proto == SMTPC_PROTO_LMTP ? "LHLO refused" : "EHLO refused", &reply);
	cli_error_report(&run->err, "probe failed", NULL);
	return cli_exit_for_error(&run->err);
}

static int extension_at(const smtpc *s, size_t i, const char **keyword, const char **params)
{
	*keyword = NULL;
	*params = NULL;
	if (smtpc_extn_at(s, i, keyword, params) != 0 || *keyword == NULL)
		return -1;
	if (*params == NULL)
		*params = "";
	return 0;
}

static void print_text(const struct probe_run *run)
{
	const char *keyword, *params;
	size_t i, n = run->ehlo.code == 250 ? smtpc_extn_count(run->s) : 0;

	if (run->greeting.code != 0) {
		fputs("greeting: ", stdout);
		cli_put_reply(stdout, run->greeting.code, run->greeting.enhanced,
		              run->greeting.text, run->greeting.text_len);
		putc('\n', stdout);
	}
	for (i = 0; i < n; i++) {
		if (extension_at(run->s, i, &keyword, &params) != 0)
			continue;
		cli_put_str(stdout, keyword);
		if (*params) {
			putc(' ', stdout);
			cli_put_str(stdout, params);
		}
		putc('\n', stdout);
	}
}

static void json_extensions(FILE *f, const struct probe_run *run)
{
	const char *keyword, *params, *sep = "";
	size_t i, n = run->ehlo.code == 250 ? smtpc_extn_count(run->s) : 0;

	putc('[', f);
	for (i = 0; i < n; i++) {
		if (extension_at(run->s, i, &keyword, &params) != 0)
			continue;
		fputs(sep, f);
		putc('{', f);
		json_key(f, "keyword");
		json_cstring(f, keyword);
		putc(',', f);
		json_key(f, "params");
		json_cstring(f, params);
		putc('}', f);
		sep = ",";
	}
	putc(']', f);
}

static void print_json(const struct probe_run *run)
{
	FILE *f = stdout;
	int esmtp = run->ehlo.code == 250 && smtpc_does_esmtp(run->s);

	putc('{', f);
	json_key(f, "server");
	json_cstring(f, run->o->server);
	putc(',', f);
	json_key(f, "greeting");
	cli_reply_json(f, &run->greeting);
	putc(',', f);
	json_key(f, "ehlo");
	cli_reply_json(f, &run->ehlo);
	fprintf(f, ",\"esmtp\":%s,", esmtp ? "true" : "false");
	json_key(f, "extensions");
	json_extensions(f, run);
	putc(',', f);
	json_key(f, "error");
	cli_error_json(f, &run->err);
	fprintf(f, ",\"exit\":%d}\n", run->exit);
}

int cli_probe(const struct cli_options *o)
{
	struct probe_run run;
	int ex;

	memset(&run, 0, sizeof(run));
	run.o = o;
	ex = cli_session_open(o, &run.s);
	if (ex != 0)
		return ex;
	run.exit = greet(&run);
	/* The extensions live in the session until QUIT: print first. */
	if (o->json)
		print_json(&run);
	else
		print_text(&run);
	cli_quit(run.s);
	cli_reply_free(&run.greeting);
	cli_reply_free(&run.ehlo);
	cli_error_free(&run.err);
	smtpc_free(run.s);
	return run.exit;
}
