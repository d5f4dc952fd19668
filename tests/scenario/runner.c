/*
 * runner.c - scenario-runner FILE.case: starts the fake server of the case,
 * drives libsmtpc through its public API as the [client] section says, and
 * passes only when every expectation held and the server saw exactly the
 * bytes of its script. The format is described in README.md.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"
#include "smtpc.h"

/* Fault mode: the longest client `sleep`, and the longest server CNOTHING: */
#define SC_FAULT_SLEEP_MS   250
#define SC_FAULT_NOTHING_MS 150

/* Client timeout when the case does not set one: a wrong library never hangs. */
#define SC_DEFAULT_TIMEOUT_MS 10000
#define SC_UNFILLED           (-999)

struct reply_copy {
	int valid; /* the call filled the reply */
	int code;
	char enhanced[16];
	sc_buf text;
	size_t nlines;
};

struct err_copy {
	int kind;
	int code;
	char enhanced[16];
	sc_buf command;
	sc_buf text;
	sc_buf message;
	int os_error;
};

struct run;
struct sendargs;

/* The progress callback of one message: calls and the last values, checked as they come. */
struct prog {
	struct run *r;
	const sc_cstep *st;
	long calls;
	uint64_t sent, total;
};

/* Fault mode: what one result claimed, checked against the script at the end. */
struct res_sum {
	long naccepted;
	long nunknown;
};

struct run {
	const sc_case *c;
	smtpc *s;
	const char *host;
	int port;
	int verbose;
	int failed;

	const sc_cstep *last; /* the last step run (not an expect) */
	int have_rc;
	int rc;
	int rc_checked;
	struct reply_copy reply;
	struct err_copy err;
	int have_result_step; /* a sendmail ran */
	smtpc_send_result *res;
	size_t nto;
	int capture;  /* `set debug N` was used */
	sc_buf debug; /* lines of the debug transcript after `set debug N`, each ending in \n */

	/* auth: the token callback */
	const sc_tok *token; /* token=...: what the callback returns (NULL token: cancel) */
	int token_calls;
	/* auth_custom: the scripted mechanism */
	const sc_cstep *custom;    /* the step, for messages */
	const sc_tok *custom_ir;   /* ir=..., or NULL: no initial response */
	const sc_tok *custom_resp; /* the responses, in order */
	size_t ncustom_resp, custom_next;
	sc_buf *challenges; /* challenges the callback was given (decoded) */
	size_t nchallenges;
	int custom_calls;

	/* sending steps */
	struct prog *prog;      /* the progress record `expect progress_*` looks at */
	struct prog last_prog;  /* of the last sendmail/sendmail_source/send_message */
	long src_calls;         /* calls of the callback source of the last step */
	struct sendargs *queue; /* batch_add messages waiting for `batch` */
	size_t nqueue;
	smtpc_send_result **bres; /* the results of the last batch */
	struct prog *bprog;
	size_t nbres;

	/* modes */
	int faults;           /* fault injection: expectations ignored, invariants checked */
	int fault_timeout;    /* the client timeout in fault mode (ms) */
	sc_buf msgs;          /* fault mode: the failure messages of this run */
	struct res_sum *sums; /* fault mode: every result of the run */
	size_t nsums;
};

static const struct {
	const char *name;
	int kind;
} kinds[] = {
    {"SMTPC_OK", SMTPC_OK},
    {"SMTPC_EINVAL", SMTPC_EINVAL},
    {"SMTPC_ENOMEM", SMTPC_ENOMEM},
    {"SMTPC_EIO", SMTPC_EIO},
    {"SMTPC_ETIMEOUT", SMTPC_ETIMEOUT},
    {"SMTPC_EPROTO", SMTPC_EPROTO},
    {"SMTPC_EDISCONNECTED", SMTPC_EDISCONNECTED},
    {"SMTPC_ERESPONSE", SMTPC_ERESPONSE},
    {"SMTPC_ESENDER", SMTPC_ESENDER},
    {"SMTPC_ERECIPIENTS", SMTPC_ERECIPIENTS},
    {"SMTPC_EDATA", SMTPC_EDATA},
    {"SMTPC_ECONNECT", SMTPC_ECONNECT},
    {"SMTPC_EHELO", SMTPC_EHELO},
    {"SMTPC_EAUTH", SMTPC_EAUTH},
    {"SMTPC_ENOTSUPPORTED", SMTPC_ENOTSUPPORTED},
    {"SMTPC_EUNKNOWN", SMTPC_EUNKNOWN},
    {"SMTPC_ESHUTDOWN", SMTPC_ESHUTDOWN},
    {"SMTPC_ETLS", SMTPC_ETLS},
    {"SMTPC_ERESOLVE", SMTPC_ERESOLVE},
};

static const char *const rcpt_status_names[] = {"not-tried", "refused", "accepted", "failed",
                                                "unknown"};

static const char *kind_name(int kind)
{
	static char other[32];

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	snprintf(other, sizeof(other), "%d", kind);
	return other;
}

/* ---------------------------------------------------------------- reporting */

static void cfail(struct run *r, const sc_cstep *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cfail(struct run *r, const sc_cstep *st, const char *fmt, ...)
{
	va_list ap;
	char msg[4096];

	r->failed++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->faults) {
		/* printed with the fault run it belongs to */
		if (st)
			sc_buf_addf(&r->msgs, "  client: %s:%d `%s`:\n      %s\n", r->c->path,
			            st->line, st->src, msg);
		else
			sc_buf_addf(&r->msgs, "  client: %s: %s\n", r->c->path, msg);
		return;
	}
	if (st)
		printf("client: %s:%d `%s`:\n    ", r->c->path, st->line, st->src);
	else
		printf("client: %s: ", r->c->path);
	fputs(msg, stdout);
	putchar('\n');
	fflush(stdout);
}

static void fail_bytes(struct run *r, const sc_cstep *st, const char *what, const char *exp,
                       size_t elen, const char *got, size_t glen)
{
	sc_buf m = {0};

	sc_buf_addf(&m, "%s:\n    expected: ", what);
	if (exp)
		sc_escape(&m, exp, elen);
	else
		sc_buf_add(&m, "none (NULL)", 11);
	sc_buf_add(&m, "\n    got:      ", 15);
	if (got)
		sc_escape(&m, got, glen);
	else
		sc_buf_add(&m, "none (NULL)", 11);
	cfail(r, st, "%s", m.p);
	sc_buf_free(&m);
}

/* ---------------------------------------------------------------- argument helpers */

static int parse_long(const sc_tok *t, long *out)
{
	char *end;
	long v = 0;

	if (t->len == 0)
		return -1;
	errno = 0;
	v = strtol(t->s, &end, 10);
	if (errno || *end != '\0' || end != t->s + t->len)
		return -1;
	*out = v;
	return 0;
}

static int parse_kind(const sc_tok *t, int *out)
{
	long v = 0;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(t->s, kinds[i].name) == 0 || strcmp(t->s, kinds[i].name + 6) == 0) {
			*out = kinds[i].kind;
			return 0;
		}
	}
	if (parse_long(t, &v) == 0) {
		*out = (int)v;
		return 0;
	}
	return -1;
}

/* An unquoted NULL is the null pointer. */
static const char *str_arg(const sc_tok *t)
{
	if (!t->quoted && strcmp(t->s, "NULL") == 0)
		return NULL;
	return t->s;
}

static int is_none(const sc_tok *t)
{
	return !t->quoted && strcmp(t->s, "none") == 0;
}

static int case_error(struct run *r, const sc_cstep *st, const char *msg)
{
	cfail(r, st, "case error: %s", msg);
	return -1;
}

static int want_long(struct run *r, const sc_cstep *st, const sc_tok *t, long *v)
{
	if (parse_long(t, v) == 0)
		return 0;
	return case_error(r, st, "a number was expected");
}

/* The bytes of a data argument: a [data NAME] section (unquoted) or the quoted bytes. */
static int data_arg(struct run *r, const sc_cstep *st, const sc_tok *t, const char **p, size_t *n)
{
	const sc_data *d;

	if (t->quoted) {
		*p = t->s;
		*n = t->len;
		return 0;
	}
	d = sc_case_data(r->c, t->s);
	if (!d)
		return case_error(r, st, "no such [data] section");
	*p = d->bytes;
	*n = d->len;
	return 0;
}

/* ---------------------------------------------------------------- results of a step */

static void copy_str(sc_buf *b, const char *p, size_t n)
{
	sc_buf_free(b);
	sc_buf_add(b, p ? p : "", p ? n : 0);
}

static void prepare_reply(smtpc_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->code = SC_UNFILLED;
}

/* Checks the contract of a reply filled by the library (text NUL-terminated ...). */
static int reply_sane(struct run *r, const sc_cstep *st, const smtpc_reply *rep, const char *what)
{
	if (!memchr(rep->enhanced, '\0', sizeof(rep->enhanced))) {
		cfail(r, st, "library: %s: enhanced[] is not NUL-terminated", what);
		return 0;
	}
	if (!rep->text && rep->text_len) {
		cfail(r, st, "library: %s: text is NULL but text_len is %zu", what, rep->text_len);
		return 0;
	}
	if (rep->text && rep->text[rep->text_len] != '\0') {
		cfail(r, st, "library: %s: text[text_len] is not NUL", what);
		return 0;
	}
	return 1;
}

static void take_reply(struct run *r, const sc_cstep *st, const smtpc_reply *rep)
{
	sc_buf_free(&r->reply.text);
	memset(&r->reply, 0, sizeof(r->reply));
	if (rep->code == SC_UNFILLED)
		return;
	if (!reply_sane(r, st, rep, "reply"))
		return;
	r->reply.valid = 1;
	r->reply.code = rep->code;
	memcpy(r->reply.enhanced, rep->enhanced, sizeof(r->reply.enhanced));
	copy_str(&r->reply.text, rep->text, rep->text_len);
	r->reply.nlines = rep->nlines;
}

static void take_error(struct run *r)
{
	const smtpc_error *e = smtpc_last_error(r->s);

	sc_buf_free(&r->err.command);
	sc_buf_free(&r->err.text);
	sc_buf_free(&r->err.message);
	memset(&r->err, 0, sizeof(r->err));
	if (!e) {
		r->err.kind = SC_UNFILLED;
		return;
	}
	r->err.kind = e->kind;
	r->err.code = e->code;
	memcpy(r->err.enhanced, e->enhanced, sizeof(r->err.enhanced));
	r->err.enhanced[sizeof(r->err.enhanced) - 1] = '\0';
	copy_str(&r->err.command, e->command, e->command ? strlen(e->command) : 0);
	copy_str(&r->err.text, e->text, e->text ? e->text_len : 0);
	copy_str(&r->err.message, e->message, e->message ? strlen(e->message) : 0);
	r->err.os_error = e->os_error;
}

/* ---------------------------------------------------------------- sending steps */

static void progress_cb(uint64_t sent, uint64_t total, void *user)
{
	struct prog *p = user;

	if (p->calls > 0 && sent < p->sent)
		cfail(p->r, p->st, "library: progress went back from %llu to %llu bytes",
		      (unsigned long long)p->sent, (unsigned long long)sent);
	if (p->calls > 0 && total != p->total)
		cfail(p->r, p->st, "library: the progress total changed from %llu to %llu",
		      (unsigned long long)p->total, (unsigned long long)total);
	if (total > 0 && sent > total)
		cfail(p->r, p->st, "library: progress says %llu of %llu bytes sent",
		      (unsigned long long)sent, (unsigned long long)total);
	p->calls++;
	p->sent = sent;
	p->total = total;
}

enum src_kind { SRC_MEMORY, SRC_FD, SRC_PIPE, SRC_CALLBACK };

