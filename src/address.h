/*
 * address.h - RFC 5321 paths from RFC 5322 address strings, no I/O.
 */
#ifndef SMTPC_ADDRESS_H
#define SMTPC_ADDRESS_H

#include <stddef.h>

/**
 * Finds the address in a string such as "Bob <bob@x.com>", "bob@x.com (Bob)",
 * "<@relay:bob@x.com>" or "\"a b\"@x.com": display names, comments (nested,
 * with quoted pairs) and source routes are dropped; quoted local parts are
 * kept as written. On success stores the address (without angle brackets)
 * in a malloc'd NUL-terminated *out and returns 1;
 * returns 0 when no single address is found (empty, two addresses, broken
 * syntax) and -1 when out of memory.
 */
int smtpc__addr_extract(const char *in, char **out);

#endif
