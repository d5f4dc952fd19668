/*
 * common.c - what the send and probe commands share.
 */
#include "common.h"

#include "exitcodes.h"
#include "json.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_reply_copy(struct cli_reply *dst, const smtpc_reply *r)
{
	size_t elen;

	memset(dst, 0, sizeof(*dst));
	if (r == NULL || r->code == 0)
		return 0;
	dst->code = r->code;
	elen = strnlen(r->enhanced, sizeof(dst->enhanced) - 1);
	memcpy(dst->enhanced, r->enhanced, elen);
	dst->enhanced[elen] = '\0';
	if (r->text == NULL)
		return 0;
	dst->text = malloc(r->text_len + 1);
	if (dst->text == NULL)
		return EX_OSERR;
	memcpy(dst->text, r->text, r->text_len);
	dst->text[r->text_len] = '\0';
	dst->text_len = r->text_len;
	return 0;
}

void cli_reply_free(struct cli_reply *r)
{
	free(r->text);
	memset(r, 0, sizeof(*r));
}

void cli_reply_json(FILE *f, const struct cli_reply *r)
{
	if (r->code == 0)
		fputs("null", f);
	else
		json_reply(f, r->code, r->enhanced, r->text, r->text_len);
}

/* A failed option setter: --helo is the only one the user can get wrong. */
static int setup_failed(smtpc *s, int rc, const char *what, const char *value)
{
	struct cli_error e;
	int ex;

	cli_error_capture(&e, s, rc);
	cli_error_report(&e, what, value);
	ex = rc == SMTPC_EINVAL ? EX_USAGE : cli_exit_for_error(&e);
	cli_error_free(&e);
	return ex;
}

/* A file or directory named by a TLS option must be readable: else EX_CONFIG. */
static int check_readable(const char *option, const char *path, int is_dir)
{
	int err = 0;

	if (is_dir) {
		DIR *d = opendir(path);

		if (d == NULL)
			err = errno;
		else
			closedir(d);
	} else {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

		if (fd < 0)
			err = errno;
		else
			close(fd);
	}
	if (err == 0)
		return 0;
	fprintf(stderr, "smtpc: cannot read %s '", option);
	cli_put_str(stderr, path);
	fprintf(stderr, "': %s\n", strerror(err));
	return EX_CONFIG;
}

static int check_tls_files(const struct cli_options *o)
{
	int ex = 0;

	if (o->ca_file && ex == 0)
		ex = check_readable("--ca-file", o->ca_file, 0);
	if (o->ca_dir && ex == 0)
		ex = check_readable("--ca-dir", o->ca_dir, 1);
	if (o->cert && ex == 0)
		ex = check_readable("--cert", o->cert, 0);
	if (o->key && ex == 0)
		ex = check_readable("--key", o->key, 0);
	return ex;
}

static int setup_tls(smtpc *s, const struct cli_options *o)
{
	int rc, ex = check_tls_files(o);

	if (ex != 0)
		return ex;
	if (o->url.implicit_tls && (rc = smtpc_set_implicit_tls(s, 1)) != 0)
		return setup_failed(s, rc, "cannot select implicit TLS", NULL);
	rc = smtpc_set_starttls(s, o->starttls);
	if (rc != 0)
		return setup_failed(s, rc, "cannot set the STARTTLS policy", NULL);
	if (o->insecure) {
		fputs("smtpc: warning: TLS certificate verification is disabled (--insecure)\n",
		      stderr);
		rc = smtpc_set_tls_verify(s, 0);
		if (rc != 0)
			return setup_failed(s, rc, "cannot turn verification off", NULL);
	}
	if (o->ca_file && (rc = smtpc_set_ca_file(s, o->ca_file)) != 0)
		return setup_failed(s, rc, "invalid --ca-file", o->ca_file);
	if (o->ca_dir && (rc = smtpc_set_ca_dir(s, o->ca_dir)) != 0)
		return setup_failed(s, rc, "invalid --ca-dir", o->ca_dir);
	if (o->cert && (rc = smtpc_set_client_cert(s, o->cert, o->key)) != 0)
		return setup_failed(s, rc, "invalid --cert or --key", o->cert);
	if (o->tls_name && (rc = smtpc_set_tls_name(s, o->tls_name)) != 0)
		return setup_failed(s, rc, "invalid --tls-name", o->tls_name);
	if (o->fingerprint && (rc = smtpc_set_tls_pin(s, o->fingerprint)) != 0)
		return setup_failed(s, rc, "invalid --fingerprint", o->fingerprint);
	/* Credentials in play: an opportunistic STARTTLS must verify, as --starttls required
	 * does (without them it encrypts even when the certificate does not verify). */
	if (cli_wants_auth(o) && (rc = smtpc_set_auth_expected(s, 1)) != 0)
		return setup_failed(s, rc, "cannot declare the credentials", NULL);
	if (o->allow_plaintext_auth && (rc = smtpc_set_auth_plaintext(s, 1)) != 0)
		return setup_failed(s, rc, "cannot allow plaintext AUTH", NULL);
	return 0;
}

