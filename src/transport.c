/*
 * transport.c - sockets with deadlines. Sockets are non-blocking; every wait
 * is a poll() bounded by the caller's deadline, so a silent or trickling
 * server cannot hold the caller past its timeout (RFC 5321 4.5.3.2).
 * Writes use MSG_NOSIGNAL: SIGPIPE never reaches the host program.
 */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#ifdef __linux__
#include <linux/sockios.h>
#endif

#include "smtpc.h"

int64_t smtpc__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t smtpc__deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	return smtpc__now_ms() + timeout_ms;
}

/* Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		int ms = -1;

		if (deadline >= 0) {
			int64_t left = deadline - smtpc__now_ms();

			if (left <= 0)
				return 0;
			ms = left > 1000000000 ? 1000000000 : (int)left;
		}
		int n = poll(&pfd, 1, ms);

		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

void smtpc__tr_init(smtpc__transport *t)
{
	t->fd = -1;
	t->ssl = NULL;
	t->bio_method = NULL;
	t->verified = 0;
	t->tls_info[0] = '\0';
	t->os_error = 0;
	t->what = "";
	t->unsent_at_close = -1;
	t->guard_end = 0;
	t->awaiting = 0;
	t->rpos = t->rlen = 0;
}

long smtpc__tr_unsent(const smtpc__transport *t)
{
#ifdef SIOCOUTQNSD
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int n = 0;

	if (t->fd < 0 || getsockname(t->fd, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return -1; /* a Unix socket: the peer may still read what it has not read */
	return ioctl(t->fd, SIOCOUTQNSD, &n) == 0 && n >= 0 ? n : -1;
#else
	(void)t;
	return -1; /* no way to ask: the caller stays conservative */
#endif
}

void smtpc__tr_guard_end(smtpc__transport *t, int on)
{
	t->guard_end = on;
}

/*
 * Under guard_end: SO_LINGER 0 before the query, so that close() sends a RST and drops the
 * send queue (RFC 793 ABORT) instead of transmitting it later; back to a plain close when
 * nothing is unsent. The kernel could still transmit between the query and the close, but
 * only if the server's window opens in those microseconds.
 */
static void measure_before_close(smtpc__transport *t)
{
	struct linger abort_close = {1, 0}, plain = {0, 0};
	int guard = t->guard_end;

	t->guard_end = 0;
	if (t->fd < 0)
		return; /* closed already: keep what the close measured */
	if (guard &&
	    setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close)) != 0)
		guard = 0;
	t->unsent_at_close = smtpc__tr_unsent(t);
	if (!guard)
		t->unsent_at_close = t->unsent_at_close > 0 ? -1 : t->unsent_at_close;
	else if (t->unsent_at_close <= 0)
		setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &plain, sizeof(plain));
}

size_t smtpc__tr_wire_max(const smtpc__transport *t, size_t len)
{
	/* TLS: records of at most 16 KiB, each with its header and at most 320 bytes of
	 * IV, MAC, tag and padding (SSL3_RT_MAX_ENCRYPTED_OVERHEAD). */
	if (t->ssl == NULL || len == 0)
		return len;
	return len + (len / SMTPC__TLS_RECORD + 1) * (5 + 320);
}

void smtpc__tr_close(smtpc__transport *t)
{
	/* Before the close_notify is queued and the socket goes: the end of data check. */
	measure_before_close(t);
	if (t->ssl != NULL) {
		/* One close_notify, best effort: the socket is non-blocking, never wait. */
		SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
		t->ssl = NULL;
		ERR_clear_error(); /* only with TLS: it makes OpenSSL load its error tables */
	}
	t->verified = 0;
	t->tls_info[0] = '\0';
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->awaiting = 0;
	t->rpos = t->rlen = 0;
}

static int fail(smtpc__transport *t, const char *what, int kind)
{
	t->os_error = errno;
	t->what = what;
	return kind;
}

/* Finishes a non-blocking connect(): 0, or an SMTPC_E* kind. */
static int finish_connect(smtpc__transport *t, int fd, int64_t deadline)
{
	int r = wait_fd(fd, POLLOUT, deadline);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (r == 0) {
		errno = ETIMEDOUT;
		return fail(t, "connect", SMTPC_ETIMEOUT);
	}
	if (r < 0)
		return fail(t, "poll", SMTPC_ECONNECT);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		return fail(t, "getsockopt", SMTPC_ECONNECT);
	if (soerr != 0) {
		errno = soerr;
		return fail(t, "connect", SMTPC_ECONNECT);
	}
	return 0;
}

