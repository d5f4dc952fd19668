/*
 * build.c - builds one message with smtpc_mime_* from its arguments and
 * writes it to standard output, for check.py (the corpus checked with
 * Python's email package). The message is read twice (smtpc_mime_rewind())
 * and both readings must be identical and as long as the size announced.
 *
 *   build [--8bit] [--utf8] [--via mem|fd|cb] [--from NAME ADDR] [--to NAME ADDR]...
 *         [--cc NAME ADDR]... [--reply-to NAME ADDR] [--subject S] [--header N V]...
 *         [--text FILE] [--html FILE] [--attach FILE TYPE NAME]...
 *         [--inline FILE TYPE NAME CID]...
 * TYPE or NAME "-": none. Exit 0, 1 when the library refused (its message on
 * standard error), 2 when the readings disagree.
 */
#include "smtpc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cb {
	int fd;
};

static long cb_read(void *buf, size_t len, void *user)
{
	return (long)read(((struct cb *)user)->fd, buf, len < 1000 ? len : 1000);
}

static int cb_rewind(void *user)
{
	return lseek(((struct cb *)user)->fd, 0, SEEK_SET) == 0 ? 0 : -1;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(3);
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static const char *opt(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

/* The whole message, read in odd-sized pieces. */
static char *read_all(const smtpc_source *src, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *p = malloc(cap);
	long r;

	for (;;) {
		if (cap - n < 4096)
			p = realloc(p, cap *= 2);
		r = src->read(p + n, 1 + n % 4000, src->read_user);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return r < 0 ? NULL : p;
}

int main(int argc, char **argv)
{
	smtpc_mime *m = smtpc_mime_new();
	const char *via = "mem";
	struct cb cbs[64];
	char *mem[64];
	size_t ncb = 0, nmem = 0, len1, len2;
	smtpc_source src;
	char *one, *two;
	int rc = 0, i;

	for (i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];
		smtpc_address ad = {NULL, NULL, NULL};

		if (strcmp(a, "--8bit") == 0) {
			rc = smtpc_mime_set_8bit(m, 1);
		} else if (strcmp(a, "--utf8") == 0) {
			rc = smtpc_mime_set_utf8(m, 1);
		} else if (strcmp(a, "--via") == 0) {
			via = argv[++i];
		} else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0 ||
		           strcmp(a, "--cc") == 0 || strcmp(a, "--reply-to") == 0) {
			ad.name = argv[i + 1];
			ad.address = argv[i + 2];
			i += 2;
			rc = a[2] == 'f'   ? smtpc_mime_set_from(m, &ad)
			     : a[2] == 't' ? smtpc_mime_add_to(m, &ad)
			     : a[2] == 'c' ? smtpc_mime_add_cc(m, &ad)
			                   : smtpc_mime_add_reply_to(m, &ad);
		} else if (strcmp(a, "--subject") == 0) {
			rc = smtpc_mime_set_subject(m, argv[++i]);
		} else if (strcmp(a, "--header") == 0) {
			rc = smtpc_mime_add_header(m, argv[i + 1], argv[i + 2]);
			i += 2;
		} else if (strcmp(a, "--text") == 0 || strcmp(a, "--html") == 0) {
			size_t n;
			char *t = slurp(argv[++i], &n);

			rc = a[2] == 't' ? smtpc_mime_set_text(m, t, n) : smtpc_mime_set_html(m, t, n);
			free(t);
		} else if (strcmp(a, "--attach") == 0 || strcmp(a, "--inline") == 0) {
			smtpc_mime_part p = SMTPC_MIME_PART_INIT;
			int inl = a[2] == 'i';

			if (strcmp(via, "mem") == 0 && nmem < 64) {
				mem[nmem] = slurp(argv[i + 1], &p.source.len);
				p.source.data = mem[nmem++];
			} else {
				int fd = open(argv[i + 1], O_RDONLY);

				if (fd < 0 || ncb == 64)
					return 3;
				if (strcmp(via, "fd") == 0) {
					p.source.fd = fd;
				} else {
					cbs[ncb].fd = fd;
					p.source.read = cb_read;
					p.source.read_user = &cbs[ncb++];
					p.rewind = cb_rewind;
				}
			}
			p.type = opt(argv[i + 2]);
			p.filename = opt(argv[i + 3]);
			p.content_id = inl ? argv[i + 4] : NULL;
			i += inl ? 4 : 3;
			rc = smtpc_mime_attach(m, &p);
		} else {
			fprintf(stderr, "build: unknown argument %s\n", a);
			return 3;
		}
	}
	if (rc == 0)
		rc = smtpc_mime_source(m, &src);
	if (rc != 0) {
		fprintf(stderr, "build: %s: %s\n", smtpc_strerror(rc), smtpc_mime_error(m));
		smtpc_mime_free(m);
		while (nmem > 0)
			free(mem[--nmem]);
		return 1;
	}
	one = read_all(&src, &len1);
	if (one == NULL || smtpc_mime_rewind(m) != 0 || (two = read_all(&src, &len2)) == NULL)
		return fprintf(stderr, "build: %s\n", smtpc_mime_error(m)), 2;
	if (len1 != len2 || memcmp(one, two, len1) != 0 ||
	    (src.size >= 0 && (size_t)src.size != len1)) {
		fprintf(stderr, "build: size %lld, read %zu then %zu\n", (long long)src.size, len1,
		        len2);
		return 2;
	}
	fwrite(one, 1, len1, stdout);
	free(one);
	free(two);
	smtpc_mime_free(m);
	while (nmem > 0)
		free(mem[--nmem]);
	while (ncb > 0)
		close(cbs[--ncb].fd);
	return 0;
}
