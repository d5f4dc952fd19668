/*
 * compose-bench.c - the message builder on a big attachment (bench/compose-bench.sh).
 *
 *   compose-bench FILE          build a message with FILE attached (read with pread) and read
 *                               it to the end: the base64 encoding speed, in attachment bytes
 *   compose-bench FILE PORT     the same message sent to a sink on 127.0.0.1:PORT
 *   compose-bench --memory MIB  a 64 MiB attachment in memory, read MIB/64 times (with
 *                               smtpc_mime_rewind()): the encoder without file reads
 *
 * Prints one line: bytes of FILE, bytes of the message, seconds, MB/s (10^6 bytes of FILE
 * per second). Peak memory is measured from outside (/usr/bin/time -v).
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smtpc.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define MEMORY_PART (64u << 20)

/* fd >= 0: the attachment is the file; else mem, MEMORY_PART bytes. */
static int build(smtpc_mime *m, int fd, const void *mem)
{
	smtpc_address from = {"Bench", "a@example.org", NULL}, to = {"", "b@example.org", NULL};
	smtpc_mime_part part = SMTPC_MIME_PART_INIT;
	int rc;

	part.source.fd = fd;
	if (fd < 0) {
		part.source.data = mem;
		part.source.len = MEMORY_PART;
	}
	part.filename = "big.bin";
	rc = smtpc_mime_set_from(m, &from);
	if (rc == 0)
		rc = smtpc_mime_add_to(m, &to);
	if (rc == 0)
		rc = smtpc_mime_set_subject(m, "big attachment");
	if (rc == 0)
		rc = smtpc_mime_set_text(m, "see attachment\n", 15);
	return rc == 0 ? smtpc_mime_attach(m, &part) : rc;
}

/* Reads the whole message; returns its size, or -1. */
static long long drain(const smtpc_source *src)
{
	static char buf[65536];
	long long total = 0;
	long n;

	while ((n = src->read(buf, sizeof(buf), src->read_user)) > 0)
		total += n;
	return n < 0 ? -1 : total;
}

static int send_to(const smtpc_source *src, int port)
{
	const char *to[] = {"b@example.org"};
	smtpc *s = smtpc_new();
	int rc = s ? smtpc_connect(s, "127.0.0.1", port, NULL) : SMTPC_ENOMEM;

	if (rc == 0)
		rc = smtpc_sendmail_source(s, "a@example.org", to, 1, src, NULL, NULL);
	if (rc != 0)
		fprintf(stderr, "compose-bench: %s\n", smtpc_strerror(rc));
	smtpc_quit(s, NULL);
	smtpc_free(s);
	return rc;
}

/* --memory MIB: the encoding speed without file reads. */
static int memory_speed(int mib)
{
	unsigned char *mem = malloc(MEMORY_PART);
	smtpc_mime *m = smtpc_mime_new();
	long long out = 0, n = 0;
	int rounds = mib > 64 ? mib / 64 : 1, r;
	smtpc_source src;
	double t0, t;

	if (mem == NULL || m == NULL || build(m, -1, mem) != 0 || smtpc_mime_source(m, &src) != 0)
		return 1;
	for (size_t i = 0; i < MEMORY_PART; i++)
		mem[i] = (unsigned char)(i * 131 + (i >> 9));
	t0 = now();
	for (r = 0; r < rounds && n >= 0; r++) {
		n = drain(&src);
		out += n;
		if (smtpc_mime_rewind(m) != 0)
			n = -1;
	}
	t = now() - t0;
	printf("%lld %lld %.3f %.0f\n", (long long)rounds * MEMORY_PART, out, t,
	       (double)rounds * MEMORY_PART / t / 1e6);
	smtpc_mime_free(m);
	free(mem);
	return n < 0;
}

int main(int argc, char **argv)
{
	int fd = argc > 1 ? open(argv[1], O_RDONLY) : -1;
	smtpc_mime *m = smtpc_mime_new();
	smtpc_source src;
	struct stat st;
	long long out = 0;
	double t0, t;
	int rc;

	if (argc == 3 && strcmp(argv[1], "--memory") == 0) {
		smtpc_mime_free(m);
		return memory_speed(atoi(argv[2]));
	}
	if (fd < 0 || m == NULL || fstat(fd, &st) != 0) {
		fprintf(stderr, "usage: compose-bench FILE [PORT] | --memory MIB\n");
		return 2;
	}
	rc = build(m, fd, NULL);
	if (rc == 0)
		rc = smtpc_mime_source(m, &src);
	if (rc != 0) {
		fprintf(stderr, "compose-bench: %s\n", smtpc_mime_error(m));
		return 1;
	}
	t0 = now();
	if (argc > 2)
		rc = send_to(&src, atoi(argv[2]));
	else
		rc = (out = drain(&src)) == src.size ? 0 : 1;
	t = now() - t0;
	printf("%lld %lld %.3f %.0f\n", (long long)st.st_size, argc > 2 ? (long long)src.size : out,
	       t, (double)st.st_size / t / 1e6);
	smtpc_mime_free(m);
	close(fd);
	return rc == 0 ? 0 : 1;
}
