/*
 * smtpc.h - libsmtpc, an SMTP (RFC 5321), ESMTP and LMTP (RFC 2033) client.
 *
 * The whole public API of libsmtpc. Python's smtplib is the model for the
 * surface: every smtplib method has a counterpart here (see docs/MAPPING.md).
 *
 * Conventions
 * - Every call that can fail returns an int: 0 on success, a negative
 *   SMTPC_E* error kind otherwise. The session keeps the details of the last
 *   error (smtpc_last_error()).
 * - A session (smtpc *) is used by one thread at a time; different sessions
 *   may be used in parallel. The library has no global mutable state.
 * - Replies returned through a smtpc_reply * out-parameter point into memory
 *   owned by the session. They stay valid until the next call on the same
 *   session that talks to the server, or smtpc_close()/smtpc_free().
 * - Strings returned by the helpers (smtpc_quoteaddr() ...) are allocated
 *   with malloc() and belong to the caller (free()).
 * - Server text is untrusted input: it may contain any byte, including NUL.
 *   Use the lengths that come with it.
 * - Every argument that ends up on a command line (address, option, name,
 *   raw command) is checked before anything is sent: CR, LF, NUL, other
 *   control characters and DEL are refused with SMTPC_EINVAL.
 */
#ifndef SMTPC_H
#define SMTPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SMTPC_BUILDING) && defined(__GNUC__)
#define SMTPC_API __attribute__((visibility("default")))
#else
#define SMTPC_API
#endif

#define SMTPC_VERSION_MAJOR  0
#define SMTPC_VERSION_MINOR  1
#define SMTPC_VERSION_PATCH  0
#define SMTPC_VERSION_STRING "0.1.0"

/** Default ports. */
#define SMTPC_SMTP_PORT  25
#define SMTPC_SMTPS_PORT 465
#define SMTPC_LMTP_PORT  2003

/** Limits of the reply parser (a reply beyond them is SMTPC_EPROTO). */
#define SMTPC_MAX_REPLY_LINE  8192  /* bytes in one reply line, CRLF included */
#define SMTPC_MAX_REPLY_LINES 512   /* lines in one reply */
#define SMTPC_MAX_REPLY_BYTES 65536 /* bytes of one whole reply */

/**
 * Error kinds. smtplib's exceptions map one to one onto the kinds marked
 * with their Python name; the others are what C needs on top.
 */
typedef enum smtpc_error_kind {
	SMTPC_OK = 0,
	SMTPC_EINVAL = -1,   /* invalid argument (ValueError): CR/LF/NUL, bad port ... */
	SMTPC_ENOMEM = -2,   /* out of memory */
	SMTPC_EIO = -3,      /* socket error while reading or writing (errno in os_error) */
	SMTPC_ETIMEOUT = -4, /* a connect, reply or write took longer than the timeout */
	SMTPC_EPROTO = -5,   /* the server broke the protocol (malformed or unexpected reply) */
	SMTPC_EDISCONNECTED =
	    -6,               /* SMTPServerDisconnected: not connected, or EOF from the server */
	SMTPC_ERESPONSE = -7, /* SMTPResponseException: unexpected reply code */
	SMTPC_ESENDER = -8,   /* SMTPSenderRefused: MAIL FROM refused */
	SMTPC_ERECIPIENTS =
	    -9,               /* SMTPRecipientsRefused: every recipient refused (or 421 at RCPT) */
	SMTPC_EDATA = -10,    /* SMTPDataError: DATA not answered 354, or message refused */
	SMTPC_ECONNECT = -11, /* SMTPConnectError: cannot connect, or greeting not 220 */
	SMTPC_EHELO = -12,    /* SMTPHeloError: EHLO and HELO both refused */
	SMTPC_EAUTH = -13,    /* SMTPAuthenticationError */
	SMTPC_ENOTSUPPORTED = -14, /* SMTPNotSupportedError: extension not offered by the server */
	SMTPC_EUNKNOWN = -15,      /* outcome unknown: the connection failed after the final dot,
	                              before its reply; the message may or may not have been accepted
	                              (not when the dot never reached the server: smtpc_sendmail()) */
	SMTPC_ESHUTDOWN =
	    -16,          /* the server answered 421 (closing the channel); the session is closed */
	SMTPC_ETLS = -17, /* TLS error (reserved for the TLS layer) */
	SMTPC_ERESOLVE = -18, /* the host name could not be resolved */
} smtpc_error_kind;

/** A short constant description of an error kind ("invalid argument", ...). */
SMTPC_API const char *smtpc_strerror(int kind);
/** The smtplib exception name for a kind ("SMTPSenderRefused", ...), or NULL. */
SMTPC_API const char *smtpc_error_name(int kind);

/**
 * A reply from the server. The code is the three-digit reply code. When the
 * reply carries an RFC 3463 enhanced status code ("2.1.5"), it is kept in
 * `enhanced` and removed from the text of every line that starts with it.
 * `text` holds the lines' texts (code and separator removed) joined with
 * one "\n"; it is NUL-terminated, but may contain NUL bytes: use text_len.
 */
typedef struct smtpc_reply {
	int code;
	char enhanced[16]; /* "" when the reply has none */
	const char *text;
	size_t text_len;
	size_t nlines;
} smtpc_reply;

/** Details of the last error of a session. Pointers are owned by the session. */
typedef struct smtpc_error {
	int kind;            /* SMTPC_E*, or SMTPC_OK */
	int code;            /* reply code that caused it, or 0 */
	char enhanced[16];   /* its enhanced status code, or "" */
	const char *command; /* the command verb concerned ("MAIL", "DATA" ...), or "" */
	const char *text;    /* the server's text (untrusted), or "" */
	size_t text_len;
	const char *message; /* one line for humans, without a trailing newline */
	int os_error;        /* errno of a system call, or 0 */
} smtpc_error;

typedef struct smtpc smtpc;

/** Protocols. */
typedef enum smtpc_protocol {
	SMTPC_PROTO_SMTP = 0, /* SMTP/ESMTP, EHLO with HELO fallback, port 25 */
	SMTPC_PROTO_LMTP = 1, /* LMTP: LHLO, no HELO fallback, port 2003, one reply per recipient */
} smtpc_protocol;

/**
 * Debug transcript callback: one line at a time, without a line ending.
 * The line is NUL-terminated; bytes that are not printable ASCII are shown
 * as \xHH escapes. Level 1: "connect:", "send:", "reply:" lines; level 2:
 * the same with a "HH:MM:SS.uuuuuu " wall-clock prefix.
 */
typedef void (*smtpc_debug_fn)(const char *line, size_t len, void *user);

/* ---------------------------------------------------------------- lifetime */

/** A new session, not connected. NULL when out of memory. */
SMTPC_API smtpc *smtpc_new(void);
/** Closes the connection (without QUIT) and frees the session. NULL is fine. */
SMTPC_API void smtpc_free(smtpc *s);

/* ---------------------------------------------------------------- options
 * Set before smtpc_connect(); they keep their value across connections. */

/** SMTP (default) or LMTP. Errors: SMTPC_EINVAL. */
SMTPC_API int smtpc_set_protocol(smtpc *s, smtpc_protocol proto);
/**
 * The steps of a session that have a timeout of their own, with their
 * defaults (RFC 5321 4.5.3.2 gives the ones of the SMTP commands). A step's
 * timeout bounds each write of the step and each whole reply (not one read).
 */
