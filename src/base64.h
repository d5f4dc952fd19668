/* base64.h - RFC 4648 base64, no I/O. */
#ifndef SMTPC_BASE64_H
#define SMTPC_BASE64_H

#include <stddef.h>

/** Characters needed to encode len bytes on one line (no NUL). */
#define SMTPC__B64_LEN(len) ((((len) + 2) / 3) * 4)

/** Encodes len bytes into out (room for SMTPC__B64_LEN(len) + 1); NUL-terminates; returns the
 * length. */
size_t smtpc__b64_encode(const void *in, size_t len, char *out);

/**
 * Decodes strict base64 (padding required, no blanks) into out (room for
 * len / 4 * 3). Returns the decoded length, or (size_t)-1 on bad input.
 */
size_t smtpc__b64_decode(const char *in, size_t len, unsigned char *out);

#endif
