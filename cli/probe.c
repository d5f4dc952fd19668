/*
 * probe.c - smtpc probe: connect, EHLO (LHLO in LMTP), STARTTLS per the
 * policy (and EHLO again), authenticate when credentials are given, report
 * the greeting, the extensions in the order advertised before and after
 * TLS, the TLS state and the AUTH outcome, QUIT.
 *
 * STARTTLS is run here step by step (not by smtpc_ehlo_or_helo_if_needed())
 * because the extensions offered before TLS are part of the report, and
 * the session forgets them when TLS starts (RFC 3207 4.2).
 */
#include "commands.h"

#include "auth.h"
#include "common.h"
#include "exitcodes.h"
#include "json.h"
#include "secret.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* A copy of the extensions a session knows (they live only until the next EHLO). */
struct cli_caps {
	size_t n;
	char **keyword;
	char **params; /* "" when none */
};

struct probe_run {
	const struct cli_options *o;
	smtpc *s;
	struct cli_reply greeting;
	struct cli_reply ehlo;    /* the first EHLO (LHLO) */
	struct cli_caps caps;     /* the extensions learned in plaintext (or over smtps://) */
	struct cli_caps caps_tls; /* after STARTTLS, when it ran */
	int did_starttls;         /* caps_tls is valid */
	const char *no_tls;       /* why STARTTLS did not run (opportunistic), or NULL */
	struct cli_tls tls;
	struct cli_auth auth;
	char *password;
	struct cli_error err; /* kind SMTPC_OK when every step succeeded */
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

/* ---------------------------------------------------------------- extensions */

static void caps_free(struct cli_caps *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->keyword[i]);
		free(c->params[i]);
	}
	free(c->keyword);
	free(c->params);
	memset(c, 0, sizeof(*c));
}

/* Copies the extensions of the session (none unless the last EHLO was answered 250). */
static int caps_copy(struct cli_caps *c, const smtpc *s)
{
	size_t i, n = smtpc_does_esmtp(s) ? smtpc_extn_count(s) : 0;

	caps_free(c);
	if (n == 0)
		return 0;
	c->keyword = calloc(n, sizeof(*c->keyword));
	c->params = calloc(n, sizeof(*c->params));
	if (c->keyword == NULL || c->params == NULL)
		return -1;
	c->n = n;
	for (i = 0; i < n; i++) {
		const char *keyword = NULL, *params = NULL;

		if (smtpc_extn_at(s, i, &keyword, &params) != 0 || keyword == NULL)
			keyword = "";
		c->keyword[i] = strdup(keyword);
		c->params[i] = strdup(params ? params : "");
		if (c->keyword[i] == NULL || c->params[i] == NULL)
			return -1;
	}
	return 0;
}

static void caps_print(FILE *f, const struct cli_caps *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (c->keyword[i][0] == '\0')
			continue;
		cli_put_str(f, c->keyword[i]);
		if (c->params[i][0]) {
			putc(' ', f);
			cli_put_str(f, c->params[i]);
		}
		putc('\n', f);
	}
}

static void caps_json(FILE *f, const struct cli_caps *c)
{
	const char *sep = "";
	size_t i;

	putc('[', f);
	for (i = 0; i < c->n; i++) {
		if (c->keyword[i][0] == '\0')
			continue;
		fputs(sep, f);
		putc('{', f);
		json_key(f, "keyword");
		json_cstring(f, c->keyword[i]);
		putc(',', f);
		json_key(f, "params");
		json_cstring(f, c->params[i]);
		putc('}', f);
		sep = ",";
	}
	putc(']', f);
}

/* ---------------------------------------------------------------- steps */

/* Connects and greets; the replies and extensions are copied into run. */
static int greet(struct probe_run *run)
{
	smtpc_reply reply;
	int rc;

	memset(&reply, 0, sizeof(reply));
	rc = cli_connect(run->s, run->o, &reply, &run->err);
	if (cli_reply_copy(&run->greeting, &reply) != 0)
		return out_of_memory(run);
	if (rc != 0)
		return rc;
	cli_tls_capture(run->s, &run->tls); /* smtps:// */
	memset(&reply, 0, sizeof(reply));
	rc = smtpc_ehlo(run->s, NULL, &reply);
	if (rc != 0) {
		cli_error_capture(&run->err, run->s, rc);
		cli_error_report(&run->err, hello_verb(run), "failed");
		return cli_exit_for_error(&run->err);
	}
	if (cli_reply_copy(&run->ehlo, &reply) != 0 || caps_copy(&run->caps, run->s) != 0)
		return out_of_memory(run);
	if (reply.code == 250)
		return EX_OK;
	cli_error_from_reply(
	    &run->err, SMTPC_EHELO,
	    run->o->url.proto == SMTPC_PROTO_LMTP ? "LHLO refused" : "EHLO refused", &reply);
	cli_error_report(&run->err, "probe failed", NULL);
	return cli_exit_for_error(&run->err);
}

/* STARTTLS refused or not offered with --starttls required: fail closed. */
static int tls_required(struct probe_run *run, const char *why, const struct cli_error *cause)
{
	smtpc_reply r; /* the refusal (454 is temporary), when there was one */

	memset(&r, 0, sizeof(r));
	if (cause != NULL) {
		r.code = cause->code;
		memcpy(r.enhanced, cause->enhanced, sizeof(r.enhanced));
		r.text = cause->text;
		r.text_len = cause->text_len;
	}
	cli_error_free(&run->err);
	cli_error_from_reply(&run->err, SMTPC_ETLS, why, cause ? &r : NULL);
	run->err.command = strdup("STARTTLS");
	cli_error_report(&run->err, "cannot secure the connection to", run->o->server);
	return cli_exit_for_error(&run->err);
}

