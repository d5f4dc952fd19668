/*
 * body.c - reading the message to send, in bounded memory (see body.h).
 */
#include "body.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int smtpc__body_init(smtpc__body *b, const smtpc_source *src)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	if (src->data != NULL || (src->fd < 0 && src->read == NULL)) {
		b->mem = src->data ? src->data : "";
		b->memlen = src->data ? src->len : 0;
		return 0;
	}
	b->fd = src->read != NULL ? -1 : src->fd;
	b->read = src->read;
	b->read_user = src->read_user;
	b->buf = malloc(SMTPC__BODY_CHUNK);
	return b->buf != NULL ? 0 : SMTPC_ENOMEM;
}

void smtpc__body_free(smtpc__body *b)
{
	free(b->buf);
	b->buf = NULL;
}

int smtpc__has_8bit(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i = 0;

	/* Eight bytes at a time: any high bit set in the word. */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, c + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			return 1;
	}
	for (; i < n; i++)
		if (c[i] & 0x80)
			return 1;
	return 0;
}

static int piece(smtpc__body *b, const char *p, size_t n, const char **out, size_t *outlen)
{
	if (b->refuse_8bit && smtpc__has_8bit(p, n))
		return SMTPC_ENOTSUPPORTED;
	b->consumed += n;
	*out = p;
	*outlen = n;
	return 1;
}

int smtpc__body_next(smtpc__body *b, const char **p, size_t *n)
{
	for (int i = 0; i < 2; i++) {
		if (b->seglen[i] > 0) {
			size_t len = b->seglen[i];

			b->seglen[i] = 0;
			return piece(b, b->seg[i], len, p, n);
		}
	}
	if (b->memlen > 0) {
		size_t len = b->memlen < SMTPC__BODY_CHUNK ? b->memlen : SMTPC__BODY_CHUNK;
		const char *start = b->mem;

		b->mem += len;
		b->memlen -= len;
		return piece(b, start, len, p, n);
	}
	if (b->buf == NULL)
		return 0;
	for (;;) {
		long got;

		if (b->read != NULL) {
			got = b->read(b->buf, SMTPC__BODY_CHUNK, b->read_user);
			if (got < 0 || got > SMTPC__BODY_CHUNK) {
				errno = EIO;
				return SMTPC_EIO;
			}
		} else {
			got = (long)read(b->fd, b->buf, SMTPC__BODY_CHUNK);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return SMTPC_EIO;
		}
		if (got == 0)
			return 0;
		return piece(b, b->buf, (size_t)got, p, n);
	}
}

void smtpc__wire_init(smtpc__wire *w)
{
	w->size = 0;
	w->last = -1;
}

void smtpc__wire_add(smtpc__wire *w, const void *data, size_t n)
{
	const char *p = data, *end = p + n, *q;

	if (n == 0)
		return;
	/* A CR that ended the previous piece was bare unless this one starts with LF. */
	if (w->last == '\r' && p[0] != '\n')
		w->size++;
	/* Each bare LF and each bare CR becomes CRLF: one byte more. memchr, not a byte loop:
	 * a file is scanned whole before it is sent (SIZE=), at memory speed. */
	for (q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
		if ((q == p ? w->last : q[-1]) != '\r')
			w->size++;
	/* A CR in the last byte is judged with the next piece (or by smtpc__wire_total). */
	for (q = p; (q = memchr(q, '\r', (size_t)(end - 1 - q))) != NULL; q++)
		if (q[1] != '\n')
			w->size++;
	w->last = (unsigned char)end[-1];
	w->size += n;
}

uint64_t smtpc__wire_size(const char *p, size_t len)
{
	smtpc__wire w;

	smtpc__wire_init(&w);
	smtpc__wire_add(&w, p, len);
	return smtpc__wire_total(&w);
}

uint64_t smtpc__wire_total(const smtpc__wire *w)
{
	if (w->last == -1)
		return 2;
	if (w->last == '\r')
		return w->size + 1; /* a final bare CR */
	return w->size + (w->last == '\n' ? 0 : 2);
}

int smtpc__scan_file(int fd, smtpc__wire *w, int *has_8bit, int64_t *raw)
{
	char *buf = malloc(SMTPC__BODY_CHUNK);
	off_t at = lseek(fd, 0, SEEK_CUR);
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(buf);
		return -1;
	}

	if (buf == NULL || at < 0) {
		free(buf);
		return -1;
	}
	*has_8bit = 0;
	*raw = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, SMTPC__BODY_CHUNK, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		smtpc__wire_add(w, buf, (size_t)n);
		*has_8bit |= smtpc__has_8bit(buf, (size_t)n);
		*raw += n;
		at += n;
	}
	free(buf);
	return 0;
}

void smtpc__source_info(const smtpc_source *src, int64_t *size, int *has_8bit, int64_t *raw)
{
	smtpc__wire w;

	if (src->data != NULL || (src->fd < 0 && src->read == NULL)) {
		const char *p = src->data ? src->data : "";
		size_t len = src->data ? src->len : 0;

		*size = (int64_t)smtpc__wire_size(p, len);
		*has_8bit = smtpc__has_8bit(p, len);
		*raw = (int64_t)len;
		return;
	}
	/* A regular file is read once ahead: exact SIZE= and BODY= (bounded memory). */
	smtpc__wire_init(&w);
	if (src->read == NULL && smtpc__scan_file(src->fd, &w, has_8bit, raw) == 0) {
		*size = (int64_t)smtpc__wire_total(&w);
		return;
	}
	*raw = src->size;
	*size = src->size; /* as declared by the caller, or -1 */
	*has_8bit = -1;
}
