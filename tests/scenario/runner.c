/*
 * runner.c - scenario-runner FILE.case: starts the fake server of the case,
 * drives libsmtpc through its public API as the [client] section says, and
 * passes only when every expectation held and the server saw exactly the
 * bytes of its script. The format is described in README.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario.h"
#include "smtpc.h"

/* Client timeout when the case does not set one: a wrong library never hangs. */
#define SC_DEFAULT_TIMEOUT_MS 10000
#define SC_UNFILLED           (-999)

struct reply_copy {
	int valid; /* the call filled the reply */
	int code;
	char enhanced[16];
	sc_buf text;
	size_t nlines;
};

struct err_copy {
	int kind;
	int code;
	char enhanced[16];
	sc_buf command;
	sc_buf text;
	sc_buf message;
	int os_error;
};

struct run {
	const sc_case *c;
	smtpc *s;
	const char *host;
	int port;
	int verbose;
	int failed;

	const sc_cstep *last; /* the last step run (not an expect) */
	int have_rc;
	int rc;
	int rc_checked;
	struct reply_copy reply;
	struct err_copy err;
	int have_result_step; /* a sendmail ran */
	smtpc_send_result *res;
	size_t nto;
	int capture;  /* `set debug N` was used */
	sc_buf debug; /* lines of the debug transcript after `set debug N`, each ending in \n */

	/* auth: the token callback */
	const sc_tok *token; /* token=...: what the callback returns (NULL token: cancel) */
	int token_calls;
	/* auth_custom: the scripted mechanism */
	const sc_cstep *custom;    /* the step, for messages */
	const sc_tok *custom_ir;   /* ir=..., or NULL: no initial response */
	const sc_tok *custom_resp; /* the responses, in order */
	size_t ncustom_resp, custom_next;
	sc_buf *challenges; /* challenges the callback was given (decoded) */
	size_t nchallenges;
	int custom_calls;
};

static const struct {
	const char *name;
	int kind;
} kinds[] = {
    {"SMTPC_OK", SMTPC_OK},
    {"SMTPC_EINVAL", SMTPC_EINVAL},
    {"SMTPC_ENOMEM", SMTPC_ENOMEM},
    {"SMTPC_EIO", SMTPC_EIO},
    {"SMTPC_ETIMEOUT", SMTPC_ETIMEOUT},
    {"SMTPC_EPROTO", SMTPC_EPROTO},
    {"SMTPC_EDISCONNECTED", SMTPC_EDISCONNECTED},
    {"SMTPC_ERESPONSE", SMTPC_ERESPONSE},
    {"SMTPC_ESENDER", SMTPC_ESENDER},
    {"SMTPC_ERECIPIENTS", SMTPC_ERECIPIENTS},
    {"SMTPC_EDATA", SMTPC_EDATA},
    {"SMTPC_ECONNECT", SMTPC_ECONNECT},
    {"SMTPC_EHELO", SMTPC_EHELO},
    {"SMTPC_EAUTH", SMTPC_EAUTH},
    {"SMTPC_ENOTSUPPORTED", SMTPC_ENOTSUPPORTED},
    {"SMTPC_EUNKNOWN", SMTPC_EUNKNOWN},
    {"SMTPC_ESHUTDOWN", SMTPC_ESHUTDOWN},
    {"SMTPC_ETLS", SMTPC_ETLS},
    {"SMTPC_ERESOLVE", SMTPC_ERESOLVE},
};

static const char *const rcpt_status_names[] = {"not-tried", "refused", "accepted", "failed",
                                                "unknown"};

static const char *kind_name(int kind)
{
	static char other[32];

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	snprintf(other, sizeof(other), "%d", kind);
	return other;
}

/* ---------------------------------------------------------------- reporting */

