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

#include "flow.h"

struct ssl_st;
struct ssl_ctx_st;
struct bio_method_st;

/** TLS settings of a session (owned by the session). */
typedef struct smtpc__tls_config {
	int verify;    /* verify the chain and the name (default 1) */
	char *ca_file; /* NULL: the system store */
	char *ca_dir;
	char *cert_file; /* client certificate and key, or NULL */
	char *key_file;
	char *name; /* name to verify and send as SNI instead of the host */
	int has_pin;
	unsigned char pin[32];  /* SHA-256 of the server certificate (DER) */
	struct ssl_ctx_st *ctx; /* built on first use, or the caller's */
	int own_ctx;            /* 1 when we built ctx */
} smtpc__tls_config;

typedef struct smtpc__transport {
	int fd;                           /* -1 when closed */
	struct ssl_st *ssl;               /* TLS session over fd, or NULL */
	struct bio_method_st *bio_method; /* the socket BIO without SIGPIPE, made on first use */
	int verified;                     /* the peer certificate and name were verified */
	char tls_info[96];                /* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
	char tls_error[160];              /* OpenSSL's reason for the last TLS failure */
	int os_error;                     /* errno of the last failure */
	const char *what;                 /* the failing system call, for messages */
	long unsent_at_close; /* smtpc__tr_unsent() as the connection was last closed, -1 */
	int guard_end;        /* the end of data is written: a close with bytes unsent aborts */
	int awaiting;         /* written since the last read: the answer cannot be there yet */
	size_t rpos, rlen;    /* unread bytes are rbuf[rpos..rlen) */
	char rbuf[SMTPC__RBUF_SIZE];
} smtpc__transport;

/** Monotonic clock in milliseconds. */
int64_t smtpc__now_ms(void);
/** now + timeout, or -1 (no deadline) when timeout_ms < 0. */
int64_t smtpc__deadline(int timeout_ms);

void smtpc__tr_init(smtpc__transport *t);
void smtpc__tr_close(smtpc__transport *t);
/** Closes and frees what the transport owns (for smtpc_free). */
void smtpc__tr_free(smtpc__transport *t);

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
 * How many of the last bytes written the kernel has not transmitted yet (Linux,
 * TCP: SIOCOUTQNSD; bytes sent but not acknowledged may have arrived, so they do
 * not count). -1 when the system cannot tell, and over a Unix socket: what was
 * written is already in the peer's queue, where it can still read it after we
 * close. smtpc__tr_close() keeps the value it had just before the close in
 * unsent_at_close.
 */
long smtpc__tr_unsent(const smtpc__transport *t);
/**
 * on: the end of data is about to be written; until off (or the close), a
 * close that finds bytes still unsent aborts the connection (RST) instead of
 * closing it: a plain close would let the kernel send them afterwards, the
 * end of data with them, and the server could then accept the message.
 */
void smtpc__tr_guard_end(smtpc__transport *t, int on);
/** At most how many bytes on the wire `len` bytes given to one write become (TLS records). */
size_t smtpc__tr_wire_max(const smtpc__transport *t, size_t len);

/**
 * Reads more bytes into the buffer (moving unread bytes to its start).
 * Returns the number of bytes read (> 0), 0 at end of stream,
 * SMTPC_ETIMEOUT or SMTPC_EIO.
 */
long smtpc__tr_fill(smtpc__transport *t, int64_t deadline);

/**
 * Runs the TLS handshake over the open connection (implicit TLS, or after
 * "220" to STARTTLS). host: the name to verify (a DNS name or an IP
 * address) and to send as SNI (names only). The read buffer must be empty:
 * bytes the server sent before the handshake are an attack, never data.
 * optional (opportunistic STARTTLS without credentials): the certificate is
 * checked, but a failed check does not fail the handshake; t->verified says
 * whether it passed, and err then holds why not. The pin is always enforced.
 * Returns 0, SMTPC_ETLS (handshake, verification or pin failure: the
 * message goes to err, size errsize), SMTPC_ETIMEOUT, SMTPC_EPROTO
 * (buffered plaintext), SMTPC_ENOMEM.
 */
int smtpc__tr_start_tls(smtpc__transport *t, smtpc__tls_config *cfg, const char *host, int optional,
                        int64_t deadline, char *err, size_t errsize);

/** Drops the context built from the settings (they changed); the next handshake rebuilds it. */
void smtpc__tls_ctx_reset(smtpc__tls_config *cfg);
/** Frees the TLS context of a configuration (when it built it) and its strings. */
void smtpc__tls_config_free(smtpc__tls_config *cfg);

/** The local address of the connection as an address literal ("[1.2.3.4]", "[IPv6:::1]"). */
int smtpc__tr_local_literal(const smtpc__transport *t, char *buf, size_t size);

#endif
