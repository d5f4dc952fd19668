/*
 * encoder-bench - throughput of the DATA encoder (smtpc__dataenc_update,
 * src/dataenc.c) on ordinary text: 78-character lines of words, with CRLF
 * or LF line endings, about one line in 200 starting with a dot.
 *
 *   encoder-bench [--mb M] [--reps R] [--chunk BYTES]
 *
 * The text (M MiB, default 16) is fed in chunks of 64 KiB, as the library
 * reads a streamed source (SMTPC__BODY_CHUNK), into one reused output
 * buffer. For each of CRLF/LF x DATA/BDAT it prints
 * "<eol> <mode> <median> <min> <max> wall <median> in <bytes> out <bytes>":
 * GB/s (10^9 input bytes) over R passes, timed with the thread's CPU clock
 * (CLOCK_THREAD_CPUTIME_ID: on a shared machine the time spent waiting for
 * the CPU is not the encoder's), then the median by the wall clock.
 */
#define _POSIX_C_SOURCE 200809L
#include "dataenc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static const char *const words[] = {
    "the",     "message", "server",   "client", "mail",   "transfer", "of",     "and",
    "a",       "to",      "delivery", "queue",  "with",   "which",    "report", "every",
    "network", "address", "protocol", "text",   "line",   "reply",    "status", "for",
};

/* size bytes of text: lines of exactly 78 characters plus the line ending. */
static char *make_text(size_t size, int crlf)
{
	char *t = malloc(size);
	unsigned long long rng = 88172645463325252ULL;
	size_t n = 0, lineno = 0;
	if (!t)
		return NULL;
	while (n < size) {
		char line[80];
		size_t l = 0;
		if (++lineno % 200 == 0)
			line[l++] = '.';
		while (l < 78) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			const char *w = words[rng % (sizeof words / sizeof words[0])];
			size_t wl = strlen(w);
			if (l + wl + 1 > 78) {
				for (; l < 78; l++)
					line[l] = l % 2 ? 'x' : ' ';
				break;
			}
			memcpy(line + l, w, wl);
			l += wl;
			line[l++] = ' ';
		}
		line[77] = '.';
		for (size_t i = 0; i < 78 && n < size; i++)
			t[n++] = line[i];
		if (crlf && n < size)
			t[n++] = '\r';
		if (n < size)
			t[n++] = '\n';
	}
	return t;
}

int main(int argc, char **argv)
{
	size_t mb = 16, chunk = 65536;
	int reps = 31;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mb"))
			mb = (size_t)atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--reps"))
			reps = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--chunk"))
			chunk = (size_t)atol(argv[i + 1]);
		else {
			fprintf(stderr, "usage: encoder-bench [--mb M] [--reps R] [--chunk BYTES]\n");
			return 2;
		}
	}
	if (mb == 0 || reps < 1 || reps > 100 || chunk == 0)
		return 2;
	size_t size = mb << 20;
	char *out = malloc(SMTPC__DATAENC_MAX_OUT(chunk) + SMTPC__DATAENC_FINISH_MAX);
	double *gbs = malloc(sizeof(double) * (size_t)reps);
	double *wall = malloc(sizeof(double) * (size_t)reps);
	if (!out || !gbs || !wall)
		return 1;

	for (int crlf = 1; crlf >= 0; crlf--) {
		char *text = make_text(size, crlf);
		if (!text)
			return 1;
		for (int stuff = 1; stuff >= 0; stuff--) {
			size_t total_out = 0;
			for (int r = 0; r < reps; r++) {
				smtpc__dataenc e;
				if (stuff)
					smtpc__dataenc_init(&e);
				else
					smtpc__dataenc_init_bdat(&e);
				size_t o = 0;
				double w0 = clock_s(CLOCK_MONOTONIC);
				double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
				for (size_t off = 0; off < size; off += chunk) {
					size_t k = size - off < chunk ? size - off : chunk;
					o += smtpc__dataenc_update(&e, text + off, k, out);
				}
				o += smtpc__dataenc_finish(&e, out, stuff);
				double t1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
				double w1 = clock_s(CLOCK_MONOTONIC);
				total_out = o;
				gbs[r] = (double)size / (t1 - t0) / 1e9;
				wall[r] = (double)size / (w1 - w0) / 1e9;
			}
			qsort(gbs, (size_t)reps, sizeof *gbs, cmpd);
			qsort(wall, (size_t)reps, sizeof *wall, cmpd);
			printf("%s %s %.3f %.3f %.3f wall %.3f in %zu out %zu\n", crlf ? "crlf" : "lf",
			       stuff ? "data" : "bdat", gbs[reps / 2], gbs[0], gbs[reps - 1],
			       wall[reps / 2], size, total_out);
		}
		free(text);
	}
	free(out);
	free(gbs);
	free(wall);
	return 0;
}
