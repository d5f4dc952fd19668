/*
 * smtpc-sink: a loopback SMTP/LMTP server for the demo, the interop tests and the benchmarks.
 *
 * RFC 5321 (SMTP), RFC 2033 (LMTP), RFC 2920 (PIPELINING), RFC 3030 (CHUNKING, BINARYMIME),
 * RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 2034 and RFC 3463 (enhanced status codes),
 * RFC 6531 (SMTPUTF8), RFC 3461 (DSN parameters).
 *
 * Standalone: it does not link libsmtpc, so that a bug in the library cannot hide behind the
 * same bug in the server that tests it.
 */
#ifndef SMTPC_SINK_H
#define SMTPC_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define SINK_LINE_MAX        4096  /* longest command line, CRLF excluded */
#define SINK_READ_CHUNK      65536 /* bytes asked for per read() */
#define SINK_IN_CAP          (SINK_READ_CHUNK + SINK_LINE_MAX + 8)
#define SINK_OUT_HIGH        (256 * 1024) /* stop reading commands above this many unsent bytes */
#define SINK_PATH_MAX        256          /* RFC 5321 4.5.3.1.3, angle brackets included */
#define SINK_MAX_RCPTS       1000         /* RFC 5321 4.5.3.1.8 asks for at least 100 */
#define SINK_MAX_PARAMS      16           /* ESMTP parameters on one MAIL or RCPT */
#define SINK_DEFAULT_SIZE    52428800ULL
#define SINK_DEFAULT_TIMEOUT 300

/* sysexits.h values, spelled out so that the header is not needed */
#define SINK_EX_USAGE     64
#define SINK_EX_OSERR     71
#define SINK_EX_CANTCREAT 73

/* Service extensions that change what the server does; others in --ext are only advertised. */
enum sink_ext {
	EXT_PIPELINING = 1u << 0,
	EXT_SIZE = 1u << 1,
	EXT_8BITMIME = 1u << 2,
	EXT_ENHANCED = 1u << 3,
	EXT_SMTPUTF8 = 1u << 4,
	EXT_DSN = 1u << 5,
	EXT_CHUNKING = 1u << 6,
	EXT_BINARYMIME = 1u << 7,
	EXT_VRFY = 1u << 8,
	EXT_HELP = 1u << 9,
};

/* A growable byte buffer. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};

/* A growable vector of NUL-terminated strings. */
struct strvec {
	char **v;
	size_t n;
	size_t cap;
};

struct sink_config {
	bool lmtp;
	bool quiet;
	bool daemon;
	const char *maildir;   /* NULL: count and discard */
	const char *port_file; /* NULL: none */
	const char *pid_file;  /* NULL: none */
	const char *hostname;
	const char *log_path; /* NULL: no transcript */
	uint64_t size_limit;  /* 0: unlimited */
	unsigned timeout;     /* idle seconds */
	unsigned ext;         /* enum sink_ext bits */
	char *ehlo_tail;      /* "250-PIPELINING\r\n...250 HELP\r\n", or "" */
};

/* Process-wide state, owned by main() and passed down. */
struct sink {
	struct sink_config cfg;
	FILE *log;    /* transcript, or NULL */
	int jsonl_fd; /* DIR/deliveries.jsonl, or -1 */
	unsigned long msg_counter;
	unsigned long conn_counter;
	pid_t pid;
};

/* Recipient kinds, from the special test domains and LMTP local parts. */
enum rcpt_kind {
	RCPT_NORMAL,
	RCPT_HANGUP,   /* *@hangup.test: close without a reply at the end of data */
	RCPT_DATAFAIL, /* *@datafail.test: 554 5.6.0 after the data */
	RCPT_FULL,     /* LMTP local part "full": 552 5.2.2 */
	RCPT_TEMPFAIL, /* LMTP local part "tempfail": 452 4.2.2 */
};