static int setup(smtpc *s, const struct cli_options *o)
{
	int rc, ex;

	rc = smtpc_set_protocol(s, o->url.proto);
	if (rc != 0)
		return setup_failed(s, rc, "cannot select the protocol", NULL);
	rc = smtpc_set_timeout(s, o->timeout_ms);
	if (rc == 0 && o->timeout_final_ms > 0)
		rc = smtpc_set_phase_timeout(s, SMTPC_PHASE_FINAL, o->timeout_final_ms);
	if (rc != 0)
		return setup_failed(s, rc, "cannot set the timeout", NULL);
	if (o->helo) {
		rc = smtpc_set_local_hostname(s, o->helo);
		if (rc != 0)
			return setup_failed(s, rc, "invalid --helo", o->helo);
	}
	if (o->source_ip) {
		rc = smtpc_set_source_address(s, o->source_ip, 0);
		if (rc != 0)
			return setup_failed(s, rc, "invalid --source-ip", o->source_ip);
	}
	ex = setup_tls(s, o);
	if (ex != 0)
		return ex;
	if (o->debug)
		smtpc_set_debuglevel(s, 1, NULL, NULL);
	return 0;
}

int cli_session_open(const struct cli_options *o, smtpc **out)
{
	smtpc *s = smtpc_new();
	int ex;

	*out = NULL;
	if (s == NULL) {
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	ex = setup(s, o);
	if (ex != 0) {
		smtpc_free(s);
		return ex;
	}
	*out = s;
	return 0;
}

int cli_connect(smtpc *s, const struct cli_options *o, smtpc_reply *greeting, struct cli_error *e)
{
	int rc = smtpc_connect(s, o->url.host, o->url.port, greeting);

	if (rc == 0)
		return 0;
	cli_error_capture(e, s, rc);
	cli_error_report(e, "cannot connect to", o->server);
	cli_tls_hint(e);
	/* bind(): the --source-ip is not an address of this host. Retrying would not help
	 * (75): this is an unknown local address, as an unknown host name is (68). */
	if (o->source_ip != NULL && rc == SMTPC_ECONNECT &&
	    smtpc_last_error(s)->os_error == EADDRNOTAVAIL)
		return EX_NOHOST;
	return cli_exit_for_error(e);
}

int cli_greet(smtpc *s, const struct cli_options *o, struct cli_error *e)
{
	int rc = smtpc_ehlo_or_helo_if_needed(s);

	if (rc == 0)
		return 0;
	cli_error_capture(e, s, rc);
	cli_error_report(
	    e, rc == SMTPC_ETLS ? "cannot secure the connection to" : "greeting failed at",
	    o->server);
	cli_tls_hint(e);
	return cli_exit_for_error(e);
}

void cli_tls_capture(const smtpc *s, struct cli_tls *t)
{
	const char *info;
	int verified = 0;
	size_t len;

	if (!smtpc_is_tls(s, &verified))
		return;
	info = smtpc_tls_info(s);
	len = info ? strnlen(info, sizeof(t->info) - 1) : 0;
	memcpy(t->info, info ? info : "", len);
	t->info[len] = '\0';
	t->on = 1;
	t->verified = verified != 0;
}

void cli_tls_print(FILE *f, const struct cli_tls *t, const struct cli_options *o)
{
	fputs("tls: ", f);
	cli_put_str(f, t->info);
	fputs(t->verified ? ", verified" : ", NOT verified", f);
	if (o->fingerprint)
		fputs(", pinned", f);
	putc('\n', f);
}

void cli_tls_json(FILE *f, const struct cli_tls *t)
{
	const char *space;

	if (!t->on) {
		fputs("null", f);
		return;
	}
	space = strchr(t->info, ' ');
	fputs("{\"version\":", f);
	json_string(f, t->info, space ? (size_t)(space - t->info) : strlen(t->info));
	fputs(",\"cipher\":", f);
	json_cstring(f, space ? space + 1 : "");
	fprintf(f, ",\"verified\":%s}", t->verified ? "true" : "false");
}

void cli_tls_hint(const struct cli_error *e)
{
	if (e->kind != SMTPC_ETLS ||
	    strstr(cli_error_message(e), "certificate verification") == NULL)
		return;
	fputs("smtpc: hint: the server's certificate is not trusted here: name its CA with "
	      "--ca-file or --ca-dir, check the name (--tls-name), or pin it with --fingerprint "
	      "(--insecure turns verification off)\n",
	      stderr);
}

int cli_needs_password(const struct cli_options *o)
{
	if (!cli_wants_auth(o) || o->oauth_token_cmd != NULL)
		return 0;
	return o->auth_mech == NULL || cli_mech_uses_password(o->auth_mech);
}

void cli_quit(smtpc *s)
{
	struct cli_error e;
	int rc;

	if (!smtpc_is_connected(s))
		return;
	rc = smtpc_quit(s, NULL);
	if (rc == 0)
		return;
	cli_error_capture(&e, s, rc);
	cli_error_report(&e, "warning:", "QUIT failed");
	cli_error_free(&e);
}