static int connect_fd(smtpc__transport *t, int fd, const struct sockaddr *sa, socklen_t len,
                      int64_t deadline)
{
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return fail(t, "connect", SMTPC_ECONNECT);
	return finish_connect(t, fd, deadline);
}

static int bind_source(smtpc__transport *t, int fd, int family, const char *src_host, int src_port)
{
	struct addrinfo hints = {0}, *res = NULL;
	char port[16];
	int rc;

	if (src_host == NULL && src_port == 0)
		return 0;
	snprintf(port, sizeof(port), "%d", src_port);
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(src_host, port, &hints, &res);
	if (rc != 0) {
		errno = EADDRNOTAVAIL;
		return fail(t, "bind", SMTPC_ECONNECT);
	}
	rc = bind(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rc != 0)
		return fail(t, "bind", SMTPC_ECONNECT);
	return 0;
}

int smtpc__tr_connect_tcp(smtpc__transport *t, const char *host, int port, const char *src_host,
                          int src_port, int64_t deadline)
{
	struct addrinfo hints = {0}, *res = NULL;
	char service[16];
	int rc, kind = SMTPC_ECONNECT;

	snprintf(service, sizeof(service), "%d", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* No AI_ADDRCONFIG: it hides ::1 on hosts whose only addresses are loopback. */
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		t->os_error = 0;
		t->what = gai_strerror(rc);
		return SMTPC_ERESOLVE;
	}
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		int one = 1;

		if (fd < 0) {
			kind = fail(t, "socket", SMTPC_ECONNECT);
			continue;
		}
		kind = bind_source(t, fd, ai->ai_family, src_host, src_port);
		if (kind == 0)
			kind = connect_fd(t, fd, ai->ai_addr, ai->ai_addrlen, deadline);
		if (kind != 0) {
			close(fd);
			if (kind == SMTPC_ETIMEOUT)
				break;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		t->fd = fd;
		t->rpos = t->rlen = 0;
		t->unsent_at_close = -1;
		break;
	}
	freeaddrinfo(res);
	return t->fd >= 0 ? 0 : kind;
}

int smtpc__tr_connect_unix(smtpc__transport *t, const char *path, int64_t deadline)
{
	struct sockaddr_un sun = {0};
	size_t len = strlen(path);
	int fd, kind;

	if (len >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return fail(t, "connect", SMTPC_EINVAL);
	}
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(t, "socket", SMTPC_ECONNECT);
	kind = connect_fd(t, fd, (struct sockaddr *)&sun, sizeof(sun), deadline);
	if (kind != 0) {
		close(fd);
		return kind;
	}
	t->fd = fd;
	t->rpos = t->rlen = 0;
	t->unsent_at_close = -1;
	return 0;
}

/*
 * Waits for what OpenSSL asks for after a non-blocking call returned rc:
 * 1 retry, 0 end of stream, or a negative SMTPC_E* kind.
 */
static int tls_wait(smtpc__transport *t, int rc, const char *what, int64_t deadline)
{
	int e = SSL_get_error(t->ssl, rc), r;

	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_SYSCALL && errno == 0)
		return 0; /* EOF without close_notify: the server hung up */
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		int gone = e == SSL_ERROR_SYSCALL && (errno == EPIPE || errno == ECONNRESET);

		if (e == SSL_ERROR_SSL) {
			/* A TLS alert or a broken record: say which, as a TLS error. */
			unsigned long err = ERR_get_error();

			ERR_error_string_n(err, t->tls_error, sizeof(t->tls_error));
			ERR_clear_error();
			t->os_error = 0;
			t->what = t->tls_error;
			return SMTPC_ETLS;
		}
		ERR_clear_error();
		return fail(t, what, gone ? SMTPC_EDISCONNECTED : SMTPC_EIO);
	}
	r = wait_fd(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
	if (r == 0) {
		errno = ETIMEDOUT;
		return fail(t, what, SMTPC_ETIMEOUT);
	}
	if (r < 0)
		return fail(t, "poll", SMTPC_EIO);
	return 1;
}

static int tls_write(smtpc__transport *t, const char *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		int chunk = len > (1 << 30) ? (1 << 30) : (int)len;
		int n;

		errno = 0;
		n = SSL_write(t->ssl, p, chunk);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		int w = tls_wait(t, n, "SSL_write", deadline);

		if (w == 0) {
			errno = EPIPE;
			return fail(t, "SSL_write", SMTPC_EDISCONNECTED);
		}
		if (w < 0)
			return w;
	}
	return 0;
}

