/*
 * auth.c - SMTP AUTH (RFC 4954): login(), auth() and a caller's mechanism.
 *
 * The exchange: "AUTH MECH [initial-response]", then while the server says
 * 334, decode its challenge, let the mechanism answer, send the answer.
 * The mechanisms themselves are sans-I/O step functions (sasl.c).
 * Rules: credentials only over verified TLS (or a Unix socket, or when the
 * caller allows plaintext); every AUTH line and answer is redacted in the
 * debug transcript; every copy of a secret is wiped; challenges are bounded
 * (one reply, SMTPC__AUTH_MAX_ROUNDS rounds); a bad challenge is cancelled
 * with "*" (RFC 4954 4). Labels: docs/RULES.md A1, T5, A4, R12.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "sasl.h"
#include "session.h"

#define SMTPC__AUTH_MAX_ROUNDS 8
/* RFC 4954 4: the longest AUTH command line that may carry an initial response. */
#define SMTPC__AUTH_LINE_MAX 512

static void wipe(void *p, size_t len)
{
	if (p != NULL)
		explicit_bzero(p, len);
}

static void wipe_free(void *p, size_t len)
{
	wipe(p, len);
	free(p);
}

/* A1/T5: no credentials without verified TLS unless allowed (a Unix socket is local). */
static int auth_allowed(smtpc *s, const char *mech)
{
	if ((s->tr.ssl != NULL && s->tr.verified) || s->is_unix || s->auth_plaintext)
		return 0;
	if (s->tr.ssl != NULL && s->tls.verify)
		return smtpc__err_set(s, SMTPC_ETLS, "AUTH", NULL,
		                      "refusing to send %s credentials: the opportunistic STARTTLS "
		                      "of this connection was not verified (call "
		                      "smtpc_set_auth_expected() before greeting)",
		                      mech);
	return smtpc__err_set(s, SMTPC_ETLS, "AUTH", NULL,
	                      "refusing to send %s credentials over a connection without verified "
	                      "TLS (smtpc_set_auth_plaintext() allows it)",
	                      mech);
}

/* Sends base64(data) as a line of its own (or "AUTH MECH b64"), redacted in the transcript. */
static int send_b64(smtpc *s, const char *prefix, const unsigned char *data, size_t len,
                    const char *shown)
{
	size_t plen = strlen(prefix), b64 = SMTPC__B64_LEN(len), total;
	char *line;
	int rc;

	if (len > SMTPC_MAX_REPLY_BYTES * 4)
		return smtpc__err_set(s, SMTPC_EINVAL, "AUTH", NULL, "response too long");
	total = plen + b64 + 3;
	line = malloc(total);
	if (line == NULL)
		return smtpc__err_set(s, SMTPC_ENOMEM, "AUTH", NULL, "out of memory");
	memcpy(line, prefix, plen);
	if (len == 0 && plen > 0) {
		line[plen] = '='; /* RFC 4954 4: an empty initial response */
		b64 = 1;
	} else {
		smtpc__b64_encode(data, len, line + plen);
	}
	memcpy(line + plen + b64, "\r\n", 2);
	rc = smtpc__send_secret(s, "AUTH", line, plen + b64 + 2, shown);
	wipe_free(line, total);
	return rc;
}

/* Cancels the exchange with "*" and reads the server's answer (normally 501). */
static void cancel(smtpc *s)
{
	smtpc_reply r = {0};
	smtpc__err_saved why = {0};

	smtpc__err_take(s, &why); /* the failure that made us cancel is the one reported */
	if (smtpc__send_line(s, "AUTH", "*\r\n", 3) == 0)
		smtpc__read_reply(s, "AUTH", 0, &r);
	smtpc__err_put(s, &why);
}

/*
 * The final reply to AUTH (235, or the refusal) is kept in the session for the
 * caller's reply out-parameter, as smtplib's login() and auth() return it.
 */
static void forget_final(smtpc *s)
{
	smtpc__free_reply(&s->kept);
	memset(&s->kept, 0, sizeof(s->kept));
}