static void cfail(struct run *r, const sc_cstep *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cfail(struct run *r, const sc_cstep *st, const char *fmt, ...)
{
	va_list ap;

	r->failed++;
	if (st)
		printf("client: %s:%d `%s`:\n    ", r->c->path, st->line, st->src);
	else
		printf("client: %s: ", r->c->path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void fail_bytes(struct run *r, const sc_cstep *st, const char *what, const char *exp,
                       size_t elen, const char *got, size_t glen)
{
	sc_buf m = {0};

	sc_buf_addf(&m, "%s:\n    expected: ", what);
	if (exp)
		sc_escape(&m, exp, elen);
	else
		sc_buf_add(&m, "none (NULL)", 11);
	sc_buf_add(&m, "\n    got:      ", 15);
	if (got)
		sc_escape(&m, got, glen);
	else
		sc_buf_add(&m, "none (NULL)", 11);
	cfail(r, st, "%s", m.p);
	sc_buf_free(&m);
}

/* ---------------------------------------------------------------- argument helpers */

static int parse_long(const sc_tok *t, long *out)
{
	char *end;
	long v;

	if (t->len == 0)
		return -1;
	errno = 0;
	v = strtol(t->s, &end, 10);
	if (errno || *end != '\0' || end != t->s + t->len)
		return -1;
	*out = v;
	return 0;
}

static int parse_kind(const sc_tok *t, int *out)
{
	long v;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(t->s, kinds[i].name) == 0 || strcmp(t->s, kinds[i].name + 6) == 0) {
			*out = kinds[i].kind;
			return 0;
		}
	}
	if (parse_long(t, &v) == 0) {
		*out = (int)v;
		return 0;
	}
	return -1;
}

/* An unquoted NULL is the null pointer. */
static const char *str_arg(const sc_tok *t)
{
	if (!t->quoted && strcmp(t->s, "NULL") == 0)
		return NULL;
	return t->s;
}

static int is_none(const sc_tok *t)
{
	return !t->quoted && strcmp(t->s, "none") == 0;
}

static int case_error(struct run *r, const sc_cstep *st, const char *msg)
{
	cfail(r, st, "case error: %s", msg);
	return -1;
}

static int want_long(struct run *r, const sc_cstep *st, const sc_tok *t, long *v)
{
	if (parse_long(t, v) == 0)
		return 0;
	return case_error(r, st, "a number was expected");
}

/* The bytes of a data argument: a [data NAME] section (unquoted) or the quoted bytes. */
static int data_arg(struct run *r, const sc_cstep *st, const sc_tok *t, const char **p, size_t *n)
{
	const sc_data *d;

	if (t->quoted) {
		*p = t->s;
		*n = t->len;
		return 0;
	}
	d = sc_case_data(r->c, t->s);
	if (!d)
		return case_error(r, st, "no such [data] section");
	*p = d->bytes;
	*n = d->len;
	return 0;
}

/* ---------------------------------------------------------------- results of a step */

static void copy_str(sc_buf *b, const char *p, size_t n)
{
	sc_buf_free(b);
	sc_buf_add(b, p ? p : "", p ? n : 0);
}

static void prepare_reply(smtpc_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->code = SC_UNFILLED;
}

/* Checks the contract of a reply filled by the library (text NUL-terminated ...). */
static int reply_sane(struct run *r, const sc_cstep *st, const smtpc_reply *rep, const char *what)
{
	if (!memchr(rep->enhanced, '\0', sizeof(rep->enhanced))) {
		cfail(r, st, "library: %s: enhanced[] is not NUL-terminated", what);
		return 0;
	}
	if (!rep->text && rep->text_len) {
		cfail(r, st, "library: %s: text is NULL but text_len is %zu", what, rep->text_len);
		return 0;
	}
	if (rep->text && rep->text[rep->text_len] != '\0') {
		cfail(r, st, "library: %s: text[text_len] is not NUL", what);
		return 0;
	}
	return 1;
}

static void take_reply(struct run *r, const sc_cstep *st, const smtpc_reply *rep)
{
	sc_buf_free(&r->reply.text);
	memset(&r->reply, 0, sizeof(r->reply));
	if (rep->code == SC_UNFILLED)
		return;
	if (!reply_sane(r, st, rep, "reply"))
		return;
	r->reply.valid = 1;
	r->reply.code = rep->code;
	memcpy(r->reply.enhanced, rep->enhanced, sizeof(r->reply.enhanced));
	copy_str(&r->reply.text, rep->text, rep->text_len);
	r->reply.nlines = rep->nlines;
}

static void take_error(struct run *r)
{
	const smtpc_error *e = smtpc_last_error(r->s);

	sc_buf_free(&r->err.command);
	sc_buf_free(&r->err.text);
	sc_buf_free(&r->err.message);
	memset(&r->err, 0, sizeof(r->err));
	if (!e) {
		r->err.kind = SC_UNFILLED;
		return;
	}
	r->err.kind = e->kind;
	r->err.code = e->code;
	memcpy(r->err.enhanced, e->enhanced, sizeof(r->err.enhanced));
	r->err.enhanced[sizeof(r->err.enhanced) - 1] = '\0';
	copy_str(&r->err.command, e->command, e->command ? strlen(e->command) : 0);
	copy_str(&r->err.text, e->text, e->text ? e->text_len : 0);
	copy_str(&r->err.message, e->message, e->message ? strlen(e->message) : 0);
	r->err.os_error = e->os_error;
}

/* Contract checks on every sendmail result. */
static void check_result(struct run *r, const sc_cstep *st, const char *const *to, size_t nto)
{
	const smtpc_send_result *res = r->res;
	size_t acc = 0;

	if (!res)
		return;
	if (res->nrecipients != nto) {
		cfail(r, st, "library: result has %zu recipients, %zu were given", res->nrecipients,
		      nto);
		return;
	}
	for (size_t i = 0; i < nto; i++) {
		const smtpc_rcpt_result *rr = &res->recipients[i];

		if (!rr->address || strcmp(rr->address, to[i]) != 0)
			fail_bytes(r, st, "library: result recipient address", to[i], strlen(to[i]),
			           rr->address, rr->address ? strlen(rr->address) : 0);
		if (rr->status == SMTPC_RCPT_ACCEPTED)
			acc++;
		reply_sane(r, st, &rr->reply, "recipient reply");
	}
	if (acc != res->naccepted)
		cfail(r, st, "library: naccepted is %zu but %zu recipients are accepted",
		      res->naccepted, acc);
	reply_sane(r, st, &res->mail_reply, "mail_reply");
	reply_sane(r, st, &res->data_reply, "data_reply");
	reply_sane(r, st, &res->final_reply, "final_reply");
}

/* ---------------------------------------------------------------- steps */

static int step_sendmail(struct run *r, const sc_cstep *st)
{
	const char *from = NULL;
	const char **to = NULL, **mopt = NULL, **ropt = NULL;
	size_t nto = 0, nmopt = 0, nropt = 0;
	const char *msg = NULL;
	size_t mlen = 0;
	int want_result = 1, null_opts = 0, ret = 0;
	smtpc_send_options opts = SMTPC_SEND_OPTIONS_INIT;
	char **split = NULL;
	size_t nsplit = 0;

	for (size_t i = 1; i < st->argc; i++) {
		const sc_tok *t = &st->argv[i];
		const char *key = t->s, *val;
		size_t klen;

		if (!t->eq_plain) {
			ret = case_error(r, st, "sendmail takes key=value arguments");
			goto out;
		}
		klen = t->eq_plain - 1;
		val = t->s + t->eq_plain;
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
		if (KEY("from")) {
			from = val;
		} else if (KEY("to")) {
			if (t->quoted) {
				to = sc_xrealloc(to, (nto + 1) * sizeof(*to));
				to[nto++] = val;
				continue;
			}
			/* unquoted: a comma-separated list */
			while (*val) {
				const char *comma = strchr(val, ',');
				size_t n = comma ? (size_t)(comma - val) : strlen(val);

				split = sc_xrealloc(split, (nsplit + 1) * sizeof(*split));
				split[nsplit] = sc_xstrndup(val, n);
				to = sc_xrealloc(to, (nto + 1) * sizeof(*to));
				to[nto++] = split[nsplit++];
				val += n + (comma ? 1 : 0);
			}
		} else if (KEY("data")) {
			sc_tok dt = *t;

			dt.s = (char *)val;
			dt.len = t->len - t->eq_plain;
			if (data_arg(r, st, &dt, &msg, &mlen) < 0) {
				ret = -1;
				goto out;
			}
		} else if (KEY("mail_opt")) {
			mopt = sc_xrealloc(mopt, (nmopt + 1) * sizeof(*mopt));
			mopt[nmopt++] = val;
		} else if (KEY("rcpt_opt")) {
			ropt = sc_xrealloc(ropt, (nropt + 1) * sizeof(*ropt));
			ropt[nropt++] = val;
		} else if (KEY("result")) {
			want_result = strcmp(val, "no") != 0;
		} else if (KEY("options")) {
			null_opts = strcmp(val, "NULL") == 0;
		} else {
			ret = case_error(r, st, "unknown sendmail argument");
			goto out;
		}
#undef KEY
	}
	if (!from || !msg) {
		ret = case_error(r, st, "sendmail needs from= and data=");
		goto out;
	}
	opts.mail_options = mopt;
	opts.nmail_options = nmopt;
	opts.rcpt_options = ropt;
	opts.nrcpt_options = nropt;
	smtpc_send_result_free(r->res);
	r->res = NULL;
	r->have_result_step = 1;
	r->rc = smtpc_sendmail(r->s, from, to, nto, msg, mlen, null_opts ? NULL : &opts,
	                       want_result ? &r->res : NULL);
	r->have_rc = 1;
	check_result(r, st, to, nto);
	/* the result keeps pointers into nothing of ours except what it copied */
out:
	for (size_t i = 0; i < nsplit; i++)
		free(split[i]);
	free(split);
	free(to);
	free(mopt);
	free(ropt);
	return ret;
}

static void debug_line(const char *line, size_t len, void *user)
{
	struct run *r = user;

	if (r->verbose) {
		printf("  lib: %.*s\n", (int)len, line);
		fflush(stdout);
	}
	if (r->capture) {
		if (strlen(line) != len)
			cfail(r, NULL, "library: a debug line has len %zu but strlen %zu", len,
			      strlen(line));
		sc_buf_add(&r->debug, line, len);
		sc_buf_addc(&r->debug, '\n');
	}
}

/* ---------------------------------------------------------------- AUTH callbacks */

static int token_cb(char **token, void *user)
{
	struct run *r = user;

	r->token_calls++;
	if (!r->token ||
	    (!r->token->quoted && strcmp(r->token->s + r->token->eq_plain, "NULL") == 0))
		return -1;
	*token = sc_xstrndup(r->token->s + r->token->eq_plain, r->token->len - r->token->eq_plain);
	return 0;
}

/* One scripted answer: quoted bytes; unquoted `cancel` (-1) or `null` (0, no response). */
static int custom_answer(const sc_tok *t, size_t skip, unsigned char **resp, size_t *rlen)
{
	const char *v = t->s + skip;
	size_t n = t->len - skip;

	if (!t->quoted && strcmp(v, "cancel") == 0)
		return -1;
	if (!t->quoted && strcmp(v, "null") == 0) {
		*resp = NULL;
		*rlen = 0;
		return 0;
	}
	if (!t->quoted && strcmp(v, "none") == 0)
		return 1;
	*resp = sc_xmalloc(n ? n : 1);
	if (n)
		memcpy(*resp, v, n);
	*rlen = n;
	return 0;
}

static int custom_cb(const unsigned char *chal, size_t len, unsigned char **resp, size_t *rlen,
                     void *user)
{
	struct run *r = user;
	const sc_tok *t;
	int rc;

	r->custom_calls++;
	if (!chal) {
		/* the initial response: none unless ir= says */
		if (!r->custom_ir)
			return 1;
		return custom_answer(r->custom_ir, r->custom_ir->eq_plain, resp, rlen);
	}
	r->challenges = sc_xrealloc(r->challenges, (r->nchallenges + 1) * sizeof(*r->challenges));
	memset(&r->challenges[r->nchallenges], 0, sizeof(*r->challenges));
	sc_buf_add(&r->challenges[r->nchallenges++], chal, len);
	if (r->custom_next >= r->ncustom_resp) {
		cfail(r, r->custom,
		      "the mechanism callback got challenge %zu, the step scripts %zu "
		      "answers (add `cancel` to cancel)",
		      r->nchallenges, r->ncustom_resp);
		return -1;
	}
	t = &r->custom_resp[r->custom_next++];
	rc = custom_answer(t, 0, resp, rlen);
	return rc == 1 ? -1 : rc; /* `none` is for the initial response only */
}

static void free_challenges(struct run *r)
{
	for (size_t i = 0; i < r->nchallenges; i++)
		sc_buf_free(&r->challenges[i]);
	free(r->challenges);
	r->challenges = NULL;
	r->nchallenges = 0;
}

/* auth MECH [user=U] [password=P] [authzid=A] [token=T|token=NULL] [creds=NULL] */
static int step_auth(struct run *r, const sc_cstep *st)
{
	smtpc_auth_creds creds = SMTPC_AUTH_CREDS_INIT;
	int null_creds = 0;

	r->token = NULL;
	r->token_calls = 0;
	for (size_t i = 2; i < st->argc; i++) {
		const sc_tok *t = &st->argv[i];
		const char *key = t->s, *val = t->s + t->eq_plain;
		size_t klen = t->eq_plain ? t->eq_plain - 1 : 0;
		const char *v = (!t->quoted && strcmp(val, "NULL") == 0) ? NULL : val;

#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
		if (!t->eq_plain)
			return case_error(r, st,
			                  "auth takes key=value arguments after the mechanism");
		if (KEY("user")) {
			creds.user = v;
		} else if (KEY("password")) {
			creds.password = v;
		} else if (KEY("authzid")) {
			creds.authzid = v;
		} else if (KEY("token")) {
			r->token = t;
			creds.token_fn = token_cb;
			creds.token_user = r;
		} else if (KEY("creds")) {
			null_creds = v == NULL;
		} else {
			return case_error(r, st,
			                  "auth: user= password= authzid= token= creds=NULL");
		}
#undef KEY
	}
	r->rc = smtpc_auth(r->s, str_arg(&st->argv[1]), null_creds ? NULL : &creds);
	r->token = NULL;
	return 0;
}

/* auth_custom MECH [ir=BYTES|none|cancel|null] [ANSWER...] */
static int step_auth_custom(struct run *r, const sc_cstep *st)
{
	size_t i = 2;

	free_challenges(r);
	r->custom = st;
	r->custom_ir = NULL;
	r->custom_calls = 0;
	if (i < st->argc && st->argv[i].eq_plain == 3 && memcmp(st->argv[i].s, "ir=", 3) == 0)
		r->custom_ir = &st->argv[i++];
	r->custom_resp = st->argv + i;
	r->ncustom_resp = st->argc - i;
	r->custom_next = 0;
	r->rc = smtpc_auth_custom(r->s, str_arg(&st->argv[1]), custom_cb, r);
	r->custom = NULL;
	return 0;
}

/* A test certificate's path for the names the README lists; other values as given. */
static const char *tls_path(const sc_tok *t, const char *name, const char *what)
{
	if (!t->quoted && strcmp(t->s, name) == 0)
		return sc_tls_cert_path(what);
	return str_arg(t);
}

static int step_set(struct run *r, const sc_cstep *st)
{
	const char *what = st->argv[1].s;
	long v;

	if (strcmp(what, "local_hostname") == 0) {
		r->rc = smtpc_set_local_hostname(r->s, str_arg(&st->argv[2]));
	} else if (strcmp(what, "timeout") == 0) {
		if (want_long(r, st, &st->argv[2], &v) < 0)
			return -1;
		r->rc = smtpc_set_timeout(r->s, (int)v);
	} else if (strcmp(what, "protocol") == 0) {
		if (strcmp(st->argv[2].s, "smtp") == 0)
			r->rc = smtpc_set_protocol(r->s, SMTPC_PROTO_SMTP);
		else if (strcmp(st->argv[2].s, "lmtp") == 0)
			r->rc = smtpc_set_protocol(r->s, SMTPC_PROTO_LMTP);
		else
			return case_error(r, st, "set protocol smtp|lmtp");
	} else if (strcmp(what, "debug") == 0) {
		if (want_long(r, st, &st->argv[2], &v) < 0)
			return -1;
		/* a void call: the rc stays 0 */
		r->capture = 1;
		smtpc_set_debuglevel(r->s, (int)v, debug_line, r);
		r->rc = 0;
	} else if (strcmp(what, "implicit_tls") == 0 || strcmp(what, "tls_verify") == 0 ||
	           strcmp(what, "auth_plaintext") == 0 ||
	           strcmp(what, "auth_initial_response") == 0) {
		if (want_long(r, st, &st->argv[2], &v) < 0)
			return -1;
		r->rc = strcmp(what, "implicit_tls") == 0 ? smtpc_set_implicit_tls(r->s, (int)v)
		        : strcmp(what, "tls_verify") == 0 ? smtpc_set_tls_verify(r->s, (int)v)
		        : strcmp(what, "auth_plaintext") == 0
		            ? smtpc_set_auth_plaintext(r->s, (int)v)
		            : smtpc_set_auth_initial_response(r->s, (int)v);
	} else if (strcmp(what, "starttls") == 0) {
		const char *p = st->argv[2].s;

		if (strcmp(p, "never") == 0)
			r->rc = smtpc_set_starttls(r->s, SMTPC_STARTTLS_NEVER);
		else if (strcmp(p, "opportunistic") == 0)
			r->rc = smtpc_set_starttls(r->s, SMTPC_STARTTLS_OPPORTUNISTIC);
		else if (strcmp(p, "required") == 0)
			r->rc = smtpc_set_starttls(r->s, SMTPC_STARTTLS_REQUIRED);
		else if (parse_long(&st->argv[2], &v) == 0)
			r->rc = smtpc_set_starttls(r->s, (smtpc_starttls_policy)v);
		else
			return case_error(r, st,
			                  "set starttls never|opportunistic|required|NUMBER");
	} else if (strcmp(what, "tls_name") == 0) {
		r->rc = smtpc_set_tls_name(r->s, str_arg(&st->argv[2]));
	} else if (strcmp(what, "ca_file") == 0) {
		const sc_tok *t = &st->argv[2];
		const char *path = !t->quoted && strcmp(t->s, "OTHER-CA") == 0
		                       ? sc_tls_cert_path("other-ca")
		                       : tls_path(t, "CA", "ca");

		r->rc = smtpc_set_ca_file(r->s, path);
	} else if (strcmp(what, "ca_dir") == 0) {
		const sc_tok *t = &st->argv[2];

		r->rc = smtpc_set_ca_dir(
		    r->s, !t->quoted && strcmp(t->s, "CA-DIR") == 0 ? sc_tls_ca_dir() : str_arg(t));
	} else if (strcmp(what, "client_cert") == 0) {
		const sc_tok *t = &st->argv[2];

		if (!t->quoted && strcmp(t->s, "NULL") == 0)
			r->rc = smtpc_set_client_cert(r->s, NULL, NULL);
		else if (!t->quoted && strcmp(t->s, "client-bundle") == 0)
			r->rc = smtpc_set_client_cert(r->s, sc_tls_cert_path(t->s), NULL);
		else if (!t->quoted && sc_tls_known(t->s))
			r->rc = smtpc_set_client_cert(r->s, sc_tls_cert_path(t->s),
			                              sc_tls_key_path(t->s));
		else
			return case_error(r, st, "set client_cert CERT|client-bundle|NULL");
	} else if (strcmp(what, "tls_pin") == 0) {
		const sc_tok *t = &st->argv[2];
		const char *pin =
		    !t->quoted && sc_tls_known(t->s) ? sc_tls_fingerprint(t->s) : str_arg(t);

		r->rc = smtpc_set_tls_pin(r->s, pin);
	} else {
		return case_error(r, st,
		                  "set local_hostname|timeout|protocol|debug|implicit_tls|starttls|"
		                  "tls_verify|tls_name|tls_pin|ca_file|ca_dir|client_cert|"
		                  "auth_plaintext|auth_initial_response");
	}
	r->have_rc = 1;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Runs a step that talks to the library. Returns -1 on a case error. */
static int run_step(struct run *r, const sc_cstep *st)
{
	const char *cmd = st->argv[0].s;
	smtpc_reply rep;
	int with_reply = 1;
	const char *opts[64];
	size_t nopts = 0;

	prepare_reply(&rep);
	r->have_rc = 0;
	r->rc_checked = 0;
	r->last = st;

#define CMD(name) (strcmp(cmd, name) == 0)
	if (CMD("set")) {
		with_reply = 0;
		if (step_set(r, st) < 0)
			return -1;
	} else if (CMD("connect")) {
		const char *host = r->host;

		if (st->argc > 1) {
			if (st->argv[1].eq_plain != 5 || memcmp(st->argv[1].s, "host=", 5) != 0)
				return case_error(r, st, "connect [host=NAME]");
			host = st->argv[1].s + 5;
		}
		r->rc = smtpc_connect(r->s, host, r->port, &rep);
	} else if (CMD("starttls")) {
		r->rc = smtpc_starttls(r->s, &rep);
	} else if (CMD("login")) {
		with_reply = 0;
		r->rc = smtpc_login(r->s, str_arg(&st->argv[1]), str_arg(&st->argv[2]));
	} else if (CMD("auth")) {
		with_reply = 0;
		if (step_auth(r, st) < 0)
			return -1;
	} else if (CMD("auth_custom")) {
		with_reply = 0;
		if (step_auth_custom(r, st) < 0)
			return -1;
	} else if (CMD("ehlo")) {
		r->rc = smtpc_ehlo(r->s, st->argc > 1 ? str_arg(&st->argv[1]) : NULL, &rep);
	} else if (CMD("helo")) {
		r->rc = smtpc_helo(r->s, st->argc > 1 ? str_arg(&st->argv[1]) : NULL, &rep);
	} else if (CMD("ehlo_or_helo_if_needed")) {
		with_reply = 0;
		r->rc = smtpc_ehlo_or_helo_if_needed(r->s);
	} else if (CMD("mail") || CMD("rcpt")) {
		for (size_t i = 2; i < st->argc && nopts < 64; i++)
			opts[nopts++] = st->argv[i].s;
		if (CMD("mail"))
			r->rc = smtpc_mail(r->s, str_arg(&st->argv[1]), nopts ? opts : NULL, nopts,
			                   &rep);
		else
			r->rc = smtpc_rcpt(r->s, str_arg(&st->argv[1]), nopts ? opts : NULL, nopts,
			                   &rep);
	} else if (CMD("data")) {
		const char *p;
		size_t n;

		if (data_arg(r, st, &st->argv[1], &p, &n) < 0)
			return -1;
		r->rc = smtpc_data(r->s, p, n, &rep);
	} else if (CMD("rset")) {
		r->rc = smtpc_rset(r->s, &rep);
	} else if (CMD("noop")) {
		r->rc = smtpc_noop(r->s, &rep);
	} else if (CMD("vrfy")) {
		r->rc = smtpc_verify(r->s, str_arg(&st->argv[1]), &rep);
	} else if (CMD("expn")) {
		r->rc = smtpc_expn(r->s, str_arg(&st->argv[1]), &rep);
	} else if (CMD("help")) {
		r->rc = smtpc_help(r->s, st->argc > 1 ? str_arg(&st->argv[1]) : NULL, &rep);
	} else if (CMD("docmd")) {
		r->rc = smtpc_docmd(r->s, str_arg(&st->argv[1]),
		                    st->argc > 2 ? str_arg(&st->argv[2]) : NULL, &rep);
	} else if (CMD("putcmd")) {
		with_reply = 0;
		r->rc = smtpc_putcmd(r->s, str_arg(&st->argv[1]),
		                     st->argc > 2 ? str_arg(&st->argv[2]) : NULL);
	} else if (CMD("getreply")) {
		r->rc = smtpc_getreply(r->s, &rep);
	} else if (CMD("send")) {
		with_reply = 0;
		r->rc = smtpc_send(r->s, st->argv[1].s, st->argv[1].len);
	} else if (CMD("quit")) {
		r->rc = smtpc_quit(r->s, &rep);
	} else if (CMD("sendmail")) {
		with_reply = 0;
		if (step_sendmail(r, st) < 0)
			return -1;
	} else if (CMD("close")) {
		smtpc_close(r->s);
		take_error(r);
		return 0;
	} else if (CMD("sleep")) {
		long v;

		if (want_long(r, st, &st->argv[1], &v) < 0)
			return -1;
		sleep_ms(v);
		r->last = NULL;
		return 0;
	} else {
		return case_error(r, st, "unknown step");
	}
#undef CMD
	r->have_rc = 1;
	if (with_reply)
		take_reply(r, st, &rep);
	else
		take_reply(r, st, &(smtpc_reply){.code = SC_UNFILLED});
	take_error(r);
	if (r->err.kind != SC_UNFILLED && r->err.kind != (r->rc < 0 ? r->rc : 0))
		cfail(r, st, "library: returned %s but smtpc_last_error() says %s",
		      kind_name(r->rc), kind_name(r->err.kind));
	return 0;
}

/* ---------------------------------------------------------------- expectations */

static void check_int(struct run *r, const sc_cstep *st, const char *what, long exp, long got)
{
	if (exp != got)
		cfail(r, st, "%s: expected %ld, got %ld", what, exp, got);
}

/* exp NULL means "none" (a NULL pointer). */
static void check_bytes(struct run *r, const sc_cstep *st, const char *what, const char *exp,
                        size_t elen, const char *got, size_t glen)
{
	if (!exp && !got)
		return;
	if (exp && got && elen == glen && memcmp(exp, got, elen) == 0)
		return;
	fail_bytes(r, st, what, exp, elen, got, glen);
}

static void check_tok_str(struct run *r, const sc_cstep *st, const char *what, const sc_tok *t,
                          const char *got)
{
	if (is_none(t))
		check_bytes(r, st, what, NULL, 0, got, got ? strlen(got) : 0);
	else
		check_bytes(r, st, what, t->s, t->len, got, got ? strlen(got) : 0);
}

static int check_bool(struct run *r, const sc_cstep *st, const char *what, const sc_tok *t, int got)
{
	long v;

	if (want_long(r, st, t, &v) < 0)
		return -1;
	check_int(r, st, what, v, got ? 1 : 0);
	return 0;
}

/* CODE [ENHANCED [TEXT]] against a reply. */
static int check_reply(struct run *r, const sc_cstep *st, const char *what, const sc_tok *a,
                       size_t na, int code, const char *enh, const char *text, size_t tlen)
{
	long v;
	char label[64];

	if (want_long(r, st, &a[0], &v) < 0)
		return -1;
	snprintf(label, sizeof(label), "%s code", what);
	check_int(r, st, label, v, code);
	if (na > 1) {
		snprintf(label, sizeof(label), "%s enhanced code", what);
		check_bytes(r, st, label, a[1].s, a[1].len, enh, strlen(enh));
	}
	if (na > 2) {
		snprintf(label, sizeof(label), "%s text", what);
		check_bytes(r, st, label, a[2].s, a[2].len, text ? text : "", text ? tlen : 0);
	}
	return 0;
}

static int need_reply(struct run *r, const sc_cstep *st)
{
	if (r->reply.valid)
		return 0;
	cfail(r, st, "the last call returned no reply (it did not fill its smtpc_reply)");
	return -1;
}

static int need_result(struct run *r, const sc_cstep *st)
{
	if (r->res)
		return 0;
	cfail(r, st, "sendmail returned no result (*result is NULL)");
	return -1;
}

static int parse_status(const sc_tok *t)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(t->s, rcpt_status_names[i]) == 0)
			return i;
	return -1;
}