/*
 * Under TLS the pieces are gathered into records of up to 16 KiB: one SSL_write per piece made
 * a record (and a TCP segment) of each, 102 for an envelope of 100 recipients. A record holding
 * the end of data and the next commands is no risk to smtpc__tr_wire_max's accounting: the
 * server cannot read a record that did not arrive whole.
 */
static int tls_writev(smtpc__transport *t, const struct iovec *iov, int iovcnt, int64_t deadline)
{
	char rec[SMTPC__TLS_RECORD];
	size_t used = 0;
	int rc = 0;

	for (int i = 0; rc == 0 && i < iovcnt; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		if (used > 0 && used + len > sizeof(rec)) {
			rc = tls_write(t, rec, used, deadline);
			used = 0;
		}
		if (rc == 0 && len >= sizeof(rec)) {
			rc = tls_write(t, p, len, deadline); /* big enough for records of its own */
		} else if (rc == 0) {
			memcpy(rec + used, p, len);
			used += len;
		}
	}
	if (rc == 0 && used > 0)
		rc = tls_write(t, rec, used, deadline);
	return rc;
}

static int plain_writev(smtpc__transport *t, struct iovec *iov, int iovcnt, int64_t deadline)
{
	struct msghdr msg = {0};

	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)iovcnt;
	while (msg.msg_iovlen > 0) {
		ssize_t n;

		if (msg.msg_iov->iov_len == 0) {
			msg.msg_iov++;
			msg.msg_iovlen--;
			continue;
		}
		n = sendmsg(t->fd, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				int gone = errno == EPIPE || errno == ECONNRESET;

				return fail(t, "send", gone ? SMTPC_EDISCONNECTED : SMTPC_EIO);
			}
			r = wait_fd(t->fd, POLLOUT, deadline);
			if (r == 0) {
				errno = ETIMEDOUT;
				return fail(t, "send", SMTPC_ETIMEOUT);
			}
			if (r < 0)
				return fail(t, "poll", SMTPC_EIO);
			continue;
		}
		/* Skip what was written. */
		size_t done = (size_t)n;

		while (done > 0 && msg.msg_iovlen > 0) {
			if (done >= msg.msg_iov->iov_len) {
				done -= msg.msg_iov->iov_len;
				msg.msg_iov->iov_len = 0;
				msg.msg_iov++;
				msg.msg_iovlen--;
			} else {
				msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + done;
				msg.msg_iov->iov_len -= done;
				done = 0;
			}
		}
	}
	return 0;
}

int smtpc__tr_writev(smtpc__transport *t, struct iovec *iov, int iovcnt, int64_t deadline)
{
	int rc = t->ssl != NULL ? tls_writev(t, iov, iovcnt, deadline)
	                        : plain_writev(t, iov, iovcnt, deadline);

	t->awaiting = rc == 0;
	return rc;
}

int smtpc__tr_write(smtpc__transport *t, const void *buf, size_t len, int64_t deadline)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

	return smtpc__tr_writev(t, &iov, 1, deadline);
}

long smtpc__tr_fill(smtpc__transport *t, int64_t deadline)
{
	if (t->rpos > 0) {
		memmove(t->rbuf, t->rbuf + t->rpos, t->rlen - t->rpos);
		t->rlen -= t->rpos;
		t->rpos = 0;
	}
	if (t->rlen == sizeof(t->rbuf))
		return 0; /* cannot happen: the parser consumes what it is given */
	if (t->awaiting && (t->ssl == NULL || !SSL_has_pending(t->ssl))) {
		/* Right after a write the answer is still on its way: wait for it first, not
		 * after a read that would fail with EAGAIN (one system call less per reply).
		 * Bytes OpenSSL holds already, decrypted or not, are read at once. */
		int r = wait_fd(t->fd, POLLIN, deadline);

		if (r == 0) {
			errno = ETIMEDOUT;
			return fail(t, t->ssl != NULL ? "SSL_read" : "recv", SMTPC_ETIMEOUT);
		}
		if (r < 0)
			return fail(t, "poll", SMTPC_EIO);
	}
	t->awaiting = 0;
	while (t->ssl != NULL) {
		int n, w;

		errno = 0;
		n = SSL_read(t->ssl, t->rbuf + t->rlen, (int)(sizeof(t->rbuf) - t->rlen));
		if (n > 0) {
			t->rlen += (size_t)n;
			return n;
		}
		w = tls_wait(t, n, "SSL_read", deadline);
		if (w <= 0)
			return w;
	}
	for (;;) {
		ssize_t n = recv(t->fd, t->rbuf + t->rlen, sizeof(t->rbuf) - t->rlen, 0);
		int r;

		if (n > 0) {
			t->rlen += (size_t)n;
			return (long)n;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return fail(t, "recv", SMTPC_EIO);
		r = wait_fd(t->fd, POLLIN, deadline);
		if (r == 0) {
			errno = ETIMEDOUT;
			return fail(t, "recv", SMTPC_ETIMEOUT);
		}
		if (r < 0)
			return fail(t, "poll", SMTPC_EIO);
	}
}

int smtpc__tr_local_literal(const smtpc__transport *t, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN];

	if (t->fd < 0 || getsockname(t->fd, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
		snprintf(buf, size, "[%s]", addr);
		return 0;
	}
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
		snprintf(buf, size, "[IPv6:%s]", addr);
		return 0;
	}
	return -1;
}

