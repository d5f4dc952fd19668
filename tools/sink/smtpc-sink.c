/*
 * smtpc-sink: a loopback SMTP/LMTP server for the README demo, the interop tests of the client
 * and the benchmarks.
 *
 * This file: the command line, the listeners (loopback TCP and a Unix socket), the epoll event
 * loop, timeouts, signals and --daemon. The protocol is in session.c, storage in store.c.
 * Single-threaded, non-blocking sockets, one write per batch of replies (RFC 2920).
 */
#define _GNU_SOURCE /* accept4() */
#include "sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SINK_VERSION    "0.1.0"
#define MAX_LISTENERS   16
#define MAX_EVENTS      256
#define READS_PER_EVENT 8
#define DEFAULT_EXT     "PIPELINING,SIZE,8BITMIME,ENHANCEDSTATUSCODES,SMTPUTF8,DSN,CHUNKING,VRFY,HELP"

enum { KIND_LISTENER = 1, KIND_CONN, KIND_SIGNAL };

struct listener {
	int kind; /* first member: KIND_LISTENER */
	int fd;
	bool is_unix;
	char desc[128];
};

struct loop {
	struct sink *sink;
	int epfd;
	int sigfd;
	int sig_kind; /* the epoll data of the signalfd points here: KIND_SIGNAL */
	int reserve_fd;
	struct listener listeners[MAX_LISTENERS];
	size_t nlisteners;
	struct conn *idle_head, *idle_tail;
	size_t nconns;
	size_t max_conns;
	uint64_t now;
};

struct options {
	const char *listen[MAX_LISTENERS];
	size_t nlisten;
	const char *unix_path;
	const char *ext;
};

/* ------------------------------------------------------------------ command line */

static void usage(FILE *f)
{
	fputs("usage: smtpc-sink [--listen HOST:PORT]... [--unix PATH] [--lmtp] [--maildir DIR]\n"
	      "                  [--port-file FILE] [--pid-file FILE] [--hostname NAME] [--ext "
	      "LIST]\n"
	      "                  [--size N] [--timeout SECONDS] [--log FILE] [--quiet] [--daemon]\n"
	      "\n"
	      "  --listen HOST:PORT  127.0.0.1:PORT (any 127/8), [::1]:PORT or localhost:PORT;\n"
	      "                      repeatable; default 127.0.0.1:0 (0 = ephemeral port)\n"
	      "  --unix PATH         also listen on a Unix stream socket\n"
	      "  --lmtp              speak LMTP (LHLO, one reply per recipient after the data)\n"
	      "  --maildir DIR       store messages in DIR/<recipient>/new, log "
	      "DIR/deliveries.jsonl\n"
	      "  --port-file FILE    write the port of the first TCP listener to FILE\n"
	      "  --pid-file FILE     write the server's pid to FILE\n"
	      "  --hostname NAME     name in the greeting (default localhost)\n"
	      "  --ext LIST          comma-separated EHLO keywords, replacing the default\n"
	      "                      " DEFAULT_EXT "\n"
	      "  --size N            message size limit in bytes, 0 = none (default 52428800)\n"
	      "  --timeout SECONDS   idle timeout, 0 = none (default 300)\n"
	      "  --log FILE          append a transcript of every session to FILE\n"
	      "  --quiet             no messages on stderr except fatal errors\n"
	      "  --daemon            go to the background once the listeners are ready\n",
	      f);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* Known keywords change the server's behaviour; others are only advertised. */
static unsigned ext_bit(const char *kw, size_t n)
{
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {
	    {"PIPELINING", EXT_PIPELINING},
	    {"SIZE", EXT_SIZE},
	    {"8BITMIME", EXT_8BITMIME},
	    {"ENHANCEDSTATUSCODES", EXT_ENHANCED},
	    {"SMTPUTF8", EXT_SMTPUTF8},
	    {"DSN", EXT_DSN},
	    {"CHUNKING", EXT_CHUNKING},
	    {"BINARYMIME", EXT_BINARYMIME},
	    {"VRFY", EXT_VRFY},
	    {"HELP", EXT_HELP},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (sink_ascii_ieq(kw, n, known[i].name))
			return known[i].bit;
	}
	return 0;
}

/* Build the EHLO/LHLO reply lines after the first one. */
static void parse_ext(struct sink_config *cfg, const char *list)
{
	struct strvec items = {0};
	struct buf tail = {0};
	const char *p = list;

	cfg->ext = 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		size_t kwlen;

		while (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		while (n > 0 && p[n - 1] == ' ')
			n--;
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
				sink_die(SINK_EX_USAGE, "--ext: invalid character in \"%s\"", list);
		}
		if (n > 0) {
			kwlen = strcspn(p, " ,");
			cfg->ext |= ext_bit(p, kwlen);
			strvec_push(&items, p, n);
		}
		p += n;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
	}
	for (size_t i = 0; i < items.n; i++) {
		buf_adds(&tail, i + 1 < items.n ? "250-" : "250 ");
		buf_adds(&tail, items.v[i]);
		if (sink_ascii_ieq(items.v[i], strlen(items.v[i]), "SIZE") && cfg->size_limit) {
			char num[32];

			snprintf(num, sizeof(num), " %llu", (unsigned long long)cfg->size_limit);
			buf_adds(&tail, num);
		}
		buf_adds(&tail, "\r\n");
	}
	buf_addc(&tail, '\0');
	cfg->ehlo_tail = tail.p;
	strvec_free(&items);
}

