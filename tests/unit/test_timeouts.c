/*
 * Unit tests of the timeouts per step (RFC 5321 4.5.3.2: smtpc_set_phase_timeout) and of
 * what a failed wait after the end of data means: a terminator that never reached the
 * server is "not delivered" (the recipients failed), one the server received is "outcome
 * unknown". A scripted server thread on loopback (or a Unix socket) plays the other side:
 * it can be slow to answer one step, stop reading in the middle of a message, or never
 * answer the final dot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "smtpc.h"

/* The steps the server can be slow to answer. */
enum step { NONE, GREETING, EHLO, MAIL, RCPT, DATA, FINAL };

typedef struct server {
	int lfd;
	int port;             /* 0 for a Unix socket */
	char path[108];       /* the Unix socket, or "" */
	int lmtp;             /* answer LHLO, one reply per recipient after the dot */
	int chunking;         /* offer CHUNKING and PIPELINING: the message comes in BDAT chunks */
	enum step slow;       /* the step answered late */
	int delay_ms;         /* how late */
	size_t stop_after;    /* > 0: read that many bytes of the message, then nothing */
	int silent_after_dot; /* read the whole message, never answer it */
	int done[2];          /* the test writes a byte when the client is finished */
	size_t data_read;     /* bytes of the message the server read */
	int saw_end;          /* the server read the final dot (also after the client gave up) */
	pthread_t thread;
} server;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(server *sv, int fd, enum step step, const char *text)
{
	if (sv->slow == step)
		sleep_ms(sv->delay_ms);
	(void)!send(fd, text, strlen(text), MSG_NOSIGNAL);
}

/* Reads one line (CRLF) into buf; 0 at EOF. */
static size_t read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size && recv(fd, buf + n, 1, 0) == 1) {
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return n;
}

/* Waits (10 s at most) until the test says the client is finished. */
static void wait_done(server *sv)
{
	struct pollfd p = {.fd = sv->done[0], .events = POLLIN};

	poll(&p, 1, 10000);
}

/*
 * The client gave up: read whatever still comes, to the end of the stream. What a client
 * that gave up lets through (its kernel sends what it had queued) is what the server gets.
 */
static void drain(server *sv, int fd, size_t *matched)
{
	static const char end[] = "\r\n.\r\n";
	char buf[65536];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		sv->data_read += (size_t)n;
		for (ssize_t i = 0; matched != NULL && i < n; i++) {
			*matched =
			    buf[i] == end[*matched] ? *matched + 1 : (buf[i] == '\r' ? 1 : 0);
			if (*matched == 5)
				sv->saw_end = 1;
		}
	}
}

/*
 * The message: as it comes, until "\r\n.\r\n", or only sv->stop_after bytes of it, then
 * nothing until the client is finished, then the rest (drain).
 */
static int read_message(server *sv, int fd)
{
	static const char end[] = "\r\n.\r\n";
	size_t matched = 2; /* the DATA line ended in CRLF */
	char buf[65536];
	ssize_t n;

	for (;;) {
		size_t want = sizeof(buf);

		if (sv->stop_after > 0 && sv->stop_after - sv->data_read < want)
			want = sv->stop_after - sv->data_read;
		if (want == 0) {
			wait_done(sv); /* stops reading: the rest stays in the client's queue */
			drain(sv, fd, &matched);
			return -1;
		}
		n = recv(fd, buf, want, 0);
		if (n <= 0)
			return -1;
		sv->data_read += (size_t)n;
		for (ssize_t i = 0; i < n; i++) {
			matched = buf[i] == end[matched] ? matched + 1 : (buf[i] == '\r' ? 1 : 0);
			if (matched == 5) {
				sv->saw_end = 1;
				return i + 1 == n ? 0 : -1; /* nothing may follow the dot */
			}
		}
	}
}

/* One BDAT chunk of n bytes (or only what sv->stop_after allows of it). */
static int read_chunk(server *sv, int fd, size_t n)
{
	char buf[65536];

	while (n > 0) {
		size_t want = n < sizeof(buf) ? n : sizeof(buf);
		ssize_t got;

		if (sv->stop_after > 0 && sv->stop_after - sv->data_read < want)
			want = sv->stop_after - sv->data_read;
		if (want == 0) {
			wait_done(sv); /* stops reading: the rest stays in the client's queue */
			drain(sv, fd, NULL);
			return -1;
		}
		got = recv(fd, buf, want, 0);
		if (got <= 0)
			return -1;
		sv->data_read += (size_t)got;
		n -= (size_t)got;
	}
	return 0;
}

