/*
 * session.h - the session object shared by session.c, sendmail.c, error.c
 * and debug.c. Not part of the public API.
 */
#ifndef SMTPC_SESSION_H
#define SMTPC_SESSION_H

#include <stdarg.h>
#include <stddef.h>

#include "caps.h"
#include "plan.h"
#include "reply.h"
#include "smtpc.h"
#include "transport.h"

/** A reply copied out of the parser, owned by whoever holds it. */
typedef struct smtpc__saved_reply {
	int code;
	char enhanced[16];
	char *text; /* malloc'd, NUL-terminated */
	size_t text_len;
	size_t nlines;
} smtpc__saved_reply;

struct smtpc {
	/* options */
	smtpc_protocol proto;
	int timeout_ms[SMTPC_PHASE_COUNT]; /* per smtpc_phase, -1: none */
	char *local_hostname;              /* set by the caller, or NULL */
	char *src_host;
	int src_port;
	int debuglevel;
	smtpc_debug_fn debug_fn;
	void *debug_user;
	smtpc__tls_config tls;
	int implicit_tls;
	int starttls_policy; /* smtpc_starttls_policy */
	int auth_plaintext;  /* AUTH allowed without verified TLS */
	int auth_ir;         /* send initial responses */
	int auth_expected;   /* the caller will authenticate: opportunistic STARTTLS verifies */
	int idle_check_ms;   /* NOOP before reusing a connection idle that long, -1 never */

	/* connection */
	smtpc__transport tr;
	smtpc__reply_parser *rp;
	char computed_hostname[300]; /* local name in use when not set by the caller */
	char peer[256];              /* host connected to (the name TLS verifies), or "" */
	int64_t last_reply_ms;       /* when the last reply arrived (for the idle check) */
	int is_unix;                 /* connected over a Unix socket (local: AUTH allowed) */
	char auth_mech[32];          /* mechanism of the last AUTH attempt, or "" */
	int auth_running;            /* login()/auth() greets: credentials are in play */
	smtpc__saved_reply kept;     /* a reply a verb returns after further exchanges */

	/* greeting state (smtplib's helo_resp, ehlo_resp, does_esmtp, esmtp_features) */
	char *helo_resp;
	char *ehlo_resp;
	int does_esmtp;
	smtpc__caps caps;
	smtpc__offer offer; /* what a transaction uses of caps, decided once per EHLO */

	/* transaction state */
	int utf8;                 /* an SMTPUTF8 MAIL is in progress */
	size_t rcpt_accepted;     /* RCPTs accepted since MAIL (LMTP replies to read) */
	smtpc__saved_reply *lmtp; /* LMTP replies of the last data() */
	size_t nlmtp;
	int more_expected; /* replies to further commands may follow the final reply */
	int data_stage;    /* how far the last data() got: enum smtpc__data_stage */
	smtpc__saved_reply data_cmd_reply; /* the reply to the last DATA command */

	/* last error */
	smtpc_error err;
	char err_command[16];
	char err_message[512];
	char *err_text;
};

enum smtpc__data_stage {
	SMTPC__DATA_COMMAND = 0, /* DATA not answered 354 (or not sent) */
	SMTPC__DATA_BODY = 1,    /* failed while sending the message */
	SMTPC__DATA_SENT = 2,    /* the final dot went out: waiting for, or got, the replies */
};

/* error.c */
/**
 * A session's error record taken out of it, whole: the server's text is kept
 * by its length (NUL bytes and all), never through strlen or a made-up reply.
 */
typedef struct smtpc__err_saved {
	smtpc_error err; /* its pointers are not valid: command, message, text below */
	char command[16];
	char message[512];
	char *text; /* malloc'd, err.text_len bytes and a NUL, or NULL */
} smtpc__err_saved;

void smtpc__err_clear(smtpc *s);
/** Moves the error out of the session (left cleared) into *e. */
void smtpc__err_take(smtpc *s, smtpc__err_saved *e);
/** Copies the error into *e (freeing what *e held). SMTPC_ENOMEM when the text cannot be. */
int smtpc__err_copy(const smtpc *s, smtpc__err_saved *e);
/** Moves *e back into the session, replacing its error; *e is left empty. */
void smtpc__err_put(smtpc *s, smtpc__err_saved *e);
void smtpc__err_saved_free(smtpc__err_saved *e);
/**
 * Gives the recorded error another kind, command and message, keeping the
 * reply (code, enhanced code, text) and errno that caused it. The arguments
 * may point into the old message (e.g. "not delivered: %s", s->err_message).
 * Returns kind.
 */
int smtpc__err_reword(smtpc *s, int kind, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Records an error (reply may be NULL) and returns kind. */
int smtpc__err_set(smtpc *s, int kind, const char *command, const smtpc_reply *reply,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/** Records an error from the transport (errno detail) and returns kind. */
int smtpc__err_io(smtpc *s, int kind, const char *command, const char *doing);

/* debug.c */
void smtpc__debug(smtpc *s, const char *prefix, const void *data, size_t len);
void smtpc__debugf(smtpc *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void smtpc__debug_reply(smtpc *s, const smtpc_reply *r);

/* session.c, for sendmail.c */
/** The step a command belongs to, for its timeout (RFC 5321 4.5.3.2): MAIL, RCPT ... */
smtpc_phase smtpc__phase_of(const char *verb);
/** The deadline of a step of that phase starting now (-1: none). */
int64_t smtpc__phase_deadline(const smtpc *s, smtpc_phase phase);
/**
 * Sends a built command line (debug-logged) within the timeout of the verb's
 * phase. Closes the session on failure.
 */
int smtpc__send_line(smtpc *s, const char *verb, const char *line, size_t len);
/**
 * Reads one reply for `verb` within the timeout of the verb's phase.
 * more_expected: further replies may already be buffered (LMTP). 421 closes
 * the session and returns SMTPC_ESHUTDOWN.
 */
int smtpc__read_reply(smtpc *s, const char *verb, int more_expected, smtpc_reply *out);
/** smtpc__read_reply() within the timeout of `phase` (the reply to the end of data). */
int smtpc__read_reply_in(smtpc *s, smtpc_phase phase, const char *verb, int more_expected,
                         smtpc_reply *out);
/** Builds, sends and reads: one command, one reply. */
int smtpc__command(smtpc *s, const char *verb, const char *const *args, size_t nargs,
                   int allow_8bit, smtpc_reply *out);
/** Sends a line, showing `shown` instead of it in the debug transcript (AUTH). */
int smtpc__send_secret(smtpc *s, const char *verb, const char *line, size_t len, const char *shown);
/** EHLO (LHLO), with the HELO fallback unless LMTP or STARTTLS is required. */
int smtpc__greet(smtpc *s);
/** RSET with every failure swallowed (smtplib's _rset). */
void smtpc__safe_rset(smtpc *s);
/** Builds the MAIL FROM / RCPT TO argument list checks, shared with sendmail. */
int smtpc__check_options(smtpc *s, const char *const *options, size_t n, int allow_8bit);
int smtpc__save_reply(smtpc__saved_reply *dst, const smtpc_reply *src);
void smtpc__free_reply(smtpc__saved_reply *r);
void smtpc__view_reply(const smtpc__saved_reply *src, smtpc_reply *dst);
void smtpc__lmtp_clear(smtpc *s);

#endif