typedef enum smtpc_phase {
	SMTPC_PHASE_CONNECT = 0,  /* the TCP or Unix connect, with implicit TLS also the TLS
	                             handshake: 2 minutes (about the kernel's own limit) */
	SMTPC_PHASE_GREETING = 1, /* the 220 greeting: 5 minutes (4.5.3.2.1) */
	SMTPC_PHASE_MAIL = 2,     /* MAIL: 5 minutes (4.5.3.2.2) */
	SMTPC_PHASE_RCPT = 3,     /* each RCPT: 5 minutes (4.5.3.2.3) */
	SMTPC_PHASE_DATA = 4,     /* DATA, until its 354: 2 minutes (4.5.3.2.4) */
	SMTPC_PHASE_BLOCK = 5,    /* each write of the message, and the reply to each BDAT
	                             chunk before LAST: 3 minutes (4.5.3.2.5) */
	SMTPC_PHASE_FINAL = 6,    /* the reply to the end of data (the final dot, BDAT LAST;
	                             each reply in LMTP): 10 minutes (4.5.3.2.6) */
	SMTPC_PHASE_COMMAND = 7,  /* every other command (EHLO, HELO, LHLO, STARTTLS and its
	                             handshake, AUTH, RSET, NOOP, QUIT, VRFY, EXPN, HELP, raw
	                             commands and replies): 5 minutes */
} smtpc_phase;
#define SMTPC_PHASE_COUNT 8

/**
 * Timeout in milliseconds of one step (smtpc_phase); -1: wait forever. 0 is
 * refused (as smtplib refuses a zero timeout). Errors: SMTPC_EINVAL (unknown
 * phase, 0 or below -1).
 */
SMTPC_API int smtpc_set_phase_timeout(smtpc *s, smtpc_phase phase, int timeout_ms);
/** The timeout of a step in *timeout_ms (-1: none). Errors: SMTPC_EINVAL (unknown phase). */
SMTPC_API int smtpc_get_phase_timeout(const smtpc *s, smtpc_phase phase, int *timeout_ms);
/**
 * One timeout in milliseconds for every step (sets every phase): the
 * connect, each reply (the whole reply, not one read) and each write. -1:
 * wait forever. 0 is refused (as smtplib refuses a zero timeout). Without
 * it (or smtpc_set_phase_timeout()) each step has its default (smtpc_phase).
 * Errors: SMTPC_EINVAL.
 */
SMTPC_API int smtpc_set_timeout(smtpc *s, int timeout_ms);
/**
 * Name sent with EHLO/HELO/LHLO. NULL: the host's fully qualified name when
 * it has a dot, else an address literal ("[127.0.0.1]", "[IPv6:::1]").
 * Errors: SMTPC_EINVAL (control characters, empty), SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_set_local_hostname(smtpc *s, const char *name);
/**
 * Idle time in milliseconds after which smtpc_sendmail() and the other
 * sending calls first check a reused connection with NOOP (servers drop
 * idle clients; RFC 5321 4.5.3.2.7). Default 10000; -1: never. A failed
 * NOOP fails the call before the transaction starts. Errors: SMTPC_EINVAL.
 */
SMTPC_API int smtpc_set_idle_check(smtpc *s, int idle_ms);
/** The local host name in use (computed at connect when not set). */
SMTPC_API const char *smtpc_local_hostname(smtpc *s);
/**
 * Source address to bind before connecting (host may be NULL for any
 * address; port 0 for any port). Errors: SMTPC_EINVAL, SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_set_source_address(smtpc *s, const char *host, int port);
/**
 * Debug transcript (smtplib's set_debuglevel). level 0: off; 1: transcript;
 * 2: transcript with timestamps. fn NULL: write to standard error.
 */
SMTPC_API void smtpc_set_debuglevel(smtpc *s, int level, smtpc_debug_fn fn, void *user);

/* ---------------------------------------------------------------- connection */

/**
 * Connects and reads the greeting (smtplib's SMTP(host, port) / connect()).
 *
 * host: a name or address; "host:port" when port is 0 and host has exactly
 * one colon; "[v6addr]" or "[v6addr]:port"; a bare IPv6 address; a path
 * starting with "/" connects to a Unix socket (the port is ignored).
 * port 0 means the default port of the protocol (25, or 2003 for LMTP).
 * The greeting is returned in *greeting (may be NULL). A greeting other than
 * 220 closes the connection and fails with SMTPC_ECONNECT (smtplib's
 * constructor behaviour); 421 fails with SMTPC_ESHUTDOWN.
 * Errors: SMTPC_EINVAL, SMTPC_ERESOLVE, SMTPC_ECONNECT, SMTPC_ETIMEOUT,
 * SMTPC_EIO, SMTPC_EDISCONNECTED, SMTPC_EPROTO, SMTPC_ESHUTDOWN, SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_connect(smtpc *s, const char *host, int port, smtpc_reply *greeting);
/** 1 when the session has an open connection. */
SMTPC_API int smtpc_is_connected(const smtpc *s);
/**
 * Sends QUIT, reads the reply (whatever its code), forgets the EHLO state and
 * closes. The reply goes to *reply (may be NULL).
 * Errors: SMTPC_EDISCONNECTED, SMTPC_EIO, SMTPC_ETIMEOUT, SMTPC_EPROTO; the
 * session is closed in every case.
 */
SMTPC_API int smtpc_quit(smtpc *s, smtpc_reply *reply);
/** Closes the connection without QUIT; harmless when not connected. */
SMTPC_API void smtpc_close(smtpc *s);

/* ---------------------------------------------------------------- greeting */

/**
 * Sends HELO (name NULL: the local host name) and returns the reply; does
 * not fail on a refusal. Not available in LMTP (SMTPC_ENOTSUPPORTED).
 * Errors: SMTPC_EINVAL, SMTPC_ENOTSUPPORTED, SMTPC_ESHUTDOWN and the I/O kinds.
 */
SMTPC_API int smtpc_helo(smtpc *s, const char *name, smtpc_reply *reply);
/**
 * Sends EHLO (LHLO in LMTP) and returns the reply. On 250 the feature list
 * is parsed (smtpc_has_extn()); on another code it is left empty and the
 * reply is returned without an error.
 * Errors: SMTPC_EINVAL, SMTPC_ESHUTDOWN and the I/O kinds.
 */
SMTPC_API int smtpc_ehlo(smtpc *s, const char *name, smtpc_reply *reply);
/**
 * Greets when no EHLO/HELO was answered yet: EHLO, then HELO when EHLO is
 * refused (SMTP only; LMTP has no fallback).
 * Errors: SMTPC_EHELO (with the last reply), SMTPC_ESHUTDOWN, I/O kinds.
 */
SMTPC_API int smtpc_ehlo_or_helo_if_needed(smtpc *s);
/** 1 when the last EHLO was answered 250 (smtplib's does_esmtp). */
SMTPC_API int smtpc_does_esmtp(const smtpc *s);
/** Text of the last HELO / EHLO reply, or NULL (helo_resp, ehlo_resp). */
SMTPC_API const char *smtpc_helo_resp(const smtpc *s);
SMTPC_API const char *smtpc_ehlo_resp(const smtpc *s);
/** 1 when the server advertised the extension (case-insensitive). */
SMTPC_API int smtpc_has_extn(const smtpc *s, const char *name);
/**
 * Parameters of an advertised extension ("" when it has none), or NULL when
 * not advertised. AUTH collects every AUTH and AUTH= line, each mechanism
 * once, separated by single spaces.
 */