/* Where a message comes from (source=...), and what it needs while the call runs. */
struct src {
	enum src_kind kind;
	size_t piece;     /* callback: the most it gives per call, 0 = what is asked */
	long fail_after;  /* callback: fails (returns -1) once it gave this many bytes; -1 never */
	int64_t size;     /* declared size (size=N), -1 unknown */
	const char *data; /* the bytes */
	size_t len;
	/* while the call runs */
	int fd, wfd;
	pthread_t writer;
	int writer_started;
	size_t off;
	long calls;
};

static long src_read(void *buf, size_t len, void *user)
{
	struct src *s = user;
	size_t n = s->len - s->off;

	s->calls++;
	if (s->fail_after >= 0 && s->off >= (size_t)s->fail_after)
		return -1;
	if (n > len)
		n = len;
	if (s->piece && n > s->piece)
		n = s->piece;
	if (s->fail_after >= 0 && s->off + n > (size_t)s->fail_after)
		n = (size_t)s->fail_after - s->off;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (long)n;
}

/* The writing end of source=pipe: the whole data block, then EOF. */
static void *pipe_writer(void *arg)
{
	struct src *s = arg;
	sigset_t pipe_set;
	size_t off = 0;

	/* the library may stop reading: EPIPE, never SIGPIPE, in this thread */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	while (off < s->len) {
		ssize_t w = write(s->wfd, s->data + off, s->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(s->wfd);
	s->wfd = -1;
	return NULL;
}

/* Sets up the source for one call. 0, or -1 (a message was printed). */
static int src_open(struct run *r, const sc_cstep *st, struct src *s, smtpc_source *out)
{
	smtpc_source init = SMTPC_SOURCE_INIT;

	*out = init;
	s->fd = s->wfd = -1;
	s->off = 0;
	s->calls = 0;
	s->writer_started = 0;
	switch (s->kind) {
	case SRC_MEMORY:
		out->data = s->data;
		out->len = s->len;
		return 0;
	case SRC_FD: {
		char path[] = "/tmp/scenario-src.XXXXXX";
		size_t off = 0;

		s->fd = mkstemp(path);
		if (s->fd < 0)
			return case_error(r, st, "source=fd: cannot make a temporary file");
		unlink(path);
		while (off < s->len) {
			ssize_t w = write(s->fd, s->data + off, s->len - off);

			if (w <= 0)
				return case_error(r, st,
				                  "source=fd: cannot write the temporary file");
			off += (size_t)w;
		}
		lseek(s->fd, 0, SEEK_SET);
		out->fd = s->fd;
		out->size = s->size;
		return 0;
	}
	case SRC_PIPE: {
		int p[2];

		if (pipe(p) < 0)
			return case_error(r, st, "source=pipe: pipe() failed");
		s->fd = p[0];
		s->wfd = p[1];
		if (pthread_create(&s->writer, NULL, pipe_writer, s) != 0)
			return case_error(r, st, "source=pipe: cannot start the writer");
		s->writer_started = 1;
		out->fd = s->fd;
		out->size = s->size;
		return 0;
	}
	case SRC_CALLBACK:
		out->read = src_read;
		out->read_user = s;
		out->size = s->size;
		return 0;
	}
	return -1;
}

static void src_close(struct src *s)
{
	if (s->fd >= 0)
		close(s->fd); /* a writer blocked on a full pipe gets EPIPE */
	s->fd = -1;
	if (s->writer_started)
		pthread_join(s->writer, NULL);
	s->writer_started = 0;
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = -1;
}

/* The arguments of sendmail, sendmail_source, send_message and batch_add. */
struct sendargs {
	const sc_cstep *st;
	const char *from;
	int have_from;
	const char **to;
	size_t nto;
	int have_to;
	char **split;
	size_t nsplit;
	int have_data;
	struct src src;
	int have_source;
	const char **mopt, **ropt;
	size_t nmopt, nropt;
	int want_result, null_opts;
	smtpc_send_options opts;
	unsigned *notify_rcpt; /* per recipient, allocated when dsn_notify_rcpt= is given */
	const char **orcpt;
	struct {
		long idx;
		unsigned bits;
		const char *val;
	} * per;
	size_t nper;
	int *per_is_orcpt;
	struct prog prog;
};

static void sendargs_free(struct sendargs *a)
{
	for (size_t i = 0; i < a->nsplit; i++)
		free(a->split[i]);
	free(a->split);
	free(a->to);
	free(a->mopt);
	free(a->ropt);
	free(a->notify_rcpt);
	free(a->orcpt);
	free(a->per);
	free(a->per_is_orcpt);
	memset(a, 0, sizeof(*a));
}

/* SUCCESS,FAILURE,DELAY or NEVER as enum smtpc_dsn_notify bits; 0 when unknown. */
static unsigned notify_bits(const char *v)
{
	unsigned bits = 0;

	while (*v) {
		const char *comma = strchr(v, ',');
		size_t n = comma ? (size_t)(comma - v) : strlen(v);

		if (n == 7 && memcmp(v, "SUCCESS", 7) == 0)
			bits |= SMTPC_DSN_SUCCESS;
		else if (n == 7 && memcmp(v, "FAILURE", 7) == 0)
			bits |= SMTPC_DSN_FAILURE;
		else if (n == 5 && memcmp(v, "DELAY", 5) == 0)
			bits |= SMTPC_DSN_DELAY;
		else if (n == 5 && memcmp(v, "NEVER", 5) == 0)
			bits |= SMTPC_DSN_NEVER;
		else
			return 0;
		v += n + (comma ? 1 : 0);
	}
	return bits;
}

static int parse_size(const char *v, size_t *out)
{
	char *end;
	unsigned long long x;

	if (!*v || *v == '-')
		return -1;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end)
		return -1;
	*out = (size_t)x;
	return 0;
}

/* Parses key=value arguments from argv[first] on. 0, or -1 after a case error. */
static int parse_sendargs(struct run *r, const sc_cstep *st, size_t first, struct sendargs *a)
{
	smtpc_send_options init = SMTPC_SEND_OPTIONS_INIT;

	memset(a, 0, sizeof(*a));
	a->st = st;
	a->opts = init;
	a->want_result = 1;
	a->src.fail_after = -1;
	a->src.size = -1;
	for (size_t i = first; i < st->argc; i++) {
		const sc_tok *t = &st->argv[i];
		const char *key = t->s, *val;
		size_t klen, n;

		if (!t->eq_plain)
			return case_error(r, st, "this step takes key=value arguments");
		klen = t->eq_plain - 1;
		val = t->s + t->eq_plain;
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
		if (KEY("from")) {
			a->from = (!t->quoted && strcmp(val, "NULL") == 0) ? NULL : val;
			a->have_from = 1;
		} else if (KEY("to")) {
			a->have_to = 1;
			if (t->quoted) {
				a->to = sc_xrealloc(a->to, (a->nto + 1) * sizeof(*a->to));
				a->to[a->nto++] = val;
				continue;
			}
			/* unquoted: a comma-separated list */
			while (*val) {
				const char *comma = strchr(val, ',');

				n = comma ? (size_t)(comma - val) : strlen(val);
				a->split =
				    sc_xrealloc(a->split, (a->nsplit + 1) * sizeof(*a->split));
				a->split[a->nsplit] = sc_xstrndup(val, n);
				a->to = sc_xrealloc(a->to, (a->nto + 1) * sizeof(*a->to));
				a->to[a->nto++] = a->split[a->nsplit++];
				val += n + (comma ? 1 : 0);
			}
		} else if (KEY("data")) {
			sc_tok dt = *t;

			dt.s = (char *)val;
			dt.len = t->len - t->eq_plain;
			if (data_arg(r, st, &dt, &a->src.data, &a->src.len) < 0)
				return -1;
			a->have_data = 1;
		} else if (KEY("source")) {
			a->have_source = 1;
			if (strcmp(val, "memory") == 0)
				a->src.kind = SRC_MEMORY;
			else if (strcmp(val, "fd") == 0)
				a->src.kind = SRC_FD;
			else if (strcmp(val, "pipe") == 0)
				a->src.kind = SRC_PIPE;
			else if (strcmp(val, "callback") == 0)
				a->src.kind = SRC_CALLBACK;
			else if (strncmp(val, "callback:", 9) == 0 &&
			         parse_size(val + 9, &a->src.piece) == 0 && a->src.piece > 0)
				a->src.kind = SRC_CALLBACK;
			else
				return case_error(r, st, "source=memory|fd|pipe|callback[:PIECE]");
		} else if (KEY("fail_after")) {
			size_t v;

			if (parse_size(val, &v) < 0)
				return case_error(r, st, "fail_after=BYTES");
			a->src.fail_after = (long)v;
		} else if (KEY("size")) {
			size_t v;

			if (parse_size(val, &v) < 0)
				return case_error(r, st, "size=BYTES");
			a->src.size = (int64_t)v;
		} else if (KEY("mail_opt")) {
			a->mopt = sc_xrealloc(a->mopt, (a->nmopt + 1) * sizeof(*a->mopt));
			a->mopt[a->nmopt++] = val;
		} else if (KEY("rcpt_opt")) {
			a->ropt = sc_xrealloc(a->ropt, (a->nropt + 1) * sizeof(*a->ropt));
			a->ropt[a->nropt++] = val;
		} else if (KEY("result")) {
			a->want_result = strcmp(val, "no") != 0;
		} else if (KEY("options")) {
			a->null_opts = strcmp(val, "NULL") == 0;
		} else if (KEY("dsn_ret")) {
			if (strcmp(val, "FULL") == 0)
				a->opts.dsn_ret = SMTPC_DSN_RET_FULL;
			else if (strcmp(val, "HDRS") == 0)
				a->opts.dsn_ret = SMTPC_DSN_RET_HDRS;
			else
				return case_error(r, st, "dsn_ret=FULL|HDRS");
		} else if (KEY("dsn_envid")) {
			a->opts.dsn_envid = val;
		} else if (KEY("dsn_notify")) {
			if ((a->opts.dsn_notify = notify_bits(val)) == 0)
				return case_error(r, st, "dsn_notify=SUCCESS,FAILURE,DELAY|NEVER");
		} else if (KEY("dsn_notify_rcpt") || KEY("dsn_orcpt")) {
			/* I:VALUE for recipient I (0-based) */
			const char *colon = strchr(val, ':');
			char *end;
			long idx;
			int orcpt = KEY("dsn_orcpt");

			idx = colon ? strtol(val, &end, 10) : -1;
			if (!colon || end != colon || idx < 0)
				return case_error(r, st,
				                  "dsn_notify_rcpt=I:LIST, dsn_orcpt=I:ADDRESS");
			a->per = sc_xrealloc(a->per, (a->nper + 1) * sizeof(*a->per));
			a->per_is_orcpt =
			    sc_xrealloc(a->per_is_orcpt, (a->nper + 1) * sizeof(*a->per_is_orcpt));
			a->per[a->nper].idx = idx;
			a->per[a->nper].val = colon + 1;
			a->per[a->nper].bits = orcpt ? 0 : notify_bits(colon + 1);
			if (!orcpt && a->per[a->nper].bits == 0)
				return case_error(r, st,
				                  "dsn_notify_rcpt=I:SUCCESS,FAILURE,DELAY|NEVER");
			a->per_is_orcpt[a->nper++] = orcpt;
		} else if (KEY("eight_bit")) {
			if (strcmp(val, "send") == 0)
				a->opts.eight_bit = SMTPC_8BIT_SEND;
			else if (strcmp(val, "refuse") == 0)
				a->opts.eight_bit = SMTPC_8BIT_REFUSE;
			else
				return case_error(r, st, "eight_bit=send|refuse");
		} else if (KEY("no_pipelining") || KEY("no_chunking") || KEY("binarymime")) {
			int on = strcmp(val, "1") == 0;

			if (!on && strcmp(val, "0") != 0)
				return case_error(r, st,
				                  "no_pipelining=, no_chunking=, binarymime=: 0|1");
			if (KEY("no_pipelining"))
				a->opts.no_pipelining = on;
			else if (KEY("no_chunking"))
				a->opts.no_chunking = on;
			else
				a->opts.binarymime = on;
		} else {
			return case_error(r, st, "unknown argument");
		}
#undef KEY
	}
	if (a->src.kind != SRC_CALLBACK && (a->src.piece || a->src.fail_after >= 0))
		return case_error(r, st, "fail_after= needs source=callback");
	/* per-recipient DSN values: arrays parallel to to= */
	for (size_t i = 0; i < a->nper; i++) {
		if ((size_t)a->per[i].idx >= a->nto)
			return case_error(r, st, "dsn_notify_rcpt/dsn_orcpt: no such recipient");
		if (a->per_is_orcpt[i]) {
			if (!a->orcpt)
				a->orcpt = calloc(a->nto, sizeof(*a->orcpt));
			a->orcpt[a->per[i].idx] = a->per[i].val;
		} else {
			if (!a->notify_rcpt)
				a->notify_rcpt = calloc(a->nto, sizeof(*a->notify_rcpt));
			a->notify_rcpt[a->per[i].idx] = a->per[i].bits;
		}
	}
	a->opts.dsn_notify_rcpt = a->notify_rcpt;
	a->opts.dsn_orcpt = a->orcpt;
	a->opts.mail_options = a->mopt;
	a->opts.nmail_options = a->nmopt;
	a->opts.rcpt_options = a->ropt;
	a->opts.nrcpt_options = a->nropt;
	a->prog.r = r;
	a->prog.st = st;
	a->opts.progress = progress_cb;
	a->opts.progress_user = &a->prog;
	return 0;
}

/* Contract checks on every result (to NULL: the recipients came from the headers). */
static void check_result(struct run *r, const sc_cstep *st, const smtpc_send_result *res,
                         const char *const *to, size_t nto)
{
	size_t acc = 0;

	if (!res)
		return;
	if (to && res->nrecipients != nto) {
		cfail(r, st, "library: result has %zu recipients, %zu were given", res->nrecipients,
		      nto);
		return;
	}
	for (size_t i = 0; i < res->nrecipients; i++) {
		const smtpc_rcpt_result *rr = &res->recipients[i];

		if (to && (!rr->address || strcmp(rr->address, to[i]) != 0))
			fail_bytes(r, st, "library: result recipient address", to[i], strlen(to[i]),
			           rr->address, rr->address ? strlen(rr->address) : 0);
		if (!rr->address)
			cfail(r, st, "library: recipient %zu has a NULL address", i);
		if (rr->status == SMTPC_RCPT_ACCEPTED)
			acc++;
		if ((rr->status == SMTPC_RCPT_ACCEPTED || rr->status == SMTPC_RCPT_UNKNOWN) &&
		    rr->rcpt_code != 250 && rr->rcpt_code != 251)
			cfail(r, st, "library: recipient %zu is %s but its RCPT was answered %d", i,
			      rr->status == SMTPC_RCPT_ACCEPTED ? "accepted" : "unknown",
			      rr->rcpt_code);
		reply_sane(r, st, &rr->reply, "recipient reply");
	}
	if (acc != res->naccepted)
		cfail(r, st, "library: naccepted is %zu but %zu recipients are accepted",
		      res->naccepted, acc);
	reply_sane(r, st, &res->mail_reply, "mail_reply");
	reply_sane(r, st, &res->data_reply, "data_reply");
	reply_sane(r, st, &res->final_reply, "final_reply");
	/* fault mode: what the results claim is checked against the script at the end */
	if (r->faults) {
		struct res_sum *sum;

		r->sums = sc_xrealloc(r->sums, (r->nsums + 1) * sizeof(*r->sums));
		sum = &r->sums[r->nsums++];
		memset(sum, 0, sizeof(*sum));
		sum->naccepted = (long)res->naccepted;
		for (size_t i = 0; i < res->nrecipients; i++)
			if (res->recipients[i].status == SMTPC_RCPT_UNKNOWN)
				sum->nunknown++;
	}
}

/* rc 0 promises at least one accepted recipient. */
static void check_success(struct run *r, const sc_cstep *st, int rc, const smtpc_send_result *res)
{
	if (rc == 0 && res && res->naccepted == 0)
		cfail(r, st, "library: returned 0 but no recipient is accepted");
}

/* sendmail, sendmail_source, send_message: one message. */
static int step_send(struct run *r, const sc_cstep *st, const char *which)
{
	struct sendargs a;
	smtpc_source src;
	int is_sendmail = strcmp(which, "sendmail") == 0;
	int is_message = strcmp(which, "send_message") == 0;
	int ret = 0;

	if (parse_sendargs(r, st, 1, &a) < 0) {
		sendargs_free(&a);
		return -1;
	}
	if (!a.have_data || (!is_message && !a.have_from)) {
		sendargs_free(&a);
		return case_error(r, st,
		                  is_message ? "send_message needs data="
		                             : "this step needs from= and data=");
	}
	if (is_sendmail && a.have_source) {
		sendargs_free(&a);
		return case_error(r, st, "sendmail takes no source= (use sendmail_source)");
	}
	if (src_open(r, st, &a.src, &src) < 0) {
		src_close(&a.src);
		sendargs_free(&a);
		return -1;
	}
	smtpc_send_result_free(r->res);
	r->res = NULL;
	r->have_result_step = 1;
	r->prog = &r->last_prog;
	memset(&r->last_prog, 0, sizeof(r->last_prog));
	if (is_sendmail)
		r->rc =
		    smtpc_sendmail(r->s, a.from, a.to, a.nto, a.src.data, a.src.len,
		                   a.null_opts ? NULL : &a.opts, a.want_result ? &r->res : NULL);
	else if (is_message)
		r->rc = smtpc_send_message(
		    r->s, &src, a.have_from ? a.from : NULL, a.have_to ? a.to : NULL, a.nto,
		    a.null_opts ? NULL : &a.opts, a.want_result ? &r->res : NULL);
	else
		r->rc = smtpc_sendmail_source(r->s, a.from, a.to, a.nto, &src,
		                              a.null_opts ? NULL : &a.opts,
		                              a.want_result ? &r->res : NULL);
	r->have_rc = 1;
	r->last_prog = a.prog;
	r->last_prog.r = NULL;
	r->src_calls = a.src.calls;
	src_close(&a.src);
	check_result(r, st, r->res, is_message && !a.have_to ? NULL : a.to, a.nto);
	check_success(r, st, r->rc, r->res);
	sendargs_free(&a);
	return ret;
}

/* batch_add: one more message for the next `batch`. */
static int step_batch_add(struct run *r, const sc_cstep *st)
{
	struct sendargs *a;

	r->queue = sc_xrealloc(r->queue, (r->nqueue + 1) * sizeof(*r->queue));
	a = &r->queue[r->nqueue];
	if (parse_sendargs(r, st, 1, a) < 0) {
		sendargs_free(a);
		return -1;
	}
	r->nqueue++;
	if (!a->have_data || !a->have_from)
		return case_error(r, st, "batch_add needs from= and data=");
	if (!a->want_result)
		return case_error(r, st, "batch_add: result=no is not possible in a batch");
	return 0;
}

static void free_batch_results(struct run *r)
{
	for (size_t i = 0; i < r->nbres; i++)
		smtpc_send_result_free(r->bres[i]);
	free(r->bres);
	free(r->bprog);
	r->bres = NULL;
	r->bprog = NULL;
	r->nbres = 0;
}

/* batch: smtpc_send_batch() with the messages of the batch_add steps before it. */
static int step_batch(struct run *r, const sc_cstep *st)
{
	smtpc_message *msgs = sc_xmalloc((r->nqueue ? r->nqueue : 1) * sizeof(*msgs));
	size_t n = r->nqueue, opened = 0;
	int ret = 0;

	free_batch_results(r);
	r->bres = sc_xmalloc((n ? n : 1) * sizeof(*r->bres));
	r->bprog = sc_xmalloc((n ? n : 1) * sizeof(*r->bprog));
	r->nbres = n;
	for (size_t i = 0; i < n; i++) {
		struct sendargs *a = &r->queue[i];

		r->bres[i] = NULL;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		if (src_open(r, st, &a->src, &msgs[i].source) < 0) {
			ret = -1;
			break;
		}
		opened++;
		msgs[i].from = a->from;
		msgs[i].to = a->to;
		msgs[i].nto = a->nto;
		msgs[i].opts = a->null_opts ? NULL : &a->opts;
		/* the queue may have moved since batch_add: point at the records now */
		a->prog.r = r;
		a->prog.st = st;
		a->opts.progress_user = &a->prog;
		if (a->src.kind == SRC_CALLBACK)
			msgs[i].source.read_user = &a->src;
	}
	if (ret == 0) {
		r->rc = smtpc_send_batch(r->s, msgs, n, r->bres);
		r->have_rc = 1;
		r->have_result_step = 1;
		for (size_t i = 0; i < n; i++) {
			r->bprog[i] = r->queue[i].prog;
			check_result(r, st, r->bres[i], r->queue[i].to, r->queue[i].nto);
			check_success(r, st, r->bres[i] && r->rc == 0 ? 0 : -1, r->bres[i]);
		}
		if (r->rc == 0)
			for (size_t i = 0; i < n; i++)
				if (!r->bres[i])
					cfail(r, st,
					      "library: returned 0 but message %zu has no result",
					      i);
	}
	for (size_t i = 0; i < opened; i++)
		src_close(&r->queue[i].src);
	for (size_t i = 0; i < r->nqueue; i++)
		sendargs_free(&r->queue[i]);
	r->nqueue = 0;
	free(msgs);
	return ret;
}

static void debug_line(const char *line, size_t len, void *user)
{
	struct run *r = user;

	if (r->verbose) {
		printf("  lib: %.*s\n", (int)len, line);
		fflush(stdout);
	}
	if (r->capture) {
		if (strlen(line) != len)
			cfail(r, NULL, "library: a debug line has len %zu but strlen %zu", len,
			      strlen(line));
		sc_buf_add(&r->debug, line, len);
		sc_buf_addc(&r->debug, '\n');
	}
}

/* ---------------------------------------------------------------- AUTH callbacks */

static int token_cb(char **token, void *user)
{
	struct run *r = user;

	r->token_calls++;
	if (!r->token ||
	    (!r->token->quoted && strcmp(r->token->s + r->token->eq_plain, "NULL") == 0))
		return -1;
	*token = sc_xstrndup(r->token->s + r->token->eq_plain, r->token->len - r->token->eq_plain);
	return 0;
}

/* One scripted answer: quoted bytes; unquoted `cancel` (-1) or `null` (0, no response). */
static int custom_answer(const sc_tok *t, size_t skip, unsigned char **resp, size_t *rlen)
{
	const char *v = t->s + skip;
	size_t n = t->len - skip;

	if (!t->quoted && strcmp(v, "cancel") == 0)
		return -1;
	if (!t->quoted && strcmp(v, "null") == 0) {
		*resp = NULL;
		*rlen = 0;
		return 0;
	}
	if (!t->quoted && strcmp(v, "none") == 0)
		return 1;
	*resp = sc_xmalloc(n ? n : 1);
	if (n)
		memcpy(*resp, v, n);
	*rlen = n;
	return 0;
}

static int custom_cb(const unsigned char *chal, size_t len, unsigned char **resp, size_t *rlen,
                     void *user)
{
	struct run *r = user;
	const sc_tok *t;
	int rc;

	r->custom_calls++;
	if (!chal) {
		/* the initial response: none unless ir= says */
		if (!r->custom_ir)
			return 1;
		return custom_answer(r->custom_ir, r->custom_ir->eq_plain, resp, rlen);
	}
	r->challenges = sc_xrealloc(r->challenges, (r->nchallenges + 1) * sizeof(*r->challenges));
	memset(&r->challenges[r->nchallenges], 0, sizeof(*r->challenges));
	sc_buf_add(&r->challenges[r->nchallenges++], chal, len);
	if (r->custom_next >= r->ncustom_resp) {
		cfail(r, r->custom,
		      "the mechanism callback got challenge %zu, the step scripts %zu "
		      "answers (add `cancel` to cancel)",
		      r->nchallenges, r->ncustom_resp);
		return -1;
	}
	t = &r->custom_resp[r->custom_next++];
	rc = custom_answer(t, 0, resp, rlen);
	return rc == 1 ? -1 : rc; /* `none` is for the initial response only */
}

static void free_challenges(struct run *r)
{
	for (size_t i = 0; i < r->nchallenges; i++)
		sc_buf_free(&r->challenges[i]);
	free(r->challenges);
	r->challenges = NULL;
	r->nchallenges = 0;
}

/* auth MECH [user=U] [password=P] [authzid=A] [token=T|token=NULL] [creds=NULL] */
static int step_auth(struct run *r, const sc_cstep *st, smtpc_reply *rep)
{
	smtpc_auth_creds creds = SMTPC_AUTH_CREDS_INIT;
	int null_creds = 0;

	r->token = NULL;
	r->token_calls = 0;
	for (size_t i = 2; i < st->argc; i++) {
		const sc_tok *t = &st->argv[i];
		const char *key = t->s, *val = t->s + t->eq_plain;
		size_t klen = t->eq_plain ? t->eq_plain - 1 : 0;
		const char *v = (!t->quoted && strcmp(val, "NULL") == 0) ? NULL : val;

#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
		if (!t->eq_plain)
			return case_error(r, st,
			                  "auth takes key=value arguments after the mechanism");
		if (KEY("user")) {
			creds.user = v;
		} else if (KEY("password")) {
			creds.password = v;
		} else if (KEY("authzid")) {
			creds.authzid = v;
		} else if (KEY("token")) {
			r->token = t;
			creds.token_fn = token_cb;
			creds.token_user = r;
		} else if (KEY("creds")) {
			null_creds = v == NULL;
		} else {
			return case_error(r, st,
			                  "auth: user= password= authzid= token= creds=NULL");
		}
#undef KEY
	}
	r->rc = smtpc_auth(r->s, str_arg(&st->argv[1]), null_creds ? NULL : &creds, rep);
	r->token = NULL;
	return 0;
}

/* auth_custom MECH [ir=BYTES|none|cancel|null] [ANSWER...] */
static int step_auth_custom(struct run *r, const sc_cstep *st, smtpc_reply *rep)
{
	size_t i = 2;

	free_challenges(r);
	r->custom = st;
	r->custom_ir = NULL;
	r->custom_calls = 0;
	if (i < st->argc && st->argv[i].eq_plain == 3 && memcmp(st->argv[i].s, "ir=", 3) == 0)
		r->custom_ir = &st->argv[i++];
	r->custom_resp = st->argv + i;
	r->ncustom_resp = st->argc - i;
	r->custom_next = 0;
	r->rc = smtpc_auth_custom(r->s, str_arg(&st->argv[1]), custom_cb, r, rep);
	r->custom = NULL;
	return 0;
}

/* A test certificate's path for the names the README lists; other values as given. */
static const char *tls_path(const sc_tok *t, const char *name, const char *what)
{
	if (!t->quoted && strcmp(t->s, name) == 0)
		return sc_tls_cert_path(what);
	return str_arg(t);
}

static int step_set(struct run *r, const sc_cstep *st)
{
	const char *what = st->argv[1].s;
	long v = 0;

	if (strcmp(what, "local_hostname") == 0) {
		r->rc = smtpc_set_local_hostname(r->s, str_arg(&st->argv[2]));
	} else if (strcmp(what, "timeout") == 0) {
		if (want_long(r, st, &st->argv[2], &v) < 0)
			return -1;
		/* fault mode: every wait is short */
		if (r->faults && v > r->fault_timeout)
			v = r->fault_timeout;
		r->rc = smtpc_set_timeout(r->s, (int)v);
	} else if (strcmp(what, "idle_check") == 0) {
		if (want_long(r, st, &st->argv[2], &v) < 0)
			return -1;
		r->rc = smtpc_set_idle_check(r->s, (int)v);
	} else if (strcmp(what, "protocol") == 0) {
		if (strcmp(st->argv[2].s, "smtp") == 0)
			r->rc = smtpc_set_protocol(r->s, SMTPC_PROTO_SMTP);
		else if (strcmp(st->argv[2].s, "lmtp") == 0)
			r->rc = smtpc_set_protocol(r->s, SMTPC_PROTO_LMTP);
		else
			return case_error(r, st, "set protocol smtp|lmtp");
	} else if (strcmp(what, "debug") == 0) {
		if (want_long(r, st, &st->argv[2], &v) < 0)
			return -1;
		/* a void call: the rc stays 0 */
		r->capture = 1;
		smtpc_set_debuglevel(r->s, (int)v, debug_line, r);
		r->rc = 0;
	} else if (strcmp(what, "implicit_tls") == 0 || strcmp(what, "tls_verify") == 0 ||
	           strcmp(what, "auth_plaintext") == 0 || strcmp(what, "auth_expected") == 0 ||
	           strcmp(what, "auth_initial_response") == 0) {
		if (want_long(r, st, &st->argv[2], &v) < 0)
			return -1;
		r->rc = strcmp(what, "implicit_tls") == 0 ? smtpc_set_implicit_tls(r->s, (int)v)
		        : strcmp(what, "tls_verify") == 0 ? smtpc_set_tls_verify(r->s, (int)v)
		        : strcmp(what, "auth_plaintext") == 0
		            ? smtpc_set_auth_plaintext(r->s, (int)v)
		        : strcmp(what, "auth_expected") == 0
		            ? smtpc_set_auth_expected(r->s, (int)v)
		            : smtpc_set_auth_initial_response(r->s, (int)v);
	} else if (strcmp(what, "starttls") == 0) {
		const char *p = st->argv[2].s;

		if (strcmp(p, "never") == 0)
			r->rc = smtpc_set_starttls(r->s, SMTPC_STARTTLS_NEVER);
		else if (strcmp(p, "opportunistic") == 0)
			r->rc = smtpc_set_starttls(r->s, SMTPC_STARTTLS_OPPORTUNISTIC);
		else if (strcmp(p, "required") == 0)
			r->rc = smtpc_set_starttls(r->s, SMTPC_STARTTLS_REQUIRED);
		else if (parse_long(&st->argv[2], &v) == 0)
			r->rc = smtpc_set_starttls(r->s, (smtpc_starttls_policy)v);
		else
			return case_error(r, st,
			                  "set starttls never|opportunistic|required|NUMBER");
	} else if (strcmp(what, "tls_name") == 0) {
		r->rc = smtpc_set_tls_name(r->s, str_arg(&st->argv[2]));
	} else if (strcmp(what, "ca_file") == 0) {
		const sc_tok *t = &st->argv[2];
		const char *path = !t->quoted && strcmp(t->s, "OTHER-CA") == 0
		                       ? sc_tls_cert_path("other-ca")
		                       : tls_path(t, "CA", "ca");

		r->rc = smtpc_set_ca_file(r->s, path);
	} else if (strcmp(what, "ca_dir") == 0) {
		const sc_tok *t = &st->argv[2];

		r->rc = smtpc_set_ca_dir(
		    r->s, !t->quoted && strcmp(t->s, "CA-DIR") == 0 ? sc_tls_ca_dir() : str_arg(t));
	} else if (strcmp(what, "client_cert") == 0) {
		const sc_tok *t = &st->argv[2];

		if (!t->quoted && strcmp(t->s, "NULL") == 0)
			r->rc = smtpc_set_client_cert(r->s, NULL, NULL);
		else if (!t->quoted && strcmp(t->s, "client-bundle") == 0)
			r->rc = smtpc_set_client_cert(r->s, sc_tls_cert_path(t->s), NULL);
		else if (!t->quoted && sc_tls_known(t->s))
			r->rc = smtpc_set_client_cert(r->s, sc_tls_cert_path(t->s),
			                              sc_tls_key_path(t->s));
		else
			return case_error(r, st, "set client_cert CERT|client-bundle|NULL");
	} else if (strcmp(what, "tls_pin") == 0) {
		const sc_tok *t = &st->argv[2];
		const char *pin =
		    !t->quoted && sc_tls_known(t->s) ? sc_tls_fingerprint(t->s) : str_arg(t);

		r->rc = smtpc_set_tls_pin(r->s, pin);
	} else {
		return case_error(
		    r, st,
		    "set local_hostname|timeout|idle_check|protocol|debug|implicit_tls|"
		    "starttls|tls_verify|tls_name|tls_pin|ca_file|ca_dir|client_cert|"
		    "auth_plaintext|auth_expected|auth_initial_response");
	}
	r->have_rc = 1;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Runs a step that talks to the library. Returns -1 on a case error. */
static int run_step(struct run *r, const sc_cstep *st)
{
	const char *cmd = st->argv[0].s;
	smtpc_reply rep;
	int with_reply = 1;
	const char *opts[64];
	size_t nopts = 0;

	prepare_reply(&rep);
	r->have_rc = 0;
	r->rc_checked = 0;
	r->last = st;

#define CMD(name) (strcmp(cmd, name) == 0)
	if (CMD("set")) {
		with_reply = 0;
		if (step_set(r, st) < 0)
			return -1;
	} else if (CMD("connect")) {
		const char *host = r->host;

		if (st->argc > 1) {
			if (st->argv[1].eq_plain != 5 || memcmp(st->argv[1].s, "host=", 5) != 0)
				return case_error(r, st, "connect [host=NAME]");
			host = st->argv[1].s + 5;
		}
		r->rc = smtpc_connect(r->s, host, r->port, &rep);
	} else if (CMD("starttls")) {
		r->rc = smtpc_starttls(r->s, &rep);
	} else if (CMD("login")) {
		r->rc = smtpc_login(r->s, str_arg(&st->argv[1]), str_arg(&st->argv[2]), &rep);
	} else if (CMD("auth")) {
		if (step_auth(r, st, &rep) < 0)
			return -1;
	} else if (CMD("auth_custom")) {
		if (step_auth_custom(r, st, &rep) < 0)
			return -1;
	} else if (CMD("ehlo")) {
		r->rc = smtpc_ehlo(r->s, st->argc > 1 ? str_arg(&st->argv[1]) : NULL, &rep);
	} else if (CMD("helo")) {
		r->rc = smtpc_helo(r->s, st->argc > 1 ? str_arg(&st->argv[1]) : NULL, &rep);
	} else if (CMD("ehlo_or_helo_if_needed")) {
		with_reply = 0;
		r->rc = smtpc_ehlo_or_helo_if_needed(r->s);
	} else if (CMD("mail") || CMD("rcpt")) {
		for (size_t i = 2; i < st->argc && nopts < 64; i++)
			opts[nopts++] = st->argv[i].s;
		if (CMD("mail"))
			r->rc = smtpc_mail(r->s, str_arg(&st->argv[1]), nopts ? opts : NULL, nopts,
			                   &rep);
		else
			r->rc = smtpc_rcpt(r->s, str_arg(&st->argv[1]), nopts ? opts : NULL, nopts,
			                   &rep);
	} else if (CMD("data")) {
		const char *p;
		size_t n;

		if (data_arg(r, st, &st->argv[1], &p, &n) < 0)
			return -1;
		r->rc = smtpc_data(r->s, p, n, &rep);
	} else if (CMD("rset")) {
		r->rc = smtpc_rset(r->s, &rep);
	} else if (CMD("noop")) {
		r->rc = smtpc_noop(r->s, &rep);
	} else if (CMD("vrfy")) {
		r->rc = smtpc_verify(r->s, str_arg(&st->argv[1]), &rep);
	} else if (CMD("expn")) {
		r->rc = smtpc_expn(r->s, str_arg(&st->argv[1]), &rep);
	} else if (CMD("help")) {
		r->rc = smtpc_help(r->s, st->argc > 1 ? str_arg(&st->argv[1]) : NULL, &rep);
	} else if (CMD("docmd")) {
		r->rc = smtpc_docmd(r->s, str_arg(&st->argv[1]),
		                    st->argc > 2 ? str_arg(&st->argv[2]) : NULL, &rep);
	} else if (CMD("putcmd")) {
		with_reply = 0;
		r->rc = smtpc_putcmd(r->s, str_arg(&st->argv[1]),
		                     st->argc > 2 ? str_arg(&st->argv[2]) : NULL);
	} else if (CMD("getreply")) {
		r->rc = smtpc_getreply(r->s, &rep);
	} else if (CMD("send")) {
		with_reply = 0;
		r->rc = smtpc_send(r->s, st->argv[1].s, st->argv[1].len);
	} else if (CMD("quit")) {
		r->rc = smtpc_quit(r->s, &rep);
	} else if (CMD("sendmail") || CMD("sendmail_source") || CMD("send_message")) {
		with_reply = 0;
		if (step_send(r, st, cmd) < 0)
			return -1;
	} else if (CMD("batch_add")) {
		return step_batch_add(r, st);
	} else if (CMD("batch")) {
		with_reply = 0;
		if (step_batch(r, st) < 0)
			return -1;
	} else if (CMD("close")) {
		smtpc_close(r->s);
		take_error(r);
		return 0;
	} else if (CMD("sleep")) {
		long v = 0;

		if (want_long(r, st, &st->argv[1], &v) < 0)
			return -1;
		/* fault mode: short (the server's CNOTHING is shortened more) */
		if (r->faults && v > SC_FAULT_SLEEP_MS)
			v = SC_FAULT_SLEEP_MS;
		sleep_ms(v);
		r->last = NULL;
		return 0;
	} else {
		return case_error(r, st, "unknown step");
	}
#undef CMD
	r->have_rc = 1;
	if (with_reply)
		take_reply(r, st, &rep);
	else
		take_reply(r, st, &(smtpc_reply){.code = SC_UNFILLED});
	take_error(r);
	if (r->err.kind != SC_UNFILLED && r->err.kind != (r->rc < 0 ? r->rc : 0))
		cfail(r, st, "library: returned %s but smtpc_last_error() says %s",
		      kind_name(r->rc), kind_name(r->err.kind));
	return 0;
}

/* ---------------------------------------------------------------- expectations */

static void check_int(struct run *r, const sc_cstep *st, const char *what, long exp, long got)
{
	if (exp != got)
		cfail(r, st, "%s: expected %ld, got %ld", what, exp, got);
}

/* exp NULL means "none" (a NULL pointer). */
static void check_bytes(struct run *r, const sc_cstep *st, const char *what, const char *exp,
                        size_t elen, const char *got, size_t glen)
{
	if (!exp && !got)
		return;
	if (exp && got && elen == glen && memcmp(exp, got, elen) == 0)
		return;
	fail_bytes(r, st, what, exp, elen, got, glen);
}

static void check_tok_str(struct run *r, const sc_cstep *st, const char *what, const sc_tok *t,
                          const char *got)
{
	if (is_none(t))
		check_bytes(r, st, what, NULL, 0, got, got ? strlen(got) : 0);
	else
		check_bytes(r, st, what, t->s, t->len, got, got ? strlen(got) : 0);
}

static int check_bool(struct run *r, const sc_cstep *st, const char *what, const sc_tok *t, int got)
{
	long v = 0;

	if (want_long(r, st, t, &v) < 0)
		return -1;
	check_int(r, st, what, v, got ? 1 : 0);
	return 0;
}

/* CODE [ENHANCED [TEXT]] against a reply. */
static int check_reply(struct run *r, const sc_cstep *st, const char *what, const sc_tok *a,
                       size_t na, int code, const char *enh, const char *text, size_t tlen)
{
	long v = 0;
	char label[64];

	if (want_long(r, st, &a[0], &v) < 0)
		return -1;
	snprintf(label, sizeof(label), "%s code", what);
	check_int(r, st, label, v, code);
	if (na > 1) {
		snprintf(label, sizeof(label), "%s enhanced code", what);
		check_bytes(r, st, label, a[1].s, a[1].len, enh, strlen(enh));
	}
	if (na > 2) {
		snprintf(label, sizeof(label), "%s text", what);
		check_bytes(r, st, label, a[2].s, a[2].len, text ? text : "", text ? tlen : 0);
	}
	return 0;
}

static int need_reply(struct run *r, const sc_cstep *st)
{
	if (r->reply.valid)
		return 0;
	cfail(r, st, "the last call returned no reply (it did not fill its smtpc_reply)");
	return -1;
}

static int need_result(struct run *r, const sc_cstep *st)
{
	if (r->res)
		return 0;
	cfail(r, st, "sendmail returned no result (*result is NULL)");
	return -1;
}

static int parse_status(const sc_tok *t)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(t->s, rcpt_status_names[i]) == 0)
			return i;
	return -1;
}