static void parse_options(int argc, char **argv, struct sink_config *cfg, struct options *o)
{
	enum {
		OPT_LISTEN = 256,
		OPT_UNIX,
		OPT_LMTP,
		OPT_MAILDIR,
		OPT_PORT_FILE,
		OPT_PID_FILE,
		OPT_HOSTNAME,
		OPT_EXT,
		OPT_SIZE,
		OPT_TIMEOUT,
		OPT_LOG,
		OPT_QUIET,
		OPT_DAEMON,
		OPT_HELP,
		OPT_VERSION,
	};
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"unix", required_argument, NULL, OPT_UNIX},
	    {"lmtp", no_argument, NULL, OPT_LMTP},
	    {"maildir", required_argument, NULL, OPT_MAILDIR},
	    {"port-file", required_argument, NULL, OPT_PORT_FILE},
	    {"pid-file", required_argument, NULL, OPT_PID_FILE},
	    {"hostname", required_argument, NULL, OPT_HOSTNAME},
	    {"ext", required_argument, NULL, OPT_EXT},
	    {"size", required_argument, NULL, OPT_SIZE},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"log", required_argument, NULL, OPT_LOG},
	    {"quiet", no_argument, NULL, OPT_QUIET},
	    {"daemon", no_argument, NULL, OPT_DAEMON},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	uint64_t v;
	int opt;

	cfg->hostname = "localhost";
	cfg->size_limit = SINK_DEFAULT_SIZE;
	cfg->timeout = SINK_DEFAULT_TIMEOUT;
	o->ext = DEFAULT_EXT;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			if (o->nlisten == MAX_LISTENERS)
				sink_die(SINK_EX_USAGE, "at most %d --listen", MAX_LISTENERS);
			o->listen[o->nlisten++] = optarg;
			break;
		case OPT_UNIX:
			o->unix_path = optarg;
			break;
		case OPT_LMTP:
			cfg->lmtp = true;
			break;
		case OPT_MAILDIR:
			cfg->maildir = optarg;
			break;
		case OPT_PORT_FILE:
			cfg->port_file = optarg;
			break;
		case OPT_PID_FILE:
			cfg->pid_file = optarg;
			break;
		case OPT_HOSTNAME:
			cfg->hostname = optarg;
			break;
		case OPT_EXT:
			o->ext = optarg;
			break;
		case OPT_SIZE:
			if (!parse_u64(optarg, &cfg->size_limit))
				sink_die(SINK_EX_USAGE, "--size %s: not a number of bytes", optarg);
			break;
		case OPT_TIMEOUT:
			if (!parse_u64(optarg, &v) || v > 86400 * 365)
				sink_die(SINK_EX_USAGE, "--timeout %s: not a number of seconds",
				         optarg);
			cfg->timeout = (unsigned)v;
			break;
		case OPT_LOG:
			cfg->log_path = optarg;
			break;
		case OPT_QUIET:
			cfg->quiet = true;
			break;
		case OPT_DAEMON:
			cfg->daemon = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			puts("smtpc-sink " SINK_VERSION);
			exit(0);
		default:
			fputs("Try 'smtpc-sink --help'.\n", stderr);
			exit(SINK_EX_USAGE);
		}
	}
	if (optind < argc)
		sink_die(SINK_EX_USAGE, "unexpected argument \"%s\" (see --help)", argv[optind]);
	if (cfg->hostname[0] == '\0' || strlen(cfg->hostname) > 255)
		sink_die(SINK_EX_USAGE, "--hostname: 1 to 255 characters");
	for (const char *h = cfg->hostname; *h; h++) {
		if ((unsigned char)*h <= 0x20 || (unsigned char)*h > 0x7e)
			sink_die(SINK_EX_USAGE, "--hostname: printable ASCII without spaces");
	}
	if (o->nlisten == 0)
		o->listen[o->nlisten++] = "127.0.0.1:0";
	parse_ext(cfg, o->ext);
}