SMTPC_API const char *smtpc_extn_param(const smtpc *s, const char *name);
/** Number of advertised extensions, and the i-th (keyword in upper case). */
SMTPC_API size_t smtpc_extn_count(const smtpc *s);
SMTPC_API int smtpc_extn_at(const smtpc *s, size_t i, const char **keyword, const char **params);
/** SIZE limit advertised: 1 and *limit set when known (0 = no limit), else 0. */
SMTPC_API int smtpc_size_limit(const smtpc *s, uint64_t *limit);

/* ---------------------------------------------------------------- raw commands */

/**
 * Sends "cmd" or "cmd args" followed by CRLF (smtplib's putcmd). args may
 * be NULL or "". Errors: SMTPC_EINVAL (control characters anywhere, empty
 * command, line over 512 octets is allowed but 64 KiB is not),
 * SMTPC_EDISCONNECTED, SMTPC_EIO, SMTPC_ETIMEOUT.
 */
SMTPC_API int smtpc_putcmd(smtpc *s, const char *cmd, const char *args);
/**
 * Reads one reply (smtplib's getreply). A 421 closes the session and fails
 * with SMTPC_ESHUTDOWN (the reply is still returned).
 * Errors: SMTPC_EDISCONNECTED, SMTPC_EPROTO, SMTPC_ETIMEOUT, SMTPC_EIO,
 * SMTPC_ESHUTDOWN.
 */
SMTPC_API int smtpc_getreply(smtpc *s, smtpc_reply *reply);
/** putcmd then getreply. Errors: those of both. */
SMTPC_API int smtpc_docmd(smtpc *s, const char *cmd, const char *args, smtpc_reply *reply);
/**
 * Writes raw bytes as they are (smtplib's send): no check, no CRLF added.
 * Errors: SMTPC_EDISCONNECTED, SMTPC_EIO, SMTPC_ETIMEOUT.
 */
SMTPC_API int smtpc_send(smtpc *s, const void *data, size_t len);

/* ---------------------------------------------------------------- commands */

/**
 * MAIL FROM:<sender> with ESMTP options (e.g. "BODY=8BITMIME"); options are
 * sent only after a 250 EHLO. "SMTPUTF8" needs the server's SMTPUTF8
 * (SMTPC_ENOTSUPPORTED otherwise, before sending). Returns the reply; a
 * refusal is not an error. sender is quoted with the rules of
 * smtpc_quoteaddr(); "" is the null reverse-path "<>". An address that is
 * not exactly one path ("<a@x> RET=HDRS": parameters come only from
 * `options`) is refused with SMTPC_EINVAL before anything is sent; so is a
 * keyword given twice in `options`.
 * Errors: SMTPC_EINVAL, SMTPC_ENOTSUPPORTED, SMTPC_ESHUTDOWN, I/O kinds.
 */
SMTPC_API int smtpc_mail(smtpc *s, const char *sender, const char *const *options, size_t noptions,
                         smtpc_reply *reply);
/** RCPT TO:<recipient> with options; as smtpc_mail(). */
SMTPC_API int smtpc_rcpt(smtpc *s, const char *recipient, const char *const *options,
                         size_t noptions, smtpc_reply *reply);
/**
 * DATA: sends the command; a reply other than 354 fails with SMTPC_EDATA
 * and nothing of the message is sent. Then sends the message with line
 * endings made CRLF, leading dots doubled and the terminator, and returns
 * the final reply (a refusal is not an error, as in smtplib). In LMTP one
 * reply is read for every recipient accepted since the last MAIL; *reply is
 * the first, smtpc_lmtp_reply() gives each.
 * Errors: SMTPC_EDATA, SMTPC_EUNKNOWN (connection lost after the final dot),
 * SMTPC_ESHUTDOWN, I/O kinds (also after the final dot when it never reached
 * the server, as smtpc_sendmail() tells).
 */
SMTPC_API int smtpc_data(smtpc *s, const void *msg, size_t len, smtpc_reply *reply);
/** LMTP: after smtpc_data(), the number of per-recipient replies, and the i-th. */
SMTPC_API size_t smtpc_lmtp_reply_count(const smtpc *s);
SMTPC_API int smtpc_lmtp_reply(const smtpc *s, size_t i, smtpc_reply *reply);
/** RSET, NOOP: return the reply. Errors: SMTPC_ESHUTDOWN, I/O kinds. */
SMTPC_API int smtpc_rset(smtpc *s, smtpc_reply *reply);
SMTPC_API int smtpc_noop(smtpc *s, smtpc_reply *reply);
/**
 * VRFY / EXPN with the bare address of `address` (display name and angle
 * brackets removed); anything but exactly one address ("postmaster" is
 * one) is SMTPC_EINVAL. Errors: SMTPC_EINVAL, SMTPC_ESHUTDOWN, I/O kinds.
 */
SMTPC_API int smtpc_verify(smtpc *s, const char *address, smtpc_reply *reply);
#define smtpc_vrfy smtpc_verify
SMTPC_API int smtpc_expn(smtpc *s, const char *address, smtpc_reply *reply);
/** HELP [arg] (arg NULL or ""). Errors: SMTPC_EINVAL, SMTPC_ESHUTDOWN, I/O kinds. */
SMTPC_API int smtpc_help(smtpc *s, const char *arg, smtpc_reply *reply);

/* ---------------------------------------------------------------- sendmail */

/** What happened to one recipient of smtpc_sendmail(). */
typedef enum smtpc_rcpt_status {
	SMTPC_RCPT_NOT_TRIED = 0, /* no RCPT was sent for it (the transaction stopped before) */
	SMTPC_RCPT_REFUSED = 1,   /* RCPT refused: `reply` holds the refusal */
	SMTPC_RCPT_ACCEPTED = 2,  /* the message was accepted for it: `reply` is the final reply */
	SMTPC_RCPT_FAILED = 3,    /* RCPT accepted but the message was not: `reply` says why
	                             (no reply: the connection failed before the end of data
	                             reached the server; the error of the call says how) */
	SMTPC_RCPT_UNKNOWN = 4,   /* RCPT accepted, then the connection failed after the final
	                             dot: the message may or may not have been delivered */
} smtpc_rcpt_status;

typedef struct smtpc_rcpt_result {
	const char *address; /* the recipient as the caller gave it */
	smtpc_rcpt_status status;
	smtpc_reply reply; /* code 0 and empty text when there was no reply */
	int rcpt_code;     /* reply code to its RCPT, or 0 when not sent */
} smtpc_rcpt_result;

/**
 * Result of one transaction. Allocated by the library; free it with
 * smtpc_send_result_free(). All pointers inside live as long as it.
 */
typedef struct smtpc_send_result {
	size_t nrecipients;
	smtpc_rcpt_result *recipients; /* in the order given */
	size_t naccepted;              /* recipients with status SMTPC_RCPT_ACCEPTED */
	smtpc_reply mail_reply;        /* reply to MAIL FROM (code 0 if not sent) */
	smtpc_reply data_reply;        /* reply to DATA (354 ...), code 0 if not sent */
	smtpc_reply final_reply;       /* reply after the final dot (SMTP; the first one in
	                                  LMTP), code 0 if none */
} smtpc_send_result;