static const char *status_name(int st)
{
	return st >= 0 && st < 5 ? rcpt_status_names[st] : "(bad status)";
}

static int contains(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return 1;
	for (size_t i = 0; hay && i + nlen <= hlen; i++)
		if (memcmp(hay + i, needle, nlen) == 0)
			return 1;
	return 0;
}

static int expect_error(struct run *r, const sc_cstep *st, const sc_tok *a, size_t na)
{
	if (na % 2)
		return case_error(r, st, "expect error KEY VALUE ...");
	if (r->err.kind == SC_UNFILLED) {
		cfail(r, st, "smtpc_last_error() returned NULL");
		return 0;
	}
	for (size_t i = 0; i < na; i += 2) {
		const char *k = a[i].s;
		const sc_tok *v = &a[i + 1];
		long n;

		if (strcmp(k, "kind") == 0) {
			int kind;

			if (parse_kind(v, &kind) < 0)
				return case_error(r, st, "unknown error kind");
			if (kind != r->err.kind)
				cfail(r, st, "error kind: expected %s, got %s", kind_name(kind),
				      kind_name(r->err.kind));
		} else if (strcmp(k, "code") == 0) {
			if (want_long(r, st, v, &n) < 0)
				return -1;
			check_int(r, st, "error code", n, r->err.code);
		} else if (strcmp(k, "enhanced") == 0) {
			check_bytes(r, st, "error enhanced code", v->s, v->len, r->err.enhanced,
			            strlen(r->err.enhanced));
		} else if (strcmp(k, "command") == 0) {
			check_bytes(r, st, "error command", v->s, v->len, r->err.command.p,
			            r->err.command.len);
		} else if (strcmp(k, "text") == 0) {
			check_bytes(r, st, "error text", v->s, v->len, r->err.text.p,
			            r->err.text.len);
		} else if (strcmp(k, "os_error") == 0) {
			if (want_long(r, st, v, &n) < 0)
				return -1;
			check_int(r, st, "error os_error", n, r->err.os_error);
		} else if (strcmp(k, "message") == 0) {
			if (!contains(r->err.message.p, r->err.message.len, v->s, v->len))
				fail_bytes(r, st, "the error message does not contain", v->s,
				           v->len, r->err.message.p ? r->err.message.p : "",
				           r->err.message.len);
		} else if (strcmp(k, "no_message") == 0) {
			if (contains(r->err.message.p, r->err.message.len, v->s, v->len))
				fail_bytes(r, st, "the error message contains", v->s, v->len,
				           r->err.message.p, r->err.message.len);
		} else {
			return case_error(r, st,
			                  "expect error: kind code enhanced command text os_error "
			                  "message no_message");
		}
	}
	return 0;
}

