/*
 * attach.h - smtpc send FILE --attach (or -t --attach): new parts added to
 * an existing message (docs/COMPOSE.md "Attaching to a message file").
 */
#ifndef SMTPC_CLI_ATTACH_H
#define SMTPC_CLI_ATTACH_H

#include "compose.h"
#include "smtpc.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CLI_ATTACH_SEGS 5

/* One piece of the message sent: bytes in memory, a range of the file, or the new parts. */
struct cli_attach_seg {
	enum { SEG_MEM, SEG_FILE, SEG_PARTS } kind;
	const char *p;  /* SEG_MEM */
	size_t len;     /* SEG_MEM */
	off_t from, to; /* SEG_FILE: [from, to) relative to the file's start */
};

struct cli_attach {
	int fd;      /* the message (a regular file: the caller spools a pipe) */
	off_t start; /* its offset at open */
	off_t size;  /* its length from start */
	int wrap;    /* 1: a single part wrapped into a new multipart/mixed */
	char boundary[72];
	char *head; /* wrap: the new header block and the first part's header */
	size_t head_len;
	char close[80];           /* wrap: "--boundary--" CRLF */
	struct cli_compose parts; /* the new parts, built by the library */
	smtpc_source parts_src;
	struct cli_attach_seg segs[CLI_ATTACH_SEGS];
	size_t nsegs, seg;
	off_t pos; /* in the current segment */
	int err;   /* errno of a failed read, 0 */
	/* The builder's output, its header block dropped and its delimiters renamed. */
	int phase; /* 0: its header block, 1: its parts, 2: its close delimiter seen */
	char inner[80];
	size_t inner_len;
	char line[1024], in[4096], out[1100];
	size_t line_len, in_len, in_pos, out_len, out_pos;
};

/**
 * Reads the message from fd (a regular file, at offset start, size bytes):
 * its header block, then its body to find where the new parts go; opens
 * the --attach files and builds them. A message that cannot take them is
 * reported on standard error. Returns 0, EX_DATAERR (refused: another
 * type, no close delimiter, a header it cannot parse), EX_NOINPUT or
 * EX_OSERR.
 */
int cli_attach_open(struct cli_attach *a, const struct cli_options *o, int fd, off_t start,
                    off_t size);

/** The message with its new parts, streamed (callback source, size unknown). */
void cli_attach_source(struct cli_attach *a, smtpc_source *src);

void cli_attach_close(struct cli_attach *a);

#endif