static const char *status_name(int st)
{
	return st >= 0 && st < 5 ? rcpt_status_names[st] : "(bad status)";
}

static int contains(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return 1;
	for (size_t i = 0; hay && i + nlen <= hlen; i++)
		if (memcmp(hay + i, needle, nlen) == 0)
			return 1;
	return 0;
}

static int expect_error(struct run *r, const sc_cstep *st, const sc_tok *a, size_t na)
{
	if (na % 2)
		return case_error(r, st, "expect error KEY VALUE ...");
	if (r->err.kind == SC_UNFILLED) {
		cfail(r, st, "smtpc_last_error() returned NULL");
		return 0;
	}
	for (size_t i = 0; i < na; i += 2) {
		const char *k = a[i].s;
		const sc_tok *v = &a[i + 1];
		long n;

		if (strcmp(k, "kind") == 0) {
			int kind;

			if (parse_kind(v, &kind) < 0)
				return case_error(r, st, "unknown error kind");
			if (kind != r->err.kind)
				cfail(r, st, "error kind: expected %s, got %s", kind_name(kind),
				      kind_name(r->err.kind));
		} else if (strcmp(k, "code") == 0) {
			if (want_long(r, st, v, &n) < 0)
				return -1;
			check_int(r, st, "error code", n, r->err.code);
		} else if (strcmp(k, "enhanced") == 0) {
			check_bytes(r, st, "error enhanced code", v->s, v->len, r->err.enhanced,
			            strlen(r->err.enhanced));
		} else if (strcmp(k, "command") == 0) {
			check_bytes(r, st, "error command", v->s, v->len, r->err.command.p,
			            r->err.command.len);
		} else if (strcmp(k, "text") == 0) {
			check_bytes(r, st, "error text", v->s, v->len, r->err.text.p,
			            r->err.text.len);
		} else if (strcmp(k, "os_error") == 0) {
			if (want_long(r, st, v, &n) < 0)
				return -1;
			check_int(r, st, "error os_error", n, r->err.os_error);
		} else if (strcmp(k, "message") == 0) {
			if (!contains(r->err.message.p, r->err.message.len, v->s, v->len))
				fail_bytes(r, st, "the error message does not contain", v->s,
				           v->len, r->err.message.p ? r->err.message.p : "",
				           r->err.message.len);
		} else if (strcmp(k, "no_message") == 0) {
			if (contains(r->err.message.p, r->err.message.len, v->s, v->len))
				fail_bytes(r, st, "the error message contains", v->s, v->len,
				           r->err.message.p, r->err.message.len);
		} else {
			return case_error(r, st,
			                  "expect error: kind code enhanced command text os_error "
			                  "message no_message");
		}
	}
	return 0;
}