static int run_expect(struct run *r, const sc_cstep *st)
{
	const char *what = st->argv[1].s;
	const sc_tok *a = st->argv + 2;
	size_t na = st->argc - 2;
	long v, w;

#define IS(name) (strcmp(what, name) == 0)
	if (IS("rc")) {
		int kind;

		if (!r->have_rc)
			return case_error(r, st, "expect rc: no step before it returned a code");
		if (parse_kind(&a[0], &kind) < 0)
			return case_error(r, st, "unknown error kind");
		r->rc_checked = 1;
		if (kind != r->rc)
			cfail(r, st, "rc: expected %s, got %s (%s)", kind_name(kind),
			      kind_name(r->rc), r->err.message.p ? r->err.message.p : "");
	} else if (IS("reply")) {
		if (need_reply(r, st) == 0)
			return check_reply(r, st, "reply", a, na, r->reply.code, r->reply.enhanced,
			                   r->reply.text.p, r->reply.text.len);
	} else if (IS("code")) {
		if (need_reply(r, st) == 0 && want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "reply code", v, r->reply.code);
	} else if (IS("enhanced")) {
		if (need_reply(r, st) == 0)
			check_bytes(r, st, "reply enhanced code", a[0].s, a[0].len,
			            r->reply.enhanced, strlen(r->reply.enhanced));
	} else if (IS("text")) {
		if (need_reply(r, st) == 0)
			check_bytes(r, st, "reply text", a[0].s, a[0].len, r->reply.text.p,
			            r->reply.text.len);
	} else if (IS("nlines")) {
		if (need_reply(r, st) == 0 && want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "reply nlines", v, (long)r->reply.nlines);
	} else if (IS("mail_reply") || IS("data_reply") || IS("final_reply")) {
		const smtpc_reply *rep;

		if (need_result(r, st) < 0)
			return 0;
		rep = IS("mail_reply")   ? &r->res->mail_reply
		      : IS("data_reply") ? &r->res->data_reply
		                         : &r->res->final_reply;
		return check_reply(r, st, what, a, na, rep->code, rep->enhanced, rep->text,
		                   rep->text_len);
	} else if (IS("rcpt") || IS("rcpt_code")) {
		const smtpc_rcpt_result *rr;
		int status;

		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		if (need_result(r, st) < 0)
			return 0;
		if (v < 0 || (size_t)v >= r->res->nrecipients) {
			cfail(r, st, "the result has no recipient %ld", v);
			return 0;
		}
		rr = &r->res->recipients[v];
		if (IS("rcpt_code")) {
			if (want_long(r, st, &a[1], &w) == 0)
				check_int(r, st, "rcpt_code", w, rr->rcpt_code);
			return 0;
		}
		status = parse_status(&a[1]);
		if (status < 0)
			return case_error(r, st,
			                  "status: not-tried, refused, accepted, failed, unknown");
		if ((int)rr->status != status)
			cfail(r, st, "recipient %ld status: expected %s, got %s", v,
			      status_name(status), status_name((int)rr->status));
		if (na > 2)
			return check_reply(r, st, "recipient reply", a + 2, na - 2, rr->reply.code,
			                   rr->reply.enhanced, rr->reply.text, rr->reply.text_len);
	} else if (IS("nrecipients") || IS("naccepted")) {
		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		if (need_result(r, st) == 0)
			check_int(
			    r, st, what, v,
			    (long)(IS("nrecipients") ? r->res->nrecipients : r->res->naccepted));
	} else if (IS("result")) {
		if (!r->have_result_step)
			return case_error(r, st, "expect result: no sendmail before");
		if (is_none(&a[0]) && r->res)
			cfail(r, st, "expected no result (*result NULL), got one");
		else if (!is_none(&a[0]) && !r->res)
			cfail(r, st, "expected a result, *result is NULL");
	} else if (IS("error")) {
		return expect_error(r, st, a, na);
	} else if (IS("connected")) {
		return check_bool(r, st, "connected", &a[0], smtpc_is_connected(r->s));
	} else if (IS("esmtp")) {
		return check_bool(r, st, "does_esmtp", &a[0], smtpc_does_esmtp(r->s));
	} else if (IS("has_extn")) {
		return check_bool(r, st, "has_extn", &a[1], smtpc_has_extn(r->s, a[0].s));
	} else if (IS("extn_param")) {
		check_tok_str(r, st, "extn_param", &a[1], smtpc_extn_param(r->s, a[0].s));
	} else if (IS("extn_count")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "extn_count", v, (long)smtpc_extn_count(r->s));
	} else if (IS("extn")) {
		const char *kw = NULL, *params = NULL;
		int rc;

		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		rc = smtpc_extn_at(r->s, (size_t)v, &kw, &params);
		if (rc != 0) {
			cfail(r, st, "smtpc_extn_at(%ld) returned %s", v, kind_name(rc));
			return 0;
		}
		check_tok_str(r, st, "extension keyword", &a[1], kw);
		check_tok_str(r, st, "extension parameters", &a[2], params);
	} else if (IS("size_limit")) {
		uint64_t lim = 0;
		int known = smtpc_size_limit(r->s, &lim);

		if (is_none(&a[0])) {
			if (known)
				cfail(r, st, "size_limit: expected none, got %llu",
				      (unsigned long long)lim);
		} else if (want_long(r, st, &a[0], &v) == 0) {
			if (!known)
				cfail(r, st, "size_limit: expected %ld, got none", v);
			else
				check_int(r, st, "size_limit", v, (long)lim);
		}
	} else if (IS("helo_resp")) {
		check_tok_str(r, st, "helo_resp", &a[0], smtpc_helo_resp(r->s));
	} else if (IS("ehlo_resp")) {
		check_tok_str(r, st, "ehlo_resp", &a[0], smtpc_ehlo_resp(r->s));
	} else if (IS("local_hostname")) {
		check_tok_str(r, st, "local_hostname", &a[0], smtpc_local_hostname(r->s));
	} else if (IS("lmtp_count")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "lmtp_reply_count", v, (long)smtpc_lmtp_reply_count(r->s));
	} else if (IS("lmtp")) {
		smtpc_reply rep;
		int rc;

		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		prepare_reply(&rep);
		rc = smtpc_lmtp_reply(r->s, (size_t)v, &rep);
		if (rc != 0) {
			cfail(r, st, "smtpc_lmtp_reply(%ld) returned %s", v, kind_name(rc));
			return 0;
		}
		if (reply_sane(r, st, &rep, "lmtp reply"))
			return check_reply(r, st, "lmtp reply", a + 1, na - 1, rep.code,
			                   rep.enhanced, rep.text, rep.text_len);
	} else if (IS("debug") || IS("no_debug")) {
		int found = contains(r->debug.p, r->debug.len, a[0].s, a[0].len);

		if (IS("debug") && !found)
			fail_bytes(r, st, "the debug transcript does not contain", a[0].s, a[0].len,
			           r->debug.p ? r->debug.p : "", r->debug.len);
		else if (IS("no_debug") && found)
			fail_bytes(r, st, "the debug transcript contains", a[0].s, a[0].len,
			           r->debug.p, r->debug.len);
	} else if (IS("debug_printable")) {
		for (size_t i = 0; i < r->debug.len; i++) {
			unsigned char ch = (unsigned char)r->debug.p[i];

			if ((ch < 0x20 && ch != '\n') || ch >= 0x7f) {
				fail_bytes(r, st,
				           "a byte that is not printable ASCII in the debug "
				           "transcript",
				           "", 0, r->debug.p, r->debug.len);
				break;
			}
		}
	} else if (IS("tls")) {
		int verified = 0, on = smtpc_is_tls(r->s, &verified);

		if (check_bool(r, st, "is_tls", &a[0], on) < 0)
			return -1;
		if (na == 3) {
			if (strcmp(a[1].s, "verified") != 0)
				return case_error(r, st, "expect tls 0|1 [verified 0|1]");
			return check_bool(r, st, "is_tls verified", &a[2], verified);
		}
		if (na != 1)
			return case_error(r, st, "expect tls 0|1 [verified 0|1]");
	} else if (IS("tls_info")) {
		const char *info = smtpc_tls_info(r->s);

		if (!info) {
			cfail(r, st, "smtpc_tls_info returned NULL");
		} else if (is_none(&a[0])) {
			check_bytes(r, st, "tls_info", "", 0, info, strlen(info));
		} else if (strncmp(info, a[0].s, a[0].len) != 0 || a[0].len == 0) {
			fail_bytes(r, st, "tls_info does not start with", a[0].s, a[0].len, info,
			           strlen(info));
		}
	} else if (IS("challenges")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "challenges given to the callback", v,
			          (long)r->nchallenges);
	} else if (IS("challenge")) {
		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		if (v < 0 || (size_t)v >= r->nchallenges)
			cfail(r, st, "the callback got %zu challenges, no challenge %ld",
			      r->nchallenges, v);
		else
			check_bytes(r, st, "challenge", a[1].s, a[1].len, r->challenges[v].p,
			            r->challenges[v].len);
	} else if (IS("callback_calls")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "mechanism callback calls", v, (long)r->custom_calls);
	} else if (IS("token_calls")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "token callback calls", v, (long)r->token_calls);
	} else if (IS("quoteaddr")) {
		char *out = smtpc_quoteaddr(a[0].s);

		check_bytes(r, st, "quoteaddr", a[1].s, a[1].len, out, out ? strlen(out) : 0);
		free(out);
	} else if (IS("quotedata")) {
		char *out = NULL;
		size_t olen = 0;
		int rc = smtpc_quotedata(a[0].s, a[0].len, &out, &olen);

		if (rc != 0)
			cfail(r, st, "smtpc_quotedata returned %s", kind_name(rc));
		else
			check_bytes(r, st, "quotedata", a[1].s, a[1].len, out, olen);
		free(out);
	} else {
		return case_error(r, st, "unknown expectation");
	}