/* STARTTLS per the policy, by hand: the extensions before TLS are kept. */
static int starttls(struct probe_run *run)
{
	smtpc_starttls_policy policy = run->o->starttls;
	struct cli_error cause;
	smtpc_reply reply;
	int rc, ex;

	if (policy == SMTPC_STARTTLS_NEVER || smtpc_is_tls(run->s, NULL))
		return EX_OK;
	if (!smtpc_has_extn(run->s, "STARTTLS")) {
		if (policy == SMTPC_STARTTLS_REQUIRED)
			return tls_required(
			    run, "STARTTLS is required: the server does not offer STARTTLS", NULL);
		run->no_tls = "none (the server does not offer STARTTLS)";
		return EX_OK;
	}
	memset(&reply, 0, sizeof(reply));
	rc = smtpc_starttls(run->s, &reply);
	cli_tls_capture(run->s, &run->tls);
	if (rc == 0) {
		run->did_starttls = 1;
		return caps_copy(&run->caps_tls, run->s) != 0 ? out_of_memory(run) : EX_OK;
	}
	cli_error_capture(&cause, run->s, rc);
	if (rc == SMTPC_ERESPONSE && policy == SMTPC_STARTTLS_REQUIRED) {
		ex = tls_required(run, "STARTTLS is required: the server refused it", &cause);
		cli_error_free(&cause);
		return ex;
	}
	if (rc == SMTPC_ERESPONSE && smtpc_is_connected(run->s)) {
		cli_error_report(&cause, "warning: continuing without TLS", NULL);
		cli_error_free(&cause);
		run->no_tls = "none (STARTTLS refused)";
		return EX_OK;
	}
	cli_error_free(&run->err);
	run->err = cause;
	cli_error_report(&run->err, "cannot secure the connection to", run->o->server);
	cli_tls_hint(&run->err);
	return cli_exit_for_error(&run->err);
}

static int probe(struct probe_run *run)
{
	int ex = greet(run);

	if (ex == 0)
		ex = starttls(run);
	if (ex != 0 || !cli_wants_auth(run->o))
		return ex;
	ex = cli_authenticate(run->s, run->o, run->password, &run->auth, &run->err);
	cli_secret_free(run->password);
	run->password = NULL;
	return ex;
}

/* ---------------------------------------------------------------- reports */

static void print_text(const struct probe_run *run)
{
	const struct cli_options *o = run->o;

	if (run->greeting.code != 0) {
		fputs("greeting: ", stdout);
		cli_put_reply(stdout, run->greeting.code, run->greeting.enhanced,
		              run->greeting.text, run->greeting.text_len);
		putc('\n', stdout);
	}
	if (run->tls.on && !run->did_starttls)
		cli_tls_print(stdout, &run->tls, o); /* smtps:// */
	caps_print(stdout, &run->caps);
	if (run->did_starttls) {
		cli_tls_print(stdout, &run->tls, o);
		fputs("after TLS:\n", stdout);
		caps_print(stdout, &run->caps_tls);
	} else if (run->no_tls) {
		printf("tls: %s\n", run->no_tls);
	}
	if (run->auth.tried) {
		fputs("auth: ", stdout);
		cli_put_str(stdout, run->auth.mechanism[0] ? run->auth.mechanism : "-");
		fputs(run->auth.ok ? " ok\n" : " failed\n", stdout);
	}
}

static void print_json(const struct probe_run *run)
{
	FILE *f = stdout;

	putc('{', f);
	json_key(f, "server");
	json_cstring(f, run->o->server);
	putc(',', f);
	json_key(f, "greeting");
	cli_reply_json(f, &run->greeting);
	putc(',', f);
	json_key(f, "ehlo");
	cli_reply_json(f, &run->ehlo);
	fprintf(f, ",\"esmtp\":%s,", run->ehlo.code == 250 ? "true" : "false");
	json_key(f, "extensions");
	caps_json(f, run->did_starttls ? &run->caps_tls : &run->caps);
	putc(',', f);
	json_key(f, "extensions_before_tls");
	if (run->did_starttls)
		caps_json(f, &run->caps);
	else
		fputs("null", f);
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

int cli_probe(const struct cli_options *o)
{
	struct probe_run run;
	int ex = 0;

	memset(&run, 0, sizeof(run));
	run.o = o;
	if (cli_wants_auth(o))
		cli_secret_no_core();
	if (cli_needs_password(o))
		ex = cli_password_get(o, &run.password);
	if (ex == 0)
		ex = cli_session_open(o, &run.s);
	if (ex != 0) {
		cli_secret_free(run.password);
		return ex;
	}
	run.exit = probe(&run);
	if (o->json)
		print_json(&run);
	else
		print_text(&run);
	cli_quit(run.s);
	cli_reply_free(&run.greeting);
	cli_reply_free(&run.ehlo);
	caps_free(&run.caps);
	caps_free(&run.caps_tls);
	cli_error_free(&run.err);
	cli_secret_free(run.password);
	smtpc_free(run.s);
	return run.exit;
}