/* ------------------------------------------------------------------ listeners */

/* HOST:PORT where HOST is a loopback address: 127.0.0.0/8, [::1] or localhost. */
static void parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen)
{
	const char *colon = strrchr(spec, ':');
	const char *h = spec;
	char host[64];
	size_t hlen;
	uint64_t port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || !parse_u64(colon + 1, &port) || port > 65535)
		sink_die(SINK_EX_USAGE, "--listen %s: expected HOST:PORT, e.g. 127.0.0.1:2525",
		         spec);
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		sink_die(SINK_EX_USAGE, "--listen %s: expected HOST:PORT", spec);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "localhost") == 0)
		memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			sink_die(SINK_EX_USAGE, "--listen %s: bad IPv6 address", spec);
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			goto not_loopback;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			sink_die(SINK_EX_USAGE, "--listen %s: bad IPv4 address", spec);
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			goto not_loopback;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
	}
	return;
not_loopback:
	sink_die(SINK_EX_USAGE,
	         "--listen %s: not a loopback address (only 127.0.0.0/8 and [::1] are allowed)",
	         spec);
}

static void describe_addr(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, n, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, n, "%s:%u", host, ntohs(sin->sin_port));
	} else {
		snprintf(out, n, "unix socket");
	}
}

static void listen_tcp(struct loop *L, const char *spec)
{
	struct listener *l = &L->listeners[L->nlisteners];
	struct sockaddr_storage ss;
	socklen_t sslen;
	int one = 1;

	parse_listen(spec, &ss, &sslen);
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		sink_die(SINK_EX_OSERR, "--listen %s: socket: %s", spec, strerror(errno));
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, sslen) < 0)
		sink_die(SINK_EX_OSERR, "--listen %s: bind: %s", spec, strerror(errno));
	if (listen(l->fd, SOMAXCONN) < 0)
		sink_die(SINK_EX_OSERR, "--listen %s: listen: %s", spec, strerror(errno));
	sslen = sizeof(ss);
	if (getsockname(l->fd, (struct sockaddr *)&ss, &sslen) < 0)
		sink_die(SINK_EX_OSERR, "--listen %s: getsockname: %s", spec, strerror(errno));
	describe_addr(&ss, l->desc, sizeof(l->desc));
	l->kind = KIND_LISTENER;
	l->is_unix = false;
	L->nlisteners++;
}

