/*
 * url.h - the --server URL of smtpc.
 *
 * Forms (docs/CLI.md, "Server URL"):
 *   smtp://host[:port]      SMTP over TCP, port 25 by default
 *   smtps://host[:port]     SMTP over implicit TLS, port 465 by default
 *   lmtp://host[:port]      LMTP over TCP, port 2003 by default
 *   lmtp:/abs/socket/path   LMTP over a Unix socket (also lmtp:///abs/socket/path)
 * host is a name, an IPv4 address or an IPv6 literal in brackets.
 */
#ifndef SMTPC_CLI_URL_H
#define SMTPC_CLI_URL_H

#include "smtpc.h"

struct cli_url {
	smtpc_protocol proto;
	char *host;       /* for smtpc_connect(): name, IPv4, "[v6]", or the socket path */
	int port;         /* 1..65535, or 0 for a socket path */
	int implicit_tls; /* smtps://: TLS from the first byte */
	int is_unix;      /* a Unix socket path (local: no TLS needed for credentials) */
};

/**
 * Parses text into *url (zeroed first). On a bad URL *why is set to a
 * constant one-line reason.
 * Returns 0, EX_USAGE (bad URL) or EX_OSERR (out of memory).
 */
int cli_url_parse(const char *text, struct cli_url *url, const char **why);

/** Frees what cli_url_parse() allocated; the struct may be zeroed or parsed. */
void cli_url_free(struct cli_url *url);

#endif /* SMTPC_CLI_URL_H */