static int run_expect(struct run *r, const sc_cstep *st);

static int run_expect(struct run *r, const sc_cstep *st)
{
	const char *what = st->argv[1].s;
	const sc_tok *a = st->argv + 2;
	size_t na = st->argc - 2;
	long v = 0, w = 0;

#define IS(name) (strcmp(what, name) == 0)
	if (IS("rc")) {
		int kind;

		if (!r->have_rc)
			return case_error(r, st, "expect rc: no step before it returned a code");
		if (parse_kind(&a[0], &kind) < 0)
			return case_error(r, st, "unknown error kind");
		r->rc_checked = 1;
		if (kind != r->rc)
			cfail(r, st, "rc: expected %s, got %s (%s)", kind_name(kind),
			      kind_name(r->rc), r->err.message.p ? r->err.message.p : "");
	} else if (IS("reply")) {
		if (need_reply(r, st) == 0)
			return check_reply(r, st, "reply", a, na, r->reply.code, r->reply.enhanced,
			                   r->reply.text.p, r->reply.text.len);
	} else if (IS("code")) {
		if (need_reply(r, st) == 0 && want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "reply code", v, r->reply.code);
	} else if (IS("enhanced")) {
		if (need_reply(r, st) == 0)
			check_bytes(r, st, "reply enhanced code", a[0].s, a[0].len,
			            r->reply.enhanced, strlen(r->reply.enhanced));
	} else if (IS("text")) {
		if (need_reply(r, st) == 0)
			check_bytes(r, st, "reply text", a[0].s, a[0].len, r->reply.text.p,
			            r->reply.text.len);
	} else if (IS("nlines")) {
		if (need_reply(r, st) == 0 && want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "reply nlines", v, (long)r->reply.nlines);
	} else if (IS("mail_reply") || IS("data_reply") || IS("final_reply")) {
		const smtpc_reply *rep;

		if (need_result(r, st) < 0)
			return 0;
		rep = IS("mail_reply")   ? &r->res->mail_reply
		      : IS("data_reply") ? &r->res->data_reply
		                         : &r->res->final_reply;
		return check_reply(r, st, what, a, na, rep->code, rep->enhanced, rep->text,
		                   rep->text_len);
	} else if (IS("rcpt") || IS("rcpt_code")) {
		const smtpc_rcpt_result *rr;
		int status;

		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		if (need_result(r, st) < 0)
			return 0;
		if (v < 0 || (size_t)v >= r->res->nrecipients) {
			cfail(r, st, "the result has no recipient %ld", v);
			return 0;
		}
		rr = &r->res->recipients[v];
		if (IS("rcpt_code")) {
			if (want_long(r, st, &a[1], &w) == 0)
				check_int(r, st, "rcpt_code", w, rr->rcpt_code);
			return 0;
		}
		status = parse_status(&a[1]);
		if (status < 0)
			return case_error(r, st,
			                  "status: not-tried, refused, accepted, failed, unknown");
		if ((int)rr->status != status)
			cfail(r, st, "recipient %ld status: expected %s, got %s", v,
			      status_name(status), status_name((int)rr->status));
		if (na > 2)
			return check_reply(r, st, "recipient reply", a + 2, na - 2, rr->reply.code,
			                   rr->reply.enhanced, rr->reply.text, rr->reply.text_len);
	} else if (IS("nrecipients") || IS("naccepted")) {
		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		if (need_result(r, st) == 0)
			check_int(
			    r, st, what, v,
			    (long)(IS("nrecipients") ? r->res->nrecipients : r->res->naccepted));
	} else if (IS("rcpt_address")) {
		const smtpc_rcpt_result *rr;

		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		if (need_result(r, st) < 0)
			return 0;
		if (v < 0 || (size_t)v >= r->res->nrecipients) {
			cfail(r, st, "the result has no recipient %ld", v);
			return 0;
		}
		rr = &r->res->recipients[v];
		check_tok_str(r, st, "recipient address", &a[1], rr->address);
	} else if (IS("progress_calls") || IS("progress_last")) {
		if (!r->prog)
			return case_error(r, st, "expect progress_*: no sending step before");
		if (IS("progress_calls")) {
			if (want_long(r, st, &a[0], &v) == 0)
				check_int(r, st, "progress calls", v, r->prog->calls);
			return 0;
		}
		if (want_long(r, st, &a[0], &v) < 0 || want_long(r, st, &a[1], &w) < 0)
			return -1;
		if (r->prog->calls == 0) {
			cfail(r, st, "the progress callback was not called");
			return 0;
		}
		check_int(r, st, "progress: last bytes sent", v, (long)r->prog->sent);
		check_int(r, st, "progress: total", w, (long)r->prog->total);
	} else if (IS("source_calls")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "calls of the callback source", v, r->src_calls);
	} else if (IS("msg")) {
		sc_cstep sub;
		smtpc_send_result *saved = r->res;
		struct prog *saved_prog = r->prog;
		int rc;

		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		if (v < 0 || (size_t)v >= r->nbres) {
			cfail(r, st, "the last batch has no message %ld", v);
			return 0;
		}
		if (na == 2 && !a[1].quoted &&
		    (strcmp(a[1].s, "none") == 0 || strcmp(a[1].s, "set") == 0)) {
			if (strcmp(a[1].s, "none") == 0 && r->bres[v])
				cfail(r, st, "message %ld: expected no result, got one", v);
			else if (strcmp(a[1].s, "set") == 0 && !r->bres[v])
				cfail(r, st, "message %ld: expected a result, got none", v);
			return 0;
		}
		/* the expectation after "msg I", on the result of message I */
		sub = *st;
		sub.argv = st->argv + 2;
		sub.argc = st->argc - 2;
		r->res = r->bres[v];
		r->prog = &r->bprog[v];
		rc = run_expect(r, &sub);
		r->res = saved;
		r->prog = saved_prog;
		return rc;
	} else if (IS("result")) {
		if (!r->have_result_step)
			return case_error(r, st, "expect result: no sendmail before");
		if (is_none(&a[0]) && r->res)
			cfail(r, st, "expected no result (*result NULL), got one");
		else if (!is_none(&a[0]) && !r->res)
			cfail(r, st, "expected a result, *result is NULL");
	} else if (IS("error")) {
		return expect_error(r, st, a, na);
	} else if (IS("connected")) {
		return check_bool(r, st, "connected", &a[0], smtpc_is_connected(r->s));
	} else if (IS("esmtp")) {
		return check_bool(r, st, "does_esmtp", &a[0], smtpc_does_esmtp(r->s));
	} else if (IS("has_extn")) {
		return check_bool(r, st, "has_extn", &a[1], smtpc_has_extn(r->s, a[0].s));
	} else if (IS("extn_param")) {
		check_tok_str(r, st, "extn_param", &a[1], smtpc_extn_param(r->s, a[0].s));
	} else if (IS("extn_count")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "extn_count", v, (long)smtpc_extn_count(r->s));
	} else if (IS("extn")) {
		const char *kw = NULL, *params = NULL;
		int rc;

		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		rc = smtpc_extn_at(r->s, (size_t)v, &kw, &params);
		if (rc != 0) {
			cfail(r, st, "smtpc_extn_at(%ld) returned %s", v, kind_name(rc));
			return 0;
		}
		check_tok_str(r, st, "extension keyword", &a[1], kw);
		check_tok_str(r, st, "extension parameters", &a[2], params);
	} else if (IS("size_limit")) {
		uint64_t lim = 0;
		int known = smtpc_size_limit(r->s, &lim);

		if (is_none(&a[0])) {
			if (known)
				cfail(r, st, "size_limit: expected none, got %llu",
				      (unsigned long long)lim);
		} else if (want_long(r, st, &a[0], &v) == 0) {
			if (!known)
				cfail(r, st, "size_limit: expected %ld, got none", v);
			else
				check_int(r, st, "size_limit", v, (long)lim);
		}
	} else if (IS("helo_resp")) {
		check_tok_str(r, st, "helo_resp", &a[0], smtpc_helo_resp(r->s));
	} else if (IS("ehlo_resp")) {
		check_tok_str(r, st, "ehlo_resp", &a[0], smtpc_ehlo_resp(r->s));
	} else if (IS("local_hostname")) {
		check_tok_str(r, st, "local_hostname", &a[0], smtpc_local_hostname(r->s));
	} else if (IS("lmtp_count")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "lmtp_reply_count", v, (long)smtpc_lmtp_reply_count(r->s));
	} else if (IS("lmtp")) {
		smtpc_reply rep;
		int rc;

		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		prepare_reply(&rep);
		rc = smtpc_lmtp_reply(r->s, (size_t)v, &rep);
		if (rc != 0) {
			cfail(r, st, "smtpc_lmtp_reply(%ld) returned %s", v, kind_name(rc));
			return 0;
		}
		if (reply_sane(r, st, &rep, "lmtp reply"))
			return check_reply(r, st, "lmtp reply", a + 1, na - 1, rep.code,
			                   rep.enhanced, rep.text, rep.text_len);
	} else if (IS("debug") || IS("no_debug")) {
		int found = contains(r->debug.p, r->debug.len, a[0].s, a[0].len);

		if (IS("debug") && !found)
			fail_bytes(r, st, "the debug transcript does not contain", a[0].s, a[0].len,
			           r->debug.p ? r->debug.p : "", r->debug.len);
		else if (IS("no_debug") && found)
			fail_bytes(r, st, "the debug transcript contains", a[0].s, a[0].len,
			           r->debug.p, r->debug.len);
	} else if (IS("debug_printable")) {
		for (size_t i = 0; i < r->debug.len; i++) {
			unsigned char ch = (unsigned char)r->debug.p[i];

			if ((ch < 0x20 && ch != '\n') || ch >= 0x7f) {
				fail_bytes(r, st,
				           "a byte that is not printable ASCII in the debug "
				           "transcript",
				           "", 0, r->debug.p, r->debug.len);
				break;
			}
		}
	} else if (IS("tls")) {
		int verified = 0, on = smtpc_is_tls(r->s, &verified);

		if (check_bool(r, st, "is_tls", &a[0], on) < 0)
			return -1;
		if (na == 3) {
			if (strcmp(a[1].s, "verified") != 0)
				return case_error(r, st, "expect tls 0|1 [verified 0|1]");
			return check_bool(r, st, "is_tls verified", &a[2], verified);
		}
		if (na != 1)
			return case_error(r, st, "expect tls 0|1 [verified 0|1]");
	} else if (IS("tls_info")) {
		const char *info = smtpc_tls_info(r->s);

		if (!info) {
			cfail(r, st, "smtpc_tls_info returned NULL");
		} else if (is_none(&a[0])) {
			check_bytes(r, st, "tls_info", "", 0, info, strlen(info));
		} else if (strncmp(info, a[0].s, a[0].len) != 0 || a[0].len == 0) {
			fail_bytes(r, st, "tls_info does not start with", a[0].s, a[0].len, info,
			           strlen(info));
		}
	} else if (IS("challenges")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "challenges given to the callback", v,
			          (long)r->nchallenges);
	} else if (IS("challenge")) {
		if (want_long(r, st, &a[0], &v) < 0)
			return -1;
		if (v < 0 || (size_t)v >= r->nchallenges)
			cfail(r, st, "the callback got %zu challenges, no challenge %ld",
			      r->nchallenges, v);
		else
			check_bytes(r, st, "challenge", a[1].s, a[1].len, r->challenges[v].p,
			            r->challenges[v].len);
	} else if (IS("callback_calls")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "mechanism callback calls", v, (long)r->custom_calls);
	} else if (IS("token_calls")) {
		if (want_long(r, st, &a[0], &v) == 0)
			check_int(r, st, "token callback calls", v, (long)r->token_calls);
	} else if (IS("quoteaddr")) {
		char *out = smtpc_quoteaddr(a[0].s);

		check_tok_str(r, st, "quoteaddr", &a[1], out);
		free(out);
	} else if (IS("quotedata")) {
		char *out = NULL;
		size_t olen = 0;
		int rc = smtpc_quotedata(a[0].s, a[0].len, &out, &olen);

		if (rc != 0)
			cfail(r, st, "smtpc_quotedata returned %s", kind_name(rc));
		else
			check_bytes(r, st, "quotedata", a[1].s, a[1].len, out, olen);
		free(out);
	} else {
		return case_error(r, st, "unknown expectation");
	}
