/*
 * replay.c - runs a fuzz target on files, without libFuzzer.
 *
 *   fuzz_replay_<target> PATH...
 *
 * Each PATH is a file, or a directory whose regular files are all run (in
 * name order, so a failure is reproducible). Used by ctest (label
 * fuzz-replay) on fuzz/corpus/<target>, so that every build, gcc included,
 * runs each target on its seeds under the sanitizers of that build. Exits
 * 1 when a path cannot be read or a directory holds no file; an input that
 * breaks an invariant aborts. With SMTPC_REPLAY_VERBOSE set in the
 * environment, the time each input took is printed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzz.h"

/* Reads the whole file into a block of exactly its size. 0 or -1. */
static int read_file(const char *path, uint8_t **out, size_t *outlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *grown;

			cap = cap == 0 ? 4096 : cap * 2;
			grown = realloc(buf, cap);
			if (grown == NULL) {
				free(buf);
				fclose(f);
				fprintf(stderr, "replay: %s: out of memory\n", path);
				return -1;
			}
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* Exactly len bytes, as libFuzzer hands them over (ASan sees overreads). */
	*out = malloc(len > 0 ? len : 1);
	if (*out == NULL) {
		free(buf);
		return -1;
	}
	if (len > 0)
		memcpy(*out, buf, len);
	free(buf);
	*outlen = len;
	return 0;
}

static int run_file(const char *path)
{
	uint8_t *data;
	size_t len;
	struct timespec t0, t1;

	if (read_file(path, &data, &len) != 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	LLVMFuzzerTestOneInput(data, len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(data);
	if (getenv("SMTPC_REPLAY_VERBOSE") != NULL)
		fprintf(stderr, "%8.3f ms  %s\n",
		        (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		            (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		        path);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of a directory; returns the number run, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	long done = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
		char *path;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		path = malloc(len);
		if (path == NULL)
			break;
		snprintf(path, len, "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			char **grown;

			cap = cap == 0 ? 64 : cap * 2;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL) {
				free(path);
				break;
			}
			names = grown;
		}
		names[n++] = path;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		if (done >= 0 && run_file(names[i]) == 0)
			done++;
		else
			done = -1;
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	long total = 0;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct stat st;
		long n;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			n = run_dir(argv[i]);
			if (n == 0)
				fprintf(stderr, "replay: %s: no input files\n", argv[i]);
			if (n <= 0)
				return 1;
		} else {
			if (run_file(argv[i]) != 0)
				return 1;
			n = 1;
		}
		total += n;
	}
	printf("replayed %ld input(s): no invariant broken\n", total);
	return 0;
}
