/*
 * input.c - reading the message to send, whole, into memory.
 */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIRST_CHUNK (64 * 1024)

/* Makes room for at least one more byte after used bytes. */
static int grow(char **buf, size_t *cap, size_t used)
{
	size_t want;
	char *bigger;

	if (used < *cap)
		return 0;
	if (*cap > SIZE_MAX / 2)
		return EFBIG;
	want = *cap ? *cap * 2 : FIRST_CHUNK;
	bigger = realloc(*buf, want);
	if (bigger == NULL)
		return ENOMEM;
	*buf = bigger;
	*cap = want;
	return 0;
}

static int read_all(int fd, char **data, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, used = 0;

	for (;;) {
		ssize_t n;
		int rc = grow(&buf, &cap, used);

		if (rc != 0) {
			free(buf);
			return rc;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			free(buf);
			return rc;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	*data = buf;
	*len = used;
	return 0;
}

int cli_read_message(const char *path, char **data, size_t *len)
{
	int fd, rc;

	*data = NULL;
	*len = 0;
	if (path == NULL || strcmp(path, "-") == 0)
		return read_all(STDIN_FILENO, data, len);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	rc = read_all(fd, data, len);
	close(fd);
	return rc;
}
