/*
 * dkim-sign.c - test driver: signs one message file with libsmtpc and writes
 * the signed message (what smtpc_dkim_source() gives) to standard output.
 *
 * dkim-sign [-m mem|file|pipe|callback] [-h From:To] [-c relaxed/simple]
 *           [-t time] [-x seconds] [-i identity] KEY DOMAIN SELECTOR MESSAGE
 * -m picks the source kind given to smtpc_dkim_sign(), so that every way of
 * reading the message (held, read again, copied to a temporary file) is
 * checked by the verifiers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpc.h"

#define MAX_FILE  (64 * 1024 * 1024)
#define MAX_NAMES 64

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;

	if (f == NULL) {
		fprintf(stderr, "dkim-sign: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	*len = 0;
	do {
		if (*len == cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			if (buf == NULL || cap > MAX_FILE)
				exit(2);
		}
		*len += fread(buf + *len, 1, cap - *len, f);
	} while (*len == cap);
	fclose(f);
	return buf;
}

/* A callback source handing out 1 to 7 bytes at a time: the split points vary. */
struct drip {
	const char *p;
	size_t len, pos;
};

static long drip_read(void *buf, size_t len, void *user)
{
	struct drip *d = user;
	size_t n = d->len - d->pos;

	if (n > 1 + d->pos % 7)
		n = 1 + d->pos % 7;
	if (n > len)
		n = len;
	memcpy(buf, d->p + d->pos, n);
	d->pos += n;
	return (long)n;
}

static size_t split_names(char *list, const char **names)
{
	size_t n = 0;

	for (char *p = strtok(list, ":"); p != NULL && n < MAX_NAMES; p = strtok(NULL, ":"))
		names[n++] = p;
	return n;
}

static int open_pipe(const char *msg, size_t len)
{
	int fds[2];

	if (pipe(fds) != 0)
		exit(2);
	if (fork() == 0) {
		close(fds[0]);
		while (len > 0) {
			ssize_t w = write(fds[1], msg, len);

			if (w <= 0)
				_exit(1);
			msg += w;
			len -= (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	return fds[0];
}

int main(int argc, char **argv)
{
	smtpc_dkim_options o = SMTPC_DKIM_OPTIONS_INIT;
	smtpc_source src = SMTPC_SOURCE_INIT;
	const char *mode = "mem", *names[MAX_NAMES];
	struct drip drip;
	smtpc_dkim_key *key;
	smtpc_dkim_signed *sig;
	const smtpc_source *out;
	char *pem, *msg, buf[4096];
	size_t pemlen, len;
	long got;
	int opt, rc;

	while ((opt = getopt(argc, argv, "m:h:c:t:x:i:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 'h':
			o.nheaders = split_names(optarg, names);
			o.headers = names;
			break;
		case 'c':
			o.simple_header = strncmp(optarg, "simple/", 7) == 0;
			o.simple_body = strcmp(strchr(optarg, '/') + 1, "simple") == 0;
			break;
		case 't':
			o.timestamp = strtoll(optarg, NULL, 10);
			break;
		case 'x':
			o.expire = strtoll(optarg, NULL, 10);
			break;
		case 'i':
			o.identity = optarg;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 4) {
		fputs("usage: dkim-sign [-m mode] [-h names] [-c canon] [-t time] [-x secs] "
		      "[-i id] KEY DOMAIN SELECTOR MESSAGE\n",
		      stderr);
		return 2;
	}
	pem = slurp(argv[optind], &pemlen);
	rc = smtpc_dkim_key_load(pem, pemlen, &key);
	if (rc != 0) {
		fprintf(stderr, "dkim-sign: key refused (%d)\n", rc);
		return 1;
	}
	o.domain = argv[optind + 1];
	o.selector = argv[optind + 2];
	msg = slurp(argv[optind + 3], &len);
	if (strcmp(mode, "mem") == 0) {
		src.data = msg;
		src.len = len;
	} else if (strcmp(mode, "file") == 0) {
		src.fd = open(argv[optind + 3], O_RDONLY);
	} else if (strcmp(mode, "pipe") == 0) {
		src.fd = open_pipe(msg, len);
	} else {
		drip = (struct drip){msg, len, 0};
		src.read = drip_read;
		src.read_user = &drip;
	}
	rc = smtpc_dkim_sign(key, &o, &src, &sig);
	if (rc != 0) {
		fprintf(stderr, "dkim-sign: signing failed (%d)\n", rc);
		return 1;
	}
	out = smtpc_dkim_source(sig);
	while ((got = out->read(buf, sizeof(buf), out->read_user)) > 0)
		fwrite(buf, 1, (size_t)got, stdout);
	smtpc_dkim_signed_free(sig);
	smtpc_dkim_key_free(key);
	free(pem);
	free(msg);
	return got == 0 ? 0 : 1;
}