static void keep_final(smtpc *s, const smtpc_reply *r)
{
	forget_final(s);
	if (smtpc__save_reply(&s->kept, r) != 0)
		s->kept.text_len = s->kept.nlines = 0; /* out of memory: the code, without text */
}

/* *reply: the kept final reply, or code 0 and "" when this call read none. */
static int give_final(smtpc *s, int rc, smtpc_reply *reply)
{
	if (reply != NULL)
		smtpc__view_reply(&s->kept, reply);
	return rc;
}

/* The two kinds of mechanism: built-in (sasl.c) or the caller's callback. */
typedef struct mechanism {
	const char *name;
	smtpc__sasl *sasl;
	smtpc_auth_fn fn;
	void *user;
} mechanism;

/* 1 and *out set: a response; 0: none; < 0: an error (recorded). */
static int initial_response(smtpc *s, mechanism *m, unsigned char **out, size_t *outlen)
{
	int rc;

	if (!s->auth_ir)
		return 0;
	if (m->sasl != NULL) {
		rc = smtpc__sasl_initial(m->sasl, out, outlen);
		if (rc < 0)
			return smtpc__err_set(s, rc, "AUTH", NULL, "out of memory");
		return rc;
	}
	rc = m->fn(NULL, 0, out, outlen, m->user);
	if (rc == 1)
		return 0;
	if (rc != 0 || *out == NULL)
		return smtpc__err_set(s, SMTPC_EAUTH, "AUTH", NULL,
		                      "the authentication callback cancelled");
	return 1;
}

/* r: the 334 that carried the challenge (for the error). */
static int answer(smtpc *s, mechanism *m, const smtpc_reply *r, const unsigned char *chal,
                  size_t len, unsigned char **out, size_t *outlen)
{
	int rc;

	if (m->sasl != NULL) {
		rc = smtpc__sasl_step(m->sasl, chal, len, out, outlen);
		if (rc == SMTPC_ENOMEM)
			return smtpc__err_set(s, rc, "AUTH", NULL, "out of memory");
		/* smtpc.h: a bad challenge (malformed, one round too many) is SMTPC_EPROTO. */
		if (rc == SMTPC_EPROTO)
			return smtpc__err_set(
			    s, rc, "AUTH", r,
			    "%s: the server's challenge is malformed, or one too many", m->name);
		if (rc != 0)
			return smtpc__err_set(
			    s, SMTPC_EAUTH, "AUTH", NULL, "%s: the server's challenge is wrong%s%s",
			    m->name, smtpc__sasl_error(m->sasl) ? ": " : "",
			    smtpc__sasl_error(m->sasl) ? smtpc__sasl_error(m->sasl) : "");
		return 0;
	}
	rc = m->fn(chal, len, out, outlen, m->user);
	if (rc != 0 || *out == NULL)
		return smtpc__err_set(s, SMTPC_EAUTH, "AUTH", NULL,
		                      "the authentication callback cancelled");
	return 0;
}

/* Strict base64 of a challenge (the reply text, without the enhanced code). */
static int decode_challenge(const smtpc_reply *r, unsigned char **out, size_t *outlen)
{
	const char *t = r->text;
	size_t len = r->text_len;

	while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
		len--;
	*out = malloc(len / 4 * 3 + 1);
	if (*out == NULL)
		return SMTPC_ENOMEM;
	*outlen = smtpc__b64_decode(t, len, *out);
	if (r->nlines != 1 || *outlen == (size_t)-1) {
		free(*out);
		*out = NULL;
		return SMTPC_EPROTO;
	}
	return 0;
}

/*
 * One AUTH exchange. *refused_mech is set when the server refused the
 * mechanism itself (504, 534, 538), so that login() may try the next one.
 */
