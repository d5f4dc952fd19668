/*
 * fakeserver.c - plays the [server] script of a case in a thread and checks
 * every byte the client sends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

/* How long the server waits, after its script, for the client to close. */
#define SC_END_WAIT_MS 30000
/* How long a mismatching line is read on, to show all of it. */
#define SC_REST_OF_LINE_MS 300

struct sc_server {
	const sc_case *c;
	int verbose;
	int lfd;
	char host[100]; /* fits in sun_path */
	int port;
	char dir[64];
	pthread_t th;
	int started;

	int fd; /* the connection, -1 when none */
	int conn_no;
	sc_buf in;  /* bytes received on this connection */
	size_t pos; /* bytes of `in` checked so far */
	int eof;    /* the client closed (or reset) */

	int failures;
	sc_buf log;   /* failure reports */
	sc_buf trans; /* transcript */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void fail_step(sc_server *srv, const sc_sstep *st, const char *msg)
{
	srv->failures++;
	if (st)
		sc_buf_addf(&srv->log, "server: %s:%d `%s` (connection %d): ", srv->c->path,
		            st->line, st->src, srv->conn_no);
	else
		sc_buf_addf(&srv->log, "server: %s (connection %d): ", srv->c->path, srv->conn_no);
	sc_buf_addf(&srv->log, "%s\n", msg);
}

static void trans_bytes(sc_server *srv, const char *dir, const char *p, size_t n)
{
	sc_buf_addf(&srv->trans, "  %s ", dir);
	sc_escape(&srv->trans, p, n);
	sc_buf_addc(&srv->trans, '\n');
}

static void trans_note(sc_server *srv, const char *note, const char *detail)
{
	sc_buf_addf(&srv->trans, "  -- %s%s%s\n", note, detail ? ": " : "", detail ? detail : "");
}

static void conn_drop(sc_server *srv)
{
	if (srv->fd >= 0)
		close(srv->fd);
	srv->fd = -1;
	sc_buf_free(&srv->in);
	srv->pos = 0;
	srv->eof = 0;
}

/*
 * Reads what is available before the deadline. Returns 1 when bytes came,
 * 0 at end of stream (also after a reset), -1 on timeout.
 */
static int read_some(sc_server *srv, int64_t deadline)
{
	char tmp[65536];
	struct pollfd pfd;
	ssize_t n;

	if (srv->eof)
		return 0;
	for (;;) {
		int64_t left = deadline - now_ms();
		int r;

		if (left < 0)
			left = 0;
		pfd.fd = srv->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -1;
		break;
	}
	n = recv(srv->fd, tmp, sizeof(tmp), 0);
	if (n > 0) {
		sc_buf_add(&srv->in, tmp, (size_t)n);
		trans_bytes(srv, "C>", tmp, (size_t)n);
		return 1;
	}
	if (n < 0 && errno != ECONNRESET) {
		trans_note(srv, "recv failed", strerror(errno));
		srv->eof = 1;
		return 0;
	}
	trans_note(srv, n == 0 ? "client closed (EOF)" : "client reset the connection", NULL);
	srv->eof = 1;
	return 0;
}

static size_t pending(const sc_server *srv)
{
	return srv->in.len - srv->pos;
}

/* Reads on until the unchecked bytes hold a LF (or a short while passes). */
static void read_rest_of_line(sc_server *srv, size_t from)
{
	int64_t deadline = now_ms() + SC_REST_OF_LINE_MS;

	while (!memchr(srv->in.p + from, '\n', srv->in.len - from) && srv->in.len - from < 65536) {
		if (read_some(srv, deadline) <= 0)
			break;
	}
}

static void report_mismatch(sc_server *srv, const sc_sstep *st, const char *exp, size_t elen,
                            size_t diff, const char *why)
{
	sc_buf m = {0};
	const char *got = srv->in.p ? srv->in.p + srv->pos : "";
	size_t glen = pending(srv);
	const char *lf;

	/* show the received bytes up to the end of the line where they differ */
	lf = memchr(got + diff, '\n', glen - diff);
	if (lf)
		glen = (size_t)(lf - got) + 1;
	sc_buf_addf(&m, "%s\n    expected: ", why);
	sc_escape(&m, exp, elen);
	sc_buf_add(&m, "\n    got:      ", 15);
	sc_escape(&m, got, glen);
	if (srv->eof && glen == pending(srv))
		sc_buf_add(&m, " then EOF", 9);
	sc_buf_addf(&m, "\n    (first difference at byte %zu)", diff);
	fail_step(srv, st, m.p);
	sc_buf_free(&m);
}

static int do_expect(sc_server *srv, const sc_sstep *st)
{
	int64_t deadline = now_ms() + srv->c->server_timeout_ms;

	for (;;) {
		size_t have = pending(srv);
		size_t m = have < st->len ? have : st->len;
		const char *got = srv->in.p ? srv->in.p + srv->pos : "";
		size_t i;
		int r;

		for (i = 0; i < m; i++)
			if (got[i] != st->bytes[i])
				break;
		if (i < m) {
			read_rest_of_line(srv, srv->pos + i);
			report_mismatch(srv, st, st->bytes, st->len, i,
			                "the client sent other bytes");
			return -1;
		}
		if (have >= st->len) {
			srv->pos += st->len;
			return 0;
		}
		if (srv->eof) {
			report_mismatch(srv, st, st->bytes, st->len, have,
			                "the client closed the connection");
			return -1;
		}
		r = read_some(srv, deadline);
		if (r < 0) {
			char tmo[64];

			snprintf(tmo, sizeof(tmo), "timed out after %d ms",
			         srv->c->server_timeout_ms);
			report_mismatch(srv, st, st->bytes, st->len, have, tmo);
			return -1;
		}
	}
}

/* Fails when the client sent bytes the script has not checked (waits at most `ms`). */
static int check_no_more(sc_server *srv, const sc_sstep *st, long ms, const char *when)
{
	int64_t deadline = now_ms() + ms;

	while (!srv->eof && pending(srv) == 0) {
		if (read_some(srv, deadline) < 0)
			break;
	}
	if (pending(srv) == 0)
		return 0;
	{
		sc_buf m = {0};

		sc_buf_addf(&m, "the client sent bytes that the script does not expect %s: ", when);
		sc_escape(&m, srv->in.p + srv->pos, pending(srv));
		fail_step(srv, st, m.p);
		sc_buf_free(&m);
	}
	return -1;
}

static int do_eof(sc_server *srv, const sc_sstep *st, long ms, const char *when)
{
	int64_t deadline = now_ms() + ms;

	while (!srv->eof) {
		if (read_some(srv, deadline) < 0)
			break;
	}
	if (pending(srv)) {
		sc_buf m = {0};

		sc_buf_addf(&m, "expected the client to close %s, but it sent: ", when);
		sc_escape(&m, srv->in.p + srv->pos, pending(srv));
		fail_step(srv, st, m.p);
		sc_buf_free(&m);
		return -1;
	}
	if (!srv->eof) {
		char msg[128];

		snprintf(msg, sizeof(msg),
		         "the client did not close the connection %s (waited %ld ms)", when, ms);
		fail_step(srv, st, msg);
		return -1;
	}
	return 0;
}

static void send_bytes(sc_server *srv, const char *p, size_t n)
{
	size_t off = 0;

	trans_bytes(srv, "S>", p, n);
	while (off < n) {
		ssize_t w = send(srv->fd, p + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* the client is gone; what it does about it is checked by the steps */
			trans_note(srv, "send failed", strerror(errno));
			return;
		}
		off += (size_t)w;
	}
}

static int do_accept(sc_server *srv, const sc_sstep *st)
{
	int64_t deadline = now_ms() + srv->c->server_timeout_ms;
	struct pollfd pfd;
	int fd, one = 1;

	for (;;) {
		int64_t left = deadline - now_ms();
		int r;

		pfd.fd = srv->lfd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, left < 0 ? 0 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			srv->conn_no++;
			fail_step(srv, st, "the client did not connect");
			return -1;
		}
		break;
	}
	fd = accept(srv->lfd, NULL, NULL);
	srv->conn_no++;
	if (fd < 0) {
		fail_step(srv, st, strerror(errno));
		return -1;
	}
	if (!srv->c->unix_socket)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	srv->fd = fd;
	sc_buf_addf(&srv->trans, "  -- connection %d accepted\n", srv->conn_no);
	return 0;
}

