/*
 * input.c - the message to send, streamed in bounded memory (input.h).
 */
#include "input.h"

#include "exitcodes.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_CHUNK  (64 * 1024)
#define HEADER_FIRST (16 * 1024)
#define HEADER_MAX   (1024 * 1024) /* the library's own bound on a header block */

const char *cli_input_name(const struct cli_input *in)
{
	return in->path ? in->path : "standard input";
}

static int report(const struct cli_input *in, const char *what, int err)
{
	fprintf(stderr, "smtpc: %s ", what);
	if (in->path)
		cli_put_str(stderr, in->path);
	else
		fputs("standard input", stderr);
	fprintf(stderr, ": %s\n", strerror(err));
	return EX_NOINPUT;
}

/* The bytes left from the current offset of a regular file, else -1. */
static int64_t size_of(int fd)
{
	struct stat st;
	off_t at;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	at = lseek(fd, 0, SEEK_CUR);
	if (at < 0 || at > st.st_size)
		return -1;
	return (int64_t)(st.st_size - at);
}

int cli_input_open(struct cli_input *in, const char *path)
{
	struct stat st;

	memset(in, 0, sizeof(*in));
	in->fd = STDIN_FILENO;
	if (path != NULL && strcmp(path, "-") != 0) {
		in->path = path;
		in->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (in->fd < 0)
			return report(in, "cannot read", errno);
		in->owned = 1;
	}
	/* open(2) succeeds on a directory; read(2) would fail only once connected. */
	if (fstat(in->fd, &st) != 0)
		return report(in, "cannot read", errno);
	if (S_ISDIR(st.st_mode))
		return report(in, "cannot read", EISDIR);
	in->size = size_of(in->fd);
	in->start = in->size >= 0 ? lseek(in->fd, 0, SEEK_CUR) : 0;
	return 0;
}

