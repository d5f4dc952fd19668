/*
 * transport.h - the byte stream under a session: TCP (IPv4, IPv6) or a Unix
 * socket, non-blocking, every operation bounded by a deadline. Reads are
 * buffered; what the reply parser has not consumed stays in the buffer.
 */
#ifndef SMTPC_TRANSPORT_H
#define SMTPC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SMTPC__RBUF_SIZE 16384

typedef struct smtpc__transport {
	int fd;            /* -1 when closed */
	int os_error;      /* errno of the last failure */
	const char *what;  /* the failing system call, for messages */
	size_t rpos, rlen; /* unread bytes are rbuf[rpos..rlen) */
	char rbuf[SMTPC__RBUF_SIZE];
} smtpc__transport;

/** Monotonic clock in milliseconds. */
int64_t smtpc__now_ms(void);
/** now + timeout, or -1 (no deadline) when timeout_ms < 0. */
int64_t smtpc__deadline(int timeout_ms);

void smtpc__tr_init(smtpc__transport *t);
void smtpc__tr_close(smtpc__transport *t);

/**
 * Connects over TCP to host:port, trying every address it resolves to;
 * binds to src_host/src_port first when given. Sets TCP_NODELAY.
 * Returns 0, SMTPC_ERESOLVE, SMTPC_ECONNECT, SMTPC_ETIMEOUT or SMTPC_EINVAL.
 */
int smtpc__tr_connect_tcp(smtpc__transport *t, const char *host, int port, const char *src_host,
                          int src_port, int64_t deadline);
/** Connects to a Unix stream socket. Returns 0, SMTPC_ECONNECT, SMTPC_EINVAL, SMTPC_ETIMEOUT. */
int smtpc__tr_connect_unix(smtpc__transport *t, const char *path, int64_t deadline);

/**
 * Writes every byte of the iovecs (no SIGPIPE). Returns 0, SMTPC_ETIMEOUT,
 * SMTPC_EDISCONNECTED (peer gone) or SMTPC_EIO.
 */
int smtpc__tr_writev(smtpc__transport *t, struct iovec *iov, int iovcnt, int64_t deadline);
int smtpc__tr_write(smtpc__transport *t, const void *buf, size_t len, int64_t deadline);

/**
 * Reads more bytes into the buffer (moving unread bytes to its start).
 * Returns the number of bytes read (> 0), 0 at end of stream,
 * SMTPC_ETIMEOUT or SMTPC_EIO.
 */
long smtpc__tr_fill(smtpc__transport *t, int64_t deadline);

/** The local address of the connection as an address literal ("[1.2.3.4]", "[IPv6:::1]"). */
int smtpc__tr_local_literal(const smtpc__transport *t, char *buf, size_t size);

#endif
