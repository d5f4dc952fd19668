/*
 * sasl.h - SASL mechanisms for SMTP AUTH (RFC 4954), as step functions with
 * no I/O: the session decodes each 334 challenge from base64 and hands the
 * bytes in; the mechanism hands raw response bytes back, which the session
 * base64-encodes. Mechanisms: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195),
 * SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677; the server signature
 * is verified), XOAUTH2 (Google/Microsoft), OAUTHBEARER (RFC 7628) and
 * EXTERNAL (RFC 4422 appendix A). Crypto comes from OpenSSL 3.
 *
 * One exchange, from the session's side:
 *   smtpc__sasl_new();
 *   smtpc__sasl_initial() -> 1: "AUTH MECH <b64>" ("=" when empty), 0: "AUTH MECH"
 *   while the reply is 334: smtpc__sasl_step(decoded text) -> send its base64
 *   235: smtpc__sasl_finish() decides; then smtpc__sasl_free().
 * Responses may hold the password (PLAIN, LOGIN): the session should wipe
 * them (OPENSSL_cleanse) before freeing them.
 *
 * A session that calls smtpc__sasl_initial() but then cannot send the
 * response (the AUTH line would be too long, RFC 4954 4) sends "AUTH MECH"
 * instead; the empty 334 that follows is answered with the same bytes.
 *
 * SCRAM does no SASLprep (RFC 4013): user names and passwords are sent as
 * their UTF-8 bytes, which is what servers such as Dovecot compare; ASCII
 * credentials, the common case, are unaffected.
 */
#ifndef SMTPC_SASL_H
#define SMTPC_SASL_H

#include <stddef.h>

/** Longest challenge a step accepts (decoded bytes); longer ones are SMTPC_EAUTH. */
#define SMTPC__SASL_MAX_CHALLENGE 65536
/** Highest SCRAM iteration count accepted: more is refused as a hostile server's CPU sink. */
#define SMTPC__SASL_SCRAM_MAX_ITER 1000000
/** Longest client nonce smtpc__sasl_set_nonce() takes. */
#define SMTPC__SASL_MAX_NONCE 256

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
/** The canonical (upper-case) name of a mechanism, or NULL for a number out of range. */
const char *smtpc__sasl_name(int mech);
/**
 * The password mechanisms in the order smtpc_login() tries them (over TLS, or in clear):
 * fills order, returns how many.
 */
size_t smtpc__sasl_login_order(int over_tls, int order[SMTPC__SASL_COUNT]);
/** 1 when a 535 to mech may only mean the server lacks the secret it stores for the user. */
int smtpc__sasl_stored_secret(int mech);

/**
 * A new exchange. Copies what it needs from creds (and wipes its copies in
 * smtpc__sasl_free). Returns 0, SMTPC_EINVAL (a credential the mechanism
 * needs is missing, or holds a byte the mechanism cannot carry, e.g. 0x01
 * in an XOAUTH2 user name; a user name with ',' or '=' is fine for SCRAM:
 * escaped) or
 * SMTPC_ENOMEM (also: the random generator failed).
 *
 * Needed: PLAIN, LOGIN, CRAM-MD5, SCRAM: user (not empty) and password.
 * XOAUTH2: user (not empty, no control characters) and token. OAUTHBEARER:
 * token; a= carries authzid, or user when authzid is NULL; host and port
 * (0..65535) are optional. EXTERNAL: nothing (authzid optional). A token
 * must be printable ASCII without blanks (RFC 6750 b64token and its
 * relatives); a host must hold no control characters. A NUL cannot be
 * passed at all: a C string ends at its first NUL.
 */
int smtpc__sasl_new(smtpc__sasl **out, int mech, const smtpc__sasl_creds *creds);

/**
 * Tests only: the client nonce SCRAM uses instead of a random one. Before
 * the first message; 1..SMTPC__SASL_MAX_NONCE printable ASCII characters
 * other than ','. Returns 0 or SMTPC_EINVAL (not SCRAM, too late, bad nonce).
 */
int smtpc__sasl_set_nonce(smtpc__sasl *x, const char *nonce);

/**
 * The initial response (RFC 4954 4), when the mechanism has one (PLAIN,
 * SCRAM, XOAUTH2, OAUTHBEARER, EXTERNAL; not LOGIN nor CRAM-MD5). Returns
 * 1 and sets *out (malloc'd, may be empty: len 0) when it has one, 0 when
 * not, SMTPC_ENOMEM. Call at most once, before the first step (otherwise
 * SMTPC_EINVAL). Without it, a mechanism that has an initial response
 * answers an empty first challenge with it (RFC 4422 5); a non-empty first
 * challenge is SMTPC_EPROTO.
 */
int smtpc__sasl_initial(smtpc__sasl *x, unsigned char **out, size_t *outlen);

/**
 * Answers one challenge (already base64-decoded). *out is malloc'd (may
 * have length 0); on an error *out is NULL. Returns 0; SMTPC_EPROTO when the
 * challenge is malformed for the mechanism (SCRAM: bad syntax, nonce not
 * starting with ours, iteration count missing or < 1 or above
 * SMTPC__SASL_SCRAM_MAX_ITER, "m="; CRAM-MD5: empty challenge), when it is
 * longer than SMTPC__SASL_MAX_CHALLENGE, or when the mechanism has nothing
 * more to say (LOGIN's third challenge, any challenge after PLAIN's
 * response, ...: this bounds the rounds); SMTPC_EAUTH when the server
 * refuses or fails to prove itself (SCRAM: "e=", remembered, see
 * smtpc__sasl_error; a server signature that does not verify); or
 * SMTPC_ENOMEM (also: OpenSSL failed, e.g. MD5 disabled by a FIPS
 * configuration).
 * XOAUTH2/OAUTHBEARER: a challenge after the initial response is the
 * server's error JSON: it is remembered (smtpc__sasl_error) and answered
 * with 0 and the dummy response (XOAUTH2: empty; OAUTHBEARER: 0x01, RFC
 * 7628 3.2.3), after which the server fails the exchange. After an
 * SMTPC_EPROTO or SMTPC_EAUTH every step and smtpc__sasl_finish fail with
 * SMTPC_EAUTH.
 */
int smtpc__sasl_step(smtpc__sasl *x, const unsigned char *chal, size_t len, unsigned char **out,
                     size_t *outlen);

/**
 * Called after the server said 235: 0 when the exchange is complete and
 * verified (SCRAM: the server's signature was received and verified),
 * SMTPC_EAUTH otherwise (the server claimed success without proving it
 * knows the password). For the other mechanisms "complete" means every
 * client message was given (LOGIN: the password too) and no step failed
 * and no OAuth error was received.
 */
int smtpc__sasl_finish(smtpc__sasl *x);

/**
 * Server error text remembered by OAuth mechanisms (the JSON of a 334) or
 * SCRAM ("e=" value), or NULL. Untrusted: control characters are replaced
 * (CR, LF, TAB by a blank, the others by '?'); other bytes as sent.
 */
const char *smtpc__sasl_error(const smtpc__sasl *x);

/** Wipes every secret (OPENSSL_cleanse) and frees. NULL is fine. */
void smtpc__sasl_free(smtpc__sasl *x);

#endif
