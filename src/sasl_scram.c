/*
 * sasl_scram.c - SCRAM-SHA-1 and SCRAM-SHA-256 client, no I/O.
 *
 * RFC 5802 3 (the algorithm: SaltedPassword, ClientKey, StoredKey,
 *             AuthMessage, ClientProof, ServerSignature)
 * RFC 5802 5.1 (attributes; saslname escaping of '=' and ',')
 * RFC 5802 7 (the message grammar; "m=" is a mandatory extension we do not
 *             know, so the exchange fails)
 * RFC 7677 (SCRAM-SHA-256)
 *
 * No channel binding: the gs2 header is "n,," or "n,a=<authzid>," and c=
 * carries its base64 ("biws" for "n,,"). No SASLprep (RFC 4013): names and
 * passwords go out as their UTF-8 bytes (see sasl.h).
 *
 * The server chooses the iteration count; above SMTPC__SASL_SCRAM_MAX_ITER
 * it is refused rather than spending seconds of CPU on a hostile server's
 * word. The salted password and the keys live on the stack only while the
 * client-final is built and are wiped at once; what is kept is the server
 * signature the server-final must show.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base64.h"
#include "sasl_int.h"
#include "smtpc.h"

/* Random bytes in a generated client nonce: 24 bytes, 32 base64 characters, no '='. */
#define NONCE_BYTES 24

static const EVP_MD *scram_md(const smtpc__sasl *x)
{
	return x->mech == SMTPC__SASL_SCRAM_SHA_1 ? EVP_sha1() : EVP_sha256();
}

static const char *scram_md_name(const smtpc__sasl *x)
{
	return x->mech == SMTPC__SASL_SCRAM_SHA_1 ? "SHA1" : "SHA256";
}

int smtpc__sasl_scram_init(smtpc__sasl *x)
{
	unsigned char rnd[NONCE_BYTES];
	char *name = NULL;
	size_t name_len = 0;

	/* gs2-header = "n," [ "a=" saslname ] "," */
	if (x->authzid.p != NULL &&
	    smtpc__sasl_escape(x->authzid.p, x->authzid.len, &name, &name_len) != 0)
		return SMTPC_ENOMEM;
	x->gs2 = malloc(name_len + 6);
	if (x->gs2 == NULL) {
		free(name);
		return SMTPC_ENOMEM;
	}
	if (name != NULL) {
		memcpy(x->gs2, "n,a=", 4);
		memcpy(x->gs2 + 4, name, name_len);
		memcpy(x->gs2 + 4 + name_len, ",", 2);
		x->gs2_len = name_len + 5;
	} else {
		memcpy(x->gs2, "n,,", 4);
		x->gs2_len = 3;
	}
	free(name);

	/* The standard base64 alphabet is printable and has no ','. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return SMTPC_ENOMEM;
	x->nonce_len = smtpc__b64_encode(rnd, sizeof(rnd), x->nonce);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

int smtpc__sasl_scram_first(smtpc__sasl *x, unsigned char **out, size_t *outlen)
{
	size_t n;

	/* client-first-message-bare = "n=" saslname ",r=" c-nonce; built once, it
	 * is part of the AuthMessage. */
	if (x->first_bare == NULL) {
		char *name;
		size_t name_len;

		if (smtpc__sasl_escape(x->user.p, x->user.len, &name, &name_len) != 0)
			return SMTPC_ENOMEM;
		n = name_len;
		if (smtpc__sasl_add(&n, 2 + 3 + 1) != 0 || smtpc__sasl_add(&n, x->nonce_len) != 0) {
			free(name);
			return SMTPC_ENOMEM;
		}
		x->first_bare = malloc(n);
		if (x->first_bare == NULL) {
			free(name);
			return SMTPC_ENOMEM;
		}
		memcpy(x->first_bare, "n=", 2);
		memcpy(x->first_bare + 2, name, name_len);
		memcpy(x->first_bare + 2 + name_len, ",r=", 3);
		memcpy(x->first_bare + 5 + name_len, x->nonce, x->nonce_len + 1);
		x->first_bare_len = n - 1;
		free(name);
	}
	n = x->gs2_len;
	if (smtpc__sasl_add(&n, x->first_bare_len) != 0 || smtpc__sasl_out(out, outlen, n) != 0)
		return SMTPC_ENOMEM;
	memcpy(*out, x->gs2, x->gs2_len);
	memcpy(*out + x->gs2_len, x->first_bare, x->first_bare_len);
	return 0;
}

