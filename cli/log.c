/*
 * log.c - the log of smtpc send and the sendmail mode (log.h).
 */
#include "log.h"

#include "exitcodes.h"
#include "identity.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

int cli_log_open(struct cli_log *l, const struct cli_options *o)
{
	l->fd = -1;
	l->syslog = 0;
	if (o->log_file != NULL) {
		l->fd =
		    open(o->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (l->fd < 0) {
			int err = errno;

			fputs("smtpc: cannot open the log '", stderr);
			cli_put_str(stderr, o->log_file);
			fprintf(stderr, "': %s\n", strerror(err));
			return EX_CANTCREAT;
		}
	}
	if (o->syslog) {
		openlog("smtpc", LOG_PID, LOG_MAIL);
		l->syslog = 1;
	}
	return 0;
}

void cli_log_close(struct cli_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->syslog)
		closelog();
	l->fd = -1;
	l->syslog = 0;
}

/* len bytes of untrusted text: printable ASCII as it is but " and \, the rest \xHH. */
static void put_escaped(FILE *f, const char *p, size_t len)
{
	static const char HEX[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc(c, f);
		} else if (c >= 0x20 && c <= 0x7e) {
			putc(c, f);
		} else {
			fputs("\\x", f);
			putc(HEX[c >> 4], f);
			putc(HEX[c & 15], f);
		}
	}
}

/* "<address>", escaped (an address from the headers is the message's, untrusted). */
static void put_address(FILE *f, const char *addr)
{
	char *bare = cli_envelope_address(addr);
	const char *a = bare != NULL ? bare : addr;

	putc('<', f);
	put_escaped(f, a, strlen(a));
	putc('>', f);
	free(bare);
}

/* "CODE ENHANCED TEXT" in quotes, or - when there was no reply. */
static void put_reply(FILE *f, int code, const char *enhanced, const char *text, size_t len)
{
	if (code <= 0) {
		putc('-', f);
		return;
	}
	fprintf(f, "\"%d", code);
	if (enhanced != NULL && enhanced[0] != '\0') {
		putc(' ', f);
		put_escaped(f, enhanced, strnlen(enhanced, 16));
	}
	if (text != NULL && len > 0) {
		putc(' ', f);
		put_escaped(f, text, len);
	}
	putc('"', f);
}

/* The server without what a URL could carry besides it: scheme://host:port, or lmtp:PATH. */
static void put_server(FILE *f, const struct cli_options *o)
{
	const char *scheme = o->url.proto == SMTPC_PROTO_LMTP ? "lmtp"
	                     : o->url.implicit_tls            ? "smtps"
	                                                      : "smtp";
	const char *host = o->url.host != NULL ? o->url.host : "";

	fputs(scheme, f);
	if (o->url.is_unix) {
		putc(':', f);
		put_escaped(f, host, strlen(host));
		return;
	}
	fputs("://", f);
	put_escaped(f, host, strlen(host));
	fprintf(f, ":%d", o->url.port);
}

const char *cli_log_outcome(const smtpc_send_result *r, const struct cli_error *e, int exit_status)
{
	if (exit_status == EX_OK)
		return "accepted";
	if (exit_status == EX_OUTCOME_UNKNOWN)
		return "unknown";
	if (r != NULL && r->naccepted > 0)
		return "partial";
	if (e->kind == SMTPC_ESENDER || e->kind == SMTPC_ERECIPIENTS || e->kind == SMTPC_EDATA)
		return "refused";
	for (size_t i = 0; r != NULL && i < r->nrecipients; i++) {
		if (r->recipients[i].status == SMTPC_RCPT_REFUSED ||
		    r->recipients[i].status == SMTPC_RCPT_FAILED)
			return "refused";
	}
	return "failed";
}

/* The reply that ends the transaction: the final one, else the one of the error. */
static void put_final(FILE *f, const smtpc_send_result *r, const struct cli_error *e)
{
	if (r != NULL && r->final_reply.code > 0) {
		put_reply(f, r->final_reply.code, r->final_reply.enhanced, r->final_reply.text,
		          r->final_reply.text_len);
		return;
	}
	if (e->kind != SMTPC_OK && e->code > 0 && !e->local) {
		put_reply(f, e->code, e->enhanced, e->text, e->text_len);
		return;
	}
	for (size_t i = 0; r != NULL && i < r->nrecipients; i++) {
		const smtpc_reply *x = &r->recipients[i].reply;

		if (r->recipients[i].status != SMTPC_RCPT_ACCEPTED && x->code > 0) {
			put_reply(f, x->code, x->enhanced, x->text, x->text_len);
			return;
		}
	}
	put_reply(f, 0, NULL, NULL, 0);
}

static void put_recipients(FILE *f, const struct cli_options *o, const smtpc_send_result *r)
{
	size_t n = r != NULL ? r->nrecipients : o->nto, refused = 0;

	fputs(" to=", f);
	if (n == 0)
		putc('-', f);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			putc(',', f);
		put_address(f, r != NULL ? r->recipients[i].address : o->to[i]);
	}
	for (size_t i = 0; r != NULL && i < n; i++) {
		if (r->recipients[i].status == SMTPC_RCPT_ACCEPTED)
			continue;
		fputs(refused++ == 0 ? " not-accepted=" : ",", f);
		put_address(f, r->recipients[i].address);
	}
}

void cli_log_message(struct cli_log *l, const struct cli_options *o, const char *from,
                     const smtpc_send_result *r, const struct cli_error *e, uint64_t size,
                     int exit_status)
{
	char *line = NULL, stamp[32];
	size_t len = 0, skip;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	if (l->fd < 0 && !l->syslog)
		return;
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "-");
	f = open_memstream(&line, &len);
	if (f == NULL) {
		fputs("smtpc: cannot write the log: out of memory\n", stderr);
		return;
	}
	fprintf(f, "%s server=", stamp);
	skip = strlen(stamp) + 1; /* syslog stamps its records itself */
	put_server(f, o);
	fputs(" from=", f);
	if (from == NULL)
		putc('-', f);
	else
		put_address(f, from);
	put_recipients(f, o, r);
	fprintf(f, " size=%llu reply=", (unsigned long long)size);
	put_final(f, r, e);
	if (e->kind != SMTPC_OK && e->message != NULL) {
		fputs(" error=\"", f);
		put_escaped(f, e->message, strlen(e->message));
		putc('"', f);
	}
	fprintf(f, " outcome=%s exit=%d\n", cli_log_outcome(r, e, exit_status), exit_status);
	if (fclose(f) != 0 || line == NULL) {
		free(line);
		fputs("smtpc: cannot write the log: out of memory\n", stderr);
		return;
	}
	if (l->fd >= 0) {
		ssize_t n = write(l->fd, line, len); /* one write: lines of two runs never mix */

		if (n < 0 || (size_t)n != len)
			fprintf(stderr, "smtpc: cannot write the log: %s\n",
			        n < 0 ? strerror(errno) : "short write");
	}
	if (l->syslog)
		syslog(exit_status == EX_OK ? LOG_INFO : LOG_ERR, "%.*s", (int)(len - skip - 1),
		       line + skip);
	free(line);
}