static void listen_unix(struct loop *L, const char *path)
{
	struct listener *l = &L->listeners[L->nlisteners];
	struct sockaddr_un sun;
	struct stat st;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		sink_die(SINK_EX_USAGE, "--unix %s: path too long", path);
	memcpy(sun.sun_path, path, strlen(path));
	/* A stale socket from an earlier run goes; any other file stays. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			sink_die(SINK_EX_CANTCREAT, "--unix %s: exists and is not a socket", path);
		unlink(path);
	}
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		sink_die(SINK_EX_OSERR, "--unix %s: socket: %s", path, strerror(errno));
	if (bind(l->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		sink_die(SINK_EX_CANTCREAT, "--unix %s: bind: %s", path, strerror(errno));
	if (listen(l->fd, SOMAXCONN) < 0)
		sink_die(SINK_EX_OSERR, "--unix %s: listen: %s", path, strerror(errno));
	snprintf(l->desc, sizeof(l->desc), "%s", path);
	l->kind = KIND_LISTENER;
	l->is_unix = true;
	L->nlisteners++;
}

/* Write FILE.tmp, then rename: a script polling for FILE never reads half of it. */
static void write_file_atomic(const char *path, const char *text)
{
	struct buf tmp = {0};
	size_t len = strlen(text);
	int fd;

	buf_adds(&tmp, path);
	buf_adds(&tmp, ".tmp");
	buf_addc(&tmp, '\0');
	fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		sink_die(SINK_EX_CANTCREAT, "%s: %s", tmp.p, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len || close(fd) < 0)
		sink_die(SINK_EX_CANTCREAT, "%s: %s", tmp.p, strerror(errno));
	if (rename(tmp.p, path) < 0)
		sink_die(SINK_EX_CANTCREAT, "%s: %s", path, strerror(errno));
	buf_free(&tmp);
}

static unsigned first_tcp_port(const struct loop *L)
{
	for (size_t i = 0; i < L->nlisteners; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		if (L->listeners[i].is_unix)
			continue;
		if (getsockname(L->listeners[i].fd, (struct sockaddr *)&ss, &len) < 0)
			return 0;
		if (ss.ss_family == AF_INET6)
			return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	return 0;
}

/* ------------------------------------------------------------------ connections */

static uint64_t monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void idle_unlink(struct loop *L, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		L->idle_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		L->idle_tail = c->prev;
	c->prev = c->next = NULL;
}

static void idle_append(struct loop *L, struct conn *c)
{
	c->prev = L->idle_tail;
	c->next = NULL;
	if (L->idle_tail)
		L->idle_tail->next = c;
	else
		L->idle_head = c;
	L->idle_tail = c;
}

/* Activity: the connection moves to the end of the idle list. */
static void conn_touch(struct loop *L, struct conn *c)
{
	c->last_active = L->now;
	if (L->idle_tail == c)
		return;
	idle_unlink(L, c);
	idle_append(L, c);
}

static void conn_close(struct loop *L, struct conn *c, const char *why)
{
	if (c->sink->log) {
		char line[128];
		int n = snprintf(line, sizeof(line), "disconnect (%s)", why);

		sink_log(c->sink, c->id, '*', line, (size_t)n);
	}
	epoll_ctl(L->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	session_end(c); /* a message in progress is thrown away, its tmp file removed */
	idle_unlink(L, c);
	free(c->in);
	buf_free(&c->out);
	free(c);
	L->nconns--;
}

/* Send what is queued; 0 when sent or the socket is full, -1 when the peer is gone. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n =
		    send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			/* Drop what was sent, or a slow reader would make the buffer grow. */
			memmove(c->out.p, c->out.p + c->out_off, c->out.len - c->out_off);
			c->out.len -= c->out_off;
			c->out_off = 0;
			return 0;
		}
		c->out_off += (size_t)n;
	}
	c->out.len = 0;
	c->out_off = 0;
	return 0;
}

/*
 * After input was consumed or the socket became writable: send the queued replies, resume a
 * session that stopped on a full output buffer, close when due, and ask epoll for what is
 * needed next. Returns false when the connection was closed.
 */