/* read(2) without EINTR; sets in->err on failure. */
static ssize_t read_fd(struct cli_input *in, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(in->fd, buf, len);

		if (n >= 0)
			return n;
		if (errno != EINTR) {
			in->err = errno;
			return -1;
		}
	}
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cli_input_spool(struct cli_input *in)
{
	const char *dir = getenv("TMPDIR");
	char *path, *buf;
	int fd, ex = 0;
	size_t plen;

	if (in->size >= 0)
		return 0; /* a regular file already */
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	plen = strlen(dir) + sizeof("/smtpc-spool.XXXXXX");
	path = malloc(plen);
	buf = malloc(SPOOL_CHUNK);
	if (path == NULL || buf == NULL) {
		free(path);
		free(buf);
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	snprintf(path, plen, "%s/smtpc-spool.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "smtpc: cannot create a temporary file in ");
		cli_put_str(stderr, dir);
		fprintf(stderr, " for the message (set TMPDIR): %s\n", strerror(errno));
		ex = EX_CANTCREAT;
	} else {
		unlink(path); /* gone when we are, whatever happens */
	}
	while (ex == 0) {
		ssize_t n = read_fd(in, buf, SPOOL_CHUNK);

		if (n < 0)
			ex = report(in, "cannot read", in->err);
		else if (n == 0)
			break;
		else if (write_all(fd, buf, (size_t)n) != 0) {
			fprintf(stderr, "smtpc: cannot write the message to a temporary file in ");
			cli_put_str(stderr, dir);
			fprintf(stderr, ": %s\n", strerror(errno));
			ex = EX_IOERR;
		}
	}
	free(path);
	free(buf);
	if (ex == 0 && lseek(fd, 0, SEEK_SET) != 0) {
		fprintf(stderr, "smtpc: cannot rewind the temporary file: %s\n", strerror(errno));
		ex = EX_IOERR;
	}
	if (ex != 0) {
		if (fd >= 0)
			close(fd);
		return ex;
	}
	if (in->owned)
		close(in->fd);
	in->fd = fd;
	in->owned = 1;
	in->size = size_of(fd);
	in->start = 0;
	return 0;
}

/* The end of the header block in [0, len): after its empty line, or 0 when not seen yet. */
static size_t header_end(const char *p, size_t len)
{
	size_t i;

	if (len >= 1 && p[0] == '\n')
		return 1;
	if (len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The length of the field name that opens the line [p, end) ("name *WSP :"), or 0. */
static size_t field_name(const char *p, const char *end)
{
	const char *q = p;
	size_t name;

	while (q < end && *q >= 33 && *q <= 126 && *q != ':')
		q++;
	name = (size_t)(q - p);
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	return (q < end && *q == ':') ? name : 0;
}

/* The end of the field that starts at p: before the first line that does not start with WSP. */
static const char *field_end(const char *p, const char *stop)
{
	const char *eol;

	for (;;) {
		eol = memchr(p, '\n', (size_t)(stop - p));
		if (eol == NULL)
			return stop;
		if (eol + 1 >= stop || (eol[1] != ' ' && eol[1] != '\t'))
			return eol + 1;
		p = eol + 1;
	}
}

/* Notes the value of the field [p, end) whose name is name_len bytes long. */
static void note_field(struct cli_headers *h, const char *p, size_t name_len, const char *end)
{
	const char *value = (const char *)memchr(p, ':', (size_t)(end - p)) + 1;

	if (name_len >= 7 && strncasecmp(p, "Resent-", 7) == 0) {
		h->has_resent = 1;
	} else if (name_len == 4 && strncasecmp(p, "Date", 4) == 0) {
		h->has_date = 1;
	} else if (name_len == 10 && strncasecmp(p, "Message-ID", 10) == 0) {
		h->has_message_id = 1;
	} else if (name_len == 4 && strncasecmp(p, "From", 4) == 0 && h->from == NULL) {
		h->from = value;
		h->from_len = (size_t)(end - value);
	} else if (name_len == 6 && strncasecmp(p, "Sender", 6) == 0 && h->sender == NULL) {
		h->sender = value;
		h->sender_len = (size_t)(end - value);
	}
}

int cli_input_scan_headers(struct cli_input *in, struct cli_headers *h)
{
	size_t cap = HEADER_FIRST, len = 0, end = 0;
	const char *p, *stop, *eol;
	char *buf;

	if (in->scanned) {
		*h = in->headers;
		return 0;
	}
	memset(h, 0, sizeof(*h));
	buf = malloc(cap);
	if (buf == NULL) {
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	for (;;) {
		ssize_t n;

		if (len == cap && cap < HEADER_MAX) {
			char *bigger = realloc(buf, cap * 2);

			if (bigger == NULL) {
				free(buf);
				fputs("smtpc: out of memory\n", stderr);
				return EX_OSERR;
			}
			buf = bigger;
			cap *= 2;
		}
		if (len == cap)
			break; /* too big to scan: sent as it is (the library judges it) */
		n = read_fd(in, buf + len, cap - len);
		if (n < 0) {
			free(buf);
			return report(in, "cannot read", in->err);
		}
		len += (size_t)n;
		end = header_end(buf, len);
		if (n == 0 || end != 0)
			break;
	}
	in->ahead = buf;
	in->ahead_len = len;
	if (end == 0)
		end = len;
	eol = memchr(buf, '\n', end);
	h->crlf = eol != NULL && eol > buf && eol[-1] == '\r';
	h->has_headers = field_name(buf, buf + end) > 0;
	for (p = buf, stop = buf + end; h->has_headers && p < stop;) {
		size_t name = field_name(p, stop);
		const char *fend = field_end(p, stop);

		if (name > 0)
			note_field(h, p, name, fend);
		p = fend;
	}
	in->scanned = 1;
	in->headers = *h;
	return 0;
}

int cli_input_rewind(struct cli_input *in)
{
	if (in->size < 0 || !in->scanned)
		return 0; /* a pipe: what was read ahead is replayed */
	if (lseek(in->fd, in->start, SEEK_SET) != in->start)
		return report(in, "cannot read", errno);
	free(in->ahead);
	in->ahead = NULL;
	in->ahead_len = 0;
	in->ahead_pos = 0;
	in->scanned = 0;
	memset(&in->headers, 0, sizeof(in->headers));
	return 0;
}

int cli_input_set_prefix(struct cli_input *in, const char *p, size_t len)
{
	free(in->prefix);
	in->prefix = malloc(len ? len : 1);
	if (in->prefix == NULL) {
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	memcpy(in->prefix, p, len);
	in->prefix_len = len;
	in->prefix_pos = 0;
	return 0;
}

/* The callback of the source: the prefix, the bytes read ahead, then the descriptor. */
static long read_source(void *buf, size_t len, void *user)
{
	struct cli_input *in = user;
	size_t n;
	ssize_t got;

	if (in->prefix_pos < in->prefix_len) {
		n = in->prefix_len - in->prefix_pos;
		n = n < len ? n : len;
		memcpy(buf, in->prefix + in->prefix_pos, n);
		in->prefix_pos += n;
		return (long)n;
	}
	if (in->ahead_pos < in->ahead_len) {
		n = in->ahead_len - in->ahead_pos;
		n = n < len ? n : len;
		memcpy(buf, in->ahead + in->ahead_pos, n);
		in->ahead_pos += n;
		return (long)n;
	}
	got = read_fd(in, buf, len);
	return got < 0 ? -1 : (long)got;
}

void cli_input_source(struct cli_input *in, smtpc_source *src)
{
	smtpc_source init = SMTPC_SOURCE_INIT;

	*src = init;
	if (in->size >= 0 && in->prefix_len == 0 && in->ahead_len == 0) {
		/* A regular file as it is: the library reads it once ahead for an exact SIZE=
		 * and BODY= (RFC 1870 counts the CRLFs that LF-only files lack). */
		src->fd = in->fd;
		return;
	}
	src->read = read_source;
	src->read_user = in;
	/* in->size counts from the offset at open: the bytes ahead are part of it. */
	src->size = in->size >= 0 ? in->size + (int64_t)in->prefix_len : -1;
}

void cli_input_close(struct cli_input *in)
{
	if (in->owned && in->fd >= 0)
		close(in->fd);
	free(in->ahead);
	free(in->prefix);
	memset(in, 0, sizeof(*in));
	in->fd = -1;
}