/* ------------------------------------------------------------ parsing */

/*
 * Takes "<name>=<value>" at m[*pos]: the value runs to the next ',' or the
 * end. *pos moves to that ',' (or the end). 0, or -1 when the attribute is
 * not there.
 */
static int take_attr(const unsigned char *m, size_t len, size_t *pos, char name,
                     const unsigned char **val, size_t *vlen)
{
	size_t i = *pos;

	if (len - i < 2 || m[i] != (unsigned char)name || m[i + 1] != '=')
		return -1;
	i += 2;
	*val = m + i;
	while (i < len && m[i] != ',')
		i++;
	*vlen = (size_t)(m + i - *val);
	*pos = i;
	return 0;
}

/* Takes the ',' at m[*pos]. 0 or -1. */
static int take_comma(const unsigned char *m, size_t len, size_t *pos)
{
	if (*pos >= len || m[*pos] != ',')
		return -1;
	(*pos)++;
	return 0;
}

/* RFC 5802 7: iteration-count = posit-number = %x31-39 *DIGIT, here at most the bound. */
static int parse_iter(const unsigned char *v, size_t len, int *iter)
{
	unsigned long n = 0;
	size_t i;

	if (len == 0 || v[0] < '1' || v[0] > '9')
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(v[i] - '0');
		if (n > SMTPC__SASL_SCRAM_MAX_ITER)
			return -1; /* checked every digit: n never grows past 10 * bound */
	}
	*iter = (int)n;
	return 0;
}