static int exchange(smtpc *s, mechanism *m, int *refused_mech)
{
	unsigned char *resp = NULL, *chal = NULL, *held = NULL;
	size_t resplen = 0, challen = 0, heldlen = 0;
	char prefix[64 + 3], shown[96];
	smtpc_reply r = {0};
	int rc, rounds = 0;

	*refused_mech = 0;
	snprintf(s->auth_mech, sizeof(s->auth_mech), "%s", m->name);
	rc = initial_response(s, m, &resp, &resplen);
	if (rc < 0)
		return rc;
	if (rc == 1 &&
	    5 + strlen(m->name) + 1 + SMTPC__B64_LEN(resplen) + 2 > SMTPC__AUTH_LINE_MAX) {
		/* RFC 4954 4: too long for the AUTH line; it answers the empty 334 instead. */
		held = resp;
		heldlen = resplen;
		resp = NULL;
		rc = 0;
	}
	snprintf(prefix, sizeof(prefix), "AUTH %s%s", m->name, rc == 1 ? " " : "");
	snprintf(shown, sizeof(shown), "AUTH %s%s", m->name, rc == 1 ? " [redacted]" : "");
	if (rc == 1) {
		rc = send_b64(s, prefix, resp, resplen, shown);
		wipe_free(resp, resplen);
	} else {
		size_t n = strlen(prefix);

		memcpy(prefix + n, "\r\n", 3);
		rc = smtpc__send_line(s, "AUTH", prefix, n + 2);
	}
	if (rc != 0)
		goto out;
	rc = smtpc__read_reply(s, "AUTH", 0, &r);
	while (rc == 0 && r.code == 334) {
		if (++rounds > SMTPC__AUTH_MAX_ROUNDS) {
			smtpc__err_set(s, SMTPC_EPROTO, "AUTH", &r,
			               "%s: more than %d challenges: cancelled", m->name,
			               SMTPC__AUTH_MAX_ROUNDS);
			cancel(s);
			rc = SMTPC_EPROTO;
			goto out;
		}
		rc = decode_challenge(&r, &chal, &challen);
		if (rc != 0) {
			smtpc__err_set(s, rc, "AUTH", &r, "%s: %s: cancelled", m->name,
			               rc == SMTPC_ENOMEM ? "out of memory"
			                                  : "the challenge is not base64");
			cancel(s);
			goto out;
		}
		resp = NULL;
		resplen = 0;
		if (held != NULL && challen == 0) {
			resp = held; /* the initial response that did not fit on the AUTH line */
			resplen = heldlen;
			held = NULL;
			rc = 0;
		} else {
			rc = answer(s, m, &r, chal, challen, &resp, &resplen);
		}
		wipe_free(chal, challen);
		if (rc != 0) {
			cancel(s);
			/* A SCRAM server whose messages do not verify (RFC 5802 9) does not know
			 * the password: not the server we meant; nothing more goes to it. */
			if (m->sasl != NULL && rc == SMTPC_EAUTH &&
			    strncmp(m->name, "SCRAM-", 6) == 0)
				smtpc_close(s);
			goto out;
		}
		rc = send_b64(s, "", resp, resplen, "[redacted]");
		wipe_free(resp, resplen);
		if (rc == 0)
			rc = smtpc__read_reply(s, "AUTH", 0, &r);
	}
out:
	wipe_free(held, heldlen);
	if (rc == SMTPC_ESHUTDOWN)
		keep_final(s, &r); /* the 421, as every verb returns it */
	if (rc != 0)
		return rc;
	keep_final(s, &r);
	if (r.code != 235) {
		const char *why = m->sasl ? smtpc__sasl_error(m->sasl) : NULL;

		*refused_mech = r.code == 504 || r.code == 534 || r.code == 538;
		return smtpc__err_set(s, SMTPC_EAUTH, "AUTH", &r,
		                      "%s authentication refused: %d%s%s", m->name, r.code,
		                      why ? "; the server said: " : "", why ? why : "");
	}
	if (m->sasl != NULL && smtpc__sasl_finish(m->sasl) != 0) {
		/* The server said yes without proving it knows the password: not our server. */
		smtpc_close(s);
		return smtpc__err_set(s, SMTPC_EAUTH, "AUTH", &r,
		                      "%s: the server accepted without proving its identity "
		                      "(no valid server signature); connection closed",
		                      m->name);
	}
	return 0;
}

SMTPC_API const char *smtpc_auth_mechanism(const smtpc *s)
{
	return s->auth_mech[0] != '\0' ? s->auth_mech : NULL;
}

