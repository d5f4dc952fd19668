/*
 * dkim-bench.c - the cost of a DKIM signature with libsmtpc: signs the same
 * message N times (key loaded once; each time the message is hashed, the
 * field built and signed, and the signed source read to its end, as a send
 * would) and prints the microseconds per message.
 *   dkim-bench KEY.pem N MESSAGE
 * Run by bench/dkim-bench.sh; N=1 is the per-process comparison with
 * opendkim-testmsg.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "smtpc.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	if (f == NULL || buf == NULL)
		exit(2);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	smtpc_dkim_options o = SMTPC_DKIM_OPTIONS_INIT;
	smtpc_source src = SMTPC_SOURCE_INIT;
	smtpc_dkim_key *key;
	struct timespec t0, t1;
	size_t pemlen, len;
	char *pem, *msg, buf[65536];
	long n, got;

	if (argc != 4 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fputs("usage: dkim-bench KEY.pem N MESSAGE\n", stderr);
		return 2;
	}
	pem = slurp(argv[1], &pemlen);
	msg = slurp(argv[3], &len);
	if (smtpc_dkim_key_load(pem, pemlen, &key) != 0)
		return 1;
	o.domain = "example.org";
	o.selector = "bench";
	src.data = msg;
	src.len = len;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		smtpc_dkim_signed *sig;
		const smtpc_source *out;

		if (smtpc_dkim_sign(key, &o, &src, &sig) != 0)
			return 1;
		out = smtpc_dkim_source(sig);
		while ((got = out->read(buf, sizeof(buf), out->read_user)) > 0)
			;
		if (n == 1)
			fputs(smtpc_dkim_header(sig, NULL), stdout);
		smtpc_dkim_signed_free(sig);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (n > 1)
		printf("%.1f\n",
		       ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
		           1e3 / (double)n);
	smtpc_dkim_key_free(key);
	free(pem);
	free(msg);
	return 0;
}