static bool conn_settle(struct loop *L, struct conn *c, bool stalled)
{
	unsigned want = 0;

	for (;;) {
		if (conn_flush(c) < 0) {
			conn_close(L, c, "write error");
			return false;
		}
		if (c->hangup) {
			conn_close(L, c, "hang-up test address");
			return false;
		}
		if (c->closing && c->out.len == 0) {
			conn_close(L, c, "closed");
			return false;
		}
		if (!stalled || c->out.len > 0)
			break;
		stalled = session_process(c);
	}
	if (c->out.len > 0)
		want |= EPOLLOUT;
	if (!c->closing && !stalled)
		want |= EPOLLIN;
	if (want != c->events) {
		struct epoll_event ev = {.events = want, .data.ptr = c};

		if (epoll_ctl(L->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
			conn_close(L, c, "epoll error");
			return false;
		}
		c->events = want;
	}
	return true;
}

static void conn_readable(struct loop *L, struct conn *c)
{
	bool stalled = false;

	for (int i = 0; i < READS_PER_EVENT; i++) {
		size_t space = SINK_IN_CAP - c->in_len;
		size_t want = space < SINK_READ_CHUNK ? space : SINK_READ_CHUNK;
		ssize_t n;

		if (want == 0)
			break;
		n = read(c->fd, c->in + c->in_len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(L, c, "read error");
			return;
		}
		if (n == 0) {
			/* Replies already queued still go out; a message in progress is lost. */
			conn_flush(c);
			conn_close(L, c,
			           c->msg.active ? "client hung up mid-message" : "client closed");
			return;
		}
		c->in_len += (size_t)n;
		conn_touch(L, c);
		stalled = session_process(c);
		if (stalled || c->closing || c->hangup || (size_t)n < want)
			break;
	}
	conn_settle(L, c, stalled);
}

static void conn_writable(struct loop *L, struct conn *c)
{
	size_t before = c->out.len - c->out_off;

	if (before > 0 && conn_flush(c) == 0 && c->out.len - c->out_off < before)
		conn_touch(L, c);
	/* Input held back while the output was full is processed now. */
	conn_settle(L, c, c->in_len > 0 && c->mode == MODE_CMD);
}

static void conn_new(struct loop *L, int fd, const struct sockaddr_storage *peer, bool is_unix)
{
	struct sink *s = L->sink;
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev;

	if (!c || !(c->in = malloc(SINK_IN_CAP))) {
		free(c);
		close(fd);
		sink_warn(s, "out of memory: connection refused");
		return;
	}
	c->kind = KIND_CONN;
	c->fd = fd;
	c->id = ++s->conn_counter;
	c->sink = s;
	c->msg.fd = -1;
	c->events = EPOLLIN;
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		sink_warn(s, "epoll_ctl: %s", strerror(errno));
		free(c->in);
		free(c);
		close(fd);
		return;
	}
	L->nconns++;
	c->last_active = L->now;
	idle_append(L, c);
	if (s->log) {
		char addr[128], line[160];
		int n;

		describe_addr(peer, addr, sizeof(addr));
		n = snprintf(line, sizeof(line), "connect from %s", is_unix ? "unix socket" : addr);
		sink_log(s, c->id, '*', line, (size_t)n);
	}
	session_start(c);
	conn_settle(L, c, false);
}

static void accept_all(struct loop *L, struct listener *l)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd =
		    accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && L->reserve_fd >= 0) {
				/* Out of descriptors: take the connection with the spare one and
				 * drop it, or the listener would stay readable forever. */
				close(L->reserve_fd);
				fd = accept(l->fd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				L->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				sink_warn(L->sink, "out of file descriptors: connection dropped");
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				sink_warn(L->sink, "accept %s: %s", l->desc, strerror(errno));
			return;
		}
		if (L->nconns >= L->max_conns) {
			static const char busy[] =
			    "421 4.3.2 Too many connections, try again later\r\n";

			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		if (!l->is_unix)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conn_new(L, fd, &peer, l->is_unix);
	}
}

static void sweep_timeouts(struct loop *L)
{
	unsigned timeout = L->sink->cfg.timeout;

	while (timeout && L->idle_head && L->idle_head->last_active + timeout <= L->now) {
		struct conn *c = L->idle_head;

		session_timeout(c);
		conn_flush(c);
		conn_close(L, c, "timeout");
	}
}

static int epoll_timeout_ms(const struct loop *L)
{
	unsigned timeout = L->sink->cfg.timeout;
	uint64_t deadline;

	if (!timeout || !L->idle_head)
		return -1;
	deadline = L->idle_head->last_active + timeout;
	if (deadline <= L->now)
		return 0;
	return (int)((deadline - L->now) * 1000 + 10);
}

static void run(struct loop *L)
{
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		int n = epoll_wait(L->epfd, evs, MAX_EVENTS, epoll_timeout_ms(L));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			sink_die(SINK_EX_OSERR, "epoll_wait: %s", strerror(errno));
		}
		L->now = monotonic_seconds();
		for (int i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;
			unsigned what = evs[i].events;
			struct conn *c;

			if (kind == KIND_SIGNAL)
				return;
			if (kind == KIND_LISTENER) {
				accept_all(L, evs[i].data.ptr);
				continue;
			}
			c = evs[i].data.ptr;
			/* Reading also sends the replies; after it the connection may be gone. */
			if ((what & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->events & EPOLLIN))
				conn_readable(L, c);
			else if (what & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				conn_writable(L, c);
		}
		sweep_timeouts(L);
	}
}

/* ------------------------------------------------------------------ process setup */

