/*
 * compose.h - smtpc send --subject/--text/--html/--attach/--header: the
 * message built with smtpc_mime_* (docs/COMPOSE.md).
 */
#ifndef SMTPC_CLI_COMPOSE_H
#define SMTPC_CLI_COMPOSE_H

#include "args.h"
#include "smtpc.h"

struct cli_compose {
	smtpc_mime *m;
	char *text, *html; /* the bodies read, NULL: none */
	size_t text_len, html_len;
	int *fds; /* the attachments, opened before connecting */
	size_t nfds;
};

/**
 * Reads the text and HTML files and opens the attachments, before
 * connecting, so that a missing file stops the run at once.
 * Returns 0, EX_USAGE (a malformed --attach or --header), EX_NOINPUT or EX_OSERR.
 */
int cli_compose_open(struct cli_compose *c, const struct cli_options *o);

/**
 * Builds the message once the server's capabilities are known (s greeted):
 * 8bit text when it offers 8BITMIME, raw UTF-8 headers when the envelope
 * uses SMTPUTF8 (utf8 1). Sets *src. Returns 0, EX_DATAERR (the library
 * refused a value: reported on standard error) or EX_OSERR.
 */
int cli_compose_build(struct cli_compose *c, const struct cli_options *o, smtpc *s, int utf8,
                      smtpc_source *src);

/**
 * Builds a multipart/mixed holding only the --attach files (opened by
 * cli_compose_open()), exactly as a built message holds them, for
 * cli/attach.c, which keeps its parts and drops the rest. Sets *src.
 * Returns 0, EX_DATAERR (reported on standard error) or EX_OSERR.
 */
int cli_compose_parts(struct cli_compose *c, const struct cli_options *o, smtpc_source *src);

void cli_compose_close(struct cli_compose *c);

#endif
