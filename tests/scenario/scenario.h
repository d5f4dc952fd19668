/*
 * scenario.h - the scenario runner: case files, escaped strings, the fake
 * server. The file format is described in tests/scenario/README.md.
 */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <stddef.h>
#include <stdio.h>

/* ---------------------------------------------------------------- byte buffers */

typedef struct sc_buf {
	char *p; /* always NUL-terminated when not NULL */
	size_t len;
	size_t cap;
} sc_buf;

/** Appends n bytes (aborts the process when out of memory). */
void sc_buf_add(sc_buf *b, const void *p, size_t n);
void sc_buf_addc(sc_buf *b, char ch);
void sc_buf_addf(sc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sc_buf_free(sc_buf *b);

void *sc_xmalloc(size_t n);
void *sc_xrealloc(void *p, size_t n);
char *sc_xstrndup(const char *p, size_t n);

/* ---------------------------------------------------------------- escapes */

/**
 * Decodes an escaped string (C escapes \r \n \t \0 \\ \" \xHH, \{ \} \*, and
 * the repeat form {TEXT*N}) from s[0..n), stopping at the first unescaped
 * `stop` character (or at the end when stop is -1). Appends the bytes to
 * *out, sets *used to the characters consumed (the stop character not
 * included). Returns 0, or -1 with a message in err.
 */
int sc_unescape(const char *s, size_t n, int stop, sc_buf *out, size_t *used, char *err,
                size_t errlen);

/** Appends bytes as a double-quoted escaped string; long strings are shortened. */
void sc_escape(sc_buf *out, const char *p, size_t n);
/** The same without shortening. */
void sc_escape_full(sc_buf *out, const char *p, size_t n);

/* ---------------------------------------------------------------- case files */

enum sc_sop {
	SOP_SEND,     /* S:, SRAW: */
	SOP_DRIP,     /* SDRIP: one byte per write, ms apart */
	SOP_EXPECT,   /* C:, CRAW:, CDATA: */
	SOP_SLEEP,    /* SLEEP: */
	SOP_CLOSE,    /* CLOSE */
	SOP_ABORT,    /* ABORT: close with a reset */
	SOP_SHUT,     /* SHUT: half-close (FIN), keep reading */
	SOP_EOF,      /* EOF: the client must close */
	SOP_NOTHING,  /* CNOTHING: */
	SOP_ACCEPT,   /* ACCEPT */
	SOP_TLS,      /* TLS: the handshake must succeed */
	SOP_TLS_FAIL, /* TLS-FAIL: the handshake must fail */
	SOP_ANY,      /* CANY: any one line (starting with `bytes`) */
	SOP_HELLO,    /* CHELLO: a TLS ClientHello record */
	SOP_ALERT,    /* CALERT: a TLS alert record, or the client closes */
	SOP_SCRAM,    /* SCRAM: a SCRAM server exchange */
	SOP_BATCH,    /* CBATCH: N: the next N expectations arrive together */
};

/* Options of a TLS handshake of the fake server (TLS:, TLS-FAIL:, tls: implicit). */
typedef struct sc_tlsopt {
	char cert[32];           /* test certificate name (tlsfix.c) */
	int require_client_cert; /* require-client-cert */
	int max_version;         /* max-tls1.1 ...: 10, 11, 12, 13; 0 = OpenSSL's */
	int min_version;         /* min-tls1.3 ... */
	int check_sni;           /* sni=NAME or sni=none given */
	char sni[64];            /* "" = none */
} sc_tlsopt;

/* Options of the SCRAM: server step. */
typedef struct sc_scramopt {
	char md[16];   /* "SHA256" or "SHA1" */
	char mech[24]; /* "SCRAM-SHA-256" */
	char *user;
	char *password;
	int no_final;      /* stop after the client's proof: the script answers */
	int bad_signature; /* send a wrong v= */
} sc_scramopt;

typedef struct sc_sstep {
	enum sc_sop op;
	int line;
	char *src; /* the line as written, for messages */
	char *bytes;
	size_t len;
	long ms;            /* SLEEP, CNOTHING, SDRIP; CLOSE: 1 = no close_notify */
	sc_tlsopt *tls;     /* SOP_TLS, SOP_TLS_FAIL */
	sc_scramopt *scram; /* SOP_SCRAM */
} sc_sstep;

typedef struct sc_tok {
	char *s; /* decoded, NUL-terminated */
	size_t len;
	int quoted;      /* any part of the token was a quoted string */
	size_t eq_plain; /* for key=value: the '=' came before any quote */
} sc_tok;

typedef struct sc_cstep {
	int line;
	char *src;
	size_t argc;
	sc_tok *argv;
} sc_cstep;

typedef struct sc_data {
	char *name;
	char *bytes;
	size_t len;
	int line;
} sc_data;

typedef struct sc_case {
	const char *path;
	char *title;
	int lmtp;
	int unix_socket;
	int timeout_ms;          /* client timeout; 0 = runner default */
	int no_timeout;          /* "timeout: none" */
	int server_timeout_ms;   /* per expected item */
	int rcvbuf;              /* SO_RCVBUF of the server socket, 0 = system default */
	sc_tlsopt *implicit_tls; /* "tls: implicit": a handshake after every accept */
	int uses_tls;            /* the case needs the test certificates */
	int has_server;
	sc_sstep *server;
	size_t nserver;
	int has_server_pl; /* a [server pipelined] section: the script in pipelined mode */
	sc_sstep *server_pl;
	size_t nserver_pl;
	char *no_pipelining; /* "pipelining: no REASON": the reason, else NULL */
	char *no_faults;     /* "faults: no REASON": the reason, else NULL */
	int pipelined;       /* sc_case_pipelined() ran: the script in use is the pipelined one */
	sc_cstep *client;
	size_t nclient;
	sc_data *data;
	size_t ndata;
} sc_case;

/** Loads a case file; prints the problems to stderr and returns -1 on error. */
int sc_case_load(sc_case *c, const char *path);
/**
 * Pipelined mode: the [server pipelined] script replaces [server] when the case has one,
 * and every 250 reply to EHLO/LHLO in the script advertises PIPELINING (a
 * "250-PIPELINING" line before its last line; a one-line reply becomes two lines).
 * Returns the number of replies rewritten.
 */
size_t sc_case_pipelined(sc_case *c);
/** 1 when the client script has a step that sends a message (sendmail, batch ...). */
int sc_case_sends(const sc_case *c);
void sc_case_free(sc_case *c);
const sc_data *sc_case_data(const sc_case *c, const char *name);

/* ---------------------------------------------------------------- fake server */

typedef struct sc_server sc_server;

/* Fault injection (runner --faults): what the server does instead of step `step`. */
enum sc_fault_kind { SC_FAULT_NONE, SC_FAULT_CLOSE, SC_FAULT_RESET, SC_FAULT_STALL };

typedef struct sc_fault {
	enum sc_fault_kind kind;
	size_t step;   /* the index of the server step replaced by the fault */
	long stall_ms; /* SC_FAULT_STALL: how long to wait (for the client to give up) */
} sc_fault;

/**
 * Listens (TCP on 127.0.0.1 or a Unix socket) and starts the server thread.
 * fault: NULL, or a fault to inject (failures are then not reported).
 */
sc_server *sc_server_start(const sc_case *c, int verbose, const sc_fault *fault);
/** Where the client connects: "127.0.0.1" and the port, or the socket path and 0. */
const char *sc_server_host(const sc_server *srv);
int sc_server_port(const sc_server *srv);
/**
 * Waits for the server thread, checks that no connection is left unaccepted,
 * prints the failures (and the transcript when there are failures or when
 * verbose). Returns the number of failures. Frees the server.
 */
int sc_server_finish(sc_server *srv, FILE *out, int client_failed);
/**
 * With a fault: the same, but nothing is printed (unless verbose) and *cut is set to the
 * index of the step where the script stopped: the fault's step, the step that failed
 * first, or the number of steps when it ran to its end.
 */
int sc_server_finish_fault(sc_server *srv, FILE *out, size_t *cut);

/* ---------------------------------------------------------------- delivery flow (flow.c) */

/* What the script says at a cut (the steps before it ran, the others did not). */
typedef struct sc_flow_cut {
	long final250;    /* final replies 250 sent (one per transaction in SMTP, one per
	                     recipient in LMTP) */
	long outstanding; /* accepted recipients of transactions whose end of data the server
	                     received, without their final reply */
	long maybe;       /* accepted recipients of transactions whose end of data the client
	                     may have sent (it had the reply it waits for before the body) */
} sc_flow_cut;

typedef struct sc_flow sc_flow;

/** Reads the server script of the case (as it will run) as a conversation. */
sc_flow *sc_flow_analyze(const sc_case *c);
void sc_flow_free(sc_flow *f);
/** 0 when the script cannot be followed up to the cut (SCRAM ...). */
int sc_flow_known(const sc_flow *f, size_t cut);
void sc_flow_at(const sc_flow *f, size_t cut, sc_flow_cut *out);

/* ---------------------------------------------------------------- TLS fixtures (tlsfix.c) */

/** 1 when NAME is one of the test certificates. */
int sc_tls_known(const char *name);
/** Makes the test PKI in a temporary directory (once; removed at exit). 0 or -1 and err. */
int sc_tls_init(char *err, size_t errlen);
/** Frees the test PKI and removes its files. */
void sc_tls_free(void);
/** Paths of a test certificate (PEM) and its key, NULL when unknown or not made. */
const char *sc_tls_cert_path(const char *name);
const char *sc_tls_key_path(const char *name);
/** A hashed directory holding the test CA (for smtpc_set_ca_dir). */
const char *sc_tls_ca_dir(void);
/** SHA-256 of the certificate's DER as 64 lower-case hex digits, NULL when unknown. */
const char *sc_tls_fingerprint(const char *name);
/** A server SSL_CTX * for these options; the SNI the client sends goes to *sni. */
void *sc_tls_server_ctx(const sc_tlsopt *o, sc_buf *sni, char *err, size_t errlen);
/** Parses "NAME [option...]" of TLS:/TLS-FAIL:/tls: implicit. 0 or -1 and err. */
int sc_tlsopt_parse(const char *s, size_t n, sc_tlsopt *o, char *err, size_t errlen);

void sc_b64_encode(const void *p, size_t n, sc_buf *out);
/** Strict base64 (padding required). 0, or -1 when s is not base64. */
int sc_b64_decode(const char *s, size_t n, sc_buf *out);
/** SCRAM (RFC 5802 3): the client proof and the server signature; *hlen the hash size. */
int sc_scram_keys(const char *md, const char *password, const unsigned char *salt, size_t slen,
                  int iter, const char *authmsg, size_t alen, unsigned char *proof,
                  unsigned char *server_sig, size_t *hlen);

#endif
