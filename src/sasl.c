/*
 * sasl.c - SASL mechanisms for SMTP AUTH as step functions, no I/O.
 *
 * RFC 4954 (SMTP AUTH: initial response, 334 challenges)
 * RFC 4422 5 and appendix A (SASL exchanges; EXTERNAL)
 * RFC 4616 (PLAIN: [authzid] NUL authcid NUL passwd)
 * draft-murchison-sasl-login (LOGIN: user name, then password)
 * RFC 2195 (CRAM-MD5: user SP lower-case hex HMAC-MD5(password, challenge))
 * RFC 7628 3.1, 3.2.3 (OAUTHBEARER: gs2 header, 0x01-separated key/values;
 *                      an error challenge is answered with a lone 0x01)
 * Google's XOAUTH2 protocol ("user=" u 0x01 "auth=Bearer " t 0x01 0x01;
 *                      an error challenge is answered with an empty line)
 * SCRAM (RFC 5802, RFC 7677) lives in sasl_scram.c.
 *
 * x->stage counts the client messages given so far. For the mechanisms with
 * an initial response, stage 1 is that response, whether it went out with
 * AUTH (smtpc__sasl_initial) or answered an empty first 334. Every
 * mechanism has a last message; a challenge after it is SMTPC_EPROTO, which
 * bounds the number of rounds whatever the server sends.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sasl_int.h"
#include "smtpc.h"

/*
 * The mechanisms, one entry each: the name, what the caller gives it, whether it speaks first
 * (an initial response), whether a 535 may only mean the server lacks the secret it needs
 * for this account (it proves or checks a stored secret: smtpc_login() may fall back, auth.c),
 * and where smtpc_login() tries it (1 first; 0: never picked by login()). Over TLS the
 * strongest proof first, then PLAIN and LOGIN (the channel protects the password) before
 * CRAM-MD5 (MD5, and the server stores the password); in clear CRAM-MD5 comes before PLAIN
 * and LOGIN, which would show the password.
 */
static const struct mech_info {
	const char *name;
	smtpc_sasl_needs needs;
	unsigned char initial, stored_secret, rank_tls, rank_clear;
} mechs[SMTPC__SASL_COUNT] = {
    [SMTPC__SASL_EXTERNAL] = {"EXTERNAL", SMTPC_SASL_NEEDS_NOTHING, 1, 0, 0, 0},
    [SMTPC__SASL_SCRAM_SHA_256] = {"SCRAM-SHA-256", SMTPC_SASL_NEEDS_PASSWORD, 1, 1, 1, 1},
    [SMTPC__SASL_SCRAM_SHA_1] = {"SCRAM-SHA-1", SMTPC_SASL_NEEDS_PASSWORD, 1, 1, 2, 2},
    [SMTPC__SASL_CRAM_MD5] = {"CRAM-MD5", SMTPC_SASL_NEEDS_PASSWORD, 0, 1, 5, 3},
    [SMTPC__SASL_PLAIN] = {"PLAIN", SMTPC_SASL_NEEDS_PASSWORD, 1, 0, 3, 4},
    [SMTPC__SASL_LOGIN] = {"LOGIN", SMTPC_SASL_NEEDS_PASSWORD, 0, 0, 4, 5},
    [SMTPC__SASL_XOAUTH2] = {"XOAUTH2", SMTPC_SASL_NEEDS_TOKEN, 1, 0, 0, 0},
    [SMTPC__SASL_OAUTHBEARER] = {"OAUTHBEARER", SMTPC_SASL_NEEDS_TOKEN, 1, 0, 0, 0},
};

SMTPC_API const char *smtpc_sasl_mechanism(size_t i, smtpc_sasl_needs *needs)
{
	if (i >= SMTPC__SASL_COUNT)
		return NULL;
	if (needs != NULL)
		*needs = mechs[i].needs;
	return mechs[i].name;
}

size_t smtpc__sasl_login_order(int over_tls, int order[SMTPC__SASL_COUNT])
{
	size_t n = 0;

	/* Ranks are small and distinct: one pass per rank keeps the table the only truth. */
	for (unsigned rank = 1; rank <= SMTPC__SASL_COUNT; rank++)
		for (int m = 0; m < SMTPC__SASL_COUNT; m++)
			if ((over_tls ? mechs[m].rank_tls : mechs[m].rank_clear) == rank)
				order[n++] = m;
	return n;
}

int smtpc__sasl_stored_secret(int mech)
{
	return mech >= 0 && mech < SMTPC__SASL_COUNT && mechs[mech].stored_secret;
}

