/*
 * smtpc-bench - load client for bench/run, built on the public API only.
 *
 *   smtpc-bench --port P [--host H] [-n N] [-r R] [--msg FILE]
 *               [--mode batch|loop|noop] [--batch-size B]
 *               [--no-pipelining] [--no-chunking] [--file BIG]
 *
 * One connection. batch: smtpc_send_batch() with all N messages (or B at a
 * time); loop: smtpc_sendmail() N times; noop: N lock-step NOOPs (used to
 * calibrate the relay's round-trip time). --file: one message streamed from
 * a file descriptor with smtpc_sendmail_source(). Prints
 * "elapsed <seconds> msgs <N>" (time from before the connect to after QUIT).
 */
#define _POSIX_C_SOURCE 200809L
#include <smtpc.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static void die(smtpc *s, const char *what, int rc)
{
	const smtpc_error *e = s ? smtpc_last_error(s) : NULL;
	fprintf(stderr, "smtpc-bench: %s: %s (%d)%s%s\n", what, smtpc_strerror(rc), rc,
	        e ? ": " : "", e ? e->message : "");
	exit(1);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	fclose(f);
	if (!buf) {
		fputs("smtpc-bench: out of memory\n", stderr);
		exit(2);
	}
	*len = n;
	return buf;
}

static void usage(void)
{
	fputs("usage: smtpc-bench --port P [--host H] [-n N] [-r R] [--msg FILE]\n"
	      "                   [--mode batch|loop|noop] [--batch-size B]\n"
	      "                   [--no-pipelining] [--no-chunking] [--file BIG]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *msgfile = NULL, *bigfile = NULL, *mode = "batch";
	int port = 0, nrcpt = 1;
	long n = 1, bsize = 0;
	smtpc_send_options opts = SMTPC_SEND_OPTIONS_INIT;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--no-pipelining")) {
			opts.no_pipelining = 1;
			continue;
		}
		if (!strcmp(a, "--no-chunking")) {
			opts.no_chunking = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--host"))
			host = v;
		else if (!strcmp(a, "--port"))
			port = atoi(v);
		else if (!strcmp(a, "-n"))
			n = atol(v);
		else if (!strcmp(a, "-r"))
			nrcpt = atoi(v);
		else if (!strcmp(a, "--msg"))
			msgfile = v;
		else if (!strcmp(a, "--file"))
			bigfile = v;
		else if (!strcmp(a, "--mode"))
			mode = v;
		else if (!strcmp(a, "--batch-size"))
			bsize = atol(v);
		else
			usage();
	}
	if (port <= 0 || n < 0 || nrcpt < 1 || nrcpt > 1000 || (!msgfile && !bigfile && strcmp(mode, "noop")))
		usage();

	char **to = calloc((size_t)nrcpt, sizeof *to);
	for (int i = 0; i < nrcpt; i++) {
		to[i] = malloc(32);
		snprintf(to[i], 32, "rcpt%d@example.test", i + 1);
	}
	const char *from = "bench@example.test";
	size_t msglen = 0;
	char *msg = msgfile ? slurp(msgfile, &msglen) : NULL;

	double q0 = runq_wait();
	double t0 = now();
	smtpc *s = smtpc_new();
	if (!s)
		die(NULL, "smtpc_new", SMTPC_ENOMEM);
	smtpc_set_local_hostname(s, "client.example.test");
	int rc = smtpc_connect(s, host, port, NULL);
	if (rc)
		die(s, "connect", rc);
	rc = smtpc_ehlo_or_helo_if_needed(s);
	if (rc)
		die(s, "ehlo", rc);

	if (bigfile) {
		int fd = open(bigfile, O_RDONLY);
		if (fd < 0) {
			perror(bigfile);
			return 2;
		}
		smtpc_source src = SMTPC_SOURCE_INIT;
		src.fd = fd;
		smtpc_send_result *r = NULL;
		rc = smtpc_sendmail_source(s, from, (const char *const *)to, (size_t)nrcpt, &src,
		                           &opts, &r);
		if (rc)
			die(s, "sendmail_source", rc);
		smtpc_send_result_free(r);
		close(fd);
		n = 1;
	} else if (!strcmp(mode, "noop")) {
		for (long i = 0; i < n; i++) {
			rc = smtpc_noop(s, NULL);
			if (rc)
				die(s, "noop", rc);
		}
	} else if (!strcmp(mode, "loop")) {
		for (long i = 0; i < n; i++) {
			smtpc_send_result *r = NULL;
			rc = smtpc_sendmail(s, from, (const char *const *)to, (size_t)nrcpt, msg, msglen,
			                    &opts, &r);
			if (rc)
				die(s, "sendmail", rc);
			smtpc_send_result_free(r);
		}
	} else if (!strcmp(mode, "batch")) {
		size_t chunk = bsize > 0 && bsize < n ? (size_t)bsize : (size_t)n;
		smtpc_message *msgs = calloc(chunk ? chunk : 1, sizeof *msgs);
		smtpc_send_result **res = calloc(chunk ? chunk : 1, sizeof *res);
		if (!msgs || !res)
			die(s, "calloc", SMTPC_ENOMEM);
		for (size_t i = 0; i < chunk; i++) {
			smtpc_source src = SMTPC_SOURCE_INIT;
			src.data = msg;
			src.len = msglen;
			msgs[i].from = from;
			msgs[i].to = (const char *const *)to;
			msgs[i].nto = (size_t)nrcpt;
			msgs[i].source = src;
			msgs[i].opts = &opts;
		}
		for (size_t done = 0; done < (size_t)n;) {
			size_t k = (size_t)n - done < chunk ? (size_t)n - done : chunk;
			rc = smtpc_send_batch(s, msgs, k, res);
			if (rc)
				die(s, "send_batch", rc);
			for (size_t i = 0; i < k; i++) {
				if (!res[i] || res[i]->naccepted != (size_t)nrcpt)
					die(s, "send_batch result", SMTPC_EDATA);
				smtpc_send_result_free(res[i]);
			}
			done += k;
		}
		free(msgs);
		free(res);
	} else {
		usage();
	}

	rc = smtpc_quit(s, NULL);
	if (rc)
		die(s, "quit", rc);
	double t1 = now();
	double q1 = runq_wait();
	smtpc_free(s);
	printf("elapsed %.6f msgs %ld runq %.6f\n", t1 - t0, n, q1 - q0);
	for (int i = 0; i < nrcpt; i++)
		free(to[i]);
	free(to);
	free(msg);
	return 0;
}