struct rcpt {
	char *addr; /* without the angle brackets */
	struct strvec opts;
	enum rcpt_kind kind;
};

/* A canned reply: code, enhanced status code (RFC 3463), text. */
struct sink_reply {
	int code;
	const char *esc;
	const char *text;
};

enum conn_mode {
	MODE_CMD,  /* reading command lines */
	MODE_DATA, /* after 354: body until CRLF.CRLF */
	MODE_BDAT, /* reading the bytes of one BDAT chunk */
};

/* The message being received (DATA or BDAT). */
struct message {
	bool active;      /* a tmp file or a byte count is in progress */
	bool bdat;        /* the transfer uses BDAT */
	bool too_big;     /* over --size: nothing more is stored */
	bool store_error; /* the tmp file could not be written */
	int fd;           /* the tmp file, or -1 */
	uint64_t size;    /* bytes of message content so far */
	char name[64];    /* Maildir file name: time.pid_counter.sink */
	char id[32];      /* queue id in "250 2.0.0 Ok: queued as <id>" */
	char *tmp_path;   /* DIR/<first rcpt>/tmp/<name>, or NULL */
};

struct conn {
	int kind; /* first member: tells connections from listeners in epoll data */
	int fd;
	unsigned long id;
	struct sink *sink;
	struct conn *prev, *next; /* idle list, least recently active first */
	uint64_t last_active;     /* monotonic seconds */
	unsigned events;          /* epoll events currently registered */

	char *in;
	size_t in_len;
	struct buf out;
	size_t out_off; /* bytes of out already sent */

	enum conn_mode mode;
	bool closing;        /* QUIT or a timeout: close once out is sent */
	bool hangup;         /* close now, after one last try to send what is queued */
	bool discarding;     /* skipping the rest of an over-long line */
	bool bol;            /* DATA: at the beginning of a line (after CRLF) */
	bool prev_cr;        /* DATA: the last byte consumed was CR */
	uint64_t bdat_left;  /* BDAT: bytes of the chunk still to read */
	uint64_t bdat_chunk; /* BDAT: size of the current chunk */
	bool bdat_last;      /* BDAT: the current chunk is the LAST one */
	const struct sink_reply *bdat_error; /* BDAT: reply once the chunk is discarded, or NULL */

	/* session */
	char *helo; /* NULL until HELO, EHLO or LHLO */
	bool esmtp; /* EHLO or LHLO, not HELO */

	/* transaction */
	bool has_mail;
	char *mail_from;
	struct strvec mail_opts;
	bool smtputf8;
	bool binarymime;
	struct rcpt *rcpts;
	size_t nrcpts;
	size_t rcpt_cap;
	size_t rcpt_attempts;
	struct message msg;
};

/* util.c */
void sink_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void sink_warn(const struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void *sink_xmalloc(size_t n);
void *sink_xrealloc(void *p, size_t n);
char *sink_xstrndup(const char *s, size_t n);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addc(struct buf *b, char ch);
void buf_adds(struct buf *b, const char *s);
void buf_free(struct buf *b);
void strvec_push(struct strvec *v, const char *s, size_t n);
void strvec_free(struct strvec *v);
bool sink_ascii_ieq(const char *a, size_t alen, const char *b);
void sink_log(struct sink *s, unsigned long id, char dir, const char *p, size_t n);

/* session.c */
void session_start(struct conn *c);
bool session_process(struct conn *c);
void session_timeout(struct conn *c);
void session_end(struct conn *c);

/* store.c */
int store_init(struct sink *s);
int store_open(struct sink *s, struct message *m, const char *rcpt);
int store_write(struct message *m, const char *p, size_t n);
void store_discard(struct message *m);
int store_deliver(struct sink *s, struct conn *c, const size_t *targets, size_t ntargets,
                  bool *delivered);
void store_maildir_name(struct buf *b, const char *addr);
void json_string(struct buf *b, const char *s, size_t n);

#endif