/* ASCII only: the locale must not change how a mechanism name is spelled. */
static char to_upper(char ch)
{
	return ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
}

int smtpc__sasl_lookup(const char *name)
{
	int m;

	if (name == NULL)
		return -1;
	for (m = 0; m < SMTPC__SASL_COUNT; m++) {
		const char *a = name, *b = mechs[m].name;

		while (*a != '\0' && to_upper(*a) == *b) {
			a++;
			b++;
		}
		if (*a == '\0' && *b == '\0')
			return m;
	}
	return -1;
}

const char *smtpc__sasl_name(int mech)
{
	if (mech < 0 || mech >= SMTPC__SASL_COUNT)
		return NULL;
	return mechs[mech].name;
}

static int is_scram(int mech)
{
	return mech == SMTPC__SASL_SCRAM_SHA_1 || mech == SMTPC__SASL_SCRAM_SHA_256;
}

/* LOGIN and CRAM-MD5 wait for the server; every other mechanism speaks first. */
static int has_initial(int mech)
{
	return mechs[mech].initial;
}

/* ------------------------------------------------------------ helpers */

int smtpc__sasl_add(size_t *acc, size_t n)
{
	if (n > SIZE_MAX - *acc)
		return -1;
	*acc += n;
	return 0;
}

int smtpc__sasl_out(unsigned char **out, size_t *outlen, size_t n)
{
	*out = malloc(n > 0 ? n : 1);
	if (*out == NULL)
		return SMTPC_ENOMEM;
	*outlen = n;
	return 0;
}

int smtpc__sasl_set_error(smtpc__sasl *x, const unsigned char *text, size_t len)
{
	char *e;
	size_t i;

	if (len >= SIZE_MAX)
		return SMTPC_ENOMEM;
	e = malloc(len + 1);
	if (e == NULL)
		return SMTPC_ENOMEM;
	for (i = 0; i < len; i++) {
		unsigned char ch = text[i];

		if (ch == '\r' || ch == '\n' || ch == '\t')
			ch = ' ';
		else if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		e[i] = (char)ch;
	}
	e[len] = '\0';
	free(x->error);
	x->error = e;
	return 0;
}

int smtpc__sasl_escape(const char *s, size_t len, char **out, size_t *outlen)
{
	size_t i, n = 0;
	char *e;

	for (i = 0; i < len; i++)
		n += s[i] == '=' || s[i] == ',' ? 3 : 1; /* cannot overflow: len <= SIZE_MAX / 3 */
	e = malloc(n + 1);
	if (e == NULL)
		return SMTPC_ENOMEM;
	n = 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '=' || s[i] == ',') {
			e[n++] = '=';
			e[n++] = s[i] == '=' ? '3' : '2';
			e[n++] = s[i] == '=' ? 'D' : 'C';
		} else {
			e[n++] = s[i];
		}
	}
	e[n] = '\0';
	*out = e;
	*outlen = n;
	return 0;
}

static void str_wipe(smtpc__sasl_str *s)
{
	if (s->p != NULL) {
		OPENSSL_cleanse(s->p, s->len);
		free(s->p);
	}
	s->p = NULL;
	s->len = 0;
}

/* Copies src (or nothing, when NULL) into *s. 0 or SMTPC_ENOMEM. */
static int str_copy(smtpc__sasl_str *s, const char *src)
{
	size_t len;

	if (src == NULL)
		return 0;
	len = strlen(src);
	if (len > SIZE_MAX / 3 - 1) /* room for escaping it (SCRAM, OAUTHBEARER) */
		return SMTPC_ENOMEM;
	s->p = malloc(len + 1);
	if (s->p == NULL)
		return SMTPC_ENOMEM;
	memcpy(s->p, src, len + 1);
	s->len = len;
	return 0;
}

/* s holds a byte outside [lo, 0x7e] (hi_ok: bytes >= 0x80 are allowed). */
static int has_bad_byte(const char *s, unsigned char lo, int hi_ok)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < lo || *p == 0x7f || (*p >= 0x80 && !hi_ok))
			return 1;
	}
	return 0;
}

/* Appends n bytes at *p. */
static void put(unsigned char **p, const void *s, size_t n)
{
	if (n > 0)
		memcpy(*p, s, n);
	*p += n;
}

static void put_str(unsigned char **p, const char *s)
{
	put(p, s, strlen(s));
}

/* ------------------------------------------------------------ new / free */