/* 1 when the server's AUTH list has this mechanism (a set of blank-separated names). */
static int offered(smtpc *s, const char *mech)
{
	const char *p = smtpc_extn_param(s, "AUTH");
	size_t n = strlen(mech);

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, " ");

		if (len == n && strncasecmp(p, mech, n) == 0)
			return 1;
		p += len;
		p += strspn(p, " ");
	}
	return 0;
}

/* Greets, requires AUTH (and the mechanism in the server's list), and TLS. */
static int prepare(smtpc *s, const char *mech, int need_listed)
{
	int rc;

	s->auth_running = 1; /* a STARTTLS of this greeting must verify (credentials in play) */
	rc = smtpc_ehlo_or_helo_if_needed(s);
	s->auth_running = 0;
	forget_final(s); /* a STARTTLS reply of that greeting is not this call's reply */

	if (rc != 0)
		return rc;
	if (smtpc_extn_param(s, "AUTH") == NULL)
		return smtpc__err_set(s, SMTPC_ENOTSUPPORTED, "AUTH", NULL,
		                      "SMTP AUTH extension not supported by the server");
	if (need_listed && !offered(s, mech))
		return smtpc__err_set(s, SMTPC_ENOTSUPPORTED, "AUTH", NULL,
		                      "the server does not offer %s", mech);
	return auth_allowed(s, mech);
}

/* Runs a built-in mechanism with these credentials. */
static int builtin(smtpc *s, int mech, const smtpc__sasl_creds *creds, int *refused_mech)
{
	mechanism m = {smtpc__sasl_name(mech), NULL, NULL, NULL};
	int rc = smtpc__sasl_new(&m.sasl, mech, creds);

	*refused_mech = 0;
	if (rc != 0)
		return smtpc__err_set(s, rc, "AUTH", NULL,
		                      rc == SMTPC_ENOMEM ? "out of memory"
		                                         : "%s: a credential is missing or holds a "
		                                           "character the mechanism cannot carry",
		                      m.name);
	rc = exchange(s, &m, refused_mech);
	smtpc__sasl_free(m.sasl);
	return rc;
}

/*
 * After a 535 to a challenge-response mechanism (CRAM-MD5, SCRAM-*): PLAIN, else LOGIN,
 * once. A server may offer those mechanisms without holding the secret they need for
 * this account; smtplib walks on and logs in. Only where nobody in the middle can forge
 * that 535 to get the password in a weaker form: verified TLS, or a Unix socket.
 * tried: bit m set when mechanism m was tried already. Returns the mechanism, or -1.
 */
static int fallback_mech(smtpc *s, int failed, unsigned tried)
{
	static const int plain_login[] = {SMTPC__SASL_PLAIN, SMTPC__SASL_LOGIN};

	if (!smtpc__sasl_stored_secret(failed))
		return -1;
	if (s->err.kind != SMTPC_EAUTH || s->err.code != 535 || s->tr.fd < 0)
		return -1;
	if (!((s->tr.ssl != NULL && s->tr.verified) || s->is_unix))
		return -1;
	for (size_t i = 0; i < sizeof(plain_login) / sizeof(plain_login[0]); i++) {
		if (!(tried & (1u << plain_login[i])) &&
		    offered(s, smtpc__sasl_name(plain_login[i])))
			return plain_login[i];
	}
	return -1;
}

