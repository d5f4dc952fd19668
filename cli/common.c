/*
 * common.c - what the send and probe commands share.
 */
#include "common.h"

#include "exitcodes.h"
#include "json.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

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

static int setup(smtpc *s, const struct cli_options *o)
{
	int rc;

	rc = smtpc_set_protocol(s, o->url.proto);
	if (rc != 0)
		return setup_failed(s, rc, "cannot select the protocol", NULL);
	rc = smtpc_set_timeout(s, o->timeout_ms);
	if (rc != 0)
		return setup_failed(s, rc, "cannot set the timeout", NULL);
	if (o->helo) {
		rc = smtpc_set_local_hostname(s, o->helo);
		if (rc != 0)
			return setup_failed(s, rc, "invalid --helo", o->helo);
	}
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
	return -1;
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