/* What mech needs from creds (see sasl.h). 0 or SMTPC_EINVAL. */
static int check_creds(int mech, const smtpc__sasl_creds *c)
{
	switch (mech) {
	case SMTPC__SASL_PLAIN:
	case SMTPC__SASL_LOGIN:
	case SMTPC__SASL_CRAM_MD5:
		if (c->user == NULL || c->user[0] == '\0' || c->password == NULL)
			return SMTPC_EINVAL;
		return 0;
	case SMTPC__SASL_SCRAM_SHA_1:
	case SMTPC__SASL_SCRAM_SHA_256:
		if (c->user == NULL || c->user[0] == '\0' || c->password == NULL)
			return SMTPC_EINVAL;
		/* PKCS5_PBKDF2_HMAC takes an int length. */
		if (strlen(c->password) > INT_MAX)
			return SMTPC_EINVAL;
		return 0;
	case SMTPC__SASL_XOAUTH2:
		/* 0x01 separates the fields: no control character in the user name. */
		if (c->user == NULL || c->user[0] == '\0' || has_bad_byte(c->user, 0x20, 1))
			return SMTPC_EINVAL;
		/* fall through */
	case SMTPC__SASL_OAUTHBEARER:
		if (c->token == NULL || c->token[0] == '\0' || has_bad_byte(c->token, 0x21, 0))
			return SMTPC_EINVAL;
		if (mech == SMTPC__SASL_XOAUTH2)
			return 0;
		if (c->host != NULL && (c->host[0] == '\0' || has_bad_byte(c->host, 0x20, 1)))
			return SMTPC_EINVAL;
		if (c->port < 0 || c->port > 65535)
			return SMTPC_EINVAL;
		/* a= is a saslname (escaped); only the 0x01 separator would break it. */
		if (c->authzid != NULL && has_bad_byte(c->authzid, 0x20, 1))
			return SMTPC_EINVAL;
		if (c->authzid == NULL && c->user != NULL && has_bad_byte(c->user, 0x20, 1))
			return SMTPC_EINVAL;
		return 0;
	case SMTPC__SASL_EXTERNAL:
		return 0;
	default:
		return SMTPC_EINVAL;
	}
}

int smtpc__sasl_new(smtpc__sasl **out, int mech, const smtpc__sasl_creds *creds)
{
	smtpc__sasl *x;
	int rc;

	if (out == NULL)
		return SMTPC_EINVAL;
	*out = NULL;
	if (creds == NULL || mech < 0 || mech >= SMTPC__SASL_COUNT)
		return SMTPC_EINVAL;
	rc = check_creds(mech, creds);
	if (rc != 0)
		return rc;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return SMTPC_ENOMEM;
	x->mech = mech;
	x->port = creds->port;
	if (str_copy(&x->user, creds->user) != 0 || str_copy(&x->password, creds->password) != 0 ||
	    str_copy(&x->authzid, creds->authzid) != 0 || str_copy(&x->token, creds->token) != 0 ||
	    str_copy(&x->host, creds->host) != 0) {
		smtpc__sasl_free(x);
		return SMTPC_ENOMEM;
	}
	if (is_scram(mech)) {
		rc = smtpc__sasl_scram_init(x);
		if (rc != 0) {
			smtpc__sasl_free(x);
			return rc;
		}
	}
	*out = x;
	return 0;
}

void smtpc__sasl_free(smtpc__sasl *x)
{
	if (x == NULL)
		return;
	str_wipe(&x->user);
	str_wipe(&x->password);
	str_wipe(&x->authzid);
	str_wipe(&x->token);
	str_wipe(&x->host);
	free(x->error);
	free(x->gs2);
	free(x->first_bare);
	OPENSSL_cleanse(x, sizeof(*x));
	free(x);
}

int smtpc__sasl_set_nonce(smtpc__sasl *x, const char *nonce)
{
	size_t len;

	if (x == NULL || nonce == NULL || !is_scram(x->mech) || x->stage != 0 ||
	    x->first_bare != NULL)
		return SMTPC_EINVAL;
	len = strlen(nonce);
	/* RFC 5802 7: c-nonce = printable = %x21-2B / %x2D-7E */
	if (len == 0 || len > SMTPC__SASL_MAX_NONCE || has_bad_byte(nonce, 0x21, 0) ||
	    strchr(nonce, ',') != NULL)
		return SMTPC_EINVAL;
	memcpy(x->nonce, nonce, len + 1);
	x->nonce_len = len;
	return 0;
}