SMTPC_API void smtpc_send_result_free(smtpc_send_result *r);

/** DSN (RFC 3461): when to notify, as a bit set (0: the server's default). */
enum smtpc_dsn_notify {
	SMTPC_DSN_NEVER = 1,
	SMTPC_DSN_SUCCESS = 2,
	SMTPC_DSN_FAILURE = 4,
	SMTPC_DSN_DELAY = 8,
};
/** DSN: what a bounce returns. */
typedef enum smtpc_dsn_ret {
	SMTPC_DSN_RET_DEFAULT = 0,
	SMTPC_DSN_RET_FULL = 1,
	SMTPC_DSN_RET_HDRS = 2,
} smtpc_dsn_ret;

/** A message body with 8-bit bytes for a server without 8BITMIME (RFC 6152). */
typedef enum smtpc_8bit_policy {
	SMTPC_8BIT_REFUSE = 0, /* default: SMTPC_ENOTSUPPORTED, nothing delivered */
	SMTPC_8BIT_SEND = 1,   /* send it anyway, as it is (the caller's choice) */
} smtpc_8bit_policy;

/** Progress of a message: bytes of the message sent so far, and the total (0: unknown). */
typedef void (*smtpc_progress_fn)(uint64_t sent, uint64_t total, void *user);

/**
 * Options of smtpc_sendmail() and smtpc_send_message(). Initialise with
 * SMTPC_SEND_OPTIONS_INIT: every field is 0/NULL by default.
 */
typedef struct smtpc_send_options {
	unsigned version;
	const char *const *mail_options; /* extra ESMTP MAIL parameters, e.g. "BODY=8BITMIME" */
	size_t nmail_options;
	const char *const *rcpt_options; /* extra ESMTP RCPT parameters, sent with every RCPT */
	size_t nrcpt_options;

	/* DSN (RFC 3461); needs the server's DSN (else SMTPC_ENOTSUPPORTED before MAIL). */
	smtpc_dsn_ret dsn_ret;           /* RET= on MAIL */
	const char *dsn_envid;           /* ENVID= on MAIL (xtext-encoded by the library) */
	unsigned dsn_notify;             /* NOTIFY= on every RCPT (enum smtpc_dsn_notify bits) */
	const unsigned *dsn_notify_rcpt; /* per recipient (parallel to `to`; 0: dsn_notify) */
	const char *const *dsn_orcpt; /* ORCPT=rfc822;<xtext> per recipient, entries may be NULL */

	smtpc_8bit_policy eight_bit; /* 8-bit body and no 8BITMIME */
	smtpc_progress_fn progress;  /* called after each write of the message */
	void *progress_user;

	int no_pipelining; /* 1: lock-step even when PIPELINING is offered */
	int no_chunking;   /* 1: DATA even when CHUNKING is offered */
	int binarymime;    /* 1: BODY=BINARYMIME with BDAT, bytes sent untouched
	                      (needs CHUNKING and BINARYMIME) */
} smtpc_send_options;
#define SMTPC_SEND_OPTIONS_VERSION 1
/* clang-format off */
#define SMTPC_SEND_OPTIONS_INIT { .version = SMTPC_SEND_OPTIONS_VERSION }
/* clang-format on */

/**
 * Callback source: fill buf with up to len bytes; return the number
 * written, 0 at the end of the message, or a negative value on error
 * (the transaction is then abandoned before the final dot).
 */
typedef long (*smtpc_read_fn)(void *buf, size_t len, void *user);

/**
 * Where a message comes from: bytes in memory, a file descriptor read to
 * its end, or a callback. Memory is streamed as it is; the others are read
 * in fixed-size buffers, so memory use does not grow with the message.
 * Initialise with SMTPC_SOURCE_INIT, then set one of the three.
 */
typedef struct smtpc_source {
	unsigned version;
	const void *data; /* a message in memory, len bytes */
	size_t len;
	int fd;             /* or a file descriptor (-1: none) */
	smtpc_read_fn read; /* or a callback */
	void *read_user;
	int64_t size; /* bytes that fd or read will give, -1 when unknown (for SIZE=, progress;
	                 a regular file's size is found with fstat) */
} smtpc_source;
#define SMTPC_SOURCE_VERSION 1
#define SMTPC_SOURCE_INIT                                                                          \
	{                                                                                          \
		SMTPC_SOURCE_VERSION, NULL, 0, -1, NULL, NULL, -1                                  \
	}

/**
 * Sends one message to several recipients (smtplib's sendmail).
 *
 * Greets if needed, sends MAIL FROM (with SIZE= when the server offers SIZE),
 * one RCPT per recipient, DATA and the message (CRLF line endings, dot
 * stuffing, terminator), and reports per recipient. Every address and option
 * is checked before the first byte is sent. A failed transaction is reset
 * with RSET so the connection stays usable; a 421 closes it.
 *
 * *result (when result is not NULL) is set whenever the call got as far as
 * contacting the server, also on failure: it says exactly which recipients
 * were accepted. Returns 0 when at least one recipient accepted the message
 * (others may be refused: look at the result), or:
 *   SMTPC_ESENDER      MAIL FROM refused
 *   SMTPC_ERECIPIENTS  every recipient refused, or 421 to a RCPT
 *   SMTPC_EDATA        DATA not answered 354, or the message refused
 *                      (in LMTP: refused for every recipient); also a
 *                      message over the server's SIZE limit, refused
 *                      before MAIL (code 552, enhanced 5.3.4)
 *   SMTPC_EUNKNOWN     connection lost (or the reply timed out) after the final
 *                      dot (or BDAT LAST), before the reply: the recipients are
 *                      SMTPC_RCPT_UNKNOWN
 *   SMTPC_EHELO, SMTPC_EINVAL, SMTPC_ENOTSUPPORTED, SMTPC_ENOMEM, I/O kinds.
 * Writing the message only hands it to the kernel: a slow server may not have
 * read the end of it when the wait for the final reply (SMTPC_PHASE_FINAL)
 * ends. So when that wait fails, the library asks the kernel (Linux, TCP,
 * TLS or not) whether bytes of the terminator were still untransmitted, and
 * if so aborts the connection (RST) so that they never leave (a plain close
 * would let the kernel send them later). Then the server cannot have accepted
 * the message: the recipients without a reply are SMTPC_RCPT_FAILED and the
 * call returns the error of the wait (SMTPC_ETIMEOUT, SMTPC_EDISCONNECTED,
 * SMTPC_EIO, SMTPC_EPROTO), with "not delivered" in its message; sending
 * again is safe. A terminator that left (even without an acknowledgement),
 * a Unix socket (the server can read what was written after the client
 * closes) or a system that cannot tell stay SMTPC_EUNKNOWN.
 */
SMTPC_API int smtpc_sendmail(smtpc *s, const char *from, const char *const *to, size_t nto,
                             const void *msg, size_t len, const smtpc_send_options *opts,
                             smtpc_send_result **result);

/**
 * smtpc_sendmail() with the message from a source (memory, file descriptor
 * or callback), streamed in bounded memory. Same results and errors, plus
 * SMTPC_EIO when the source fails (the final dot is then never sent): its
 * command is "" and os_error the errno of the read (EIO for a callback),
 * where a network failure names DATA or BDAT.
 */
