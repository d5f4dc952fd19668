/*
 * text.h - terminal-safe output of untrusted text (server replies, and the
 * addresses and names echoed back).
 *
 * Bytes outside printable ASCII (0x20-0x7e) are written as \xHH so that a
 * server can never send control sequences to the user's terminal; in
 * reply texts the line separator "\n" is written as " / ".
 */
#ifndef SMTPC_CLI_TEXT_H
#define SMTPC_CLI_TEXT_H

#include <stddef.h>
#include <stdio.h>

/** Writes len bytes of p, "\n" as " / ", other unsafe bytes as \xHH. */
void cli_put_text(FILE *f, const char *p, size_t len);

/** A NUL-terminated string, every unsafe byte (also "\n") as \xHH; NULL: nothing. */
void cli_put_str(FILE *f, const char *s);

/** Writes a reply as "<code> [<enhanced> ]<text>" (text as in cli_put_text()). */
void cli_put_reply(FILE *f, int code, const char *enhanced, const char *text, size_t len);

#endif /* SMTPC_CLI_TEXT_H */
