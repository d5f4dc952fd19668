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
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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
	t->os_error = 0;
	t->what = "";
	t->rpos = t->rlen = 0;
}

void smtpc__tr_close(smtpc__transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
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
	return 0;
}

int smtpc__tr_writev(smtpc__transport *t, struct iovec *iov, int iovcnt, int64_t deadline)
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