SMTPC_API int smtpc_sendmail_source(smtpc *s, const char *from, const char *const *to, size_t nto,
                                    const smtpc_source *msg, const smtpc_send_options *opts,
                                    smtpc_send_result **result);

/**
 * smtplib's send_message on a raw RFC 5322 message. The envelope comes from
 * the headers unless given: the sender from Sender, else From (Resent-Sender
 * / Resent-From when there is exactly one Resent block; several are
 * SMTPC_EINVAL); the recipients from every To, Bcc and Cc field, in that
 * order (or the Resent- ones; smtplib reads the first of each).
 * from NULL: from the headers; to NULL/nto 0: from the headers. An element
 * of the fields read that does not parse is SMTPC_EINVAL naming the field
 * and the element (never a recipient skipped). Lines end as the DATA
 * encoder ends them (CRLF, bare LF, bare CR); Bcc and Resent-Bcc are
 * removed from what is sent; every other byte is unchanged; a header block
 * with NUL or another control character but HTAB, CR, LF is SMTPC_EINVAL.
 * A non-ASCII envelope address asks for SMTPUTF8 when the server offers
 * it, else SMTPC_ENOTSUPPORTED before MAIL; 8-bit header text only needs
 * BODY=8BITMIME, as the body does. The header block is read into memory
 * (at most 1 MiB); the body is streamed.
 * Errors: as smtpc_sendmail_source(), SMTPC_EINVAL (no sender or no
 * recipient in the headers, a malformed address element, several Resent
 * blocks, a control character, header block too big).
 */
SMTPC_API int smtpc_send_message(smtpc *s, const smtpc_source *msg, const char *from,
                                 const char *const *to, size_t nto, const smtpc_send_options *opts,
                                 smtpc_send_result **result);

/* ---------------------------------------------------------------- many messages */

/** One message of a batch. */
typedef struct smtpc_message {
	const char *from;
	const char *const *to;
	size_t nto;
	smtpc_source source;
	const smtpc_send_options *opts; /* NULL: defaults */
} smtpc_message;

/**
 * Sends several messages over the open connection, one transaction each.
 * With PIPELINING the end of one message and the commands of the next go
 * out in the same write (one round trip per message). results (an array of
 * n pointers) receives one result per message, each freed with
 * smtpc_send_result_free(); a message not attempted (the connection was
 * lost before it) has a NULL result. Returns 0 when every message was
 * accepted by at least one recipient, otherwise the error of the first
 * message that failed; each result says what happened to every recipient.
 * Errors: those of smtpc_sendmail_source().
 */
SMTPC_API int smtpc_send_batch(smtpc *s, const smtpc_message *msgs, size_t n,
                               smtpc_send_result **results);

/* ---------------------------------------------------------------- RFC 5322 addresses */

/** One address of an address list ("Name <local@domain>"). Strings are NUL-terminated UTF-8. */
typedef struct smtpc_address {
	const char *name;    /* display name, quotes and escapes removed, "" if none */
	const char *address; /* local@domain as written (quoted local parts kept), "" for an
	                        empty group */
	const char *group;   /* name of the group it belongs to, or NULL */
} smtpc_address;

typedef struct smtpc_address_list {
	size_t n;
	smtpc_address *items;
} smtpc_address_list;

/**
 * Parses an RFC 5322 address list (the value of To, Cc, From...; smtplib
 * uses email.utils.getaddresses): display names, quoted strings with
 * escapes, nested comments, groups ("undisclosed-recipients:;"), angle
 * addresses, obsolete routes, folded lines, encoded words left as they are,
 * UTF-8 (RFC 6532). Best effort on malformed input: an element that cannot
 * be parsed is skipped up to the next top-level comma and counted in
 * *skipped (may be NULL). *out is freed with smtpc_address_list_free().
 * Errors: SMTPC_EINVAL (NULL arguments), SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_parse_addresses(const char *value, size_t len, smtpc_address_list **out,
                                    size_t *skipped);
SMTPC_API void smtpc_address_list_free(smtpc_address_list *list);

/* ---------------------------------------------------------------- TLS
 * Certificates and host names are verified by default (chain against the
 * system store, or the CA file/directory given; the name given to
 * smtpc_connect(), or smtpc_set_tls_name()); TLS 1.2 at least; SNI sent. */

/**
 * Implicit TLS (smtplib's SMTP_SSL, "smtps", port 465 by default): the TLS
 * handshake runs right after the TCP connect, before the greeting.
 * Errors: SMTPC_EINVAL.
 */
SMTPC_API int smtpc_set_implicit_tls(smtpc *s, int on);

/**
 * When smtpc_ehlo_or_helo_if_needed() (and so sendmail and login) runs STARTTLS.
 *
 * OPPORTUNISTIC means encrypt if possible (Postfix's "may" level): without
 * credentials in play, a certificate that does not verify (self-signed,
 * unknown CA, wrong name, expired) still gives an encrypted connection,
 * reported as not verified (smtpc_is_tls() with *verified 0, and the debug
 * transcript says "encrypted, certificate NOT verified"). Credentials are in
 * play during smtpc_login(), smtpc_auth() and smtpc_auth_custom() (for the
 * greeting they run themselves) and after smtpc_set_auth_expected(s, 1):
 * the certificate must then verify (SMTPC_ETLS, closed, otherwise). A
 * connection whose opportunistic TLS was not verified never carries
 * credentials: AUTH on it fails with SMTPC_ETLS (unless
 * smtpc_set_auth_plaintext() allows credentials without verified TLS).
 * REQUIRED and an explicit smtpc_starttls() under another policy always
 * verify. A pin (smtpc_set_tls_pin()) is always enforced.
 */
typedef enum smtpc_starttls_policy {
	SMTPC_STARTTLS_NEVER = 0,         /* only when smtpc_starttls() is called (default) */
	SMTPC_STARTTLS_OPPORTUNISTIC = 1, /* when the server offers it; plaintext otherwise */
	SMTPC_STARTTLS_REQUIRED = 2,      /* fail closed: no STARTTLS, no session (SMTPC_ETLS) */
} smtpc_starttls_policy;
/** Errors: SMTPC_EINVAL. */
SMTPC_API int smtpc_set_starttls(smtpc *s, smtpc_starttls_policy policy);
/**
 * Says that this session will authenticate (default 0): opportunistic
 * STARTTLS then verifies the certificate, as it does inside smtpc_login().
 * Needed when the caller greets (or sends) before it logs in. Errors: none.
 */
SMTPC_API int smtpc_set_auth_expected(smtpc *s, int on);
/**
 * Certificate verification: 1 (default) or 0 (insecure: any certificate,
 * any name; the debug transcript says so, and AUTH then needs
 * smtpc_set_auth_plaintext(), as over plaintext). Errors: SMTPC_EINVAL.
 */
