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
	SOP_SEND,    /* S:, SRAW: */
	SOP_DRIP,    /* SDRIP: one byte per write, ms apart */
	SOP_EXPECT,  /* C:, CRAW:, CDATA: */
	SOP_SLEEP,   /* SLEEP: */
	SOP_CLOSE,   /* CLOSE */
	SOP_ABORT,   /* ABORT: close with a reset */
	SOP_SHUT,    /* SHUT: half-close (FIN), keep reading */
	SOP_EOF,     /* EOF: the client must close */
	SOP_NOTHING, /* CNOTHING: */
	SOP_ACCEPT,  /* ACCEPT */
};

typedef struct sc_sstep {
	enum sc_sop op;
	int line;
	char *src; /* the line as written, for messages */
	char *bytes;
	size_t len;
	long ms;
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
	int timeout_ms;        /* client timeout; 0 = runner default */
	int no_timeout;        /* "timeout: none" */
	int server_timeout_ms; /* per expected item */
	int rcvbuf;            /* SO_RCVBUF of the server socket, 0 = system default */
	int has_server;
	sc_sstep *server;
	size_t nserver;
	sc_cstep *client;
	size_t nclient;
	sc_data *data;
	size_t ndata;
} sc_case;

/** Loads a case file; prints the problems to stderr and returns -1 on error. */
int sc_case_load(sc_case *c, const char *path);
void sc_case_free(sc_case *c);
const sc_data *sc_case_data(const sc_case *c, const char *name);

/* ---------------------------------------------------------------- fake server */

typedef struct sc_server sc_server;

/** Listens (TCP on 127.0.0.1 or a Unix socket) and starts the server thread. */
sc_server *sc_server_start(const sc_case *c, int verbose);
/** Where the client connects: "127.0.0.1" and the port, or the socket path and 0. */
const char *sc_server_host(const sc_server *srv);
int sc_server_port(const sc_server *srv);
/**
 * Waits for the server thread, checks that no connection is left unaccepted,
 * prints the failures (and the transcript when there are failures or when
 * verbose). Returns the number of failures. Frees the server.
 */
int sc_server_finish(sc_server *srv, FILE *out, int client_failed);

#endif
