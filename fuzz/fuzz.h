/*
 * fuzz.h - what every fuzz target shares.
 *
 * Each target is one file defining LLVMFuzzerTestOneInput(). It is linked
 * twice: with libFuzzer (clang, -fsanitize=fuzzer) as fuzz_<target>, and
 * with replay.c (any compiler) as fuzz_replay_<target>, which the ordinary
 * test run uses to replay the committed corpus. A broken invariant calls
 * FUZZ_CHECK, which prints where and aborts: libFuzzer then saves the input
 * as a crash, and the replay test fails.
 */
#ifndef SMTPC_FUZZ_H
#define SMTPC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not assert(): it must also hold in a build with NDEBUG. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A heap copy of exactly len bytes (at least one byte allocated), so that
 * AddressSanitizer sees any read past the end. NULL only when out of memory. */
static inline char *fuzz_dup(const uint8_t *data, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	if (p != NULL && len > 0) {
		size_t i;

		for (i = 0; i < len; i++)
			p[i] = (char)data[i];
	}
	return p;
}

/* A NUL-terminated heap copy (len + 1 bytes); embedded NULs are kept. */
static inline char *fuzz_strdup(const uint8_t *data, size_t len)
{
	char *p = malloc(len + 1);

	if (p != NULL) {
		size_t i;

		for (i = 0; i < len; i++)
			p[i] = (char)data[i];
		p[len] = '\0';
	}
	return p;
}

#endif
