/*
 * fields.h - the header fields that the sendmail mode adds to a message
 * that lacks them, as sendmail(8) does: Date (RFC 5322 3.6.1) and
 * Message-ID (RFC 5322 3.6.4). Each is one line of printable ASCII that
 * ends with the given line end; nothing of it comes from the message.
 */
#ifndef SMTPC_CLI_FIELDS_H
#define SMTPC_CLI_FIELDS_H

#include <stddef.h>
#include <time.h>

/* "Message-ID: <" + 32 hex digits + "." + 16 hex digits + "@" + 255 + ">" + CRLF + NUL:
 * 13 + 32 + 1 + 16 + 1 + 255 + 1 + 2 + 1 = 322 */
#define CLI_FIELD_MAX 336

/**
 * "Date: Mon, 07 Dec 2026 21:03:04 +0100" and the line end (crlf: "\r\n",
 * else "\n") into buf (CLI_FIELD_MAX bytes): the local time of t with its
 * offset from UTC, day and month names in English whatever the locale.
 * Returns the length, or 0 (the time cannot be converted).
 */
size_t cli_date_field(char *buf, time_t t, int crlf);

/**
 * "Message-ID: <RANDOM.TIME@host>" and the line end into buf
 * (CLI_FIELD_MAX bytes): 128 random bits (getrandom(), else /dev/urandom)
 * and the time as hex digits; host must be a host name (letters, digits,
 * hyphens, dots; at most 255). Returns the length, or 0 (no randomness,
 * or host is not a host name).
 */
size_t cli_message_id_field(char *buf, const char *host, time_t t, int crlf);

#endif /* SMTPC_CLI_FIELDS_H */