#undef IS
	return 0;
}

/* ---------------------------------------------------------------- validation */

static const struct {
	const char *name;
	size_t min, max; /* arguments after the name */
} step_table[] =
    {
        {"set", 2, 2},
        {"connect", 0, 1},
        {"starttls", 0, 0},
        {"login", 2, 2},
        {"auth", 1, 6},
        {"auth_custom", 1, 40},
        {"ehlo", 0, 1},
        {"helo", 0, 1},
        {"ehlo_or_helo_if_needed", 0, 0},
        {"mail", 1, 64},
        {"rcpt", 1, 64},
        {"data", 1, 1},
        {"rset", 0, 0},
        {"noop", 0, 0},
        {"vrfy", 1, 1},
        {"expn", 1, 1},
        {"help", 0, 1},
        {"docmd", 1, 2},
        {"putcmd", 1, 2},
        {"getreply", 0, 0},
        {"send", 1, 1},
        {"quit", 0, 0},
        {"sendmail", 1, 200},
        {"close", 0, 0},
        {"sleep", 1, 1},
        {"expect", 1, 40},
        {"sendmail_source", 1, 200},
        {"send_message", 1, 200},
        {"batch_add", 1, 200},
        {"batch", 0, 0},
},
  expect_table[] = {
      {"rc", 1, 1},
      {"reply", 1, 3},
      {"code", 1, 1},
      {"enhanced", 1, 1},
      {"text", 1, 1},
      {"nlines", 1, 1},
      {"mail_reply", 1, 3},
      {"data_reply", 1, 3},
      {"final_reply", 1, 3},
      {"rcpt", 2, 5},
      {"rcpt_code", 2, 2},
      {"nrecipients", 1, 1},
      {"naccepted", 1, 1},
      {"result", 1, 1},
      {"error", 2, 12},
      {"connected", 1, 1},
      {"esmtp", 1, 1},
      {"has_extn", 2, 2},
      {"extn_param", 2, 2},
      {"extn_count", 1, 1},
      {"extn", 3, 3},
      {"size_limit", 1, 1},
      {"helo_resp", 1, 1},
      {"ehlo_resp", 1, 1},
      {"local_hostname", 1, 1},
      {"lmtp_count", 1, 1},
      {"lmtp", 2, 4},
      {"quoteaddr", 2, 2},
      {"quotedata", 2, 2},
      {"debug", 1, 1},
      {"no_debug", 1, 1},
      {"debug_printable", 0, 0},
      {"tls", 1, 3},
      {"tls_info", 1, 1},
      {"challenges", 1, 1},
      {"challenge", 2, 2},
      {"callback_calls", 1, 1},
      {"token_calls", 1, 1},
      {"rcpt_address", 2, 2},
      {"progress_calls", 1, 1},
      {"progress_last", 2, 2},
      {"source_calls", 1, 1},
      {"msg", 2, 40},
};

