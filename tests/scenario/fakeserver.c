/*
 * fakeserver.c - plays the [server] script of a case in a thread and checks
 * every byte the client sends.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* POLLRDHUP: the client's FIN seen without reading (fault stalls) */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

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

	int fd;     /* the connection, -1 when none */
	SSL *ssl;   /* TLS over fd after a TLS step, or NULL */
	sc_buf sni; /* the SNI of the last handshake */
	int conn_no;
	sc_buf in;  /* bytes received on this connection */
	size_t pos; /* bytes of `in` checked so far */
	int eof;    /* the client closed (or reset) */

	int failures;
	sc_buf log;   /* failure reports */
	sc_buf trans; /* transcript */

	sc_fault fault; /* kind SC_FAULT_NONE: none */
	size_t cut;     /* where the script stopped (see sc_server_finish_fault) */
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
	if (srv->ssl) {
		SSL_free(srv->ssl);
		srv->ssl = NULL;
	}
	if (srv->fd >= 0)
		close(srv->fd);
	srv->fd = -1;
	sc_buf_free(&srv->in);
	srv->pos = 0;
	srv->eof = 0;
}

/* Waits until fd is ready for `events` or the deadline passes: 1 ready, 0 timeout. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;

	for (;;) {
		int64_t left = deadline - now_ms();
		int r;

		if (left < 0)
			left = 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0;
	}
}

/* The OpenSSL error queue as one line (and cleared). */
static void ssl_errors(char *buf, size_t size)
{
	unsigned long e;
	size_t off = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0 && off + 2 < size) {
		if (off)
			off += (size_t)snprintf(buf + off, size - off, "; ");
		if (off < size)
			ERR_error_string_n(e, buf + off, size - off);
		off = strlen(buf);
	}
}

/* A TLS read: > 0 bytes, 0 end of stream, -1 timeout. */
static long tls_read(sc_server *srv, char *buf, size_t size, int64_t deadline)
{
	for (;;) {
		int n, e;
		char why[300];

		ERR_clear_error();
		errno = 0;
		n = SSL_read(srv->ssl, buf, (int)size);
		if (n > 0)
			return n;
		e = SSL_get_error(srv->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (!wait_fd(srv->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			             deadline))
				return -1;
			continue;
		}
		if (e == SSL_ERROR_ZERO_RETURN) {
			trans_note(srv, "client closed TLS (close_notify)", NULL);
			return 0;
		}
		ssl_errors(why, sizeof(why));
		if (e == SSL_ERROR_SYSCALL || strstr(why, "unexpected eof")) {
			trans_note(srv, "client closed the connection without a TLS close_notify",
			           errno ? strerror(errno) : NULL);
			return 0;
		}
		/* garbage on the TLS connection: a failure whatever the step */
		trans_note(srv, "TLS error while reading", why);
		fail_step(srv, NULL, "TLS error while reading from the client");
		return 0;
	}
}

/*
 * Reads what is available before the deadline. Returns 1 when bytes came,
 * 0 at end of stream (also after a reset), -1 on timeout.
 */