static void *serve(void *arg)
{
	server *sv = arg;
	int fd = accept(sv->lfd, NULL, NULL);
	char line[1024];
	int nrcpt = 0;

	if (fd < 0)
		return NULL;
	say(sv, fd, GREETING, "220 test ready\r\n");
	while (read_line(fd, line, sizeof(line)) > 0) {
		if (strncmp(line, "EHLO", 4) == 0 || strncmp(line, "LHLO", 4) == 0) {
			say(sv, fd, EHLO,
			    sv->chunking ? "250-test\r\n250-CHUNKING\r\n250 PIPELINING\r\n"
			                 : "250-test\r\n250 8BITMIME\r\n");
		} else if (strncmp(line, "MAIL", 4) == 0) {
			say(sv, fd, MAIL, "250 2.1.0 ok\r\n");
		} else if (strncmp(line, "RCPT", 4) == 0) {
			nrcpt++;
			say(sv, fd, RCPT, "250 2.1.5 ok\r\n");
		} else if (strncmp(line, "DATA", 4) == 0) {
			say(sv, fd, DATA, "354 go ahead\r\n");
			if (read_message(sv, fd) != 0)
				break;
			if (sv->silent_after_dot) {
				wait_done(sv);
				break;
			}
			for (int i = 0; i < (sv->lmtp ? nrcpt : 1); i++)
				say(sv, fd, FINAL, "250 2.0.0 queued\r\n");
		} else if (strncmp(line, "BDAT ", 5) == 0) {
			int last = strstr(line, " LAST") != NULL;

			if (read_chunk(sv, fd, strtoul(line + 5, NULL, 10)) != 0)
				break;
			say(sv, fd, last ? FINAL : NONE,
			    last ? "250 2.0.0 queued\r\n" : "250 ok\r\n");
		} else if (strncmp(line, "QUIT", 4) == 0) {
			say(sv, fd, NONE, "221 bye\r\n");
			break;
		} else {
			say(sv, fd, NONE, "250 ok\r\n");
		}
	}
	close(fd);
	return NULL;
}

