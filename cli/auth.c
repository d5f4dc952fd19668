/*
 * auth.c - AUTH for smtpc send and probe.
 *
 * The mechanism reported is the one that succeeded (smtpc_auth_mechanism());
 * after a failure, the one asked for with --auth (XOAUTH2 with
 * --oauth-token-cmd alone), or none when smtpc_login() chose: the error
 * message names the mechanism the server refused.
 */
#include "auth.h"

#include "exitcodes.h"
#include "json.h"
#include "secret.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

/* --oauth-token-cmd, run by the library at each authentication. */
struct token_source {
	const char *cmd;
	int failed; /* the exit status when the command failed, else 0 */
};

/* RFC 6750 b64token and what providers use: printable ASCII without space. */
static int token_ok(const char *t)
{
	for (; *t; t++) {
		if ((unsigned char)*t < 0x21 || (unsigned char)*t > 0x7e)
			return 0;
	}
	return 1;
}

static int run_token_cmd(char **token, void *user)
{
	struct token_source *src = user;
	char *line = NULL;
	int rc;

	*token = NULL;
	rc = cli_command_first_line(src->cmd, "--oauth-token-cmd", &line);
	if (rc != 0) {
		src->failed = rc;
		return -1;
	}
	if (!token_ok(line)) {
		cli_secret_free(line);
		fputs("smtpc: --oauth-token-cmd: the first line is not an access token (it holds "
		      "spaces, control characters or non-ASCII bytes)\n",
		      stderr);
		src->failed = EX_CONFIG;
		return -1;
	}
	*token = line; /* the library wipes and frees it */
	return 0;
}

static int run_auth(smtpc *s, const struct cli_options *o, const char *password,
                    struct token_source *src)
{
	smtpc_auth_creds creds = SMTPC_AUTH_CREDS_INIT;
	const char *mech = o->auth_mech;

	if (mech == NULL && o->oauth_token_cmd == NULL)
		return smtpc_login(s, o->user, password, NULL);
	if (mech == NULL)
		mech = "XOAUTH2";
	if (strcmp(mech, "EXTERNAL") == 0) {
		creds.authzid = o->user; /* the certificate is the identity */
	} else {
		creds.user = o->user;
		creds.password = password;
	}
	if (o->oauth_token_cmd != NULL) {
		creds.token_fn = run_token_cmd;
		creds.token_user = src;
	}
	return smtpc_auth(s, mech, &creds, NULL);
}

int cli_authenticate(smtpc *s, const struct cli_options *o, const char *password,
                     struct cli_auth *a, struct cli_error *e)
{
	struct token_source src = {o->oauth_token_cmd, 0};
	const char *mech;
	int rc, ex;

	memset(a, 0, sizeof(*a));
	a->tried = 1;
	rc = run_auth(s, o, password, &src);
	mech = rc == 0 ? smtpc_auth_mechanism(s) : o->auth_mech;
	if (rc != 0 && mech == NULL && o->oauth_token_cmd != NULL)
		mech = "XOAUTH2"; /* the default with a token (run_auth) */
	if (mech != NULL)
		snprintf(a->mechanism, sizeof(a->mechanism), "%s", mech);
	if (rc == 0) {
		a->ok = 1;
		return EX_OK;
	}
	cli_error_capture(e, s, rc);
	if (src.failed != 0) /* the command's own error is already on standard error */
		return src.failed;
	cli_error_report(e, "authentication failed", NULL);
	ex = cli_exit_for_error(e);
	if (rc == SMTPC_EINVAL) /* a user name the mechanism cannot carry */
		ex = EX_DATAERR;
	return ex;
}

void cli_auth_json(FILE *f, const struct cli_auth *a)
{
	if (!a->tried) {
		fputs("null", f);
		return;
	}
	putc('{', f);
	json_key(f, "mechanism");
	json_cstring(f, a->mechanism[0] ? a->mechanism : NULL);
	fprintf(f, ",\"ok\":%s}", a->ok ? "true" : "false");
}
