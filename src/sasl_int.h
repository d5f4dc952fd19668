/*
 * sasl_int.h - what src/sasl.c and src/sasl_scram.c share: the exchange
 * state and a few helpers. Not for the rest of the library (use sasl.h).
 */
#ifndef SMTPC_SASL_INT_H
#define SMTPC_SASL_INT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "sasl.h"

/** A copied credential: wiped before it is freed. */
typedef struct smtpc__sasl_str {
	char *p; /* NUL-terminated, or NULL when not given */
	size_t len;
} smtpc__sasl_str;

struct smtpc__sasl {
	int mech;
	int stage;          /* client messages given so far (see sasl.c) */
	int initial_called; /* smtpc__sasl_initial() was called */
	int repeatable;     /* the first message came from smtpc__sasl_initial() and no
	                       challenge has answered it yet: an empty one repeats it */
	int failed;         /* a step returned SMTPC_EAUTH */
	int verified;       /* SCRAM: the server signature verified */
	smtpc__sasl_str user, password, authzid, token, host;
	int port;
	char *error; /* the server's error text, sanitized, or NULL */

	/* SCRAM (sasl_scram.c) */
	char nonce[SMTPC__SASL_MAX_NONCE + 1]; /* client nonce, printable, no ',' */
	size_t nonce_len;
	char *gs2; /* "n,," or "n,a=<authzid>," */
	size_t gs2_len;
	char *first_bare; /* "n=<user>,r=<nonce>", built with the first message */
	size_t first_bare_len;
	unsigned char server_sig[EVP_MAX_MD_SIZE]; /* what the server-final must carry */
	size_t server_sig_len;
};

/** *acc += n; -1 when that overflows (then *acc is unchanged). */
int smtpc__sasl_add(size_t *acc, size_t n);

/** Allocates a response of n bytes (at least one byte is malloc'd). 0 or SMTPC_ENOMEM. */
int smtpc__sasl_out(unsigned char **out, size_t *outlen, size_t n);

/** Remembers server error text (sanitized copy). 0 or SMTPC_ENOMEM. */
int smtpc__sasl_set_error(smtpc__sasl *x, const unsigned char *text, size_t len);

/**
 * RFC 5802 5.1 saslname: s[0..len) with '=' as "=3D" and ',' as "=2C",
 * malloc'd and NUL-terminated into *out. 0 or SMTPC_ENOMEM.
 */
int smtpc__sasl_escape(const char *s, size_t len, char **out, size_t *outlen);

/* SCRAM-SHA-1 and SCRAM-SHA-256 (sasl_scram.c). */

/** Sets up a new SCRAM exchange: gs2 header and a random nonce. 0, SMTPC_ENOMEM. */
int smtpc__sasl_scram_init(smtpc__sasl *x);
/** The client-first message. 0 or SMTPC_ENOMEM. */
int smtpc__sasl_scram_first(smtpc__sasl *x, unsigned char **out, size_t *outlen);
/** Answers the server-first message with the client-final. 0, SMTPC_EAUTH, SMTPC_ENOMEM. */
int smtpc__sasl_scram_server_first(smtpc__sasl *x, const unsigned char *m, size_t len,
                                   unsigned char **out, size_t *outlen);
/** Verifies the server-final message; answers empty. 0, SMTPC_EAUTH, SMTPC_ENOMEM. */
int smtpc__sasl_scram_server_final(smtpc__sasl *x, const unsigned char *m, size_t len,
                                   unsigned char **out, size_t *outlen);

#endif
