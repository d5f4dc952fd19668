/*
 * body.h - the message as the session sends it: up to two segments in
 * memory (e.g. a rewritten header block, then bytes read ahead), then the
 * caller's source (memory, file descriptor or callback), read in fixed-size
 * pieces so that memory use does not depend on the message size.
 */
#ifndef SMTPC_BODY_H
#define SMTPC_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "smtpc.h"

typedef struct smtpc__body {
	const char *seg[2]; /* memory segments sent first */
	size_t seglen[2];
	const char *mem; /* the source in memory, or NULL */
	size_t memlen;
	int fd;             /* the source's descriptor, or -1 */
	smtpc_read_fn read; /* the source's callback, or NULL */
	void *read_user;
	char *buf;         /* read buffer for fd/read (SMTPC__BODY_CHUNK), malloc'd */
	int refuse_8bit;   /* an 8-bit byte is an error (no 8BITMIME, policy refuse) */
	uint64_t consumed; /* input bytes handed out so far */
} smtpc__body;

/** Sets up b over the source, after the segments (which may be NULL). */
int smtpc__body_init(smtpc__body *b, const smtpc_source *src);
void smtpc__body_free(smtpc__body *b);

/**
 * The next piece of the message: 1 with *p and *n set, 0 at the end,
 * SMTPC_EIO when the source fails (errno kept), SMTPC_ENOTSUPPORTED when
 * refuse_8bit is set and the piece holds a byte >= 0x80.
 */
int smtpc__body_next(smtpc__body *b, const char **p, size_t *n);

/** 1 when the bytes hold a byte >= 0x80. */
int smtpc__has_8bit(const void *p, size_t n);

/**
 * What can be known of a source before sending it: its size once line
 * endings are CRLF (RFC 1870) and whether it has 8-bit bytes (1, 0, -1
 * unknown). Memory: exact. A regular file: read once ahead from its
 * current offset (pread; memory stays bounded), exact. A pipe or a
 * callback: the size the caller declared (-1 if none), 8-bit unknown.
 * *raw: the bytes the source will give, as they are (for progress), or -1.
 */
void smtpc__source_info(const smtpc_source *src, int64_t *size, int *has_8bit, int64_t *raw);

/** Counts the CRLF-normalised size of bytes given piece by piece (RFC 1870 SIZE). */
typedef struct smtpc__wire {
	uint64_t size;
	int last; /* last byte seen, or -1 */
} smtpc__wire;
void smtpc__wire_init(smtpc__wire *w);
void smtpc__wire_add(smtpc__wire *w, const void *p, size_t n);
/** The size, with the final CRLF the encoder adds when the bytes do not end a line. */
uint64_t smtpc__wire_total(const smtpc__wire *w);

/**
 * Adds a regular file, from its current offset, to w (pread: the offset
 * does not move) and says whether it has 8-bit bytes. -1 when fd is not a
 * regular file or cannot be read. *raw: its bytes from the offset.
 */
int smtpc__scan_file(int fd, smtpc__wire *w, int *has_8bit, int64_t *raw);

/** Size of bytes once every line ending is CRLF and they end with one. */
uint64_t smtpc__wire_size(const char *p, size_t len);

#endif
