/*
 * relay - a TCP relay on loopback that delays every piece of data by a
 * fixed time in each direction (this kernel has no netem), for measuring
 * round trips per message.
 *
 *   relay --to-port P [--delay-us D] [--port-file F] [--pid-file F]
 *
 * Listens on 127.0.0.1 (ephemeral port, written to --port-file); for each
 * client it connects to 127.0.0.1:P. What one read() returns is written to
 * the other side D microseconds later, in one write(), in order: a client
 * that sends a flight in one write still sends it in one write, and each
 * flight costs D each way. Only loopback; exits on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 32
#define READSZ 262144

struct pkt {
	struct pkt *next;
	long long due; /* ns, CLOCK_MONOTONIC */
	size_t len, off;
	char data[];
};

struct dir { /* one direction: read from `from`, write to `to` */
	int from, to;
	int eof; /* read side saw EOF */
	int shut; /* write side shut down */
	struct pkt *head, *tail;
};

struct conn {
	int used;
	struct dir d[2]; /* 0: client -> server, 1: server -> client */
};

static struct conn conns[MAXCONN];
static volatile sig_atomic_t stop;
static long long delay_ns = 5000000LL;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void onsig(int sig)
{
	(void)sig;
	stop = 1;
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void write_file(const char *path, long v)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%ld\n", v) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		perror(path);
		exit(71);
	}
}

static void close_conn(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		struct pkt *p = c->d[i].head;
		while (p) {
			struct pkt *q = p->next;
			free(p);
			p = q;
		}
	}
	close(c->d[0].from);
	close(c->d[0].to);
	memset(c, 0, sizeof *c);
}

/* Writes what is due; returns -1 when the connection is to be closed. */
static int flush_dir(struct dir *d, long long t)
{
	while (d->head && d->head->due <= t) {
		struct pkt *p = d->head;
		while (p->off < p->len) {
			ssize_t w = send(d->to, p->data + p->off, p->len - p->off, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return 0;
				if (errno == EINTR)
					continue;
				return -1;
			}
			p->off += (size_t)w;
		}
		d->head = p->next;
		if (!d->head)
			d->tail = NULL;
		free(p);
	}
	if (!d->head && d->eof && !d->shut) {
		shutdown(d->to, SHUT_WR);
		d->shut = 1;
	}
	return 0;
}

static int read_dir(struct dir *d, char *buf)
{
	ssize_t r = recv(d->from, buf, READSZ, 0);
	if (r < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	if (r == 0) {
		d->eof = 1;
		return 0;
	}
	struct pkt *p = malloc(sizeof *p + (size_t)r);
	if (!p)
		return -1;
	p->next = NULL;
	p->due = now_ns() + delay_ns;
	p->len = (size_t)r;
	p->off = 0;
	memcpy(p->data, buf, (size_t)r);
	if (d->tail)
		d->tail->next = p;
	else
		d->head = p;
	d->tail = p;
	return 0;
}

int main(int argc, char **argv)
{
	int to_port = 0;
	const char *port_file = NULL, *pid_file = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--to-port"))
			to_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--delay-us"))
			delay_ns = atoll(argv[i + 1]) * 1000LL;
		else if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--pid-file"))
			pid_file = argv[i + 1];
		else {
			fprintf(stderr, "relay: unknown option %s\n", argv[i]);
			return 64;
		}
	}
	if (to_port <= 0 || to_port > 65535 || delay_ns < 0) {
		fputs("usage: relay --to-port P [--delay-us D] [--port-file F] [--pid-file F]\n", stderr);
		return 64;
	}
	struct sigaction sa = {0};
	sa.sa_handler = onsig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_in la = {0};
	la.sin_family = AF_INET;
	la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof la) < 0 || listen(lfd, 64) < 0) {
		perror("relay: listen");
		return 71;
	}
	socklen_t sl = sizeof la;
	getsockname(lfd, (struct sockaddr *)&la, &sl);
	if (pid_file)
		write_file(pid_file, (long)getpid());
	if (port_file)
		write_file(port_file, (long)ntohs(la.sin_port));

	char *buf = malloc(READSZ);
	struct pollfd pf[1 + 4 * MAXCONN];
	int who[1 + 4 * MAXCONN];
	while (!stop) {
		long long t = now_ns();
		long long next = -1;
		for (int i = 0; i < MAXCONN; i++) {
			struct conn *c = &conns[i];
			if (!c->used)
				continue;
			if (flush_dir(&c->d[0], t) < 0 || flush_dir(&c->d[1], t) < 0 ||
			    (c->d[0].shut && c->d[1].shut)) {
				close_conn(c);
				continue;
			}
			for (int k = 0; k < 2; k++)
				if (c->d[k].head && (next < 0 || c->d[k].head->due < next))
					next = c->d[k].head->due;
		}
		int np = 0;
		pf[np].fd = lfd;
		pf[np].events = POLLIN;
		who[np++] = -1;
		for (int i = 0; i < MAXCONN; i++) {
			struct conn *c = &conns[i];
			if (!c->used)
				continue;
			for (int k = 0; k < 2; k++) {
				struct dir *d = &c->d[k];
				if (!d->eof) {
					pf[np].fd = d->from;
					pf[np].events = POLLIN;
					who[np++] = i * 2 + k;
				}
				if (d->head && d->head->off > 0) {
					/* a partial write waits for room: wake up, flush_dir retries */
					pf[np].fd = d->to;
					pf[np].events = POLLOUT;
					who[np++] = -2;
				}
			}
		}
		struct timespec ts, *tp = NULL;
		if (next >= 0) {
			long long w = next - now_ns();
			if (w < 0)
				w = 0;
			ts.tv_sec = (time_t)(w / 1000000000LL);
			ts.tv_nsec = (long)(w % 1000000000LL);
			tp = &ts;
		}
		int r = ppoll(pf, (nfds_t)np, tp, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("relay: ppoll");
			return 71;
		}
		for (int j = 0; j < np; j++) {
			if (!pf[j].revents || who[j] == -2)
				continue;
			if (who[j] < 0) {
				int cfd = accept(lfd, NULL, NULL);
				if (cfd < 0)
					continue;
				int slot = -1;
				for (int i = 0; i < MAXCONN; i++)
					if (!conns[i].used) {
						slot = i;
						break;
					}
				struct sockaddr_in sa2 = {0};
				sa2.sin_family = AF_INET;
				sa2.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
				sa2.sin_port = htons((unsigned short)to_port);
				int sfd = socket(AF_INET, SOCK_STREAM, 0);
				if (slot < 0 || sfd < 0 ||
				    connect(sfd, (struct sockaddr *)&sa2, sizeof sa2) < 0) {
					close(cfd);
					if (sfd >= 0)
						close(sfd);
					continue;
				}
				nodelay(cfd);
				nodelay(sfd);
				struct conn *c = &conns[slot];
				memset(c, 0, sizeof *c);
				c->used = 1;
				c->d[0].from = cfd;
				c->d[0].to = sfd;
				c->d[1].from = sfd;
				c->d[1].to = cfd;
				continue;
			}
			struct conn *c = &conns[who[j] / 2];
			struct dir *d = &c->d[who[j] % 2];
			if (!c->used)
				continue;
			if (!d->eof) {
				if (read_dir(d, buf) < 0)
					close_conn(c);
			}
		}
	}
	for (int i = 0; i < MAXCONN; i++)
		if (conns[i].used)
			close_conn(&conns[i]);
	close(lfd);
	if (pid_file)
		unlink(pid_file);
	return 0;
}
