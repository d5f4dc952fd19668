/*
 * send.c - smtpc send: open the message (and read the password), connect,
 * greet with STARTTLS per the policy, authenticate when asked to, stream the
 * message with smtpc_sendmail_source() (or smtpc_send_message() for -t and
 * the sendmail mode), QUIT, then report one line per recipient (or one JSON
 * object; in the sendmail mode only what went wrong, on standard error).
 */
#include "commands.h"

#include "attach.h"
#include "auth.h"
#include "common.h"
#include "compose.h"
#include "dkim.h"
#include "exitcodes.h"
#include "fields.h"
#include "identity.h"
#include "input.h"
#include "json.h"
#include "log.h"
#include "progress.h"
#include "secret.h"
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct send_run {
	const struct cli_options *o;
	struct cli_input in;
	struct cli_compose compose; /* the message built (--subject, --text ...) */
	struct cli_attach attach;   /* FILE --attach: the message with parts added */
	struct cli_progress progress;
	struct cli_log log;
	uint64_t sent;    /* bytes of the message sent (the library's progress), for the log */
	char **orcpt;     /* ORCPT per recipient with a DSN option (o->nto entries, may be NULL) */
	const char *from; /* the envelope sender: o->from, from_owned, or NULL (the headers') */
	char *from_owned;
	char **to_paths; /* a built message: the paths of o->to (envelope_paths()), or NULL */
	int bare_header_sender; /* the sender of the headers has no domain (and none is set) */
	smtpc *s;
	smtpc_send_result *result; /* NULL when the server was not reached */
	struct cli_error err;      /* kind SMTPC_OK when smtpc_sendmail() returned 0 */
	char *password;            /* wiped and freed as soon as AUTH is done */
	struct cli_tls tls;
	struct cli_auth auth;
	smtpc_dkim_signed *dkim; /* the signed message (--dkim-*), or NULL */
	int exit;
};

/*
 * The display name of sendmail -F as a phrase: as it is when it is made of
 * atoms, else a quoted string. Printable ASCII only (no encoded words).
 */
static int append_phrase(char *out, size_t *n, const char *name)
{
	static const char SPECIALS[] = "()<>[]:;@\\,.\"";
	int quote = *name == '\0' || name[0] == ' ' || name[strlen(name) - 1] == ' ' ||
	            strstr(name, "  ") != NULL;
	const char *p;

	for (p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return -1;
		if (strchr(SPECIALS, *p) != NULL)
			quote = 1;
	}
	if (quote)
		out[(*n)++] = '"';
	for (p = name; *p; p++) {
		if (quote && (*p == '"' || *p == '\\'))
			out[(*n)++] = '\\';
		out[(*n)++] = *p;
	}
	if (quote)
		out[(*n)++] = '"';
	return 0;
}

/* 1 when the text holds a control byte (CR, LF, NUL ...): never copied into a header. */
static int has_control(const char *p)
{
	for (; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 1;
	}
	return 0;
}

/*
 * The From: line for a message that has none, without its line end (malloc'd in
 * *line): "From: NAME <sender>" with sendmail -F, else "From: sender". *line is
 * NULL for the null sender and what is not one address (the library refuses it).
 * Returns 0, EX_USAGE (a name that is not printable ASCII) or EX_OSERR.
 */