/* The expectation named by argv[at] and its arguments; "msg I" nests one. */
static int validate_expect(const sc_case *c, const sc_cstep *st, size_t at)
{
	size_t nargs = st->argc - at - 1, k;
	const char *name = st->argv[at].s;

	for (k = 0; k < sizeof(expect_table) / sizeof(expect_table[0]); k++) {
		if (strcmp(name, expect_table[k].name) != 0)
			continue;
		if (nargs < expect_table[k].min || nargs > expect_table[k].max) {
			fprintf(stderr, "%s:%d: expect %s takes %zu to %zu arguments\n", c->path,
			        st->line, name, expect_table[k].min, expect_table[k].max);
			return 1;
		}
		if (strcmp(name, "msg") == 0 &&
		    !(nargs == 2 && (strcmp(st->argv[at + 2].s, "none") == 0 ||
		                     strcmp(st->argv[at + 2].s, "set") == 0)))
			return validate_expect(c, st, at + 2);
		return 0;
	}
	fprintf(stderr, "%s:%d: unknown expectation '%s'\n", c->path, st->line, name);
	return 1;
}

static int validate(const sc_case *c)
{
	int errors = 0;

	for (size_t i = 0; i < c->nclient; i++) {
		const sc_cstep *st = &c->client[i];
		const char *name = st->argv[0].s;
		size_t nargs = st->argc - 1, k;
		int found = 0;

		for (k = 0; k < sizeof(step_table) / sizeof(step_table[0]); k++) {
			if (strcmp(name, step_table[k].name) != 0)
				continue;
			found = 1;
			if (nargs < step_table[k].min || nargs > step_table[k].max) {
				fprintf(stderr, "%s:%d: %s takes %zu to %zu arguments\n", c->path,
				        st->line, name, step_table[k].min, step_table[k].max);
				errors++;
			}
		}
		if (!found) {
			fprintf(stderr, "%s:%d: unknown client step '%s'\n", c->path, st->line,
			        name);
			errors++;
			continue;
		}
		if (strcmp(name, "expect") != 0 || nargs == 0)
			continue;
		errors += validate_expect(c, st, 1);
	}
	return errors ? -1 : 0;
}

