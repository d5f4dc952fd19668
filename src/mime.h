/*
 * mime.h - the message builder (smtpc_mime_*), internal hooks for the tests.
 */
#ifndef SMTPC_MIME_H
#define SMTPC_MIME_H

#include "smtpc.h"

/** Where the builder's random bytes (boundaries, Message-ID) come from: getrandom() by default. */
typedef void (*smtpc__random_fn)(unsigned char *buf, size_t len, void *user);

/** Replaces the random source (tests: predictable boundaries that the content holds). */
void smtpc__mime_set_random(smtpc_mime *m, smtpc__random_fn fn, void *user);

#endif