SMTPC_API int smtpc_set_tls_verify(smtpc *s, int verify);
/** CA certificates (PEM file, and/or hashed directory) instead of the system store. */
SMTPC_API int smtpc_set_ca_file(smtpc *s, const char *path);
SMTPC_API int smtpc_set_ca_dir(smtpc *s, const char *path);
/** Client certificate chain and key (PEM; key NULL: in the certificate file). */
SMTPC_API int smtpc_set_client_cert(smtpc *s, const char *cert_file, const char *key_file);
/** Name to verify and to send as SNI, when it differs from the host connected to (RFC 7817). */
SMTPC_API int smtpc_set_tls_name(smtpc *s, const char *name);
/**
 * Pins the server certificate: the SHA-256 of its DER encoding, as 64 hex
 * digits (colons allowed), checked in addition to verification (or alone,
 * with verification off). NULL removes the pin. Errors: SMTPC_EINVAL.
 */
SMTPC_API int smtpc_set_tls_pin(smtpc *s, const char *sha256_hex);
/**
 * STARTTLS (RFC 3207): greets if needed, requires the extension, sends
 * STARTTLS; only a plain 220 starts the handshake. Anything the server sent
 * after its 220 is an attack (SMTPC_EPROTO, connection closed). After the
 * handshake every capability learned before is forgotten and EHLO is sent
 * again. The certificate is verified, except under the OPPORTUNISTIC policy
 * without credentials in play (see smtpc_starttls_policy).
 * Errors: SMTPC_ENOTSUPPORTED (not offered; nothing sent),
 * SMTPC_ERESPONSE (refused: 454, 5xx...; the connection stays in plaintext),
 * SMTPC_ETLS (handshake or verification failed; closed), SMTPC_EPROTO,
 * SMTPC_ESHUTDOWN, I/O kinds.
 */
SMTPC_API int smtpc_starttls(smtpc *s, smtpc_reply *reply);
/**
 * 1 when the connection is encrypted; *verified (may be NULL) is 1 when the
 * certificate chain and name were verified, 0 when they were not: verification
 * off (smtpc_set_tls_verify()), or opportunistic STARTTLS without credentials
 * that met a certificate that does not verify (encrypted, not verified).
 */
SMTPC_API int smtpc_is_tls(const smtpc *s, int *verified);
/** "TLSv1.3 TLS_AES_256_GCM_SHA384", or "" without TLS. */
SMTPC_API const char *smtpc_tls_info(const smtpc *s);

/* ---------------------------------------------------------------- AUTH (RFC 4954)
 * Credentials never travel without verified TLS unless the caller allows it
 * with smtpc_set_auth_plaintext(); a Unix socket counts as local and is
 * allowed. Unverified opportunistic TLS counts as no verified TLS. Every
 * AUTH line and every answer to a 334 is redacted in the
 * debug transcript; copies of secrets are wiped after use. */

/** Allows AUTH over a connection without verified TLS (default 0). */
SMTPC_API int smtpc_set_auth_plaintext(smtpc *s, int allow);
/** smtplib's initial_response_ok (default 1): send the initial response with AUTH. */
SMTPC_API int smtpc_set_auth_initial_response(smtpc *s, int ok);

/**
 * smtplib's login(): greets if needed, then authenticates with the
 * strongest mechanism that both sides offer, from the capabilities learned
 * after TLS: SCRAM-SHA-256, SCRAM-SHA-1, then PLAIN, LOGIN, CRAM-MD5 over
 * TLS (CRAM-MD5 before PLAIN without TLS). The next mechanism is tried
 * when the server refuses the mechanism itself (504, or 534/538: "not
 * allowed", "encryption required"). A 535 (bad credentials) to PLAIN or
 * LOGIN ends at once; a 535 to CRAM-MD5 or SCRAM-* (a server may offer them
 * without holding their secret for this account) is followed by one attempt
 * with PLAIN, else LOGIN, over verified TLS or a Unix socket only (in
 * plaintext a forged 535 would get the password in clear), and that attempt
 * ends it: at most two attempts with one password, never the whole list.
 * user and password are UTF-8.
 *
 * *reply (may be NULL) receives the server's final reply to the last AUTH
 * of the call, as smtplib's login() returns it: 235 on success; on
 * SMTPC_EAUTH the reply that ended it: the refusal (535, 504, and 503,
 * which smtplib takes for "already authenticated" and smtpc does not), or
 * the 235 of a SCRAM server that did not prove itself; on SMTPC_ESHUTDOWN
 * the 421.
 * Its code is 0 (text "") when the call read no final reply to AUTH:
 * nothing was sent, or the exchange was cancelled or broken.
 * Errors: SMTPC_ENOTSUPPORTED (no AUTH, or no common mechanism; nothing
 * sent), SMTPC_EAUTH (refused, or a SCRAM server that failed to prove
 * itself), SMTPC_ETLS (no verified TLS and plaintext not allowed),
 * SMTPC_EINVAL, SMTPC_EPROTO (bad challenge, too many rounds), I/O kinds.
 */
SMTPC_API int smtpc_login(smtpc *s, const char *user, const char *password, smtpc_reply *reply);

/**
 * The mechanism of the last authentication attempt on this connection
 * ("SCRAM-SHA-256"), whether it succeeded or not, or NULL before any.
 */
SMTPC_API const char *smtpc_auth_mechanism(const smtpc *s);

/** What a SASL mechanism takes from the caller. */
typedef enum smtpc_sasl_needs {
	SMTPC_SASL_NEEDS_NOTHING = 0,  /* EXTERNAL: the TLS client certificate */
	SMTPC_SASL_NEEDS_PASSWORD = 1, /* smtpc_login(), or smtpc_auth() with a password */
	SMTPC_SASL_NEEDS_TOKEN = 2,    /* an OAuth 2.0 token (smtpc_auth_creds.token_fn) */
} smtpc_sasl_needs;

/**
 * The mechanisms smtpc_auth() implements, for a program to list or check
 * names without its own copy: the i-th canonical (upper-case) name, or NULL
 * past the last; *needs (may be NULL) says what it takes.
 */
SMTPC_API const char *smtpc_sasl_mechanism(size_t i, smtpc_sasl_needs *needs);

/**
 * Callback giving an OAuth 2.0 access token for XOAUTH2 and OAUTHBEARER,
 * called at each authentication so that it can be refreshed. Sets *token
 * to a malloc'd NUL-terminated string (the library wipes and frees it);
 * returns 0, or a negative value to cancel.
 */
typedef int (*smtpc_token_fn)(char **token, void *user);

/** Credentials for smtpc_auth(). Initialise with SMTPC_AUTH_CREDS_INIT. */
typedef struct smtpc_auth_creds {
	unsigned version;
	const char *user;        /* authentication identity (UTF-8) */
	const char *password;    /* PLAIN, LOGIN, CRAM-MD5, SCRAM-* */
	const char *authzid;     /* authorization identity, or NULL */
	smtpc_token_fn token_fn; /* XOAUTH2, OAUTHBEARER */
	void *token_user;
} smtpc_auth_creds;
#define SMTPC_AUTH_CREDS_VERSION 1
#define SMTPC_AUTH_CREDS_INIT                                                                      \
	{                                                                                          \
		SMTPC_AUTH_CREDS_VERSION, NULL, NULL, NULL, NULL, NULL                             \
	}

/**
 * smtplib's auth(mechanism, ...) with a built-in mechanism: PLAIN, LOGIN,
 * CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2, OAUTHBEARER, EXTERNAL.
 * Challenges are bounded (one reply's size, 8 rounds); an undecodable
 * challenge is cancelled with "*". OAuth errors (the server's JSON in a
 * 334) are in the error message. *reply (may be NULL): the final reply to
 * AUTH, as for smtpc_login(). Errors: as smtpc_login().
 */