#undef IS
	return 0;
}

/* ---------------------------------------------------------------- validation */

static const struct {
	const char *name;
	size_t min, max; /* arguments after the name */
} step_table[] =
    {
        {"set", 2, 2},    {"connect", 0, 1},    {"starttls", 0, 0},
        {"login", 2, 2},  {"auth", 1, 6},       {"auth_custom", 1, 40},
        {"ehlo", 0, 1},   {"helo", 0, 1},       {"ehlo_or_helo_if_needed", 0, 0},
        {"mail", 1, 64},  {"rcpt", 1, 64},      {"data", 1, 1},
        {"rset", 0, 0},   {"noop", 0, 0},       {"vrfy", 1, 1},
        {"expn", 1, 1},   {"help", 0, 1},       {"docmd", 1, 2},
        {"putcmd", 1, 2}, {"getreply", 0, 0},   {"send", 1, 1},
        {"quit", 0, 0},   {"sendmail", 1, 200}, {"close", 0, 0},
        {"sleep", 1, 1},  {"expect", 1, 40},
},
  expect_table[] = {
      {"rc", 1, 1},
      {"reply", 1, 3},
      {"code", 1, 1},
      {"enhanced", 1, 1},
      {"text", 1, 1},
      {"nlines", 1, 1},
      {"mail_reply", 1, 3},
      {"data_reply", 1, 3},
      {"final_reply", 1, 3},
      {"rcpt", 2, 5},
      {"rcpt_code", 2, 2},
      {"nrecipients", 1, 1},
      {"naccepted", 1, 1},
      {"result", 1, 1},
      {"error", 2, 12},
      {"connected", 1, 1},
      {"esmtp", 1, 1},
      {"has_extn", 2, 2},
      {"extn_param", 2, 2},
      {"extn_count", 1, 1},
      {"extn", 3, 3},
      {"size_limit", 1, 1},
      {"helo_resp", 1, 1},
      {"ehlo_resp", 1, 1},
      {"local_hostname", 1, 1},
      {"lmtp_count", 1, 1},
      {"lmtp", 2, 4},
      {"quoteaddr", 2, 2},
      {"quotedata", 2, 2},
      {"debug", 1, 1},
      {"no_debug", 1, 1},
      {"debug_printable", 0, 0},
      {"tls", 1, 3},
      {"tls_info", 1, 1},
      {"challenges", 1, 1},
      {"challenge", 2, 2},
      {"callback_calls", 1, 1},
      {"token_calls", 1, 1},
};