/* ---------------------------------------------------------------- TLS */

void smtpc__tr_free(smtpc__transport *t)
{
	smtpc__tr_close(t);
	BIO_meth_free(t->bio_method);
	t->bio_method = NULL;
}

void smtpc__tls_ctx_reset(smtpc__tls_config *cfg)
{
	if (cfg->own_ctx)
		SSL_CTX_free(cfg->ctx);
	cfg->ctx = NULL;
	cfg->own_ctx = 0;
}

void smtpc__tls_config_free(smtpc__tls_config *cfg)
{
	smtpc__tls_ctx_reset(cfg);
	free(cfg->ca_file);
	free(cfg->ca_dir);
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg->name);
	cfg->ca_file = cfg->ca_dir = cfg->cert_file = cfg->key_file = cfg->name = NULL;
}

static int tls_error(char *err, size_t size, const char *what)
{
	unsigned long e = ERR_get_error();
	char detail[256] = "";

	if (e != 0)
		ERR_error_string_n(e, detail, sizeof(detail));
	snprintf(err, size, "%s%s%s", what, detail[0] ? ": " : "", detail);
	ERR_clear_error();
	return SMTPC_ETLS;
}

/* The client context: TLS 1.2 at least, the trust store, the client certificate. */
static int build_ctx(smtpc__tls_config *cfg, char *err, size_t size)
{
	SSL_CTX *ctx;

	if (cfg->ctx != NULL)
		return 0;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return tls_error(err, size, "cannot create a TLS context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A server that closes without close_notify has simply hung up: SMTP knows where its
	 * own messages end, so that is an EOF, not a TLS error. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (cfg->ca_file != NULL || cfg->ca_dir != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, cfg->ca_dir) != 1) {
			SSL_CTX_free(ctx);
			return tls_error(err, size, "cannot load the CA certificates");
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		SSL_CTX_free(ctx);
		return tls_error(err, size, "cannot load the system's CA certificates");
	}
	if (cfg->cert_file != NULL) {
		const char *key = cfg->key_file ? cfg->key_file : cfg->cert_file;

		if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			SSL_CTX_free(ctx);
			return tls_error(err, size, "cannot load the client certificate or key");
		}
	}
	cfg->ctx = ctx;
	cfg->own_ctx = 1;
	return 0;
}

