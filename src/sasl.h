/*
 * sasl.h - SASL mechanisms for SMTP AUTH (RFC 4954), as step functions with
 * no I/O: the session decodes each 334 challenge from base64 and hands the
 * bytes in; the mechanism hands raw response bytes back, which the session
 * base64-encodes. Mechanisms: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195),
 * SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677; the server signature
 * is verified), XOAUTH2 (Google/Microsoft), OAUTHBEARER (RFC 7628) and
 * EXTERNAL (RFC 4422 appendix A). Crypto comes from OpenSSL 3.
 */
#ifndef SMTPC_SASL_H
#define SMTPC_SASL_H

#include <stddef.h>

enum smtpc__sasl_mech {
	SMTPC__SASL_EXTERNAL = 0,
	SMTPC__SASL_SCRAM_SHA_256,
	SMTPC__SASL_SCRAM_SHA_1,
	SMTPC__SASL_CRAM_MD5,
	SMTPC__SASL_PLAIN,
	SMTPC__SASL_LOGIN,
	SMTPC__SASL_XOAUTH2,
	SMTPC__SASL_OAUTHBEARER,
	SMTPC__SASL_COUNT
};

/** What a mechanism may need. Strings are UTF-8 and NUL-terminated; unused ones may be NULL. */
typedef struct smtpc__sasl_creds {
	const char *user;     /* authentication identity */
	const char *password; /* PLAIN, LOGIN, CRAM-MD5, SCRAM */
	const char
	    *authzid; /* authorization identity, or NULL (PLAIN, SCRAM, EXTERNAL, OAUTHBEARER) */
	const char *token; /* OAuth 2.0 bearer token (XOAUTH2, OAUTHBEARER) */
	const char *host;  /* server host name, for OAUTHBEARER's host= */
	int port;          /* server port, for OAUTHBEARER's port= (0: left out) */
} smtpc__sasl_creds;

typedef struct smtpc__sasl smtpc__sasl;

/** Mechanism for a name (case-insensitive), or -1. */
int smtpc__sasl_lookup(const char *name);
/** The canonical (upper-case) name of a mechanism. */
const char *smtpc__sasl_name(int mech);

/**
 * A new exchange. Copies what it needs from creds (and wipes its copies in
 * smtpc__sasl_free). Returns 0, SMTPC_EINVAL (a credential the mechanism
 * needs is missing, or holds a byte the mechanism cannot carry, e.g. NUL in
 * PLAIN, a user name with ',' or '=' is fine for SCRAM: escaped) or
 * SMTPC_ENOMEM.
 */
int smtpc__sasl_new(smtpc__sasl **out, int mech, const smtpc__sasl_creds *creds);

/** Tests only: the client nonce SCRAM uses instead of a random one. */
int smtpc__sasl_set_nonce(smtpc__sasl *x, const char *nonce);

/**
 * The initial response (RFC 4954 4), when the mechanism has one (PLAIN,
 * SCRAM, XOAUTH2, OAUTHBEARER, EXTERNAL; not LOGIN nor CRAM-MD5). Returns
 * 1 and sets *out (malloc'd, may be empty: len 0) when it has one, 0 when
 * not, SMTPC_ENOMEM. Call at most once, before the first step.
 */
int smtpc__sasl_initial(smtpc__sasl *x, unsigned char **out, size_t *outlen);

/**
 * Answers one challenge (already base64-decoded). *out is malloc'd (may
 * have length 0). Returns 0, SMTPC_EAUTH when the challenge is wrong for
 * the mechanism (SCRAM: bad syntax, nonce not starting with ours, iteration
 * count missing or < 1 or huge, server signature that does not verify;
 * XOAUTH2/OAUTHBEARER: the server's error JSON: answer with the dummy
 * response and remember the error, see smtpc__sasl_error), or SMTPC_ENOMEM.
 */
int smtpc__sasl_step(smtpc__sasl *x, const unsigned char *chal, size_t len, unsigned char **out,
                     size_t *outlen);

/**
 * Called after the server said 235: 0 when the exchange is complete and
 * verified (SCRAM: the server's signature was received and verified),
 * SMTPC_EAUTH otherwise (the server claimed success without proving it
 * knows the password).
 */
int smtpc__sasl_finish(smtpc__sasl *x);

/** Server error text remembered by OAuth mechanisms (the JSON of a 334), or NULL. */
const char *smtpc__sasl_error(const smtpc__sasl *x);

/** Wipes every secret (OPENSSL_cleanse) and frees. NULL is fine. */
void smtpc__sasl_free(smtpc__sasl *x);

#endif