static int from_line(const struct cli_options *o, const char *sender, char **line)
{
	char *addr = o->full_name ? smtpc_quoteaddr(sender) : cli_envelope_address(sender);
	size_t n = 6, len;

	*line = NULL;
	if (addr == NULL || addr[0] == '\0' || strcmp(addr, "<>") == 0 || has_control(addr)) {
		free(addr); /* the null sender has no address to show */
		return 0;
	}
	len = strlen(addr);
	/* "From: " + the name, every byte escaped, quoted + " " + addr + NUL */
	*line = malloc(6 + (o->full_name ? 2 * strlen(o->full_name) + 3 : 0) + len + 1);
	if (*line == NULL) {
		free(addr);
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	memcpy(*line, "From: ", 6);
	if (o->full_name != NULL) {
		if (append_phrase(*line, &n, o->full_name) != 0) {
			free(addr);
			free(*line);
			*line = NULL;
			fputs("smtpc: -F: the full name must be printable ASCII\n", stderr);
			return EX_USAGE;
		}
		(*line)[n++] = ' ';
	}
	memcpy(*line + n, addr, len + 1);
	free(addr);
	return 0;
}

/*
 * The sendmail mode, as sendmail(8): a message without Date, Message-ID or
 * From gets them at the top of its header block (RFC 5322 3.6: both Date and
 * From are required), Date in local time, Message-ID at the default sender's
 * host, From with the envelope sender (and the -F name). A message without a
 * header block gets an empty line after them. Nothing of the message is
 * copied into them.
 */
static int add_fields(struct send_run *run)
{
	const struct cli_options *o = run->o;
	struct cli_headers h;
	char *block, *from = NULL, host[256];
	size_t n = 0, eol;
	time_t now = time(NULL);
	int ex;

	ex = cli_input_scan_headers(&run->in, &h);
	if (ex == 0 && h.from == NULL && run->from != NULL)
		ex = from_line(o, run->from, &from);
	if (ex != 0)
		return ex;
	eol = h.crlf ? 2 : 1;
	/* Date, Message-ID (each with its line end), From and its line end, an empty line */
	block = malloc(2 * CLI_FIELD_MAX + (from ? strlen(from) : 0) + 2 * eol);
	if (block == NULL) {
		free(from);
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	if (!h.has_date)
		n += cli_date_field(block + n, now, h.crlf);
	if (!h.has_message_id)
		n += cli_message_id_field(
		    block + n, cli_default_host(o->domain, host) == 0 ? host : "localhost", now,
		    h.crlf);
	if (from != NULL) {
		memcpy(block + n, from, strlen(from));
		n += strlen(from);
		memcpy(block + n, &"\r\n"[2 - eol], eol);
		n += eol;
	}
	if (n > 0 && !h.has_headers) {
		memcpy(block + n, &"\r\n"[2 - eol], eol);
		n += eol;
	}
	ex = n > 0 ? cli_input_set_prefix(&run->in, block, n) : 0;
	free(block);
	free(from);
	return ex;
}

/*
 * The first address of a From or Sender value qualified with the domain, or
 * NULL; *bare tells whether it has no domain.
 */
static int qualify_field(const char *value, size_t len, const char *domain, char **out, int *bare)
{
	smtpc_address_list *list = NULL;
	int ex = 0;

	*out = NULL;
	*bare = 0;
	if (smtpc_parse_addresses(value, len, &list, NULL) != 0) {
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	for (size_t i = 0; i < list->n; i++) {
		if (list->items[i].address[0] != '\0') {
			*bare = cli_is_bare(list->items[i].address);
			ex = cli_qualify(list->items[i].address, domain, out);
			break;
		}
	}
	smtpc_address_list_free(list);
	return ex;
}

/*
 * The sendmail mode's sender when neither -f nor the configuration gives
 * one: the Sender or From of the headers (qualified with the domain when
 * bare), else the login name at the domain or at this host (sendmail(8)).
 */
static int choose_sender(struct send_run *run)
{
	const struct cli_options *o = run->o;
	struct cli_headers h;
	int ex;

	run->from = o->from;
	if (o->from != NULL || !o->sendmail)
		return 0;
	ex = cli_input_scan_headers(&run->in, &h);
	if (ex != 0)
		return ex;
	if (h.has_resent) /* the library chooses among the Resent- fields */
		ex = 0;
	else if (h.sender != NULL)
		ex = qualify_field(h.sender, h.sender_len, o->domain, &run->from_owned,
		                   &run->bare_header_sender);
	else if (h.from != NULL)
		ex = qualify_field(h.from, h.from_len, o->domain, &run->from_owned,
		                   &run->bare_header_sender);
	else
		ex = cli_default_sender(o->domain, &run->from_owned);
	if (ex != 0)
		return ex;
	run->from = run->from_owned;
	return 0;
}

/*
 * A built message takes its From and To from --from and --to, display names
 * included; the envelope takes only their paths ("Ann Ö <a@x>" -> "<a@x>").
 * One that is not one address stays as it is, for the library to refuse.
 */
static char *path_of(const char *addr)
{
	char *q = smtpc_quoteaddr(addr);
	size_t len = q ? strlen(q) : 0;

	if (q == NULL || len < 3)
		return q == NULL ? strdup(addr) : q;
	memmove(q, q + 1, len - 2); /* "<a@x>" -> "a@x", as the results print it */
	q[len - 2] = '\0';
	return q;
}

static int envelope_paths(struct send_run *run)
{
	const struct cli_options *o = run->o;
	size_t i;

	run->from = o->from;
	if (o->from != NULL && o->from[0] != '\0') {
		run->from_owned = path_of(o->from);
		if (run->from_owned == NULL)
			return EX_OSERR;
		run->from = run->from_owned;
	}
	run->to_paths = calloc(o->nto + 1, sizeof(*run->to_paths));
	if (run->to_paths == NULL)
		return EX_OSERR;
	for (i = 0; i < o->nto; i++) {
		run->to_paths[i] = path_of(o->to[i]);
		if (run->to_paths[i] == NULL)
			return EX_OSERR;
	}
	return 0;
}

/* 1 when the message is built from the options, not read (FILE --attach reads it). */
static int builds(const struct cli_options *o)
{
	return cli_composes(o) && !cli_attaches(o);
}

/* The message read: FILE (with the parts --attach adds) or standard input. */
static void message_source(struct send_run *run, smtpc_source *src)
{
	if (cli_attaches(run->o))
		cli_attach_source(&run->attach, src);
	else
		cli_input_source(&run->in, src);
}

/* Opens the message: before connecting, so that a bad FILE fails at once (66). */
static int open_input(struct send_run *run)
{
	const struct cli_options *o = run->o;
	int ex;

	if (builds(o)) {
		ex = envelope_paths(run);
		return ex != 0 ? ex : cli_compose_open(&run->compose, o);
	}
	ex = cli_input_open(&run->in, o->file);

	/* --attach reads the message twice (cli/attach.c): a pipe is copied first. */
	if (ex == 0 && (o->spool || cli_attaches(o)))
		ex = cli_input_spool(&run->in);
	if (ex == 0)
		ex = choose_sender(run);
	if (ex == 0 && o->sendmail)
		ex = add_fields(run);
	/* A regular file is read again from its start by the library: exact SIZE= and BODY=. */
	if (ex == 0)
		ex = cli_input_rewind(&run->in);
	if (ex == 0 && cli_attaches(o))
		ex = cli_attach_open(&run->attach, o, run->in.fd, run->in.start, run->in.size);
	/* Signed before connecting: the signature covers the fields and parts added above. */
	if (ex == 0 && cli_dkim_wanted(o)) {
		smtpc_source src;

		message_source(run, &src);
		ex = cli_dkim_sign(o, &src, &run->dkim);
	}
	return ex;
}

/* ORCPT=rfc822;<addr> for every explicit recipient when a DSN option is given. */
static int make_orcpt(struct send_run *run)
{
	const struct cli_options *o = run->o;
	size_t i;

	if (!cli_wants_dsn(o) || o->nto == 0)
		return 0;
	run->orcpt = calloc(o->nto, sizeof(*run->orcpt));
	if (run->orcpt == NULL)
		goto oom;
	for (i = 0; i < o->nto; i++) {
		char *q = smtpc_quoteaddr(o->to[i]);
		size_t len;
		const char *p;

		if (q == NULL)
			continue; /* not one address: the library refuses it before MAIL */
		len = strlen(q);
		/* "<addr>" -> "addr"; none for <> and for non-ASCII addresses (RFC 6533) */
		for (p = q; *p && (unsigned char)*p < 0x80; p++)
			;
		if (len > 2 && *p == '\0') {
			memmove(q, q + 1, len - 2);
			q[len - 2] = '\0';
			run->orcpt[i] = q;
		} else {
			free(q);
		}
	}
	return 0;
oom:
	fputs("smtpc: out of memory\n", stderr);
	return EX_OSERR;
}

static void free_orcpt(struct send_run *run)
{
	size_t i;

	for (i = 0; run->orcpt && i < run->o->nto; i++)
		free(run->orcpt[i]);
	free(run->orcpt);
}

/* Connect, greet (STARTTLS per the policy), authenticate. Returns 0 or the exit status. */
static int open_session(struct send_run *run)
{
	const struct cli_options *o = run->o;
	int ex;

	ex = cli_connect(run->s, o, NULL, &run->err);
	if (ex != 0)
		return ex;
	cli_tls_capture(run->s, &run->tls); /* smtps:// */
	ex = cli_greet(run->s, o, &run->err);
	cli_tls_capture(run->s, &run->tls); /* STARTTLS */
	if (ex != 0 || !cli_wants_auth(o))
		return ex;
	ex = cli_authenticate(run->s, o, run->password, &run->auth, &run->err);
	cli_secret_free(run->password);
	run->password = NULL;
	return ex;
}

/*
 * 1 when the library could not read the message (a file descriptor it read
 * itself): SMTPC_EIO without a command (smtpc.h), where the network names
 * DATA or BDAT.
 */
static int source_failed(const smtpc *s, int rc)
{
	const smtpc_error *e = smtpc_last_error(s);

	return rc == SMTPC_EIO && e->kind == SMTPC_EIO && e->command != NULL &&
	       e->command[0] == '\0';
}

/* 1 when the path of the address (what MAIL or RCPT carry, not a display name) is not ASCII. */
static int non_ascii(const char *addr)
{
	char *q = addr ? smtpc_quoteaddr(addr) : NULL;
	const char *p = q ? q : addr;
	int found = 0;

	for (; p && *p && !found; p++)
		found = (unsigned char)*p >= 0x80;
	free(q);
	return found;
}

/* 1 when the sender or a recipient of the options is non-ASCII: MAIL then asks for SMTPUTF8. */
static int envelope_is_utf8(const struct send_run *run)
{
	if (non_ascii(run->from))
		return 1;
	for (size_t i = 0; i < run->o->nto; i++) {
		if (non_ascii(run->o->to[i]))
			return 1;
	}
	return 0;
}

/* 1 when addr is exactly one address, as the library will put it on MAIL or RCPT. */
static int is_one_address(const char *addr)
{
	char *q = smtpc_quoteaddr(addr);

	free(q);
	return q != NULL;
}

/*
 * Each address is exactly one address ("<a@x> NOTIFY=SUCCESS" is not: the
 * library would refuse it after connecting); a non-ASCII one must be UTF-8
 * (RFC 6531 3.3) and hold no character that could hide what it is (C1
 * controls, bidi formatting). Refused before connecting.
 */
static int check_addresses(const struct cli_options *o)
{
	const char *bad = NULL;
	int clean = 1;

	if (o->from != NULL && !(clean = json_utf8_clean(o->from)))
		bad = o->from;
	for (size_t i = 0; bad == NULL && i < o->nto; i++) {
		if (!(clean = json_utf8_clean(o->to[i])))
			bad = o->to[i];
	}
	if (bad == NULL && o->from != NULL && !is_one_address(o->from))
		bad = o->from;
	for (size_t i = 0; bad == NULL && i < o->nto; i++) {
		if (!is_one_address(o->to[i]))
			bad = o->to[i];
	}
	if (bad == NULL)
		return 0;
	fputs("smtpc: invalid address '", stderr);
	cli_put_str(stderr, bad);
	fputs(clean ? "': not exactly one address (ESMTP parameters come from options, never "
	              "from an address)\n"
	            : "': not UTF-8, or it holds a C1 control or a bidirectional formatting "
	              "character\n",
	      stderr);
	return EX_DATAERR;
}

/*
 * A sender or recipient without a domain was refused and no domain is
 * configured: say how to fix it (cron mails "root").
 */
static void hint_bare_names(const struct send_run *run)
{
	const smtpc_send_result *r = run->result;
	int bare = 0;

	if (run->o->domain != NULL)
		return;
	if (run->err.kind == SMTPC_ESENDER)
		bare = run->from != NULL ? cli_is_bare(run->from) : run->bare_header_sender;
	for (size_t i = 0; !bare && r != NULL && i < r->nrecipients; i++)
		bare = r->recipients[i].status == SMTPC_RCPT_REFUSED &&
		       cli_is_bare(r->recipients[i].address);
	if (bare)
		fputs("smtpc: hint: an address without a domain was refused: give full addresses, "
		      "or set 'domain' in the configuration file\n",
		      stderr);
}

/* The library's progress: the bytes sent for the log, and the bar when there is one. */
static void on_progress(uint64_t sent, uint64_t total, void *user)
{
	struct send_run *run = user;

	run->sent = sent;
	if (run->progress.enabled)
		cli_progress_update(sent, total, &run->progress);
}

static int transact(struct send_run *run)
{
	const struct cli_options *o = run->o;
	static const char *const SMTPUTF8[] = {"SMTPUTF8"}; /* RFC 6531 3.4 */
	smtpc_send_options opts;
	int rc, ex;

	const char *const *to = o->nto ? (const char *const *)o->to : NULL;
	smtpc_source src;

	if (run->to_paths != NULL && o->nto > 0)
		to = (const char *const *)run->to_paths;

	/* Every field 0/NULL: the defaults, whatever fields the header version has. */
	memset(&opts, 0, sizeof(opts));
	opts.version = SMTPC_SEND_OPTIONS_VERSION;
	opts.dsn_ret = o->dsn_ret;
	opts.dsn_envid = o->envid;
	opts.dsn_notify = o->dsn_notify;
	opts.dsn_orcpt = (const char *const *)run->orcpt;
	opts.eight_bit = o->eight_bit;
	opts.no_pipelining = o->no_pipelining;
	opts.no_chunking = o->no_chunking;
	/* smtpc_send_message() asks for SMTPUTF8 itself when an address needs it. */
	if (!(o->read_recipients || o->sendmail) && envelope_is_utf8(run)) {
		opts.mail_options = SMTPUTF8;
		opts.nmail_options = 1;
	}
	cli_progress_init(&run->progress, o);
	opts.progress = on_progress; /* the bar, and the size of the log */
	opts.progress_user = run;
	ex = open_session(run);
	if (ex != 0) {
		cli_quit(run->s);
		return ex;
	}
	/* A built message: after EHLO, when 8BITMIME is known (docs/COMPOSE.md); then signed. */
	if (builds(o)) {
		ex = cli_compose_build(&run->compose, o, run->s, opts.nmail_options > 0, &src);
		if (ex == 0 && cli_dkim_wanted(o))
			ex = cli_dkim_sign(o, &src, &run->dkim);
		if (ex == 0 && run->dkim != NULL)
			src = *smtpc_dkim_source(run->dkim);
	} else if (run->dkim != NULL) {
		src = *smtpc_dkim_source(run->dkim);
	} else {
		message_source(run, &src);
	}
	if (ex != 0) {
		cli_quit(run->s);
		return ex;
	}
	/* -t and sendmail: the envelope from the headers where not given, Bcc removed. */
	if (o->read_recipients || o->sendmail)
		rc = smtpc_send_message(run->s, &src, run->from, to, o->nto, &opts, &run->result);
	else
		rc =
		    smtpc_sendmail_source(run->s, run->from, to, o->nto, &src, &opts, &run->result);
	cli_progress_end(&run->progress);
	if (rc != 0 && builds(o) && source_failed(run->s, rc)) {
		/* An attachment could not be read, or changed size: nothing delivered. */
		cli_error_capture(&run->err, run->s, rc);
		fputs("smtpc: cannot send the message: ", stderr);
		cli_put_str(stderr, smtpc_mime_error(run->compose.m));
		fputc('\n', stderr);
		cli_quit(run->s);
		return EX_NOINPUT;
	}
	if (rc != 0 && cli_attaches(o) && source_failed(run->s, rc) && run->in.err == 0) {
		/* An attachment failed (the builder says why), or the message file shrank. */
		const char *why = smtpc_mime_error(run->attach.parts.m);

		if (why[0] != '\0') {
			fputs("smtpc: cannot send the message: ", stderr);
			cli_put_str(stderr, why);
			fputc('\n', stderr);
		}
		run->in.err = run->attach.err;
	}
	if (rc != 0 && run->in.err == 0 && source_failed(run->s, rc))
		run->in.err =
		    smtpc_last_error(run->s)->os_error ? smtpc_last_error(run->s)->os_error : EIO;
	if (rc != 0 && run->in.err != 0) {
		/* The message could not be read: not the network's fault, nothing delivered. */
		const char *why = strerror(run->in.err);
		const char *name = cli_input_name(&run->in);
		size_t len = strlen("cannot read : ") + strlen(name) + strlen(why) + 1;

		cli_error_capture(&run->err, run->s, rc);
		free(run->err.message);
		run->err.message = malloc(len);
		if (run->err.message)
			snprintf(run->err.message, len, "cannot read %s: %s", name, why);
		fputs("smtpc: cannot read ", stderr);
		cli_put_str(stderr, name);
		fprintf(stderr, ": %s\n", why);
		cli_quit(run->s);
		return EX_NOINPUT;
	}
	if (rc != 0) {
		cli_error_capture(&run->err, run->s, rc);
		/* A reply before any MAIL was answered was made by the library: the message over
		 * the server's SIZE limit is refused with a 552 of its own, before MAIL. */
		run->err.local = run->err.code != 0 &&
		                 (run->result == NULL || run->result->mail_reply.code == 0);
		cli_error_report(&run->err, "sending failed", NULL);
		if (rc == SMTPC_ENOTSUPPORTED && cli_wants_dsn(o) && !smtpc_has_extn(run->s, "DSN"))
			fputs("smtpc: hint: this server does not offer DSN: send without "
			      "--dsn-notify, --dsn-ret and --envid\n",
			      stderr);
	}
	ex = cli_exit_for_send(run->result, &run->err);
	if (ex != EX_OK)
		hint_bare_names(run);
	/* The outcome is known: QUIT cannot change it (docs/RULES.md L8). */
	cli_quit(run->s);
	return ex;
}

/* ---------------------------------------------------------------- text */

static void print_recipient(FILE *f, const smtpc_rcpt_result *r, const struct cli_error *err)
{
	const char *label;

	switch (r->status) {
	case SMTPC_RCPT_ACCEPTED:
		label = "accepted";
		break;
	case SMTPC_RCPT_REFUSED:
		label = "refused";
		break;
	case SMTPC_RCPT_FAILED:
		label = "failed";
		break;
	case SMTPC_RCPT_UNKNOWN:
		fputs("unknown ", f);
		cli_put_str(f, r->address);
		fputs(": outcome unknown (connection lost after the end of data)\n", f);
		return;
	case SMTPC_RCPT_NOT_TRIED:
	default:
		fputs("not-tried ", f);
		cli_put_str(f, r->address);
		putc('\n', f);
		return;
	}
	fprintf(f, "%s ", label);
	cli_put_str(f, r->address);
	fputs(": ", f);
	if (r->reply.code != 0)
		cli_put_reply(f, r->reply.code, r->reply.enhanced, r->reply.text,
		              r->reply.text_len);
	else /* no reply: the connection failed */
		cli_put_str(f, cli_error_message(err));
	putc('\n', f);
}

static void print_text(const struct send_run *run)
{
	size_t i;

	for (i = 0; run->result && i < run->result->nrecipients; i++) {
		const smtpc_rcpt_result *r = &run->result->recipients[i];

		/* sendmail: quiet on success; what went wrong goes to standard error. */
		if (!run->o->sendmail) {
			print_recipient(stdout, r, &run->err);
		} else if (r->status != SMTPC_RCPT_ACCEPTED) {
			fputs("smtpc: ", stderr);
			print_recipient(stderr, r, &run->err);
		}
	}
}

/* ---------------------------------------------------------------- JSON */

static const char *stage_of(smtpc_rcpt_status status)
{
	switch (status) {
	case SMTPC_RCPT_REFUSED:
		return "rcpt";
	case SMTPC_RCPT_FAILED:
		return "data";
	case SMTPC_RCPT_NOT_TRIED:
	default:
		return "not-tried";
	}
}

/* Only a refusal has a reply that explains it; not-tried has none. */
static const smtpc_reply *explaining_reply(const smtpc_rcpt_result *r)
{
	if (r->status == SMTPC_RCPT_REFUSED || r->status == SMTPC_RCPT_FAILED)
		return &r->reply;
	return NULL;
}

/*
 * The envelope address of a recipient, as the library put it in RCPT
 * (without the display name and the angle brackets), as a JSON string.
 */
static void json_address(FILE *f, const char *address)
{
	char *bare = cli_envelope_address(address);

	json_cstring(f, bare ? bare : address);
	free(bare);
}

/* {"address":..,"stage":..,"code":..,"enhanced":..,"text":..}; null fields without a reply. */
static void json_refused(FILE *f, const char *address, const char *stage, const smtpc_reply *r)
{
	putc('{', f);
	json_key(f, "address");
	json_address(f, address);
	putc(',', f);
	json_key(f, "stage");
	json_cstring(f, stage);
	if (r == NULL || r->code == 0) {
		fputs(",\"code\":null,\"enhanced\":null,\"text\":null}", f);
		return;
	}
	fprintf(f, ",\"code\":%d,", r->code);
	json_key(f, "enhanced");
	json_string(f, r->enhanced, strnlen(r->enhanced, sizeof(r->enhanced)));
	putc(',', f);
	json_key(f, "text");
	json_string(f, r->text ? r->text : "", r->text ? r->text_len : 0);
	putc('}', f);
}

/* The envelope addresses of the recipients whose status is `status`, in order. */
static void json_address_list(FILE *f, const smtpc_send_result *r, smtpc_rcpt_status status)
{
	const char *sep = "";
	size_t i;

	putc('[', f);
	for (i = 0; r && i < r->nrecipients; i++) {
		if (r->recipients[i].status != status)
			continue;
		fputs(sep, f);
		json_address(f, r->recipients[i].address);
		sep = ",";
	}
	putc(']', f);
}

/* Every recipient neither accepted nor of unknown outcome: a retry may send to them. */
static void json_refused_list(FILE *f, const struct send_run *run)
{
	const smtpc_send_result *r = run->result;
	const char *sep = "";
	size_t i;

	putc('[', f);
	for (i = 0; r && i < r->nrecipients; i++) {
		const smtpc_rcpt_result *rr = &r->recipients[i];

		if (rr->status == SMTPC_RCPT_ACCEPTED || rr->status == SMTPC_RCPT_UNKNOWN)
			continue;
		fputs(sep, f);
		json_refused(f, rr->address, stage_of(rr->status), explaining_reply(rr));
		sep = ",";
	}
	/* Without a result no recipient was tried. */
	for (i = 0; r == NULL && i < run->o->nto; i++) {
		fputs(sep, f);
		json_refused(f, run->o->to[i], "not-tried", NULL);
		sep = ",";
	}
	putc(']', f);
}

static void json_reply_or_null(FILE *f, const smtpc_send_result *r, int final)
{
	const smtpc_reply *reply;

	if (r == NULL) {
		fputs("null", f);
		return;
	}
	reply = final ? &r->final_reply : &r->mail_reply;
	if (reply->code == 0)
		fputs("null", f);
	else
		json_reply(f, reply->code, reply->enhanced, reply->text, reply->text_len);
}

static void print_json(const struct send_run *run)
{
	FILE *f = stdout;

	putc('{', f);
	json_key(f, "server");
	json_cstring(f, run->o->server);
	putc(',', f);
	json_key(f, "accepted");
	json_address_list(f, run->result, SMTPC_RCPT_ACCEPTED);
	putc(',', f);
	json_key(f, "refused");
	json_refused_list(f, run);
	putc(',', f);
	json_key(f, "unknown");
	json_address_list(f, run->result, SMTPC_RCPT_UNKNOWN);
	putc(',', f);
	json_key(f, "mail");
	json_reply_or_null(f, run->result, 0);
	putc(',', f);
	json_key(f, "final");
	json_reply_or_null(f, run->result, 1);
	putc(',', f);
	json_key(f, "tls");
	cli_tls_json(f, &run->tls);
	putc(',', f);
	json_key(f, "auth");
	cli_auth_json(f, &run->auth);
	putc(',', f);
	json_key(f, "error");
	cli_error_json(f, &run->err);
	fprintf(f, ",\"exit\":%d}\n", run->exit);
}

/* ---------------------------------------------------------------- command */

int cli_send(const struct cli_options *o)
{
	struct send_run run;
	int ex = 0;

	memset(&run, 0, sizeof(run));
	run.o = o;
	run.log.fd = -1;
	/* A log that cannot be opened stops the run before anything is read or sent. */
	ex = cli_log_open(&run.log, o);
	if (ex != 0)
		return ex;
	/* No password source: say so before waiting for a message on standard input. */
	if (cli_needs_password(o))
		ex = cli_password_check(o);
	if (ex == 0)
		ex = check_addresses(o);
	if (ex == 0)
		ex = open_input(&run);
	if (ex == 0)
		ex = make_orcpt(&run);
	if (ex == 0 && cli_wants_auth(o))
		cli_secret_no_core();
	if (ex == 0 && cli_needs_password(o))
		ex = cli_password_get(o, &run.password);
	if (ex == 0)
		ex = cli_session_open(o, &run.s);
	if (ex == 0) {
		run.exit = transact(&run);
		if (o->json)
			print_json(&run);
		else
			print_text(&run);
		ex = run.exit;
	}
	cli_log_message(&run.log, o, run.from != NULL ? run.from : o->from, run.result, &run.err,
	                run.sent, ex);
	cli_log_close(&run.log);
	if (run.result)
		smtpc_send_result_free(run.result);
	cli_error_free(&run.err);
	cli_secret_free(run.password);
	smtpc_free(run.s);
	smtpc_dkim_signed_free(run.dkim);
	cli_input_close(&run.in);
	cli_compose_close(&run.compose);
	cli_attach_close(&run.attach);
	for (size_t i = 0; run.to_paths != NULL && i < o->nto; i++)
		free(run.to_paths[i]);
	free(run.to_paths);
	free_orcpt(&run);
	free(run.from_owned);
	return ex;
}
