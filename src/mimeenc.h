/*
 * mimeenc.h - the encodings of a composed message, no I/O (see mimeenc.c).
 */
#ifndef SMTPC_MIMEENC_H
#define SMTPC_MIMEENC_H

#include <stddef.h>
#include <stdint.h>

#define SMTPC__LINE_MAX 998 /* octets of a line, CRLF excluded (RFC 5322 2.1.1) */
#define SMTPC__FOLD_AT  78  /* a header line should be shorter (RFC 5322 2.1.1) */

/* A growing NUL-terminated buffer; after a failed allocation every append is dropped and oom
 * stays set, so that a sequence of appends is checked once. */
typedef struct smtpc__buf {
	char *p;
	size_t len;
	size_t cap;
	int oom;
} smtpc__buf;

void smtpc__buf_add(smtpc__buf *b, const void *p, size_t n);
void smtpc__buf_str(smtpc__buf *b, const char *s);
void smtpc__buf_free(smtpc__buf *b);
/** The column of the end of b: the bytes after its last LF. */
size_t smtpc__buf_column(const smtpc__buf *b);

/** 1 when p[0..len) is well-formed UTF-8 (RFC 3629: no overlong form, surrogate, > U+10FFFF). */
int smtpc__utf8_valid(const char *p, size_t len);

/**
 * Quoted-printable (RFC 2045 6.7) of text whose lines end in LF, CRLF or
 * CR: hard breaks become CRLF, lines are at most 76 characters, "=" and a
 * blank at the end of a line are encoded.
 */
void smtpc__qp_encode(smtpc__buf *out, const char *text, size_t len);

/** Bytes of smtpc__b64_lines() for a whole part of n bytes (lines of 76, CRLF between). */
uint64_t smtpc__b64_lines_size(uint64_t n);
/**
 * Base64 of in (a multiple of 57 bytes unless it is the part's end) as
 * lines of 76 characters: CRLF before each line but the part's first
 * (*first, cleared). out has room for smtpc__b64_lines_room(len). Returns the bytes written.
 */
size_t smtpc__b64_lines(const unsigned char *in, size_t len, char *out, int *first);
#define SMTPC__B64_LINE_IN         57 /* bytes per line of 76 characters */
#define smtpc__b64_lines_room(len) (((len) / SMTPC__B64_LINE_IN + 1) * 78)

/**
 * Appends UTF-8 text as RFC 2047 "B" encoded words of at most 75
 * characters, cut between characters, separated by CRLF SP. `room`: the
 * columns left on the current line (76 - column); a first word that does
 * not fit starts on a new line.
 */
void smtpc__mime_words(smtpc__buf *out, const char *text, size_t len, size_t room);

/**
 * Appends the parameter `name` with a UTF-8 value: name="value" when it is
 * short printable ASCII, else RFC 2231 name*0*=utf-8''%XX... continuations
 * of at most 60 characters. Each parameter starts with ";" CRLF SP.
 */
void smtpc__mime_param(smtpc__buf *out, const char *name, const char *value);

/**
 * Appends unstructured text (RFC 5322 3.2.5) after "Name: ": folded before
 * blanks under 78 columns; as encoded words when it is 8-bit (utf8 0), could
 * be read as encoded words, starts or ends with a blank, or has a word too
 * long for a 998-octet line.
 */
void smtpc__mime_unstructured(smtpc__buf *out, const char *v, int utf8);
/** Appends a display name: atoms, a quoted string, or encoded words (as above, or over 70). */
void smtpc__mime_phrase(smtpc__buf *out, const char *name, int utf8);

#endif