/* r= of the server-first: printable (%x21-2B / %x2D-7E), starts with our nonce, longer. */
static int check_nonce(const smtpc__sasl *x, const unsigned char *r, size_t len)
{
	size_t i;

	if (len <= x->nonce_len || memcmp(r, x->nonce, x->nonce_len) != 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (r[i] < 0x21 || r[i] > 0x7e || r[i] == ',')
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ the proof */

/* HMAC with the SCRAM hash: out gets the hash length. 0 or -1. */
static int hmac(const smtpc__sasl *x, const unsigned char *key, size_t key_len, const void *data,
                size_t len, unsigned char *out)
{
	size_t n = 0;
	size_t want = (size_t)EVP_MD_get_size(scram_md(x));

	if (EVP_Q_mac(NULL, "HMAC", NULL, scram_md_name(x), NULL, key, key_len, data, len, out,
	              EVP_MAX_MD_SIZE, &n) == NULL ||
	    n != want)
		return -1;
	return 0;
}

/* The keys of RFC 5802 3, on the stack, wiped by keys_wipe(). */
struct scram_keys {
	unsigned char salted[EVP_MAX_MD_SIZE];
	unsigned char client_key[EVP_MAX_MD_SIZE];
	unsigned char stored_key[EVP_MAX_MD_SIZE];
	unsigned char client_sig[EVP_MAX_MD_SIZE];
	unsigned char proof[EVP_MAX_MD_SIZE];
	unsigned char server_key[EVP_MAX_MD_SIZE];
};

static void keys_wipe(struct scram_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

/*
 * ClientProof into k->proof and ServerSignature into x->server_sig, for
 * the salt, iteration count and AuthMessage. 0 or -1.
 */
static int compute(smtpc__sasl *x, const unsigned char *salt, size_t salt_len, int iter,
                   const unsigned char *auth_msg, size_t auth_len, struct scram_keys *k)
{
	const EVP_MD *md = scram_md(x);
	int hlen = EVP_MD_get_size(md);
	unsigned int dlen = 0;
	int i;

	if (hlen <= 0 || hlen > EVP_MAX_MD_SIZE || salt_len > INT32_MAX)
		return -1;
	/* SaltedPassword := Hi(Normalize(password), salt, i) */
	if (PKCS5_PBKDF2_HMAC(x->password.p, (int)x->password.len, salt, (int)salt_len, iter, md,
	                      hlen, k->salted) != 1)
		return -1;
	/* ClientKey := HMAC(SaltedPassword, "Client Key"); StoredKey := H(ClientKey) */
	if (hmac(x, k->salted, (size_t)hlen, "Client Key", 10, k->client_key) != 0 ||
	    EVP_Digest(k->client_key, (size_t)hlen, k->stored_key, &dlen, md, NULL) != 1 ||
	    dlen != (unsigned int)hlen)
		return -1;
	/* ClientSignature := HMAC(StoredKey, AuthMessage); ClientProof := ClientKey XOR it */
	if (hmac(x, k->stored_key, (size_t)hlen, auth_msg, auth_len, k->client_sig) != 0)
		return -1;
	for (i = 0; i < hlen; i++)
		k->proof[i] = k->client_key[i] ^ k->client_sig[i];
	/* ServerKey := HMAC(SaltedPassword, "Server Key");
	 * ServerSignature := HMAC(ServerKey, AuthMessage) */
	if (hmac(x, k->salted, (size_t)hlen, "Server Key", 10, k->server_key) != 0 ||
	    hmac(x, k->server_key, (size_t)hlen, auth_msg, auth_len, x->server_sig) != 0)
		return -1;
	x->server_sig_len = (size_t)hlen;
	return 0;
}

/* ------------------------------------------------------------ server-first */

/*
 * server-first-message = [reserved-mext ","] nonce "," salt ","
 *                        iteration-count ["," extensions]
 * client-final-message = "c=" base64(gs2-header) ",r=" nonce ",p=" base64(proof)
 */
int smtpc__sasl_scram_server_first(smtpc__sasl *x, const unsigned char *m, size_t len,
                                   unsigned char **out, size_t *outlen)
{
	const unsigned char *e, *r, *s, *it;
	size_t e_len, r_len, s_len, it_len, c_len, pos = 0, wp_len, auth_len, n, i;
	unsigned char *salt = NULL, *auth_msg = NULL, *p;
	char *c_b64 = NULL;
	int iter, rc = SMTPC_EPROTO;
	struct scram_keys k;

	/* A message that breaks the grammar is SMTPC_EPROTO; the server's own "e=" error is a
	 * refusal, SMTPC_EAUTH. */
	if (len == 0 || memchr(m, '\0', len) != NULL)
		return SMTPC_EPROTO;
	/* Not in the grammar here, but some servers fail early with "e=". */
	if (take_attr(m, len, &pos, 'e', &e, &e_len) == 0)
		return smtpc__sasl_set_error(x, e, e_len) != 0 ? SMTPC_ENOMEM : SMTPC_EAUTH;
	/* "m=": a mandatory extension this client does not know (RFC 5802 5.1). */
	if (take_attr(m, len, &pos, 'm', &e, &e_len) == 0)
		return SMTPC_EPROTO;
	if (take_attr(m, len, &pos, 'r', &r, &r_len) != 0 || check_nonce(x, r, r_len) != 0 ||
	    take_comma(m, len, &pos) != 0 || take_attr(m, len, &pos, 's', &s, &s_len) != 0 ||
	    take_comma(m, len, &pos) != 0 || take_attr(m, len, &pos, 'i', &it, &it_len) != 0 ||
	    parse_iter(it, it_len, &iter) != 0)
		return SMTPC_EPROTO;
	/* take_attr() stopped at the end or at a ',': what follows is extensions, ignored. */
	/* The salt: strict base64, not empty. */
	if (s_len == 0 || s_len % 4 != 0)
		return SMTPC_EPROTO;
	salt = malloc(s_len / 4 * 3);
	if (salt == NULL)
		return SMTPC_ENOMEM;
	n = smtpc__b64_decode((const char *)s, s_len, salt);
	if (n == (size_t)-1 || n == 0)
		goto out;

	/* client-final-message-without-proof = "c=" base64(gs2) ",r=" nonce */
	rc = SMTPC_ENOMEM;
	c_b64 = malloc(SMTPC__B64_LEN(x->gs2_len) + 1);
	if (c_b64 == NULL)
		goto out;
	c_len = smtpc__b64_encode(x->gs2, x->gs2_len, c_b64);
	wp_len = 2 + c_len + 3 + r_len; /* r_len < len <= SMTPC__SASL_MAX_CHALLENGE */
	/* AuthMessage = client-first-message-bare "," server-first-message ","
	 *               client-final-message-without-proof */
	auth_len = x->first_bare_len;
	if (smtpc__sasl_add(&auth_len, 1 + len + 1) != 0 || smtpc__sasl_add(&auth_len, wp_len) != 0)
		goto out;
	auth_msg = malloc(auth_len);
	if (auth_msg == NULL)
		goto out;
	p = auth_msg;
	memcpy(p, x->first_bare, x->first_bare_len);
	p += x->first_bare_len;
	*p++ = ',';
	memcpy(p, m, len);
	p += len;
	*p++ = ',';
	memcpy(p, "c=", 2);
	p += 2;
	memcpy(p, c_b64, c_len);
	p += c_len;
	memcpy(p, ",r=", 3);
	p += 3;
	memcpy(p, r, r_len);

	if (compute(x, salt, n, iter, auth_msg, auth_len, &k) != 0)
		goto wipe;
	/* The response: without-proof (the tail of AuthMessage) ",p=" base64(proof). */
	n = wp_len;
	if (smtpc__sasl_add(&n, 3 + SMTPC__B64_LEN(x->server_sig_len) + 1) != 0 ||
	    smtpc__sasl_out(out, outlen, n) != 0)
		goto wipe;
	memcpy(*out, auth_msg + auth_len - wp_len, wp_len);
	memcpy(*out + wp_len, ",p=", 3);
	i = smtpc__b64_encode(k.proof, x->server_sig_len, (char *)*out + wp_len + 3);
	*outlen = wp_len + 3 + i; /* without the NUL the encoder wrote */
	rc = 0;
wipe:
	keys_wipe(&k);
out:
	free(salt);
	free(c_b64);
	free(auth_msg);
	return rc;
}

/* ------------------------------------------------------------ server-final */

/* server-final-message = (server-error / verifier) ["," extensions] */
int smtpc__sasl_scram_server_final(smtpc__sasl *x, const unsigned char *m, size_t len,
                                   unsigned char **out, size_t *outlen)
{
	unsigned char sig[EVP_MAX_MD_SIZE + 3];
	const unsigned char *v;
	size_t v_len, pos = 0, n;
	int ok;

	if (memchr(m, '\0', len) != NULL)
		return SMTPC_EPROTO;
	if (take_attr(m, len, &pos, 'e', &v, &v_len) == 0)
		return smtpc__sasl_set_error(x, v, v_len) != 0 ? SMTPC_ENOMEM : SMTPC_EAUTH;
	if (take_attr(m, len, &pos, 'v', &v, &v_len) != 0 ||
	    v_len != SMTPC__B64_LEN(x->server_sig_len))
		return SMTPC_EPROTO;
	n = smtpc__b64_decode((const char *)v, v_len, sig); /* room: v_len / 4 * 3 <= sizeof(sig) */
	if (n != x->server_sig_len) { /* not base64, or not a signature's length */
		OPENSSL_cleanse(sig, sizeof(sig));
		return SMTPC_EPROTO;
	}
	ok = CRYPTO_memcmp(sig, x->server_sig, n) == 0;
	OPENSSL_cleanse(sig, sizeof(sig));
	if (!ok)
		return SMTPC_EAUTH; /* well formed, but the server does not know the password */
	/* SMTP has no "additional data with success": the client answers the
	 * server-final 334 with an empty line and then gets 235 (RFC 4954 4). */
	return smtpc__sasl_out(out, outlen, 0);
}