/* A server on loopback (path NULL) or on a Unix socket in a fresh directory. */
static void start(server *sv, int rcvbuf, int unix_socket)
{
	assert_int_equal(pipe(sv->done), 0);
	if (unix_socket) {
		char dir[] = "/tmp/smtpc-unit-XXXXXX";
		struct sockaddr_un sun = {0};

		assert_non_null(mkdtemp(dir));
		snprintf(sv->path, sizeof(sv->path), "%s/lmtp.sock", dir);
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, sv->path, strlen(sv->path) + 1);
		sv->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_true(sv->lfd >= 0);
		assert_int_equal(bind(sv->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	} else {
		struct sockaddr_in sin = {0};
		socklen_t len = sizeof(sin);

		sv->path[0] = '\0';
		sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(sv->lfd >= 0);
		/* Set on the listening socket, so that the window of the connection is small. */
		if (rcvbuf > 0)
			setsockopt(sv->lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(sv->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		getsockname(sv->lfd, (struct sockaddr *)&sin, &len);
		sv->port = ntohs(sin.sin_port);
	}
	assert_int_equal(listen(sv->lfd, 4), 0);
	pthread_create(&sv->thread, NULL, serve, sv);
}

static void stop(server *sv, smtpc *s)
{
	(void)!write(sv->done[1], "x", 1);
	smtpc_free(s);
	pthread_join(sv->thread, NULL);
	close(sv->lfd);
	close(sv->done[0]);
	close(sv->done[1]);
	if (sv->path[0] != '\0') {
		unlink(sv->path);
		*strrchr(sv->path, '/') = '\0';
		rmdir(sv->path);
	}
}

static smtpc *client(const server *sv)
{
	smtpc *s = smtpc_new();

	assert_non_null(s);
	assert_int_equal(smtpc_set_local_hostname(s, "client.example"), 0);
	assert_int_equal(smtpc_set_timeout(s, 5000), 0);
	if (sv->lmtp)
		assert_int_equal(smtpc_set_protocol(s, SMTPC_PROTO_LMTP), 0);
	assert_int_equal(smtpc_connect(s, sv->path[0] ? sv->path : "127.0.0.1", sv->port, NULL), 0);
	return s;
}

static void test_defaults(void **state)
{
	/* RFC 5321 4.5.3.2, and ours for the connect and the other commands. */
	static const int rfc[SMTPC_PHASE_COUNT] = {
	    [SMTPC_PHASE_CONNECT] = 120000, [SMTPC_PHASE_GREETING] = 300000,
	    [SMTPC_PHASE_MAIL] = 300000,    [SMTPC_PHASE_RCPT] = 300000,
	    [SMTPC_PHASE_DATA] = 120000,    [SMTPC_PHASE_BLOCK] = 180000,
	    [SMTPC_PHASE_FINAL] = 600000,   [SMTPC_PHASE_COMMAND] = 300000,
	};
	smtpc *s = smtpc_new();
	int ms = 0;

	(void)state;
	for (int p = 0; p < SMTPC_PHASE_COUNT; p++) {
		assert_int_equal(smtpc_get_phase_timeout(s, (smtpc_phase)p, &ms), 0);
		assert_int_equal(ms, rfc[p]);
	}
	/* The single timeout sets every step; a phase can then be set alone. */
	assert_int_equal(smtpc_set_timeout(s, 1500), 0);
	assert_int_equal(smtpc_set_phase_timeout(s, SMTPC_PHASE_FINAL, -1), 0);
	for (int p = 0; p < SMTPC_PHASE_COUNT; p++) {
		assert_int_equal(smtpc_get_phase_timeout(s, (smtpc_phase)p, &ms), 0);
		assert_int_equal(ms, p == SMTPC_PHASE_FINAL ? -1 : 1500);
	}
	assert_int_equal(smtpc_set_phase_timeout(s, SMTPC_PHASE_RCPT, 0), SMTPC_EINVAL);
	assert_int_equal(smtpc_set_phase_timeout(s, SMTPC_PHASE_RCPT, -2), SMTPC_EINVAL);
	assert_int_equal(smtpc_set_phase_timeout(s, (smtpc_phase)SMTPC_PHASE_COUNT, 10),
	                 SMTPC_EINVAL);
	assert_int_equal(smtpc_set_phase_timeout(s, (smtpc_phase)-1, 10), SMTPC_EINVAL);
	assert_int_equal(smtpc_last_error(s)->kind, SMTPC_EINVAL);
	assert_int_equal(smtpc_get_phase_timeout(s, (smtpc_phase)SMTPC_PHASE_COUNT, &ms),
	                 SMTPC_EINVAL);
	assert_int_equal(smtpc_get_phase_timeout(s, SMTPC_PHASE_RCPT, NULL), SMTPC_EINVAL);
	assert_int_equal(smtpc_get_phase_timeout(s, SMTPC_PHASE_RCPT, &ms), 0);
	assert_int_equal(ms, 1500);
	smtpc_free(s);
}

static const char *const one_rcpt[] = {"b@x.org"};

/*
 * The server answers `step` 1 s late. With that step's timeout at 300 ms (every other
 * one at 5 s) the call fails in that step; with that step at 5 s and every other at 300 ms
 * it succeeds: each step waits for its own timeout and no other.
 */
static void slow_step(enum step step, smtpc_phase phase, const char *command)
{
	static const char msg[] = "Subject: t\r\n\r\nbody\r\n";

	for (int tight = 1; tight >= 0; tight--) {
		server sv = {0};
		smtpc_send_result *res = NULL;
		smtpc *s = smtpc_new();
		int rc;

		sv.slow = step;
		sv.delay_ms = 1000;
		start(&sv, 0, 0);
		assert_int_equal(smtpc_set_local_hostname(s, "client.example"), 0);
		assert_int_equal(smtpc_set_timeout(s, tight ? 5000 : 300), 0);
		assert_int_equal(smtpc_set_phase_timeout(s, phase, tight ? 300 : 5000), 0);
		rc = smtpc_connect(s, "127.0.0.1", sv.port, NULL);
		if (rc == 0)
			rc = smtpc_sendmail(s, "a@x.org", one_rcpt, 1, msg, sizeof(msg) - 1, NULL,
			                    &res);
		if (!tight) {
			assert_int_equal(rc, 0);
		} else if (step == FINAL) {
			/* The server read the whole message: it may have accepted it. */
			assert_int_equal(rc, SMTPC_EUNKNOWN);
		} else {
			assert_int_equal(rc, SMTPC_ETIMEOUT);
			assert_string_equal(smtpc_last_error(s)->command, command);
		}
		smtpc_send_result_free(res);
		stop(&sv, s);
	}
}

static void test_greeting_timeout(void **state)
{
	(void)state;
	slow_step(GREETING, SMTPC_PHASE_GREETING, "CONNECT");
}

static void test_command_timeout(void **state)
{
	(void)state;
	slow_step(EHLO, SMTPC_PHASE_COMMAND, "EHLO");
}

static void test_mail_timeout(void **state)
{
	(void)state;
	slow_step(MAIL, SMTPC_PHASE_MAIL, "MAIL");
}

static void test_rcpt_timeout(void **state)
{
	(void)state;
	slow_step(RCPT, SMTPC_PHASE_RCPT, "RCPT");
}

static void test_data_timeout(void **state)
{
	(void)state;
	slow_step(DATA, SMTPC_PHASE_DATA, "DATA");
}

static void test_final_timeout(void **state)
{
	(void)state;
	slow_step(FINAL, SMTPC_PHASE_FINAL, "DATA");
}

typedef struct progress {
	uint64_t sent, total;
} progress;

static void on_progress(uint64_t sent, uint64_t total, void *user)
{
	progress *p = user;

	p->sent = sent;
	p->total = total;
}

/* A message of `size` bytes: 76-character lines. */
static char *big_message(size_t size)
{
	char *m = malloc(size);

	assert_non_null(m);
	for (size_t i = 0; i < size; i++)
		m[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : (char)('a' + i % 26);
	return m;
}

/*
 * The server reads a few KB of the message and then nothing: the whole message, the
 * terminator too, sits in the client's socket buffer when the wait for the final reply
 * times out. Over TCP the client aborts the connection (RST), so the rest never leaves: the
 * server never gets the dot, even when it reads again: not delivered. Over a Unix socket the
 * bytes are already in the server's queue, and it reads the dot once it reads again: the
 * outcome stays unknown.
 */
static void never_arrived(int lmtp, int unix_socket, size_t size)
{
	server sv = {0};
	smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
	smtpc_send_result *res = NULL;
	progress prog = {0, 0};
	char *msg = big_message(size);
	smtpc *s;
	int64_t t0;
	int rc;

	sv.lmtp = lmtp;
	sv.stop_after = 7000;
	start(&sv, 4096, unix_socket);
	s = client(&sv);
	assert_int_equal(smtpc_set_phase_timeout(s, SMTPC_PHASE_FINAL, 500), 0);
	o.progress = on_progress;
	o.progress_user = &prog;
	t0 = now_ms();
	rc = smtpc_sendmail(s, "a@x.org", one_rcpt, 1, msg, size, &o, &res);
	/* Every write went out (the terminator was handed to the kernel) ... */
	assert_int_equal(prog.sent, size);
	/* ... and the wait for the final reply timed out (500 ms, not the 5 s of the others). */
	assert_true(now_ms() - t0 < 4000);
	assert_int_equal(rc, unix_socket ? SMTPC_EUNKNOWN : SMTPC_ETIMEOUT);
	assert_int_equal(smtpc_last_error(s)->kind, rc);
	assert_true((strstr(smtpc_last_error(s)->message, "not delivered") != NULL) ==
	            !unix_socket);
	assert_non_null(res);
	assert_int_equal(res->recipients[0].status,
	                 unix_socket ? SMTPC_RCPT_UNKNOWN : SMTPC_RCPT_FAILED);
	assert_int_equal(res->naccepted, 0);
	assert_false(smtpc_is_connected(s));
	smtpc_send_result_free(res);
	stop(&sv, s); /* the server reads again, to the end of the stream */
	assert_int_equal(sv.saw_end, unix_socket);
	if (!unix_socket)
		assert_true(sv.data_read < size);
	free(msg);
}

static void test_never_arrived_tcp(void **state)
{
	(void)state;
	never_arrived(0, 0, 2 * 1024 * 1024);
}

static void test_unix_socket_stays_unknown(void **state)
{
	(void)state;
	/* A Unix socket holds what its send buffer holds (about 200 KB by default). */
	never_arrived(1, 1, 100 * 1024);
}

/*
 * With CHUNKING and PIPELINING the 2 MB go out as 32 BDAT chunks and BDAT LAST before any
 * reply is read; the server stops reading after 7 KB, so the wait for the first chunk's
 * reply times out while LAST is still in the client's socket buffer: not delivered.
 */
static void test_never_arrived_bdat(void **state)
{
	server sv = {0};
	smtpc_send_result *res = NULL;
	size_t size = 2 * 1024 * 1024;
	char *msg = big_message(size);
	smtpc *s;
	int rc;

	(void)state;
	sv.chunking = 1;
	sv.stop_after = 7000;
	start(&sv, 4096, 0);
	s = client(&sv);
	assert_int_equal(smtpc_set_phase_timeout(s, SMTPC_PHASE_BLOCK, 500), 0);
	rc = smtpc_sendmail(s, "a@x.org", one_rcpt, 1, msg, size, NULL, &res);
	assert_int_equal(rc, SMTPC_ETIMEOUT);
	assert_string_equal(smtpc_last_error(s)->command, "BDAT");
	assert_non_null(strstr(smtpc_last_error(s)->message, "not delivered"));
	assert_non_null(res);
	assert_int_equal(res->recipients[0].status, SMTPC_RCPT_FAILED);
	smtpc_send_result_free(res);
	stop(&sv, s);
	assert_true(sv.data_read < size); /* LAST never arrived, not even after the timeout */
	free(msg);
}

/* The server read the whole message and never answers: it may have accepted it. */
static void test_arrived_unknown(void **state)
{
	server sv = {0};
	smtpc_send_result *res = NULL;
	size_t size = 2 * 1024 * 1024;
	char *msg = big_message(size);
	smtpc *s;
	int rc;

	(void)state;
	sv.silent_after_dot = 1;
	start(&sv, 4096, 0);
	s = client(&sv);
	/* Long enough for the server to read the 2 MB first (else: not delivered, rightly). */
	assert_int_equal(smtpc_set_phase_timeout(s, SMTPC_PHASE_FINAL, 1500), 0);
	rc = smtpc_sendmail(s, "a@x.org", one_rcpt, 1, msg, size, NULL, &res);
	assert_int_equal(rc, SMTPC_EUNKNOWN);
	assert_non_null(res);
	assert_int_equal(res->recipients[0].status, SMTPC_RCPT_UNKNOWN);
	assert_false(smtpc_is_connected(s));
	smtpc_send_result_free(res);
	stop(&sv, s);
	free(msg);
}

/* smtpc_data() tells the same: the end of data never arrived, the message is not delivered. */
static void test_data_verb_never_arrived(void **state)
{
	server sv = {0};
	size_t size = 2 * 1024 * 1024;
	char *msg = big_message(size);
	smtpc_reply r;
	smtpc *s;

	(void)state;
	sv.stop_after = 7000;
	start(&sv, 4096, 0);
	s = client(&sv);
	assert_int_equal(smtpc_set_phase_timeout(s, SMTPC_PHASE_FINAL, 500), 0);
	assert_int_equal(smtpc_ehlo(s, NULL, &r), 0);
	assert_int_equal(smtpc_mail(s, "a@x.org", NULL, 0, &r), 0);
	assert_int_equal(smtpc_rcpt(s, "b@x.org", NULL, 0, &r), 0);
	assert_int_equal(smtpc_data(s, msg, size, &r), SMTPC_ETIMEOUT);
	assert_non_null(strstr(smtpc_last_error(s)->message, "not delivered"));
	stop(&sv, s);
	assert_false(sv.saw_end);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_greeting_timeout),
	    cmocka_unit_test(test_command_timeout),
	    cmocka_unit_test(test_mail_timeout),
	    cmocka_unit_test(test_rcpt_timeout),
	    cmocka_unit_test(test_data_timeout),
	    cmocka_unit_test(test_final_timeout),
	    cmocka_unit_test(test_never_arrived_tcp),
	    cmocka_unit_test(test_unix_socket_stays_unknown),
	    cmocka_unit_test(test_never_arrived_bdat),
	    cmocka_unit_test(test_arrived_unknown),
	    cmocka_unit_test(test_data_verb_never_arrived),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