SMTPC_API int smtpc_auth(smtpc *s, const char *mechanism, const smtpc_auth_creds *creds,
                         smtpc_reply *reply);

/**
 * smtplib's authobject: a caller's mechanism. Called first with challenge
 * NULL for the initial response (return 1 to send none), then once per 334
 * with the decoded challenge. Sets *response (malloc'd; the library wipes
 * and frees it) and returns 0, or returns a negative value to cancel ("*").
 */
typedef int (*smtpc_auth_fn)(const unsigned char *challenge, size_t len, unsigned char **response,
                             size_t *response_len, void *user);
/**
 * Runs a caller's mechanism (smtpc_auth_fn). *reply (may be NULL): the final
 * reply to AUTH, as for smtpc_login(). Errors: as smtpc_login().
 */
SMTPC_API int smtpc_auth_custom(smtpc *s, const char *mechanism, smtpc_auth_fn fn, void *user,
                                smtpc_reply *reply);

/* ---------------------------------------------------------------- errors */

/** The last error of the session (kind SMTPC_OK when the last call succeeded). */
SMTPC_API const smtpc_error *smtpc_last_error(const smtpc *s);

/* ---------------------------------------------------------------- helpers */

/**
 * smtplib's quoteaddr: the address of `addr` as one RFC 5321 path between
 * angle brackets. "Bob <bob@x>" -> "<bob@x>", "" and "<>" -> "<>", "bob" ->
 * "<bob>". Stricter than smtplib: anything that is not exactly one address
 * ("a@x, b@x", "<a@x> NOTIFY=SUCCESS", "a@x> RET=HDRS", a broken bracket or
 * quote, a control character) gives NULL instead of the input kept as it
 * is, so that nothing but the path can reach a command line. Returns a
 * malloc'd string, or NULL (not one address, or out of memory).
 */
SMTPC_API char *smtpc_quoteaddr(const char *addr);
/**
 * smtplib's quotedata: line endings made CRLF and leading dots doubled; no
 * final CRLF or terminator added. *out is malloc'd and NUL-terminated.
 * Errors: SMTPC_EINVAL, SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_quotedata(const void *in, size_t len, char **out, size_t *outlen);
/**
 * smtplib's encode_base64: standard base64 with padding, cut into lines of
 * at most maxlinelen characters (rounded down to a multiple of 4; 0: one
 * line), each followed by eol (NULL: "\n"). Empty input gives "".
 * Returns a malloc'd string, or NULL when out of memory.
 */
SMTPC_API char *smtpc_base64_encode(const void *data, size_t len, size_t maxlinelen,
                                    const char *eol);

/* ---------------------------------------------------------------- composing messages
 * A MIME message builder (docs/COMPOSE.md): headers, a text body, an HTML
 * alternative, attachments and inline parts, streamed as a smtpc_source in
 * bounded memory. Header values are UTF-8 and may not hold control
 * characters (CR, LF, NUL, TAB ...: SMTPC_EINVAL, so that no value can start
 * a header line of its own); non-ASCII text goes out as RFC 2047 encoded
 * words (raw with smtpc_mime_set_utf8()), file names with RFC 2231. */

typedef struct smtpc_mime smtpc_mime;

/** Brings a callback part back to its first byte: 0, or a negative value on failure. */
typedef int (*smtpc_rewind_fn)(void *user);

/**
 * An attachment or inline part. The bytes come from `source` (memory, a
 * file descriptor or a callback; smtpc_source). A file descriptor is read
 * with pread() from the offset it has when attached (so the message can be
 * read twice), or with read() once when it cannot seek; a regular file's
 * size is found with fstat(), otherwise source.size is used (-1: unknown,
 * and then the message's size is unknown too). A callback is read once
 * unless `rewind` is given. The bytes are always sent in base64 and come
 * out byte for byte. Initialise with SMTPC_MIME_PART_INIT.
 */
typedef struct smtpc_mime_part {
	unsigned version;
	smtpc_source source;
	smtpc_rewind_fn rewind; /* callback sources: back to the start, or NULL (one pass) */
	const char *type;       /* "type/subtype"; NULL: guessed from the file name
	                           (smtpc_mime_guess_type()); multipart and message are refused */
	const char *filename;   /* UTF-8, or NULL */
	const char *content_id; /* "id@host" without brackets: an inline part shown by the HTML
	                           (cid:id@host), in a multipart/related; NULL: an attachment */
} smtpc_mime_part;
#define SMTPC_MIME_PART_VERSION 1
#define SMTPC_MIME_PART_INIT                                                                       \
	{                                                                                          \
		SMTPC_MIME_PART_VERSION, SMTPC_SOURCE_INIT, NULL, NULL, NULL, NULL                 \
	}

/** A new, empty message; NULL when out of memory. */
SMTPC_API smtpc_mime *smtpc_mime_new(void);
/** Frees the message (not the caller's buffers or file descriptors). NULL is fine. */
SMTPC_API void smtpc_mime_free(smtpc_mime *m);
/** A one-line description of the last error of a smtpc_mime_* call on m ("" if none). */
SMTPC_API const char *smtpc_mime_error(const smtpc_mime *m);

/**
 * Lets the text and HTML bodies go out as 8bit (RFC 6152) instead of
 * quoted-printable or base64 when they are not ASCII: only when the server
 * offers 8BITMIME (known after EHLO; default 0). Errors: SMTPC_EINVAL.
 */
SMTPC_API int smtpc_mime_set_8bit(smtpc_mime *m, int on);
/**
 * Raw UTF-8 in headers and addresses (RFC 6532), only for a transaction
 * with SMTPUTF8 (RFC 6531); implies 8bit. Default 0: encoded words, and a
 * non-ASCII address is SMTPC_EINVAL. Errors: SMTPC_EINVAL.
 */
SMTPC_API int smtpc_mime_set_utf8(smtpc_mime *m, int on);

/**
 * From (required), To, Cc, Reply-To: a display name (may be "" or NULL) and
 * an address, which must parse as exactly that one address (RFC 5322; the
 * group field must be NULL). Errors: SMTPC_EINVAL, SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_mime_set_from(smtpc_mime *m, const smtpc_address *a);
SMTPC_API int smtpc_mime_add_to(smtpc_mime *m, const smtpc_address *a);
SMTPC_API int smtpc_mime_add_cc(smtpc_mime *m, const smtpc_address *a);
SMTPC_API int smtpc_mime_add_reply_to(smtpc_mime *m, const smtpc_address *a);
/** The subject (UTF-8). Errors: SMTPC_EINVAL (control character, bad UTF-8), SMTPC_ENOMEM. */
SMTPC_API int smtpc_mime_set_subject(smtpc_mime *m, const char *utf8);
/**
 * Any other header, its value taken as unstructured UTF-8 text. "Date" and
 * "Message-ID" replace the generated ones (printable ASCII, as they are);
 * the headers the builder writes (From, To, Cc, Reply-To, Subject,
 * MIME-Version, Content-*) and Bcc are refused. The name is 1 to 64
 * printable ASCII characters but ":".
 * Errors: SMTPC_EINVAL, SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_mime_add_header(smtpc_mime *m, const char *name, const char *value);
/**
 * The text body and its HTML alternative: UTF-8 (no NUL), copied. Line
 * endings (LF, CRLF, CR) become CRLF; the encoding is the lightest that
 * fits: 7bit, 8bit (smtpc_mime_set_8bit()), quoted-printable or base64.
 * Errors: SMTPC_EINVAL (NUL, bad UTF-8, set twice), SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_mime_set_text(smtpc_mime *m, const char *utf8, size_t len);
SMTPC_API int smtpc_mime_set_html(smtpc_mime *m, const char *utf8, size_t len);
/**
 * Adds an attachment, or an inline part when part->content_id is set. The
 * part's strings are copied; its buffer, file descriptor and callback must
 * live until the message is freed. Errors: SMTPC_EINVAL, SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_mime_attach(smtpc_mime *m, const smtpc_mime_part *part);
/** The content type for a file name's extension; "application/octet-stream" when unknown. */
SMTPC_API const char *smtpc_mime_guess_type(const char *filename);