static int read_some(sc_server *srv, int64_t deadline)
{
	char tmp[65536];
	ssize_t n;

	if (srv->eof)
		return 0;
	if (srv->ssl) {
		long t = tls_read(srv, tmp, sizeof(tmp), deadline);

		if (t < 0)
			return -1;
		if (t == 0) {
			srv->eof = 1;
			return 0;
		}
		sc_buf_add(&srv->in, tmp, (size_t)t);
		trans_bytes(srv, "C>", tmp, (size_t)t);
		return 1;
	}
	for (;;) {
		if (!wait_fd(srv->fd, POLLIN, deadline))
			return -1;
		n = recv(srv->fd, tmp, sizeof(tmp), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		break;
	}
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
	if (srv->ssl) {
		int64_t deadline = now_ms() + srv->c->server_timeout_ms;

		while (n > 0) {
			int w, e;

			ERR_clear_error();
			w = SSL_write(srv->ssl, p, (int)n);
			if (w > 0)
				return;
			e = SSL_get_error(srv->ssl, w);
			if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
			    wait_fd(srv->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
				continue;
			trans_note(srv, "TLS send failed", NULL);
			ERR_clear_error();
			return;
		}
		return;
	}
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

/* ---------------------------------------------------------------- TLS steps */

static void set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Who made a failed handshake fail: 1 the client (alert, close), 0 our side. */
static int client_side_failure(int e, unsigned long code)
{
	int reason = ERR_GET_REASON(code);

	if (e == SSL_ERROR_SYSCALL)
		return 1;
	if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256)
		return 1; /* "tlsv1 alert unknown ca" ...: an alert the client sent */
	return reason == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* Server-side failures a case asks for with its options. */
static int expected_server_failure(const sc_tlsopt *o, unsigned long code)
{
	int reason = ERR_GET_REASON(code);

	if (o->max_version && o->max_version < 12 &&
	    (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_VERSION_TOO_LOW))
		return 1;
	return o->require_client_cert && (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
	                                  reason == SSL_R_CERTIFICATE_VERIFY_FAILED);
}

/*
 * The server's TLS handshake on the open connection. want_ok: the case
 * expects success (TLS, tls: implicit) or failure (TLS-FAIL).
 */
static int do_tls(sc_server *srv, const sc_sstep *st, const sc_tlsopt *o, int want_ok)
{
	int64_t deadline = now_ms() + srv->c->server_timeout_ms;
	char err[512], note[600];
	SSL_CTX *ctx;
	SSL *ssl;

	if (srv->ssl) {
		fail_step(srv, st, "case error: TLS is already active on this connection");
		return -1;
	}
	/* only the bytes already read: the socket may hold the ClientHello by now */
	if (pending(srv)) {
		check_no_more(srv, st, 0, "before the TLS handshake");
		return -1;
	}
	ctx = sc_tls_server_ctx(o, &srv->sni, err, sizeof(err));
	if (!ctx) {
		fail_step(srv, st, err);
		return -1;
	}
	sc_buf_free(&srv->sni);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the session keeps a reference */
	if (!ssl || SSL_set_fd(ssl, srv->fd) != 1) {
		SSL_free(ssl);
		fail_step(srv, st, "SSL_new/SSL_set_fd failed");
		return -1;
	}
	set_nonblocking(srv->fd);
	trans_note(srv, want_ok ? "TLS handshake starts" : "TLS handshake starts (must fail)",
	           o->cert);
	for (;;) {
		int r, e;
		unsigned long code;

		ERR_clear_error();
		errno = 0;
		r = SSL_accept(ssl);
		if (r == 1)
			break;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(srv->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
				continue;
			SSL_free(ssl);
			snprintf(err, sizeof(err), "the TLS handshake timed out after %d ms",
			         srv->c->server_timeout_ms);
			trans_note(srv, err, NULL);
			fail_step(srv, st, err);
			return -1;
		}
		code = ERR_peek_error();
		ssl_errors(err, sizeof(err));
		if (!err[0])
			snprintf(err, sizeof(err), "%s",
			         e == SSL_ERROR_SYSCALL && errno ? strerror(errno)
			                                         : "connection closed");
		SSL_free(ssl);
		if (client_side_failure(e, code)) {
			snprintf(note, sizeof(note), "TLS handshake refused by the client: %s",
			         err);
		} else {
			snprintf(note, sizeof(note),
			         "TLS handshake failed on the server's side: %s", err);
			if (!want_ok && !expected_server_failure(o, code)) {
				trans_note(srv, note, NULL);
				fail_step(srv, st, note);
				return -1;
			}
		}
		trans_note(srv, note, NULL);
		if (want_ok) {
			fail_step(srv, st, note);
			return -1;
		}
		/* the connection stays, in plaintext: what the client does next is checked */
		return 0;
	}
	snprintf(note, sizeof(note), "TLS handshake done: %s %s, SNI %s%s%s%s",
	         SSL_get_version(ssl), SSL_get_cipher_name(ssl), srv->sni.len ? "\"" : "none",
	         srv->sni.len ? srv->sni.p : "", srv->sni.len ? "\"" : "",
	         SSL_get0_peer_certificate(ssl) ? ", client certificate received" : "");
	trans_note(srv, note, NULL);
	srv->ssl = ssl;
	if (!want_ok) {
		fail_step(srv, st, "the TLS handshake succeeded but the script expects it to fail");
		return -1;
	}
	if (o->check_sni && strcmp(o->sni, srv->sni.len ? srv->sni.p : "") != 0) {
		snprintf(err, sizeof(err), "SNI: expected %s%s%s, got %s%s%s",
		         o->sni[0] ? "\"" : "", o->sni[0] ? o->sni : "none", o->sni[0] ? "\"" : "",
		         srv->sni.len ? "\"" : "", srv->sni.len ? srv->sni.p : "none",
		         srv->sni.len ? "\"" : "");
		fail_step(srv, st, err);
		return -1;
	}
	return 0;
}

/* Waits until the unchecked bytes hold n bytes. 0, or -1 (eof or timeout: *why set). */
static int need_bytes(sc_server *srv, size_t n, int64_t deadline, const char **why)
{
	while (pending(srv) < n) {
		int r = read_some(srv, deadline);

		if (r == 0) {
			*why = "the client closed the connection";
			return -1;
		}
		if (r < 0) {
			*why = "timed out";
			return -1;
		}
	}
	return 0;
}

static void fail_got(sc_server *srv, const sc_sstep *st, const char *what, const char *why)
{
	sc_buf m = {0};

	sc_buf_addf(&m, "%s: %s; unchecked bytes: ", what, why);
	sc_escape(&m, srv->in.p ? srv->in.p + srv->pos : "", pending(srv));
	fail_step(srv, st, m.p);
	sc_buf_free(&m);
}

/* CHELLO: a TLS record of type handshake holding a ClientHello, consumed whole. */
static int do_hello(sc_server *srv, const sc_sstep *st)
{
	int64_t deadline = now_ms() + srv->c->server_timeout_ms;
	const unsigned char *p;
	const char *why;
	size_t len;

	if (srv->ssl) {
		fail_step(srv, st, "case error: CHELLO on a TLS connection");
		return -1;
	}
	if (need_bytes(srv, 6, deadline, &why) < 0) {
		fail_got(srv, st, "expected a TLS ClientHello", why);
		return -1;
	}
	p = (const unsigned char *)srv->in.p + srv->pos;
	if (p[0] != 0x16 || p[1] != 0x03 || p[5] != 0x01) {
		fail_got(srv, st, "expected a TLS ClientHello", "other bytes");
		return -1;
	}
	len = 5 + ((size_t)p[3] << 8 | p[4]);
	if (need_bytes(srv, len, deadline, &why) < 0) {
		fail_got(srv, st, "a TLS ClientHello record is incomplete", why);
		return -1;
	}
	srv->pos += len;
	trans_note(srv, "a TLS ClientHello received", NULL);
	return 0;
}

/*
 * CALERT: after a failed handshake the client may still send TLS records (an
 * alert, the rest of its flight; encrypted in TLS 1.3): whole records are
 * consumed; then it must close. Anything that is not a TLS record fails.
 */
static int do_alert(sc_server *srv, const sc_sstep *st)
{
	int64_t deadline = now_ms() + srv->c->server_timeout_ms;
	const char *what = "expected TLS records (an alert) and the end of the connection";

	if (srv->ssl) {
		fail_step(srv, st, "case error: CALERT on a TLS connection");
		return -1;
	}
	for (;;) {
		const unsigned char *p = (const unsigned char *)srv->in.p + srv->pos;
		int r;

		if (pending(srv) >= 1 && (p[0] < 0x14 || p[0] > 0x17)) {
			fail_got(srv, st, what, "other bytes");
			return -1;
		}
		if (pending(srv) >= 5) {
			size_t len = 5 + ((size_t)p[3] << 8 | p[4]);
			char note[96];

			if (p[1] != 0x03) {
				fail_got(srv, st, what, "other bytes");
				return -1;
			}
			if (pending(srv) >= len) {
				if (p[0] == 0x15 && len == 7)
					snprintf(note, sizeof(note),
					         "a TLS alert received (level %d, alert %d)", p[5],
					         p[6]);
				else
					snprintf(note, sizeof(note),
					         "a TLS record received (type %d, %zu bytes)", p[0],
					         len);
				trans_note(srv, note, NULL);
				srv->pos += len;
				continue;
			}
		}
		if (srv->eof && pending(srv) == 0)
			return 0;
		if (srv->eof) {
			fail_got(srv, st, what, "the client closed after part of a record");
			return -1;
		}
		r = read_some(srv, deadline);
		if (r < 0) {
			fail_got(srv, st, what, "timed out");
			return -1;
		}
	}
}

/* Takes one line (CRLF excluded) from the client into *line. */
static int take_line(sc_server *srv, const sc_sstep *st, sc_buf *line)
{
	int64_t deadline = now_ms() + srv->c->server_timeout_ms;
	const char *why;

	for (;;) {
		const char *p = srv->in.p ? srv->in.p + srv->pos : NULL;
		const char *lf = p ? memchr(p, '\n', pending(srv)) : NULL;

		if (lf) {
			size_t n = (size_t)(lf - p) + 1;

			if (n < 2 || p[n - 2] != '\r') {
				fail_got(srv, st, "expected a line ending in CRLF", "a bare LF");
				return -1;
			}
			sc_buf_free(line);
			sc_buf_add(line, p, n - 2);
			srv->pos += n;
			return 0;
		}
		if (need_bytes(srv, pending(srv) + 1, deadline, &why) < 0) {
			fail_got(srv, st, "expected a line", why);
			return -1;
		}
	}
}

/* CANY: one line that starts with st->bytes. */
static int do_any(sc_server *srv, const sc_sstep *st)
{
	sc_buf line = {0};
	int rc = take_line(srv, st, &line);

	if (rc == 0 && (line.len < st->len || memcmp(line.p, st->bytes, st->len) != 0)) {
		sc_buf m = {0};

		sc_buf_addf(&m, "the client's line does not start as expected\n    expected: ");
		sc_escape(&m, st->bytes, st->len);
		sc_buf_addf(&m, "...\n    got:      ");
		sc_escape(&m, line.p, line.len);
		fail_step(srv, st, m.p);
		sc_buf_free(&m);
		rc = -1;
	}
	sc_buf_free(&line);
	return rc;
}

/*
 * CBATCH: N: the bytes of the next N expectations must arrive together: once the
 * first of them is here, the rest must be readable at once, without waiting (a
 * client that writes them in one write; a lock-step client waits for replies).
 * The N steps then check the bytes themselves.
 */
static int do_batch(sc_server *srv, size_t idx)
{
	const sc_sstep *st = &srv->c->server[idx];
	int64_t deadline = now_ms() + srv->c->server_timeout_ms;
	size_t total = 0;
	const char *why;

	for (long j = 1; j <= st->ms; j++)
		total += srv->c->server[idx + (size_t)j].len;
	if (need_bytes(srv, 1, deadline, &why) < 0) {
		fail_got(srv, st, "expected the client's pipelined commands", why);
		return -1;
	}
	/* what is readable now, without waiting */
	while (pending(srv) < total && read_some(srv, now_ms()) > 0)
		;
	if (pending(srv) < total) {
		sc_buf m = {0};

		sc_buf_addf(&m,
		            "only %zu of the %zu bytes of the next %ld steps arrived together "
		            "(the client waited for a reply, or wrote them separately); "
		            "they were: ",
		            pending(srv), total, st->ms);
		sc_escape(&m, srv->in.p + srv->pos, pending(srv));
		fail_step(srv, st, m.p);
		sc_buf_free(&m);
		return -1;
	}
	{
		char note[96];

		snprintf(note, sizeof(note), "the next %ld steps (%zu bytes) arrived together",
		         st->ms, total);
		trans_note(srv, note, NULL);
	}
	return 0;
}

/* RFC 5802 5.1: "=" and "," of a saslname escaped. */
static void saslname(sc_buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '=')
			sc_buf_add(out, "=3D", 3);
		else if (*s == ',')
			sc_buf_add(out, "=2C", 3);
		else
			sc_buf_addc(out, *s);
	}
}

/* Sends "334 " base64(msg) CRLF. */
static void send_334(sc_server *srv, const char *msg, size_t len)
{
	sc_buf b = {0};

	sc_buf_add(&b, "334 ", 4);
	sc_b64_encode(msg, len, &b);
	sc_buf_add(&b, "\r\n", 2);
	send_bytes(srv, b.p, b.len);
	sc_buf_free(&b);
}

#define SCRAM_SALT   "scenario-salt-16"
#define SCRAM_ITER   4096
#define SCRAM_SNONCE "3rfcNHYJY1ZVvWVs7j"

/*
 * SCRAM: a SCRAM server (RFC 5802, RFC 7677): "AUTH SCRAM-... [client-first]",
 * the server-first in a 334, the client-final checked (channel binding,
 * nonce, proof), then the server-final "v=" in a 334 (unless no-final).
 */
static int do_scram(sc_server *srv, const sc_sstep *st)
{
	const sc_scramopt *o = st->scram;
	sc_buf line = {0}, first = {0}, final = {0}, sfirst = {0}, user = {0}, amsg = {0};
	sc_buf expect_c = {0}, proof = {0}, sig = {0}, vmsg = {0};
	size_t ml = strlen(o->mech), gs2_len, hlen = 0;
	unsigned char cproof[EVP_MAX_MD_SIZE], ssig[EVP_MAX_MD_SIZE];
	const char *bare, *r, *end, *p;
	int rc = -1;

	if (take_line(srv, st, &line) < 0)
		goto out;
	if (line.len < 5 + ml || memcmp(line.p, "AUTH ", 5) != 0 ||
	    memcmp(line.p + 5, o->mech, ml) != 0 || (line.len > 5 + ml && line.p[5 + ml] != ' ')) {
		fail_got(srv, st, "expected AUTH with the SCRAM mechanism", line.p);
		goto out;
	}
	if (line.len > 6 + ml) {
		if (sc_b64_decode(line.p + 6 + ml, line.len - 6 - ml, &first) < 0) {
			fail_step(srv, st, "the initial response is not base64");
			goto out;
		}
	} else {
		send_bytes(srv, "334 \r\n", 6);
		if (take_line(srv, st, &line) < 0)
			goto out;
		if (sc_b64_decode(line.p, line.len, &first) < 0) {
			fail_step(srv, st, "the client-first message is not base64");
			goto out;
		}
	}
	sc_buf_add(&first, "", 0);
	trans_note(srv, "SCRAM client-first", first.p);
	/* gs2-header: "n," [ "a=" saslname ] "," */
	p = first.len > 2 && memcmp(first.p, "n,", 2) == 0 ? memchr(first.p + 2, ',', first.len - 2)
	                                                   : NULL;
	if (!p) {
		fail_step(srv, st, "client-first: no \"n,...,\" GS2 header (channel binding?)");
		goto out;
	}
	gs2_len = (size_t)(p - first.p) + 1;
	bare = first.p + gs2_len;
	sc_buf_add(&user, "n=", 2);
	saslname(&user, o->user);
	sc_buf_add(&user, ",r=", 3);
	if (strncmp(bare, user.p, user.len) != 0) {
		fail_step(srv, st, "client-first: not \"n=USER,r=\" with the expected user name");
		goto out;
	}
	r = bare + user.len;
	end = strchr(r, ',');
	if (!end)
		end = r + strlen(r);
	if (end == r) {
		fail_step(srv, st, "client-first: empty nonce");
		goto out;
	}
	sc_buf_addf(&sfirst, "r=%.*s%s,s=", (int)(end - r), r, SCRAM_SNONCE);
	sc_b64_encode(SCRAM_SALT, strlen(SCRAM_SALT), &sfirst);
	sc_buf_addf(&sfirst, ",i=%d", SCRAM_ITER);
	send_334(srv, sfirst.p, sfirst.len);

	if (take_line(srv, st, &line) < 0)
		goto out;
	if (sc_b64_decode(line.p, line.len, &final) < 0) {
		fail_step(srv, st, "the client-final message is not base64");
		goto out;
	}
	sc_buf_add(&final, "", 0);
	trans_note(srv, "SCRAM client-final", final.p);
	sc_buf_add(&expect_c, "c=", 2);
	sc_b64_encode(first.p, gs2_len, &expect_c);
	sc_buf_addf(&expect_c, ",r=%.*s%s,", (int)(end - r), r, SCRAM_SNONCE);
	p = strstr(final.p, ",p=");
	if (strncmp(final.p, expect_c.p, expect_c.len) != 0 || !p) {
		sc_buf m = {0};

		sc_buf_addf(&m,
		            "client-final: expected to start with \"%s\" and end with \",p=PROOF\"",
		            expect_c.p);
		fail_step(srv, st, m.p);
		sc_buf_free(&m);
		goto out;
	}
	sc_buf_addf(&amsg, "%s,%s,%.*s", bare, sfirst.p, (int)(p - final.p), final.p);
	if (sc_scram_keys(o->md, o->password, (const unsigned char *)SCRAM_SALT, strlen(SCRAM_SALT),
	                  SCRAM_ITER, amsg.p, amsg.len, cproof, ssig, &hlen) < 0) {
		fail_step(srv, st, "internal: SCRAM key computation failed");
		goto out;
	}
	if (sc_b64_decode(p + 3, strlen(p + 3), &proof) < 0 || proof.len != hlen ||
	    memcmp(proof.p, cproof, hlen) != 0) {
		fail_step(srv, st, "client-final: the proof does not verify (wrong password?)");
		goto out;
	}
	trans_note(srv, "SCRAM client proof verified", NULL);
	rc = 0;
	if (o->no_final)
		goto out;
	if (o->bad_signature)
		ssig[0] ^= 0x55;
	sc_buf_add(&vmsg, "v=", 2);
	sc_b64_encode(ssig, hlen, &vmsg);
	send_334(srv, vmsg.p, vmsg.len);
out:
	sc_buf_free(&line);
	sc_buf_free(&first);
	sc_buf_free(&final);
	sc_buf_free(&sfirst);
	sc_buf_free(&user);
	sc_buf_free(&amsg);
	sc_buf_free(&expect_c);
	sc_buf_free(&proof);
	sc_buf_free(&sig);
	sc_buf_free(&vmsg);
	return rc;
}

static int run_step(sc_server *srv, size_t idx)
{
	const sc_sstep *st = &srv->c->server[idx];
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
		if (srv->ssl && st->ms == 0) {
			SSL_shutdown(srv->ssl);
			trans_note(srv, "server sends a TLS close_notify", NULL);
		}
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
		if (srv->ssl) {
			SSL_shutdown(srv->ssl);
			trans_note(srv, "server sends a TLS close_notify", NULL);
		}
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
		if (do_accept(srv, st) < 0)
			return -1;
		return srv->c->implicit_tls ? do_tls(srv, st, srv->c->implicit_tls, 1) : 0;
	case SOP_TLS:
	case SOP_TLS_FAIL:
		if (need_conn(srv, st) < 0)
			return -1;
		return do_tls(srv, st, st->tls, st->op == SOP_TLS);
	case SOP_ANY:
		if (need_conn(srv, st) < 0)
			return -1;
		return do_any(srv, st);
	case SOP_HELLO:
		if (need_conn(srv, st) < 0)
			return -1;
		return do_hello(srv, st);
	case SOP_ALERT:
		if (need_conn(srv, st) < 0)
			return -1;
		return do_alert(srv, st);
	case SOP_SCRAM:
		if (need_conn(srv, st) < 0)
			return -1;
		return do_scram(srv, st);
	case SOP_BATCH:
		if (need_conn(srv, st) < 0)
			return -1;
		return do_batch(srv, idx);
	default:
		fail_step(srv, st, "internal: unknown server step");
		return -1;
	}
}