const char *smtpc__sasl_error(const smtpc__sasl *x)
{
	return x != NULL ? x->error : NULL;
}

/* ------------------------------------------------------------ first messages */

/* PLAIN (RFC 4616 2): [authzid] NUL authcid NUL passwd. */
static int plain_message(const smtpc__sasl *x, unsigned char **out, size_t *outlen)
{
	size_t n = x->authzid.len;
	unsigned char *p;

	if (smtpc__sasl_add(&n, x->user.len) != 0 || smtpc__sasl_add(&n, x->password.len) != 0 ||
	    smtpc__sasl_add(&n, 2) != 0)
		return SMTPC_ENOMEM;
	if (smtpc__sasl_out(out, outlen, n) != 0)
		return SMTPC_ENOMEM;
	p = *out;
	put(&p, x->authzid.p, x->authzid.len);
	*p++ = '\0';
	put(&p, x->user.p, x->user.len);
	*p++ = '\0';
	put(&p, x->password.p, x->password.len);
	return 0;
}

/* XOAUTH2: "user=" user 0x01 "auth=Bearer " token 0x01 0x01. */
static int xoauth2_message(const smtpc__sasl *x, unsigned char **out, size_t *outlen)
{
	static const char auth[] = "\001auth=Bearer ";
	size_t n = x->user.len;
	unsigned char *p;

	if (smtpc__sasl_add(&n, x->token.len) != 0 ||
	    smtpc__sasl_add(&n, 5 + (sizeof(auth) - 1) + 2) != 0)
		return SMTPC_ENOMEM;
	if (smtpc__sasl_out(out, outlen, n) != 0)
		return SMTPC_ENOMEM;
	p = *out;
	put_str(&p, "user=");
	put(&p, x->user.p, x->user.len);
	put_str(&p, auth);
	put(&p, x->token.p, x->token.len);
	put(&p, "\001\001", 2);
	return 0;
}

/* Decimal digits of v (0..65535) into buf (room for 6); returns the length. */
static size_t port_digits(int v, char *buf)
{
	char tmp[6];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < sizeof(tmp));
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/*
 * OAUTHBEARER (RFC 7628 3.1): gs2-header 0x01 ["host=" h 0x01] ["port=" p
 * 0x01] "auth=Bearer " token 0x01 0x01, gs2-header "n,a=" saslname "," (or
 * "n,," when there is no name).
 */
static int oauthbearer_message(const smtpc__sasl *x, unsigned char **out, size_t *outlen)
{
	const smtpc__sasl_str *who = x->authzid.p != NULL ? &x->authzid : &x->user;
	char *name = NULL;
	size_t name_len = 0, n = 0, port_len = 0;
	char port[6];
	unsigned char *p;

	if (who->p != NULL && smtpc__sasl_escape(who->p, who->len, &name, &name_len) != 0)
		return SMTPC_ENOMEM;
	if (x->port > 0)
		port_len = port_digits(x->port, port);
	/* "n,a=" name "," 0x01 + "auth=Bearer " token 0x01 0x01 */
	if (smtpc__sasl_add(&n, 4 + name_len + 2) != 0 || smtpc__sasl_add(&n, 12 + 2) != 0 ||
	    smtpc__sasl_add(&n, x->token.len) != 0 ||
	    (x->host.p != NULL && smtpc__sasl_add(&n, 5 + x->host.len + 1) != 0) ||
	    (port_len > 0 && smtpc__sasl_add(&n, 5 + port_len + 1) != 0) ||
	    smtpc__sasl_out(out, outlen, n) != 0) {
		free(name);
		return SMTPC_ENOMEM;
	}
	p = *out;
	if (name != NULL) {
		put_str(&p, "n,a=");
		put(&p, name, name_len);
		put_str(&p, ",\001");
	} else {
		put_str(&p, "n,,\001");
	}
	if (x->host.p != NULL) {
		put_str(&p, "host=");
		put(&p, x->host.p, x->host.len);
		put_str(&p, "\001");
	}
	if (port_len > 0) {
		put_str(&p, "port=");
		put(&p, port, port_len);
		put_str(&p, "\001");
	}
	put_str(&p, "auth=Bearer ");
	put(&p, x->token.p, x->token.len);
	put(&p, "\001\001", 2);
	*outlen = (size_t)(p - *out);
	free(name);
	return 0;
}

