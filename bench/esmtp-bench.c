/*
 * esmtp-bench - the same load through libESMTP 1.1: one session, every
 * message added to it before smtp_start_session() (libESMTP then sends them
 * all over one connection, pipelining when the server offers PIPELINING).
 *
 *   esmtp-bench --port P [--host H] [-n N] [-r R] (--msg FILE | --file BIG)
 *
 * Prints "elapsed <seconds> msgs <N>" (building the session included).
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h> /* libesmtp.h uses size_t without it */
#include <libesmtp.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *g_data;
static size_t g_len;
static const char *g_big;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Time this process has waited on a run queue, in seconds (/proc/self/schedstat). */
static double runq_wait(void)
{
	unsigned long long run = 0, wait = 0;
	FILE *f = fopen("/proc/self/schedstat", "r");
	if (f) {
		if (fscanf(f, "%llu %llu", &run, &wait) != 2)
			wait = 0;
		fclose(f);
	}
	return (double)wait / 1e9;
}

/*
 * The message in memory, in one piece. libESMTP free()s *ctx when it is
 * done with a message, so the state is malloc'd: a flag "already given".
 */
static const char *memcb(void **ctx, int *len, void *arg)
{
	(void)arg;
	int *given = *ctx;
	if (!given) {
		given = malloc(sizeof *given);
		if (!given)
			return NULL;
		*ctx = given;
	}
	if (!len) { /* rewind */
		*given = 0;
		return NULL;
	}
	if (*given) {
		*len = 0;
		return NULL;
	}
	*given = 1;
	*len = (int)g_len;
	return g_data;
}

/* The big message read from its file in 64 KiB pieces. */
struct fdctx {
	int fd;
	char buf[65536];
};

static const char *fdcb(void **ctx, int *len, void *arg)
{
	(void)arg;
	struct fdctx *c = *ctx;
	if (!c) {
		c = malloc(sizeof *c);
		if (!c)
			return NULL;
		c->fd = -1;
		*ctx = c;
	}
	if (!len) { /* rewind */
		if (c->fd >= 0)
			close(c->fd);
		c->fd = open(g_big, O_RDONLY);
		return NULL;
	}
	if (c->fd < 0)
		c->fd = open(g_big, O_RDONLY);
	ssize_t got = read(c->fd, c->buf, sizeof c->buf);
	if (got <= 0) {
		*len = 0;
		return NULL;
	}
	*len = (int)got;
	return c->buf;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)sz + 1);
	if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		fprintf(stderr, "esmtp-bench: cannot read %s\n", path);
		exit(2);
	}
	buf[sz] = '\0';
	fclose(f);
	*len = (size_t)sz;
	return buf;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *msgfile = NULL;
	int port = 0, nrcpt = 1;
	long n = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--host"))
			host = argv[i + 1];
		else if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-n"))
			n = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-r"))
			nrcpt = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--msg"))
			msgfile = argv[i + 1];
		else if (!strcmp(argv[i], "--file"))
			g_big = argv[i + 1];
		else {
			fprintf(stderr, "esmtp-bench: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (port <= 0 || (!msgfile && !g_big)) {
		fputs("usage: esmtp-bench --port P [--host H] [-n N] [-r R] (--msg FILE | --file BIG)\n",
		      stderr);
		return 2;
	}
	if (msgfile)
		g_data = slurp(msgfile, &g_len);
	if (g_big)
		n = 1;

	char hostport[300];
	snprintf(hostport, sizeof hostport, "%s:%d", host, port);
	char (*rcpt)[40] = calloc((size_t)nrcpt, sizeof *rcpt);
	for (int i = 0; i < nrcpt; i++)
		snprintf(rcpt[i], sizeof rcpt[i], "rcpt%d@example.test", i + 1);

	double q0 = runq_wait();
	double t0 = now();
	smtp_session_t session = smtp_create_session();
	smtp_set_server(session, hostport);
	smtp_set_hostname(session, "client.example.test");
	smtp_message_t *msgs = calloc((size_t)n, sizeof *msgs);
	for (long i = 0; i < n; i++) {
		smtp_message_t m = smtp_add_message(session);
		msgs[i] = m;
		smtp_set_reverse_path(m, "bench@example.test");
		for (int k = 0; k < nrcpt; k++)
			smtp_add_recipient(m, rcpt[k]);
		smtp_set_messagecb(m, g_big ? fdcb : memcb, NULL);
	}
	if (!smtp_start_session(session)) {
		char buf[128];
		fprintf(stderr, "esmtp-bench: %s\n", smtp_strerror(smtp_errno(), buf, sizeof buf));
		return 1;
	}
	double t1 = now();
	double q1 = runq_wait();
	long bad = 0;
	for (long i = 0; i < n; i++) {
		const smtp_status_t *st = smtp_message_transfer_status(msgs[i]);
		if (!st || st->code / 100 != 2)
			bad++;
	}
	if (bad) {
		fprintf(stderr, "esmtp-bench: %ld of %ld messages not accepted\n", bad, n);
		return 1;
	}
	printf("elapsed %.6f msgs %ld runq %.6f\n", t1 - t0, n, q1 - q0);
	smtp_destroy_session(session);
	free(msgs);
	free(rcpt);
	return 0;
}