/**
 * Finishes the message (no change after this) and sets *out to a callback
 * source that streams it (smtpc_sendmail_source(), smtpc_send_message(),
 * smtpc_send_batch()): multipart/mixed, alternative and related as needed,
 * Date and Message-ID generated unless given, boundaries that occur in no
 * content, lines of at most 998 octets (76 when encoded). out->size is the
 * exact size when every part's size is known, else -1. A read fails (-1)
 * when a part gives more or fewer bytes than its size, or its read fails.
 * Errors: SMTPC_EINVAL (no From), SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_mime_source(smtpc_mime *m, smtpc_source *out);
/**
 * Brings the source back to the first byte of the message, identical when
 * read again (for DKIM, which reads the body before the headers).
 * Errors: SMTPC_EINVAL (not finished, or a one-pass part already read),
 * SMTPC_EIO (a rewind callback failed).
 */
SMTPC_API int smtpc_mime_rewind(smtpc_mime *m);

/* ---------------------------------------------------------------- DKIM signatures */

/** Signing algorithm (RFC 6376 3.3, RFC 8463). */
typedef enum smtpc_dkim_algorithm {
	SMTPC_DKIM_FROM_KEY = 0,       /* the one the key is for */
	SMTPC_DKIM_RSA_SHA256 = 1,     /* rsa-sha256 (RSA key of 1024 to 4096 bits) */
	SMTPC_DKIM_ED25519_SHA256 = 2, /* ed25519-sha256 (Ed25519 key) */
} smtpc_dkim_algorithm;

/**
 * What to sign and how. Initialise with SMTPC_DKIM_OPTIONS_INIT: every other
 * field 0/NULL, which gives c=relaxed/relaxed, t= now, no x=, no i=, the
 * default header list. timestamp and expire are at most 253402300799 (year 9999).
 */
typedef struct smtpc_dkim_options {
	unsigned version;
	const char *domain;             /* d= (required): letters, digits, '-', '_', '.' */
	const char *selector;           /* s= (required): same characters */
	smtpc_dkim_algorithm algorithm; /* a= */
	const char *const *headers;     /* h=: field names, in order, repeats allowed (a name
	                                   listed more often than present signs its absence);
	                                   must name From. NULL: From, To, Cc, Subject, Date,
	                                   Message-ID, MIME-Version, Content-Type,
	                                   Content-Transfer-Encoding, Reply-To, In-Reply-To,
	                                   References as often as present, From once more */
	size_t nheaders;
	int simple_header;    /* 1: c=simple/... (0: relaxed) */
	int simple_body;      /* 1: c=.../simple (0: relaxed) */
	int64_t timestamp;    /* t=: 0 now, > 0 that time (seconds since the epoch), -1 none */
	int64_t expire;       /* x= = signing time + expire seconds; 0 none */
	const char *identity; /* i= (NULL: none): "[local]@domain", domain d= or below it */
} smtpc_dkim_options;
#define SMTPC_DKIM_OPTIONS_VERSION 1
/* clang-format off */
#define SMTPC_DKIM_OPTIONS_INIT { .version = SMTPC_DKIM_OPTIONS_VERSION }
/* clang-format on */

/** A private key for signing (opaque). */
typedef struct smtpc_dkim_key smtpc_dkim_key;
/** A signed message: the DKIM-Signature field and the source that sends it (opaque). */
typedef struct smtpc_dkim_signed smtpc_dkim_signed;

/**
 * Loads a PEM private key (PKCS#8 "PRIVATE KEY" or "RSA PRIVATE KEY") from
 * memory: RSA of 1024 to 4096 bits, or Ed25519. An encrypted key is
 * refused (no passphrase prompt). The library does not read key files:
 * the caller decides who may read them (the smtpc command refuses a file
 * its group or others have any permission on). *key is freed with
 * smtpc_dkim_key_free().
 * Errors: SMTPC_EINVAL (not a PEM private key, another key type, RSA
 * under 1024 or over 4096 bits), SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_dkim_key_load(const void *pem, size_t len, smtpc_dkim_key **key);
/** Frees a key (its memory is cleared by OpenSSL); NULL is allowed. */
SMTPC_API void smtpc_dkim_key_free(smtpc_dkim_key *key);

/**
 * Signs a raw RFC 5322 message (RFC 6376, RFC 8463). Reads the whole
 * source once: the header block is held (at most 1 MiB), the body is
 * streamed through the canonicaliser and SHA-256. Lines are read as the
 * DATA encoder sends them (CRLF, bare LF, bare CR). A memory source or a
 * regular file (rewound to where it was) is read again when the signed
 * message is sent; a pipe or a callback is copied to an unlinked
 * temporary file in $TMPDIR (else /tmp) while it is read.
 * *out is freed with smtpc_dkim_signed_free(), after sending: its source
 * (smtpc_dkim_source()) gives the DKIM-Signature field, then the message.
 * Send it unchanged but for Bcc removal (smtpc_send_message() removes
 * Bcc: do not sign Bcc), and only once; a memory source must stay valid
 * until then.
 * Errors: SMTPC_EINVAL (a domain, selector, identity or header name with a
 * character outside its syntax, no From field, From not in the list, a
 * header line that is not a field or has WSP before its colon, a header
 * block over 1 MiB, t= or x= out of range, an algorithm
 * the key is not for), SMTPC_EIO (the source or the temporary file
 * failed; errno kept, EIO for a callback), SMTPC_ENOMEM.
 */
SMTPC_API int smtpc_dkim_sign(const smtpc_dkim_key *key, const smtpc_dkim_options *opts,
                              const smtpc_source *in, smtpc_dkim_signed **out);

/**
 * The signed message as a source (callback kind; size: the exact number of
 * bytes it gives) for smtpc_sendmail_source(), smtpc_send_message() or
 * smtpc_send_batch(). It can be read once; it points into sig.
 */
SMTPC_API const smtpc_source *smtpc_dkim_source(smtpc_dkim_signed *sig);

/** The DKIM-Signature field, folded, CRLF at the end, NUL-terminated; its length in *len
 * when len is not NULL. */
SMTPC_API const char *smtpc_dkim_header(const smtpc_dkim_signed *sig, size_t *len);

/** Frees a signed message (and closes its temporary file); NULL is allowed. */
SMTPC_API void smtpc_dkim_signed_free(smtpc_dkim_signed *sig);

#ifdef __cplusplus
}
#endif

#endif /* SMTPC_H */