SMTPC_API int smtpc_login(smtpc *s, const char *user, const char *password, smtpc_reply *reply)
{
	smtpc__sasl_creds creds = {0};
	int order[SMTPC__SASL_COUNT];
	size_t norder;
	unsigned tried = 0;
	int rc;

	smtpc__err_clear(s);
	forget_final(s);
	if (user == NULL || password == NULL)
		return give_final(
		    s, smtpc__err_set(s, SMTPC_EINVAL, "AUTH", NULL, "no user name or password"),
		    reply);
	rc = prepare(s, "AUTH", 0);
	if (rc != 0)
		return give_final(s, rc, reply);
	norder = smtpc__sasl_login_order(s->tr.ssl != NULL, order);
	creds.user = user;
	creds.password = password;
	for (size_t i = 0; i < norder; i++) {
		int refused_mech, next;

		if (!offered(s, smtpc__sasl_name(order[i])))
			continue;
		tried |= 1u << order[i];
		rc = builtin(s, order[i], &creds, &refused_mech);
		if (rc != 0 && !refused_mech && (next = fallback_mech(s, order[i], tried)) >= 0) {
			/* At most two attempts with one password: whatever this one gets ends it.
			 */
			smtpc__debugf(s, "auth: %s answered 535; trying %s once",
			              smtpc__sasl_name(order[i]), smtpc__sasl_name(next));
			rc = builtin(s, next, &creds, &refused_mech);
			refused_mech = 0;
		}
		if (rc == 0)
			smtpc__err_clear(
			    s); /* an earlier mechanism's refusal is not this call's error */
		if (rc == 0 || !refused_mech)
			return give_final(s, rc, reply);
		smtpc__debugf(s, "auth: %s refused as a mechanism, trying the next one",
		              smtpc__sasl_name(order[i]));
	}
	if (tried != 0)
		return give_final(s, rc, reply);
	return give_final(s,
	                  smtpc__err_set(s, SMTPC_ENOTSUPPORTED, "AUTH", NULL,
	                                 "no suitable authentication mechanism found (server "
	                                 "offers: %s)",
	                                 smtpc_extn_param(s, "AUTH")),
	                  reply);
}

static int auth_builtin(smtpc *s, const char *mechanism_name, const smtpc_auth_creds *creds)
{
	smtpc__sasl_creds sc = {0};
	char *token = NULL;
	int mech, rc, refused_mech;

	if (mechanism_name == NULL || creds == NULL)
		return smtpc__err_set(s, SMTPC_EINVAL, "AUTH", NULL, "no mechanism or credentials");
	mech = smtpc__sasl_lookup(mechanism_name);
	if (mech < 0)
		return smtpc__err_set(s, SMTPC_EINVAL, "AUTH", NULL,
		                      "unknown mechanism (use smtpc_auth_custom for others)");
	rc = prepare(s, smtpc__sasl_name(mech), 1);
	if (rc != 0)
		return rc;
	sc.user = creds->user;
	sc.password = creds->password;
	sc.authzid = creds->authzid;
	sc.host = s->tls.name ? s->tls.name : s->peer;
	if (mech == SMTPC__SASL_XOAUTH2 || mech == SMTPC__SASL_OAUTHBEARER) {
		if (creds->token_fn == NULL || creds->token_fn(&token, creds->token_user) != 0 ||
		    token == NULL)
			return smtpc__err_set(s, SMTPC_EAUTH, "AUTH", NULL,
			                      "no OAuth token (the token callback failed)");
		sc.token = token;
	}
	rc = builtin(s, mech, &sc, &refused_mech);
	if (token != NULL)
		wipe_free(token, strlen(token));
	return rc;
}

SMTPC_API int smtpc_auth(smtpc *s, const char *mechanism_name, const smtpc_auth_creds *creds,
                         smtpc_reply *reply)
{
	smtpc__err_clear(s);
	forget_final(s);
	return give_final(s, auth_builtin(s, mechanism_name, creds), reply);
}

static int auth_custom(smtpc *s, const char *mechanism_name, smtpc_auth_fn fn, void *user)
{
	mechanism m = {mechanism_name, NULL, fn, user};
	int rc, refused_mech;

	if (mechanism_name == NULL || fn == NULL || mechanism_name[0] == '\0' ||
	    strlen(mechanism_name) > 20 ||
	    strspn(mechanism_name,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	           "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(mechanism_name))
		return smtpc__err_set(s, SMTPC_EINVAL, "AUTH", NULL,
		                      "a mechanism name is 1 to 20 letters, digits, '-' or '_'");
	rc = prepare(s, mechanism_name, 1);
	if (rc != 0)
		return rc;
	return exchange(s, &m, &refused_mech);
}

SMTPC_API int smtpc_auth_custom(smtpc *s, const char *mechanism_name, smtpc_auth_fn fn, void *user,
                                smtpc_reply *reply)
{
	smtpc__err_clear(s);
	forget_final(s);
	return give_final(s, auth_custom(s, mechanism_name, fn, user), reply);
}
