/*
 * curl-bench - the same load through libcurl's easy interface, as a user
 * would write it: one easy handle reused for every message (libcurl keeps
 * the connection open between transfers), the message given by a read
 * callback. Defaults otherwise (TCP_NODELAY is on by default in libcurl).
 *
 *   curl-bench --port P [--host H] [-n N] [-r R] (--msg FILE | --file BIG)
 *
 * Prints "elapsed <seconds> msgs <N>" (first transfer to the end of the
 * last, plus the QUIT sent by curl_easy_cleanup()).
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct src {
	const char *data;
	size_t len, off;
	int fd;
};

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

static size_t readcb(char *buf, size_t size, size_t nitems, void *user)
{
	struct src *s = user;
	size_t room = size * nitems;
	if (s->fd >= 0) {
		ssize_t got = read(s->fd, buf, room);
		return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
	}
	size_t left = s->len - s->off;
	size_t k = left < room ? left : room;
	memcpy(buf, s->data + s->off, k);
	s->off += k;
	return k;
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
		fprintf(stderr, "curl-bench: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	*len = (size_t)sz;
	return buf;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *msgfile = NULL, *bigfile = NULL;
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
			bigfile = argv[i + 1];
		else {
			fprintf(stderr, "curl-bench: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (port <= 0 || (!msgfile && !bigfile)) {
		fputs("usage: curl-bench --port P [--host H] [-n N] [-r R] (--msg FILE | --file BIG)\n",
		      stderr);
		return 2;
	}

	struct src s = {.fd = -1};
	if (msgfile)
		s.data = slurp(msgfile, &s.len);

	struct curl_slist *rcpts = NULL;
	for (int i = 0; i < nrcpt; i++) {
		char a[40];
		snprintf(a, sizeof a, "<rcpt%d@example.test>", i + 1);
		rcpts = curl_slist_append(rcpts, a);
	}
	char url[256];
	snprintf(url, sizeof url, "smtp://%s:%d/client.example.test", host, port);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	double q0 = runq_wait();
	double t0 = now();
	CURL *c = curl_easy_init();
	if (bigfile)
		n = 1;
	for (long i = 0; i < n; i++) {
		if (bigfile) {
			s.fd = open(bigfile, O_RDONLY);
			if (s.fd < 0) {
				perror(bigfile);
				return 2;
			}
		}
		s.off = 0;
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_MAIL_FROM, "<bench@example.test>");
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, readcb);
		curl_easy_setopt(c, CURLOPT_READDATA, &s);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		CURLcode rc = curl_easy_perform(c);
		if (rc != CURLE_OK) {
			fprintf(stderr, "curl-bench: message %ld: %s\n", i, curl_easy_strerror(rc));
			return 1;
		}
		if (bigfile)
			close(s.fd);
	}
	curl_easy_cleanup(c); /* sends QUIT */
	double t1 = now();
	double q1 = runq_wait();
	printf("elapsed %.6f msgs %ld runq %.6f\n", t1 - t0, n, q1 - q0);
	curl_slist_free_all(rcpts);
	curl_global_cleanup();
	free((void *)s.data);
	return 0;
}
