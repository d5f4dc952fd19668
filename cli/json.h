/*
 * json.h - the few JSON (RFC 8259) writers that smtpc's --json output needs.
 *
 * Strings are written from (pointer, length) because server text may hold
 * NUL bytes. Valid UTF-8 is passed through; quote and backslash are escaped;
 * control characters, DEL and every byte that is not part of a valid UTF-8
 * sequence are written as \u00XX (the byte's value); the C1 controls, the
 * line and paragraph separators and the bidi formatting characters as
 * \uXXXX.
 */
#ifndef SMTPC_CLI_JSON_H
#define SMTPC_CLI_JSON_H

#include <stddef.h>
#include <stdio.h>

/** Writes len bytes of p as a JSON string. */
void json_string(FILE *f, const char *p, size_t len);

/** A NUL-terminated string as a JSON string; NULL writes null. */
void json_cstring(FILE *f, const char *s);

/** Writes "key": (the key is a trusted constant). */
void json_key(FILE *f, const char *key);

/** Writes {"code":N,"enhanced":"...","text":"..."}. */
void json_reply(FILE *f, int code, const char *enhanced, const char *text, size_t len);

/**
 * 1 when s is valid UTF-8 (RFC 3629) without the characters that are never
 * written raw (C1 controls, U+2028, U+2029, bidi formatting characters).
 */
int json_utf8_clean(const char *s);

#endif /* SMTPC_CLI_JSON_H */