static int validate(const sc_case *c)
{
	int errors = 0;

	for (size_t i = 0; i < c->nclient; i++) {
		const sc_cstep *st = &c->client[i];
		const char *name = st->argv[0].s;
		size_t nargs = st->argc - 1, k;
		int found = 0;

		for (k = 0; k < sizeof(step_table) / sizeof(step_table[0]); k++) {
			if (strcmp(name, step_table[k].name) != 0)
				continue;
			found = 1;
			if (nargs < step_table[k].min || nargs > step_table[k].max) {
				fprintf(stderr, "%s:%d: %s takes %zu to %zu arguments\n", c->path,
				        st->line, name, step_table[k].min, step_table[k].max);
				errors++;
			}
		}
		if (!found) {
			fprintf(stderr, "%s:%d: unknown client step '%s'\n", c->path, st->line,
			        name);
			errors++;
			continue;
		}
		if (strcmp(name, "expect") != 0 || nargs == 0)
			continue;
		found = 0;
		for (k = 0; k < sizeof(expect_table) / sizeof(expect_table[0]); k++) {
			if (strcmp(st->argv[1].s, expect_table[k].name) != 0)
				continue;
			found = 1;
			if (nargs - 1 < expect_table[k].min || nargs - 1 > expect_table[k].max) {
				fprintf(stderr, "%s:%d: expect %s takes %zu to %zu arguments\n",
				        c->path, st->line, st->argv[1].s, expect_table[k].min,
				        expect_table[k].max);
				errors++;
			}
		}
		if (!found) {
			fprintf(stderr, "%s:%d: unknown expectation '%s'\n", c->path, st->line,
			        st->argv[1].s);
			errors++;
		}
	}
	return errors ? -1 : 0;
}

