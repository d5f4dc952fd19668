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

uint64_t smtpc__wire_size(const char *p, size_t len)
{
	const char *end = p + len, *q;
	uint64_t size = len;

	if (len == 0)
		return 2; /* an empty message is sent as one CRLF */
	/* Each bare LF and each bare CR becomes CRLF: one byte more. */
	for (q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
		if (q == p || q[-1] != '\r')
			size++;
	for (q = p; (q = memchr(q, '\r', (size_t)(end - q))) != NULL; q++)
		if (q + 1 == end || q[1] != '\n')
			size++;
	if (p[len - 1] != '\n' && p[len - 1] != '\r')
		size += 2;
	return size;
}

int64_t smtpc__source_size(const smtpc_source *src)
{
	struct stat st;

	if (src->data != NULL || (src->fd < 0 && src->read == NULL))
		return (int64_t)smtpc__wire_size(src->data ? src->data : "",
		                                 src->data ? src->len : 0);
	if (src->size >= 0)
		return src->size;
	if (src->read == NULL && fstat(src->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t at = lseek(src->fd, 0, SEEK_CUR);

		if (at >= 0 && at <= st.st_size)
			return (int64_t)(st.st_size - at);
	}
	return -1;
}
