/*
 * caps.h - EHLO/LHLO capabilities (RFC 5321 4.1.1.1, RFC 1869 4.5), no I/O.
 */
#ifndef SMTPC_CAPS_H
#define SMTPC_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "smtpc.h"

#define SMTPC__CAPS_MAX      128 /* keywords kept; more lines are ignored */
#define SMTPC__CAPS_MAX_AUTH 64  /* AUTH mechanisms kept */

typedef struct smtpc__cap {
	char *keyword; /* upper case, points into the caps buffer */
	char *params;  /* parameters, surrounding blanks removed, "" if none */
} smtpc__cap;

typedef struct smtpc__caps {
	size_t n;
	smtpc__cap cap[SMTPC__CAPS_MAX];
	int size_known;    /* SIZE advertised with a valid value (or none = 0) */
	uint64_t size_max; /* SIZE parameter; 0 = no fixed limit */
	char *buf;         /* storage for keywords and params (malloc'd) */
} smtpc__caps;

void smtpc__caps_init(smtpc__caps *c);
/** Forgets every capability (frees the storage). */
void smtpc__caps_clear(smtpc__caps *c);

/**
 * Parses the text of a 250 EHLO reply (lines joined by '\n'); the first line
 * (the server's name and greeting) is skipped. A line starting with a
 * keyword (a letter or digit, then letters, digits or '-') gives a
 * capability; "AUTH=..." (old style) adds to AUTH; AUTH mechanisms are a
 * set (each kept once, in first-seen order, separated by one space); for
 * other keywords a later line replaces an earlier one. Other lines are
 * ignored. SIZE: a decimal number that fits in 64 bits sets size_max, a bad
 * value leaves size_known 0. Previous contents are cleared first.
 * Returns 0 or SMTPC_ENOMEM.
 */
int smtpc__caps_parse(smtpc__caps *c, const char *text, size_t len);

/** The capability with this keyword (case-insensitive), or NULL. */
const smtpc__cap *smtpc__caps_find(const smtpc__caps *c, const char *keyword);

#endif