/* EXTERNAL (RFC 4422 A.1): the authorization identity, or nothing. */
static int external_message(const smtpc__sasl *x, unsigned char **out, size_t *outlen)
{
	if (smtpc__sasl_out(out, outlen, x->authzid.len) != 0)
		return SMTPC_ENOMEM;
	if (x->authzid.len > 0)
		memcpy(*out, x->authzid.p, x->authzid.len);
	return 0;
}

/* The first client message of a mechanism that has an initial response. */
static int first_message(smtpc__sasl *x, unsigned char **out, size_t *outlen)
{
	switch (x->mech) {
	case SMTPC__SASL_PLAIN:
		return plain_message(x, out, outlen);
	case SMTPC__SASL_XOAUTH2:
		return xoauth2_message(x, out, outlen);
	case SMTPC__SASL_OAUTHBEARER:
		return oauthbearer_message(x, out, outlen);
	case SMTPC__SASL_EXTERNAL:
		return external_message(x, out, outlen);
	case SMTPC__SASL_SCRAM_SHA_1:
	case SMTPC__SASL_SCRAM_SHA_256:
		return smtpc__sasl_scram_first(x, out, outlen);
	default:
		return SMTPC_EINVAL;
	}
}

int smtpc__sasl_initial(smtpc__sasl *x, unsigned char **out, size_t *outlen)
{
	int rc;

	if (out == NULL || outlen == NULL)
		return SMTPC_EINVAL;
	*out = NULL;
	*outlen = 0;
	if (x == NULL || x->initial_called || x->stage != 0 || x->failed)
		return SMTPC_EINVAL;
	x->initial_called = 1;
	if (!has_initial(x->mech))
		return 0;
	rc = first_message(x, out, outlen);
	if (rc != 0)
		return rc;
	x->stage = 1;
	x->repeatable = 1;
	return 1;
}

/* ------------------------------------------------------------ steps */