/* ---------------------------------------------------------------- main */

/* A step returned an error that no `expect rc` looked at. */
static void check_rc_seen(struct run *r)
{
	if (r->have_rc && !r->rc_checked && r->rc != 0)
		cfail(r, r->last, "returned %s (%s) but the case has no `expect rc` for it",
		      kind_name(r->rc), r->err.message.p ? r->err.message.p : "");
	r->have_rc = 0;
}

static void usage(void)
{
	fputs("usage: scenario-runner [-v] FILE.case\n"
	      "  -v (or SCENARIO_VERBOSE=1): library debug transcript and server transcript\n",
	      stderr);
}

int main(int argc, char **argv)
{
	struct run r;
	sc_case c;
	sc_server *srv;
	const char *path = NULL;
	int verbose = getenv("SCENARIO_VERBOSE") && *getenv("SCENARIO_VERBOSE") &&
	              strcmp(getenv("SCENARIO_VERBOSE"), "0") != 0;
	int srv_failures, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
		} else if (argv[i][0] == '-' || path) {
			usage();
			return 2;
		} else {
			path = argv[i];
		}
	}
	if (!path) {
		usage();
		return 2;
	}
	if (sc_case_load(&c, path) < 0 || validate(&c) < 0) {
		sc_case_free(&c);
		printf("FAIL: %s: the case file has errors (see above)\n", path);
		return 2;
	}

	if (c.uses_tls) {
		char err[300];

		if (sc_tls_init(err, sizeof(err)) < 0) {
			printf("FAIL: %s: cannot make the test certificates: %s\n", path, err);
			sc_case_free(&c);
			return 2;
		}
	}

	memset(&r, 0, sizeof(r));
	r.c = &c;
	r.verbose = verbose;
	printf("case: %s\ntitle: %s\n", path, c.title);
	fflush(stdout);

	srv = sc_server_start(&c, verbose);
	if (!srv) {
		sc_case_free(&c);
		printf("FAIL: %s: cannot start the fake server\n", path);
		return 2;
	}
	r.host = sc_server_host(srv);
	r.port = sc_server_port(srv);
	r.s = smtpc_new();
	if (!r.s) {
		cfail(&r, NULL, "smtpc_new() returned NULL");
	} else {
		if (verbose)
			smtpc_set_debuglevel(r.s, 1, debug_line, &r);
		/* `set debug N` captures the transcript for `expect debug` */
		if (c.lmtp && (rc = smtpc_set_protocol(r.s, SMTPC_PROTO_LMTP)) != 0)
			cfail(&r, NULL, "smtpc_set_protocol(LMTP) returned %s", kind_name(rc));
		if (!c.no_timeout &&
		    (rc = smtpc_set_timeout(r.s, c.timeout_ms ? c.timeout_ms
		                                              : SC_DEFAULT_TIMEOUT_MS)) != 0)
			cfail(&r, NULL, "smtpc_set_timeout returned %s", kind_name(rc));
	}

	/* A failed expectation does not stop the run (the library state is the same,
	 * and the server script goes on); a case error does. */
	for (size_t i = 0; i < c.nclient && r.s; i++) {
		const sc_cstep *st = &c.client[i];

		if (strcmp(st->argv[0].s, "expect") == 0) {
			if (run_expect(&r, st) < 0)
				break;
			continue;
		}
		check_rc_seen(&r);
		if (run_step(&r, st) < 0)
			break;
	}
	check_rc_seen(&r);

	smtpc_send_result_free(r.res);
	smtpc_free(r.s);
	sc_buf_free(&r.reply.text);
	sc_buf_free(&r.err.command);
	sc_buf_free(&r.err.text);
	sc_buf_free(&r.err.message);
	sc_buf_free(&r.debug);
	free_challenges(&r);

	srv_failures = sc_server_finish(srv, stdout, r.failed);
	sc_tls_free();
	if (r.failed || srv_failures) {
		printf("FAIL: %s (%s)\n", path, c.title);
		sc_case_free(&c);
		return 1;
	}
	printf("PASS: %s\n", path);
	sc_case_free(&c);
	return 0;
}