static void raise_fd_limit(struct loop *L)
{
	struct rlimit rl;

	L->max_conns = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 100000)
		L->max_conns = 100000;
	else
		L->max_conns = rl.rlim_cur > 96 ? (size_t)rl.rlim_cur - 64 : 32;
}

/* --daemon: the parent returns once the child has its pid and port files written. */
static int daemonize(void)
{
	int pfd[2];
	pid_t pid;
	char ok = 0;

	fflush(NULL);
	if (pipe(pfd) < 0)
		sink_die(SINK_EX_OSERR, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		sink_die(SINK_EX_OSERR, "fork: %s", strerror(errno));
	if (pid > 0) {
		close(pfd[1]);
		while (read(pfd[0], &ok, 1) < 0 && errno == EINTR)
			;
		_exit(ok == 'k' ? 0 : SINK_EX_OSERR);
	}
	close(pfd[0]);
	setsid();
	return pfd[1];
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void shutdown_all(struct loop *L, const struct options *o)
{
	while (L->idle_head)
		conn_close(L, L->idle_head, "server shutdown");
	for (size_t i = 0; i < L->nlisteners; i++)
		close(L->listeners[i].fd);
	if (o->unix_path)
		unlink(o->unix_path);
	if (L->sink->cfg.pid_file)
		unlink(L->sink->cfg.pid_file);
	if (L->sink->log)
		fclose(L->sink->log);
	if (L->sink->jsonl_fd >= 0)
		close(L->sink->jsonl_fd);
	free(L->sink->cfg.ehlo_tail);
}

int main(int argc, char **argv)
{
	struct sink sink = {.jsonl_fd = -1};
	struct options opts = {0};
	struct loop L = {.sink = &sink, .sig_kind = KIND_SIGNAL, .reserve_fd = -1};
	struct epoll_event ev;
	sigset_t mask;
	int notify_fd = -1;
	char text[32];

	parse_options(argc, argv, &sink.cfg, &opts);
	raise_fd_limit(&L);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		sink_die(SINK_EX_OSERR, "sigprocmask: %s", strerror(errno));

	if (store_init(&sink) < 0)
		exit(SINK_EX_CANTCREAT);
	if (sink.cfg.log_path) {
		sink.log = fopen(sink.cfg.log_path, "ae");
		if (!sink.log)
			sink_die(SINK_EX_CANTCREAT, "%s: %s", sink.cfg.log_path, strerror(errno));
		setvbuf(sink.log, NULL, _IOLBF, 0);
	}
	for (size_t i = 0; i < opts.nlisten; i++)
		listen_tcp(&L, opts.listen[i]);
	if (opts.unix_path)
		listen_unix(&L, opts.unix_path);
	for (size_t i = 0; i < L.nlisteners; i++)
		sink_warn(&sink, "listening on %s (%s)", L.listeners[i].desc,
		          sink.cfg.lmtp ? "LMTP" : "SMTP");

	if (sink.cfg.daemon)
		notify_fd = daemonize();
	sink.pid = getpid();
	if (sink.cfg.pid_file) {
		snprintf(text, sizeof(text), "%ld\n", (long)sink.pid);
		write_file_atomic(sink.cfg.pid_file, text);
	}
	if (sink.cfg.port_file) {
		snprintf(text, sizeof(text), "%u\n", first_tcp_port(&L));
		write_file_atomic(sink.cfg.port_file, text);
	}

	L.epfd = epoll_create1(EPOLL_CLOEXEC);
	L.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (L.epfd < 0 || L.sigfd < 0)
		sink_die(SINK_EX_OSERR, "epoll/signalfd: %s", strerror(errno));
	ev.events = EPOLLIN;
	ev.data.ptr = &L.sig_kind;
	epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.sigfd, &ev);
	for (size_t i = 0; i < L.nlisteners; i++) {
		ev.events = EPOLLIN;
		ev.data.ptr = &L.listeners[i];
		if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.listeners[i].fd, &ev) < 0)
			sink_die(SINK_EX_OSERR, "epoll_ctl: %s", strerror(errno));
	}
	L.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	L.now = monotonic_seconds();
	if (notify_fd >= 0) {
		(void)!write(notify_fd, "k", 1);
		close(notify_fd);
		detach_stdio();
	}

	run(&L);

	shutdown_all(&L, &opts);
	return 0;
}