/* CRAM-MD5 (RFC 2195 2): user SP lower-case hex of HMAC-MD5(password, challenge). */
static int cram_md5(const smtpc__sasl *x, const unsigned char *chal, size_t len,
                    unsigned char **out, size_t *outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0, n = x->user.len, i;
	unsigned char *p;

	if (len == 0)
		return SMTPC_EPROTO;
	/* An empty password is an empty key; OpenSSL wants a pointer all the same. */
	if (EVP_Q_mac(NULL, "HMAC", NULL, "MD5", NULL, x->password.p, x->password.len, chal, len,
	              mac, sizeof(mac), &mac_len) == NULL ||
	    mac_len != 16)
		return SMTPC_ENOMEM;
	if (smtpc__sasl_add(&n, 1 + 2 * mac_len) != 0 || smtpc__sasl_out(out, outlen, n) != 0) {
		OPENSSL_cleanse(mac, sizeof(mac));
		return SMTPC_ENOMEM;
	}
	p = *out;
	put(&p, x->user.p, x->user.len);
	*p++ = ' ';
	for (i = 0; i < mac_len; i++) {
		*p++ = (unsigned char)hex[mac[i] >> 4];
		*p++ = (unsigned char)hex[mac[i] & 0x0f];
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

/* LOGIN: the user name for the first prompt, the password for the second. */
static int login_step(smtpc__sasl *x, unsigned char **out, size_t *outlen)
{
	const smtpc__sasl_str *s;

	if (x->stage >= 2)
		return SMTPC_EPROTO;
	s = x->stage == 0 ? &x->user : &x->password;
	if (smtpc__sasl_out(out, outlen, s->len) != 0)
		return SMTPC_ENOMEM;
	if (s->len > 0)
		memcpy(*out, s->p, s->len);
	x->stage++;
	return 0;
}

/* XOAUTH2 / OAUTHBEARER after the initial response: the server's error. */
static int oauth_error(smtpc__sasl *x, const unsigned char *chal, size_t len, unsigned char **out,
                       size_t *outlen)
{
	int dummy = x->mech == SMTPC__SASL_OAUTHBEARER; /* RFC 7628 3.2.3: a lone 0x01 */

	if (x->stage >= 2)
		return SMTPC_EPROTO;
	if (smtpc__sasl_set_error(x, chal, len) != 0 ||
	    smtpc__sasl_out(out, outlen, dummy ? 1 : 0) != 0)
		return SMTPC_ENOMEM;
	if (dummy)
		(*out)[0] = 0x01;
	x->stage = 2;
	return 0;
}

/* A challenge after the first message (stage >= 1), mechanisms with an initial response. */
static int later_step(smtpc__sasl *x, const unsigned char *chal, size_t len, unsigned char **out,
                      size_t *outlen)
{
	switch (x->mech) {
	case SMTPC__SASL_PLAIN:
		return SMTPC_EPROTO;
	case SMTPC__SASL_XOAUTH2:
	case SMTPC__SASL_OAUTHBEARER:
		return oauth_error(x, chal, len, out, outlen);
	case SMTPC__SASL_EXTERNAL:
		if (x->stage >= 2)
			return SMTPC_EPROTO;
		x->stage = 2;
		return smtpc__sasl_out(out, outlen, 0);
	case SMTPC__SASL_SCRAM_SHA_1:
	case SMTPC__SASL_SCRAM_SHA_256:
		if (x->stage == 1) {
			int rc = smtpc__sasl_scram_server_first(x, chal, len, out, outlen);

			if (rc == 0)
				x->stage = 2;
			return rc;
		}
		if (x->stage == 2) {
			int rc = smtpc__sasl_scram_server_final(x, chal, len, out, outlen);

			if (rc == 0) {
				x->stage = 3;
				x->verified = 1;
			}
			return rc;
		}
		return SMTPC_EPROTO;
	default:
		return SMTPC_EAUTH;
	}
}

static int step(smtpc__sasl *x, const unsigned char *chal, size_t len, unsigned char **out,
                size_t *outlen)
{
	if (len > SMTPC__SASL_MAX_CHALLENGE)
		return SMTPC_EPROTO;
	if (x->mech == SMTPC__SASL_LOGIN)
		return login_step(x, out, outlen);
	if (x->mech == SMTPC__SASL_CRAM_MD5) {
		int rc;

		if (x->stage != 0)
			return SMTPC_EPROTO;
		rc = cram_md5(x, chal, len, out, outlen);
		if (rc == 0)
			x->stage = 1;
		return rc;
	}
	/* RFC 4422 5: without an initial response the server sends an empty
	 * challenge and the client answers with what it would have sent. */
	if (x->stage == 0) {
		int rc;

		if (len != 0)
			return SMTPC_EPROTO;
		rc = first_message(x, out, outlen);
		if (rc == 0)
			x->stage = 1;
		return rc;
	}
	/* The session produced an initial response but did not send it (sasl.h). */
	if (x->stage == 1 && x->repeatable && len == 0) {
		x->repeatable = 0;
		return first_message(x, out, outlen);
	}
	x->repeatable = 0;
	return later_step(x, chal, len, out, outlen);
}

int smtpc__sasl_step(smtpc__sasl *x, const unsigned char *chal, size_t len, unsigned char **out,
                     size_t *outlen)
{
	int rc;

	if (out == NULL || outlen == NULL)
		return SMTPC_EINVAL;
	*out = NULL;
	*outlen = 0;
	if (x == NULL || (chal == NULL && len > 0))
		return SMTPC_EINVAL;
	if (x->failed)
		return SMTPC_EAUTH;
	if (chal == NULL)
		chal = (const unsigned char *)"";
	rc = step(x, chal, len, out, outlen);
	if (rc != 0) {
		/* A half-built response may hold a secret. */
		if (*out != NULL) {
			OPENSSL_cleanse(*out, *outlen);
			free(*out);
		}
		*out = NULL;
		*outlen = 0;
		if (rc == SMTPC_EAUTH || rc == SMTPC_EPROTO)
			x->failed = 1;
	}
	return rc;
}

int smtpc__sasl_finish(smtpc__sasl *x)
{
	if (x == NULL || x->failed)
		return SMTPC_EAUTH;
	switch (x->mech) {
	case SMTPC__SASL_SCRAM_SHA_1:
	case SMTPC__SASL_SCRAM_SHA_256:
		return x->verified ? 0 : SMTPC_EAUTH;
	case SMTPC__SASL_LOGIN:
		return x->stage == 2 ? 0 : SMTPC_EAUTH;
	case SMTPC__SASL_XOAUTH2:
	case SMTPC__SASL_OAUTHBEARER:
		/* The server said the token was refused: a 235 now contradicts it. */
		if (x->error != NULL)
			return SMTPC_EAUTH;
		return x->stage >= 1 ? 0 : SMTPC_EAUTH;
	case SMTPC__SASL_PLAIN:
	case SMTPC__SASL_CRAM_MD5:
	case SMTPC__SASL_EXTERNAL:
		return x->stage >= 1 ? 0 : SMTPC_EAUTH;
	default:
		return SMTPC_EAUTH;
	}
}