static int is_ip_literal(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* RFC 6125 / RFC 7817: check the name the caller asked for; SNI for names only. */
static int set_peer_name(SSL *ssl, const char *host, int verify)
{
	int ip = is_ip_literal(host);

	if (!ip && SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	if (!verify)
		return 0;
	if (ip) {
		X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

		return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 ? 0 : -1;
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

static int check_pin(SSL *ssl, const smtpc__tls_config *cfg, char *err, size_t size)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok;

	if (cert == NULL) {
		snprintf(err, size, "the server sent no certificate to check the pin against");
		return SMTPC_ETLS;
	}
	ok = X509_digest(cert, EVP_sha256(), md, &mdlen) == 1 && mdlen == sizeof(cfg->pin) &&
	     CRYPTO_memcmp(md, cfg->pin, sizeof(cfg->pin)) == 0;
	X509_free(cert);
	if (!ok) {
		snprintf(err, size,
		         "the server certificate does not match the pinned SHA-256 "
		         "fingerprint");
		return SMTPC_ETLS;
	}
	return 0;
}

/*
 * OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the
 * peer is gone. Our BIO is the socket BIO with one change: send(2) with
 * MSG_NOSIGNAL, so that SIGPIPE never reaches the host program, for
 * SSL_write and for the close_notify of SSL_shutdown alike.
 */
static int nosigpipe_write(BIO *b, const char *in, int inl)
{
	int fd = -1;
	ssize_t n;

	BIO_get_fd(b, &fd);
	BIO_clear_retry_flags(b);
	n = send(fd, in, (size_t)inl, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static BIO_METHOD *nosigpipe_method(void)
{
	const BIO_METHOD *sock = BIO_s_socket();
	BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOCKET, "smtpc socket");

	if (m == NULL)
		return NULL;
	if (BIO_meth_set_write(m, nosigpipe_write) != 1 ||
	    BIO_meth_set_read(m, BIO_meth_get_read(sock)) != 1 ||
	    BIO_meth_set_puts(m, BIO_meth_get_puts(sock)) != 1 ||
	    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock)) != 1 ||
	    BIO_meth_set_create(m, BIO_meth_get_create(sock)) != 1 ||
	    BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock)) != 1) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* Puts the socket under the SSL through our BIO. */
static int attach_fd(smtpc__transport *t, SSL *ssl)
{
	BIO *bio;

	if (t->bio_method == NULL && (t->bio_method = nosigpipe_method()) == NULL)
		return -1;
	bio = BIO_new(t->bio_method);
	if (bio == NULL)
		return -1;
	BIO_set_fd(bio, t->fd, BIO_NOCLOSE);
	SSL_set_bio(ssl, bio, bio);
	return 0;
}

int smtpc__tr_start_tls(smtpc__transport *t, smtpc__tls_config *cfg, const char *host, int optional,
                        int64_t deadline, char *err, size_t errsize)
{
	/* Optional: checked as usual, but a failed check leaves the connection encrypted and
	 * unverified instead of failing the handshake (Postfix's "may" level). */
	int must_verify = cfg->verify && !optional;
	SSL *ssl;
	int rc;

	if (t->rpos < t->rlen) {
		/* docs/RULES.md S1/S2: plaintext injected before the handshake. */
		snprintf(err, errsize, "the server sent %zu bytes before the TLS handshake",
		         t->rlen - t->rpos);
		return SMTPC_EPROTO;
	}
	rc = build_ctx(cfg, err, errsize);
	if (rc != 0)
		return rc;
	ssl = SSL_new(cfg->ctx);
	if (ssl == NULL)
		return tls_error(err, errsize, "cannot create a TLS session");
	SSL_set_verify(ssl, must_verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if (attach_fd(t, ssl) != 0 || set_peer_name(ssl, host, cfg->verify) != 0) {
		SSL_free(ssl);
		return tls_error(err, errsize, "cannot set up the TLS session");
	}
	for (;;) {
		int n, e, w;

		errno = 0;
		n = SSL_connect(ssl);
		if (n == 1)
			break;
		e = SSL_get_error(ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			long vr = SSL_get_verify_result(ssl);

			if (must_verify && vr != X509_V_OK) {
				snprintf(err, errsize, "certificate verification failed for %s: %s",
				         host, X509_verify_cert_error_string(vr));
				ERR_clear_error();
			} else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
				snprintf(err, errsize, "TLS handshake failed: %s",
				         errno ? strerror(errno)
				               : "connection closed by the server");
			} else {
				tls_error(err, errsize, "TLS handshake failed");
			}
			SSL_free(ssl);
			return SMTPC_ETLS;
		}
		w = wait_fd(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w <= 0) {
			SSL_free(ssl);
			snprintf(err, errsize, "TLS handshake: %s",
			         w == 0 ? "timed out" : "poll failed");
			return w == 0 ? SMTPC_ETIMEOUT : SMTPC_ETLS;
		}
	}
	if (cfg->has_pin && (rc = check_pin(ssl, cfg, err, errsize)) != 0) {
		SSL_free(ssl);
		return rc;
	}
	t->ssl = ssl;
	t->verified = cfg->verify;
	if (must_verify != cfg->verify) {
		long vr = SSL_get_verify_result(ssl);
		X509 *cert = SSL_get1_peer_certificate(ssl);

		t->verified = cert != NULL && vr == X509_V_OK;
		snprintf(err, errsize, "%s",
		         cert == NULL ? "no certificate" : X509_verify_cert_error_string(vr));
		X509_free(cert);
	}
	snprintf(t->tls_info, sizeof(t->tls_info), "%s %s", SSL_get_version(ssl),
	         SSL_get_cipher_name(ssl));
	return 0;
}