static int need_conn(sc_server *srv, const sc_sstep *st)
{
	if (srv->fd >= 0)
		return 0;
	fail_step(srv, st, "case error: no open connection here (missing ACCEPT?)");
	return -1;
}

static int run_step(sc_server *srv, const sc_sstep *st)
{
	struct linger lg;

	switch (st->op) {
	case SOP_SEND:
		if (need_conn(srv, st) < 0)
			return -1;
		send_bytes(srv, st->bytes, st->len);
		return 0;
	case SOP_DRIP:
		if (need_conn(srv, st) < 0)
			return -1;
		for (size_t i = 0; i < st->len; i++) {
			if (i > 0 && st->ms > 0)
				sleep_ms(st->ms);
			send_bytes(srv, st->bytes + i, 1);
		}
		return 0;
	case SOP_EXPECT:
		if (need_conn(srv, st) < 0)
			return -1;
		return do_expect(srv, st);
	case SOP_SLEEP:
		sleep_ms(st->ms);
		return 0;
	case SOP_NOTHING:
		if (need_conn(srv, st) < 0)
			return -1;
		return check_no_more(srv, st, st->ms, "during CNOTHING");
	case SOP_CLOSE:
		if (need_conn(srv, st) < 0)
			return -1;
		if (check_no_more(srv, st, 0, "before CLOSE") < 0)
			return -1;
		trans_note(srv, "server closes", NULL);
		conn_drop(srv);
		return 0;
	case SOP_ABORT:
		if (need_conn(srv, st) < 0)
			return -1;
		lg.l_onoff = 1;
		lg.l_linger = 0;
		setsockopt(srv->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (pending(srv))
			trans_note(srv, "server aborts (unchecked client bytes discarded)", NULL);
		else
			trans_note(srv, "server aborts (reset)", NULL);
		conn_drop(srv);
		return 0;
	case SOP_SHUT:
		if (need_conn(srv, st) < 0)
			return -1;
		trans_note(srv, "server shuts down its side (FIN)", NULL);
		shutdown(srv->fd, SHUT_WR);
		return 0;
	case SOP_EOF:
		if (need_conn(srv, st) < 0)
			return -1;
		return do_eof(srv, st, srv->c->server_timeout_ms, "here");
	case SOP_ACCEPT:
		if (srv->fd >= 0) {
			if (check_no_more(srv, st, 0, "before ACCEPT") < 0)
				return -1;
			conn_drop(srv);
		}
		return do_accept(srv, st);
	default:
		fail_step(srv, st, "internal: unknown server step");
		return -1;
	}
}

static void *server_main(void *arg)
{
	sc_server *srv = arg;
	const sc_case *c = srv->c;
	size_t i;

	if (c->nserver == 0)
		return NULL;
	if (do_accept(srv, NULL) < 0)
		return NULL;
	for (i = 0; i < c->nserver; i++) {
		if (run_step(srv, &c->server[i]) < 0) {
			/* stop here; make the client see the end at once */
			if (srv->fd >= 0) {
				shutdown(srv->fd, SHUT_RDWR);
				conn_drop(srv);
			}
			return NULL;
		}
	}
	if (srv->fd >= 0) {
		/* the runner closes the session after its steps: the connection must end
		 * with no byte the script does not expect */
		if (do_eof(srv, NULL, SC_END_WAIT_MS, "after the end of the script") < 0)
			shutdown(srv->fd, SHUT_RDWR);
		conn_drop(srv);
	}
	return NULL;
}

sc_server *sc_server_start(const sc_case *c, int verbose)
{
	sc_server *srv = sc_xmalloc(sizeof(*srv));
	int fd;

	memset(srv, 0, sizeof(*srv));
	srv->c = c;
	srv->verbose = verbose;
	srv->fd = -1;
	srv->lfd = -1;

	if (c->unix_socket) {
		struct sockaddr_un sun;

		snprintf(srv->dir, sizeof(srv->dir), "/tmp/scenario.XXXXXX");
		if (!mkdtemp(srv->dir)) {
			perror("mkdtemp");
			free(srv);
			return NULL;
		}
		snprintf(srv->host, sizeof(srv->host), "%s/lmtp.sock", srv->dir);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, srv->host, strlen(srv->host) + 1);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			perror("unix socket");
			if (fd >= 0)
				close(fd);
			rmdir(srv->dir);
			free(srv);
			return NULL;
		}
		srv->port = 0;
	} else {
		struct sockaddr_in sin;
		socklen_t slen = sizeof(sin);

		fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = 0;
		if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sin, &slen) < 0) {
			perror("tcp socket");
			if (fd >= 0)
				close(fd);
			free(srv);
			return NULL;
		}
		snprintf(srv->host, sizeof(srv->host), "127.0.0.1");
		srv->port = ntohs(sin.sin_port);
	}
	if (c->rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &c->rcvbuf, sizeof(c->rcvbuf));
	if (listen(fd, 8) < 0) {
		perror("listen");
		close(fd);
		if (c->unix_socket) {
			unlink(srv->host);
			rmdir(srv->dir);
		}
		free(srv);
		return NULL;
	}
	srv->lfd = fd;
	if (pthread_create(&srv->th, NULL, server_main, srv) != 0) {
		perror("pthread_create");
		close(fd);
		if (c->unix_socket) {
			unlink(srv->host);
			rmdir(srv->dir);
		}
		free(srv);
		return NULL;
	}
	srv->started = 1;
	return srv;
}

const char *sc_server_host(const sc_server *srv)
{
	return srv->host;
}

int sc_server_port(const sc_server *srv)
{
	return srv->port;
}

int sc_server_finish(sc_server *srv, FILE *out, int client_failed)
{
	struct pollfd pfd;
	int failures;

	if (srv->started)
		pthread_join(srv->th, NULL);
	pfd.fd = srv->lfd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) > 0) {
		srv->conn_no++;
		fail_step(srv, NULL, "the client opened a connection the script does not accept");
	}
	close(srv->lfd);
	if (srv->c->unix_socket) {
		unlink(srv->host);
		rmdir(srv->dir);
	}
	if (srv->log.len)
		fputs(srv->log.p, out);
	if ((srv->failures || client_failed || srv->verbose) && srv->trans.len) {
		fputs("server transcript (C> received, S> sent):\n", out);
		fputs(srv->trans.p, out);
	}
	failures = srv->failures;
	sc_buf_free(&srv->log);
	sc_buf_free(&srv->trans);
	sc_buf_free(&srv->in);
	free(srv);
	return failures;
}
