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

/**
 * The RFC 5321 path of `in` (what goes between the angle brackets of MAIL
 * FROM or RCPT TO): smtpc__addr_extract(), then the result must be a
 * Dot-string or one Quoted-string, "@", and a domain or address literal (a
 * bare local part such as "postmaster" is kept, as smtplib does). With
 * allow_null, "" and "<>" (blanks around) give the null path "". Returns 1
 * with a malloc'd *out, 0 when `in` is not exactly one such address (never
 * a fallback to the input), -1 when out of memory.
 */
int smtpc__addr_path(const char *in, int allow_null, char **out);

#endif