/* The fault of a fault-injection run, instead of step `step`. */
static void do_fault(sc_server *srv)
{
	struct linger lg;
	char note[64];

	snprintf(note, sizeof(note), "fault before step %zu", srv->fault.step);
	if (srv->fd < 0) {
		trans_note(srv, note, "no connection open");
		return;
	}
	switch (srv->fault.kind) {
	case SC_FAULT_CLOSE:
		trans_note(srv, note, "the server closes (FIN)");
		break;
	case SC_FAULT_RESET:
		trans_note(srv, note, "the server resets the connection");
		lg.l_onoff = 1;
		lg.l_linger = 0;
		setsockopt(srv->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		break;
	case SC_FAULT_STALL: {
		/* silent, and reading nothing (a client writing much blocks): until the client
		 * gives up and closes (its FIN, seen without reading), or stall_ms */
		int64_t deadline = now_ms() + srv->fault.stall_ms;
		int closed = 0;

		trans_note(srv, note, "the server stalls (no reply, no read)");
		for (;;) {
			struct pollfd pfd = {srv->fd, POLLRDHUP, 0};
			int64_t left = deadline - now_ms();
			int r;

			if (left <= 0)
				break;
			r = poll(&pfd, 1, (int)left);
			if (r < 0 && errno == EINTR)
				continue;
			if (r > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
				closed = 1;
			break;
		}
		trans_note(srv,
		           closed ? "the client closed during the stall"
		                  : "the stall ended, the server closes",
		           NULL);
		break;
	}
	default:
		break;
	}
	conn_drop(srv);
}

static void *server_main(void *arg)
{
	sc_server *srv = arg;
	const sc_case *c = srv->c;
	sigset_t pipe;
	size_t i;

	/* SSL_write() writes without MSG_NOSIGNAL: a client that closed must not kill the
	 * runner with SIGPIPE. Blocked in this thread only: a SIGPIPE the library lets
	 * through in the client thread still kills the process (a library bug). */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	srv->cut = 0;
	if (c->nserver == 0)
		return NULL;
	if (do_accept(srv, NULL) < 0)
		return NULL;
	if (c->implicit_tls && do_tls(srv, NULL, c->implicit_tls, 1) < 0) {
		conn_drop(srv);
		return NULL;
	}
	for (i = 0; i < c->nserver; i++) {
		srv->cut = i;
		if (srv->fault.kind != SC_FAULT_NONE && i == srv->fault.step) {
			do_fault(srv);
			return NULL;
		}
		if (run_step(srv, i) < 0) {
			/* stop here; make the client see the end at once */
			if (srv->fd >= 0) {
				shutdown(srv->fd, SHUT_RDWR);
				conn_drop(srv);
			}
			return NULL;
		}
	}
	srv->cut = c->nserver;
	if (srv->fd >= 0) {
		/* the runner closes the session after its steps: the connection must end
		 * with no byte the script does not expect */
		if (do_eof(srv, NULL, SC_END_WAIT_MS, "after the end of the script") < 0)
			shutdown(srv->fd, SHUT_RDWR);
		conn_drop(srv);
	}
	return NULL;
}

sc_server *sc_server_start(const sc_case *c, int verbose, const sc_fault *fault)
{
	sc_server *srv = sc_xmalloc(sizeof(*srv));
	int fd;

	memset(srv, 0, sizeof(*srv));
	srv->c = c;
	if (fault)
		srv->fault = *fault;
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

int sc_server_finish_fault(sc_server *srv, FILE *out, size_t *cut)
{
	int failures;

	if (srv->started)
		pthread_join(srv->th, NULL);
	close(srv->lfd);
	if (srv->c->unix_socket) {
		unlink(srv->host);
		rmdir(srv->dir);
	}
	if (srv->verbose) {
		if (srv->log.len) {
			fputs("(failures of the script, ignored in fault mode)\n", out);
			fputs(srv->log.p, out);
		}
		fputs("server transcript (C> received, S> sent):\n", out);
		fputs(srv->trans.p ? srv->trans.p : "", out);
	}
	*cut = srv->cut;
	failures = srv->failures;
	sc_buf_free(&srv->log);
	sc_buf_free(&srv->trans);
	sc_buf_free(&srv->in);
	sc_buf_free(&srv->sni);
	free(srv);
	return failures;
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
	sc_buf_free(&srv->sni);
	free(srv);
	return failures;
}