/* ---------------------------------------------------------------- main */

/* A step returned an error that no `expect rc` looked at. */
static void check_rc_seen(struct run *r)
{
	if (r->have_rc && !r->rc_checked && r->rc != 0)
		cfail(r, r->last, "returned %s (%s) but the case has no `expect rc` for it",
		      kind_name(r->rc), r->err.message.p ? r->err.message.p : "");
	r->have_rc = 0;
}

/* The fault-mode client timeout (ms): every wait of the library is short. */
#define SC_FAULT_TIMEOUT_MS 300
/* How long the server stalls at most (the client gives up before). */
#define SC_FAULT_STALL_MS (SC_FAULT_TIMEOUT_MS + 700)
/* The server's wait for each expected thing in fault mode. */
#define SC_FAULT_SERVER_TIMEOUT_MS 2000
/* A fault run that takes longer than this has hung. */
#define SC_FAULT_RUN_LIMIT_S 30

struct opts {
	int verbose;
	int pipelining;
	int faults;
	int jobs;
	int sample; /* --faults with several files: one in SAMPLE of the cases that send nothing */
	int kinds;  /* --kinds: the faults played, a bit per enum sc_fault_kind */
};

static void usage(void)
{
	fputs("usage: scenario-runner [-v] [--pipelining] FILE.case\n"
	      "       scenario-runner --faults [-v] [--pipelining] [-j N] [--sample N]\n"
	      "                       [--kinds close,reset,stall] FILE...\n"
	      "  -v (or SCENARIO_VERBOSE=1): library debug transcript and server transcript\n"
	      "  --pipelining (or SCENARIO_PIPELINING=1): the server advertises PIPELINING in\n"
	      "      every 250 reply to EHLO/LHLO and plays [server pipelined] when the case\n"
	      "      has one; the client's expectations stay the same\n"
	      "  --faults: replays the case with the connection closed, reset, or stalled\n"
	      "      before each server step; expectations are ignored, invariants checked.\n"
	      "      With several files: each case in its own process, N at a time (-j),\n"
	      "      every case that sends a message and one in N of the others (--sample)\n",
	      stderr);
}

static void run_free(struct run *r)
{
	smtpc_send_result_free(r->res);
	r->res = NULL;
	smtpc_free(r->s);
	r->s = NULL;
	sc_buf_free(&r->reply.text);
	sc_buf_free(&r->err.command);
	sc_buf_free(&r->err.text);
	sc_buf_free(&r->err.message);
	sc_buf_free(&r->debug);
	free_challenges(r);
	for (size_t i = 0; i < r->nqueue; i++)
		sendargs_free(&r->queue[i]);
	free(r->queue);
	r->queue = NULL;
	r->nqueue = 0;
	free_batch_results(r);
	free(r->sums);
	r->sums = NULL;
	r->nsums = 0;
}

/*
 * Starts the server (with a fault or not) and plays the client script. The session
 * is freed (the connection closed) before returning; the caller finishes the server.
 * Returns the server, or NULL when it could not start.
 */
static sc_server *play(const sc_case *c, int verbose, const sc_fault *fault, struct run *r)
{
	sc_server *srv;
	int rc;

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->verbose = verbose;
	r->faults = fault != NULL;
	r->fault_timeout = SC_FAULT_TIMEOUT_MS;
	srv = sc_server_start(c, verbose, fault);
	if (!srv)
		return NULL;
	r->host = sc_server_host(srv);
	r->port = sc_server_port(srv);
	r->s = smtpc_new();
	if (!r->s) {
		cfail(r, NULL, "smtpc_new() returned NULL");
	} else {
		int tmo = c->timeout_ms ? c->timeout_ms : SC_DEFAULT_TIMEOUT_MS;

		if (verbose)
			smtpc_set_debuglevel(r->s, 1, debug_line, r);
		/* `set debug N` captures the transcript for `expect debug` */
		if (c->lmtp && (rc = smtpc_set_protocol(r->s, SMTPC_PROTO_LMTP)) != 0)
			cfail(r, NULL, "smtpc_set_protocol(LMTP) returned %s", kind_name(rc));
		if (r->faults && (c->no_timeout || tmo > r->fault_timeout))
			tmo = r->fault_timeout;
		if ((!c->no_timeout || r->faults) && (rc = smtpc_set_timeout(r->s, tmo)) != 0)
			cfail(r, NULL, "smtpc_set_timeout returned %s", kind_name(rc));
	}

	/* A failed expectation does not stop the run (the library state is the same,
	 * and the server script goes on); a case error does. In fault mode the
	 * expectations are not looked at: only the library's promises are. */
	for (size_t i = 0; i < c->nclient && r->s; i++) {
		const sc_cstep *st = &c->client[i];

		if (strcmp(st->argv[0].s, "expect") == 0) {
			if (!r->faults && run_expect(r, st) < 0)
				break;
			continue;
		}
		if (!r->faults)
			check_rc_seen(r);
		if (run_step(r, st) < 0)
			break;
	}
	if (!r->faults)
		check_rc_seen(r);
	/* the session goes first: the server waits for the client to close */
	smtpc_send_result_free(r->res);
	r->res = NULL;
	smtpc_free(r->s);
	r->s = NULL;
	return srv;
}

/* ---------------------------------------------------------------- fault injection */

static const char *const fault_names[] = {"none", "close", "reset", "stall"};

/* The fault run in progress, for the messages of the signal handlers. */
static char current_run[600];

static void say(const char *a, const char *b, const char *c)
{
	if (write(1, a, strlen(a)) < 0 || write(1, b, strlen(b)) < 0 || write(1, c, strlen(c)) < 0)
		_exit(3);
}

static void on_alarm(int sig)
{
	(void)sig;
	say("FAIL: ", current_run, ": the run did not end in time (a call hung)\n");
	_exit(3);
}

/* A SIGPIPE is a failure of the run (the library must not raise it); the run goes on. */
static volatile sig_atomic_t got_sigpipe;

static void on_sigpipe(int sig)
{
	(void)sig;
	got_sigpipe = 1;
}

/* Called by AddressSanitizer before its report (any build may define it). */
void __asan_on_error(void);
void __asan_on_error(void)
{
	if (current_run[0])
		say("FAIL: ", current_run, ": AddressSanitizer report follows\n");
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * 1 when the script may hold transactions whose results the runner cannot see: a
 * sending step with result=no, or transactions made with raw steps (mail, rcpt, data,
 * docmd, putcmd, send). Then no recipient can be required to be 'unknown'.
 */
static int hides_results(const sc_case *c)
{
	static const char *const raw[] = {"mail", "rcpt", "data", "docmd", "putcmd", "send"};

	for (size_t i = 0; i < c->nclient; i++) {
		const sc_cstep *st = &c->client[i];

		for (size_t j = 0; j < sizeof(raw) / sizeof(raw[0]); j++)
			if (strcmp(st->argv[0].s, raw[j]) == 0)
				return 1;
		for (size_t j = 1; j < st->argc; j++)
			if (strcmp(st->argv[j].s, "result=no") == 0)
				return 1;
	}
	return 0;
}

/*
 * A stall before a client expectation looks the same to the client as a stall before
 * the server's next reply (it cannot tell whether its bytes were read), unless they
 * are many (flow control): those stalls are left out, except before a large one.
 */
static int stall_differs(const sc_case *c, size_t k)
{
	const sc_sstep *st = &c->server[k];

	if (st->op == SOP_NOTHING || st->op == SOP_BATCH || st->op == SOP_ANY)
		return 0;
	if (st->op != SOP_EXPECT)
		return 1;
	return st->len >= 65536;
}

struct fault_totals {
	long runs, failed, unchecked;
};

/*
 * The fault matrix of one case: for every server step, the connection closed,
 * reset, or stalled instead of it. Each run must end in time, without a crash or
 * a leak (ASan), with every failing call's kind in smtpc_last_error(), and
 * without a result that claims more than the server said (flow.c).
 */
static int run_faults(const char *path, const struct opts *o, struct fault_totals *tot)
{
	sc_case c;
	sc_flow *flow;
	int64_t t0 = mono_ms();
	long runs = 0, failed = 0, unchecked = 0;
	int blind;

	memset(tot, 0, sizeof(*tot));
	if (sc_case_load(&c, path) < 0 || validate(&c) < 0) {
		sc_case_free(&c);
		printf("FAIL: %s: the case file has errors (see above)\n", path);
		return 2;
	}
	if (c.no_faults) {
		printf("faults: %s: skipped (faults: no %s)\n", path, c.no_faults);
		sc_case_free(&c);
		return 0;
	}
	if (o->pipelining) {
		if (c.no_pipelining) {
			printf("faults: %s: skipped in pipelined mode (pipelining: no %s)\n", path,
			       c.no_pipelining);
			sc_case_free(&c);
			return 0;
		}
		sc_case_pipelined(&c);
	}
	if (c.server_timeout_ms > SC_FAULT_SERVER_TIMEOUT_MS)
		c.server_timeout_ms = SC_FAULT_SERVER_TIMEOUT_MS;
	for (size_t k = 0; k < c.nserver; k++)
		if (c.server[k].op == SOP_NOTHING && c.server[k].ms > SC_FAULT_NOTHING_MS)
			c.server[k].ms = SC_FAULT_NOTHING_MS;
	if (c.uses_tls) {
		char err[300];

		if (sc_tls_init(err, sizeof(err)) < 0) {
			printf("FAIL: %s: cannot make the test certificates: %s\n", path, err);
			sc_case_free(&c);
			return 2;
		}
	}
	flow = sc_flow_analyze(&c);
	blind = hides_results(&c);
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, on_sigpipe);
	for (size_t k = 0; k < c.nserver; k++) {
		for (int kind = SC_FAULT_CLOSE; kind <= SC_FAULT_STALL; kind++) {
			sc_fault f = {(enum sc_fault_kind)kind, k, SC_FAULT_STALL_MS};

			if (!(o->kinds & (1 << kind)) ||
			    (kind == SC_FAULT_STALL && !stall_differs(&c, k)))
				continue;
			struct run r;
			sc_server *srv;
			size_t cut = 0;
			sc_flow_cut fc;
			long claimed = 0, unknown = 0;

			alarm(SC_FAULT_RUN_LIMIT_S);
			/* a crash, a SIGPIPE or a hang says which run it was */
			snprintf(current_run, sizeof(current_run),
			         "%s: %s before server step %zu (line %d)", path, fault_names[kind],
			         k, c.server[k].line);
			if (o->verbose)
				printf("--- %s\n", current_run);
			srv = play(&c, o->verbose, &f, &r);
			if (!srv) {
				printf("FAIL: %s: cannot start the fake server\n", path);
				failed++;
				run_free(&r);
				continue;
			}
			sc_server_finish_fault(srv, stdout, &cut);
			alarm(0);
			current_run[0] = '\0';
			runs++;
			for (size_t i = 0; i < r.nsums; i++) {
				claimed += c.lmtp ? r.sums[i].naccepted : r.sums[i].naccepted > 0;
				unknown += r.sums[i].nunknown;
			}
			if (got_sigpipe)
				cfail(&r, NULL,
				      "SIGPIPE reached the program: the library wrote to a closed "
				      "connection without MSG_NOSIGNAL (smtpc.h: never)");
			got_sigpipe = 0;
			if (!sc_flow_known(flow, cut)) {
				unchecked++;
			} else {
				sc_flow_at(flow, cut, &fc);
				if (o->verbose)
					printf("--- cut at step %zu: final 250 replies %ld, "
					       "recipients "
					       "outstanding %ld, may be unknown %ld; the results "
					       "claim "
					       "%ld, unknown %ld\n",
					       cut, fc.final250, fc.outstanding, fc.maybe, claimed,
					       unknown);
				if (claimed > fc.final250)
					cfail(
					    &r, NULL,
					    "the results claim %ld deliver%s, but the server sent "
					    "%ld final 250 repl%s before the cut",
					    claimed, claimed == 1 ? "y" : "ies", fc.final250,
					    fc.final250 == 1 ? "y" : "ies");
				if (!blind && unknown < fc.outstanding)
					cfail(
					    &r, NULL,
					    "the server received the end of data for %ld accepted "
					    "recipient(s) and sent no final reply, but only %ld "
					    "are "
					    "'unknown'",
					    fc.outstanding, unknown);
				if (unknown > fc.maybe)
					cfail(&r, NULL,
					      "%ld recipient(s) are 'unknown', but the client "
					      "cannot have "
					      "sent the end of data for more than %ld",
					      unknown, fc.maybe);
			}
			if (r.failed) {
				failed++;
				printf("FAIL: %s: %s before server step %zu (line %d: `%s`), the "
				       "script stopped at step %zu:\n%s",
				       path, fault_names[kind], k, c.server[k].line,
				       c.server[k].src, cut, r.msgs.p ? r.msgs.p : "");
				fflush(stdout);
			}
			sc_buf_free(&r.msgs);
			run_free(&r);
		}
	}
	printf("faults: %s%s: %ld runs, %ld failed%s, %.1f s\n", path,
	       o->pipelining ? " (pipelined)" : "", runs, failed,
	       unchecked ? " (some without delivery checks: SCRAM)" : "",
	       (double)(mono_ms() - t0) / 1000.0);
	fflush(stdout);
	tot->runs = runs;
	tot->failed = failed;
	tot->unchecked = unchecked;
	sc_flow_free(flow);
	sc_tls_free();
	sc_case_free(&c);
	return failed ? 1 : 0;
}

/* Which cases the matrix over many files takes: every sender, one in `sample` of the rest. */
static int fault_selected(const char *path, int sample, long *others)
{
	sc_case c;
	int sends, take;

	if (sc_case_load(&c, path) < 0) {
		sc_case_free(&c);
		return 1; /* its errors are reported by the run */
	}
	sends = sc_case_sends(&c);
	sc_case_free(&c);
	if (sends)
		return 1;
	take = sample > 0 && (*others % sample) == 0;
	(*others)++;
	return take;
}

struct child {
	pid_t pid;
	FILE *out;
	const char *path;
};

/* Collects one finished child: prints its output and adds its totals. */
static void reap(struct child *ch, int status, struct fault_totals *all, long *bad_cases)
{
	char line[8192];
	long runs = 0, failed = 0, unchecked = 0;

	fflush(ch->out);
	rewind(ch->out);
	while (fgets(line, sizeof(line), ch->out)) {
		if (sscanf(line, "@@ runs=%ld failed=%ld unchecked=%ld", &runs, &failed,
		           &unchecked) == 3)
			continue;
		fputs(line, stdout);
	}
	fclose(ch->out);
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		printf("FAIL: %s: the fault-injection process %s %d (a crash, a hang or a leak: "
		       "see above)\n",
		       ch->path, WIFEXITED(status) ? "exited with" : "was killed by signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		(*bad_cases)++;
	} else if (failed) {
		(*bad_cases)++;
	}
	all->runs += runs;
	all->failed += failed;
	all->unchecked += unchecked;
	fflush(stdout);
}

static int run_fault_files(char **files, size_t nfiles, const struct opts *o)
{
	struct child *kids = sc_xmalloc(nfiles * sizeof(*kids));
	size_t nkids = 0, running = 0, next = 0, ncases = 0;
	struct fault_totals all = {0, 0, 0};
	long bad = 0, others = 0;
	int64_t t0 = mono_ms();
	int jobs = o->jobs > 0 ? o->jobs : 1;

	fflush(stdout);
	for (;;) {
		while (running < (size_t)jobs && next < nfiles) {
			const char *path = files[next++];
			struct child *ch;

			if (!fault_selected(path, o->sample, &others))
				continue;
			ch = &kids[nkids];
			ch->path = path;
			ch->out = tmpfile();
			if (!ch->out) {
				perror("tmpfile");
				return 2;
			}
			ch->pid = fork();
			if (ch->pid < 0) {
				perror("fork");
				return 2;
			}
			if (ch->pid == 0) {
				struct fault_totals t;
				int rc;

				/* line by line: a crash loses nothing that was printed */
				setvbuf(stdout, NULL, _IOLBF, 0);
				dup2(fileno(ch->out), 1);
				dup2(fileno(ch->out), 2);
				rc = run_faults(path, o, &t);
				printf("@@ runs=%ld failed=%ld unchecked=%ld\n", t.runs, t.failed,
				       t.unchecked);
				fflush(stdout);
				exit(rc > 1 ? 2 : rc);
			}
			nkids++;
			running++;
			ncases++;
		}
		if (running == 0)
			break;
		{
			int status;
			pid_t pid = wait(&status);

			if (pid < 0)
				break;
			for (size_t i = 0; i < nkids; i++) {
				if (kids[i].pid == pid) {
					reap(&kids[i], status, &all, &bad);
					kids[i].pid = -1;
					running--;
				}
			}
		}
	}
	printf("fault injection%s: %zu cases, %ld runs (%s%s%s before every server step), %ld "
	       "failed runs, %ld case(s) failed, %.1f s\n",
	       o->pipelining ? " (pipelined)" : "", ncases, all.runs,
	       o->kinds & 1 << SC_FAULT_CLOSE ? "close " : "",
	       o->kinds & 1 << SC_FAULT_RESET ? "reset " : "",
	       o->kinds & 1 << SC_FAULT_STALL ? "stall" : "", all.failed, bad,
	       (double)(mono_ms() - t0) / 1000.0);
	free(kids);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct run r;
	struct opts o;
	sc_case c;
	sc_server *srv;
	char **files = sc_xmalloc((size_t)argc * sizeof(*files));
	size_t nfiles = 0;
	const char *path;
	const char *env_v = getenv("SCENARIO_VERBOSE"), *env_p = getenv("SCENARIO_PIPELINING");
	int srv_failures;

	memset(&o, 0, sizeof(o));
	o.verbose = env_v && *env_v && strcmp(env_v, "0") != 0;
	o.pipelining = env_p && *env_p && strcmp(env_p, "0") != 0;
	o.sample = 4;
	o.kinds = 1 << SC_FAULT_CLOSE | 1 << SC_FAULT_RESET | 1 << SC_FAULT_STALL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			o.verbose = 1;
		} else if (strcmp(argv[i], "--pipelining") == 0) {
			o.pipelining = 1;
		} else if (strcmp(argv[i], "--faults") == 0) {
			o.faults = 1;
		} else if (strcmp(argv[i], "--kinds") == 0 && i + 1 < argc) {
			const char *k = argv[++i];

			o.kinds = (strstr(k, "close") ? 1 << SC_FAULT_CLOSE : 0) |
			          (strstr(k, "reset") ? 1 << SC_FAULT_RESET : 0) |
			          (strstr(k, "stall") ? 1 << SC_FAULT_STALL : 0);
			if (!o.kinds) {
				usage();
				free(files);
				return 2;
			}
		} else if ((strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--sample") == 0) &&
		           i + 1 < argc && atoi(argv[i + 1]) >= 0) {
			if (argv[i][1] == 'j')
				o.jobs = atoi(argv[++i]);
			else
				o.sample = atoi(argv[++i]);
		} else if (argv[i][0] == '-') {
			usage();
			free(files);
			return 2;
		} else {
			files[nfiles++] = argv[i];
		}
	}
	if (nfiles == 0 || (nfiles > 1 && !o.faults)) {
		usage();
		free(files);
		return 2;
	}
	if (o.faults) {
		struct fault_totals t;
		int rc;

		if (nfiles > 1 || o.jobs > 0)
			rc = run_fault_files(files, nfiles, &o);
		else
			rc = run_faults(files[0], &o, &t);
		free(files);
		return rc;
	}
	path = files[0];
	free(files);
	if (sc_case_load(&c, path) < 0 || validate(&c) < 0) {
		sc_case_free(&c);
		printf("FAIL: %s: the case file has errors (see above)\n", path);
		return 2;
	}
	if (o.pipelining && c.no_pipelining) {
		printf("case: %s\nSKIP: not played in pipelined mode (pipelining: no %s)\n", path,
		       c.no_pipelining);
		sc_case_free(&c);
		return 77;
	}

	if (c.uses_tls) {
		char err[300];

		if (sc_tls_init(err, sizeof(err)) < 0) {
			printf("FAIL: %s: cannot make the test certificates: %s\n", path, err);
			sc_case_free(&c);
			return 2;
		}
	}

	printf("case: %s\ntitle: %s\n", path, c.title);
	if (o.pipelining) {
		size_t n = sc_case_pipelined(&c);

		printf("mode: pipelined (%zu EHLO/LHLO repl%s made to offer PIPELINING%s)\n", n,
		       n == 1 ? "y" : "ies",
		       c.has_server_pl ? "; the [server pipelined] script" : "");
	}
	fflush(stdout);

	srv = play(&c, o.verbose, NULL, &r);
	if (!srv) {
		sc_case_free(&c);
		printf("FAIL: %s: cannot start the fake server\n", path);
		return 2;
	}
	srv_failures = sc_server_finish(srv, stdout, r.failed);
	run_free(&r);
	sc_tls_free();
	if (r.failed || srv_failures) {
		printf("FAIL: %s (%s)%s\n", path, c.title, o.pipelining ? " [pipelined]" : "");
		sc_case_free(&c);
		return 1;
	}
	printf("PASS: %s%s\n", path, o.pipelining ? " [pipelined]" : "");
	sc_case_free(&c);
	return 0;
}
