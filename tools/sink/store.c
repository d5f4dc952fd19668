/*
 * smtpc-sink: Maildir storage and the deliveries.jsonl index.
 *
 * Layout: DIR/<recipient>/{tmp,new,cur}/, one Maildir per recipient address (lower-cased ASCII,
 * '/' and a leading '.' replaced by '_'). The message is streamed into the first recipient's
 * tmp/ as it arrives and, once accepted, renamed (one recipient) or hard-linked (several) into
 * every recipient's new/. The file holds exactly the message bytes: CRLF kept, dot-stuffing
 * removed, no header added.
 */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_one(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

/* mkdir -p for the top directory given on the command line. */
static int mkdir_p(const char *path)
{
	char *tmp = sink_xstrndup(path, strlen(path));
	int rc = 0;

	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		rc = mkdir_one(tmp);
		*p = '/';
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = mkdir_one(tmp);
	free(tmp);
	return rc;
}

int store_init(struct sink *s)
{
	struct buf path = {0};
	int rc = 0;

	if (!s->cfg.maildir)
		return 0;
	if (mkdir_p(s->cfg.maildir) < 0) {
		fprintf(stderr, "smtpc-sink: %s: %s\n", s->cfg.maildir, strerror(errno));
		return -1;
	}
	buf_adds(&path, s->cfg.maildir);
	buf_adds(&path, "/deliveries.jsonl");
	buf_addc(&path, '\0');
	s->jsonl_fd = open(path.p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s->jsonl_fd < 0) {
		fprintf(stderr, "smtpc-sink: %s: %s\n", path.p, strerror(errno));
		rc = -1;
	}
	buf_free(&path);
	return rc;
}

void store_maildir_name(struct buf *b, const char *addr)
{
	for (size_t i = 0; addr[i]; i++) {
		char ch = addr[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		else if (ch == '/' || (i == 0 && ch == '.'))
			ch = '_';
		buf_addc(b, ch);
	}
}

/* DIR/<recipient>[/sub[/name]], NUL-terminated. */
static void maildir_path(struct buf *b, const struct sink *s, const char *addr, const char *sub,
                         const char *name)
{
	b->len = 0;
	buf_adds(b, s->cfg.maildir);
	buf_addc(b, '/');
	store_maildir_name(b, addr);
	if (sub) {
		buf_addc(b, '/');
		buf_adds(b, sub);
	}
	if (name) {
		buf_addc(b, '/');
		buf_adds(b, name);
	}
	buf_addc(b, '\0');
}

static int maildir_create(const struct sink *s, const char *addr)
{
	static const char *const subs[] = {NULL, "tmp", "new", "cur"};
	struct buf path = {0};
	int rc = 0;

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]) && rc == 0; i++) {
		maildir_path(&path, s, addr, subs[i], NULL);
		rc = mkdir_one(path.p);
	}
	buf_free(&path);
	return rc;
}

int store_open(struct sink *s, struct message *m, const char *rcpt)
{
	struct buf path = {0};
	int fd;

	maildir_path(&path, s, rcpt, "tmp", m->name);
	fd = open(path.p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	/* Try first, create the Maildir only when it is missing: one syscall per message. */
	if (fd < 0 && errno == ENOENT && maildir_create(s, rcpt) == 0)
		fd = open(path.p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		sink_warn(s, "%s: %s", path.p, strerror(errno));
		buf_free(&path);
		return -1;
	}
	m->fd = fd;
	m->tmp_path = path.p;
	return 0;
}

int store_write(struct message *m, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(m->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void store_discard(struct message *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	if (m->tmp_path) {
		unlink(m->tmp_path);
		free(m->tmp_path);
		m->tmp_path = NULL;
	}
}

/* Length of the valid UTF-8 sequence at p, or 0 (overlongs, surrogates, > U+10FFFF refused). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string: quotes and backslashes escaped, control characters and bytes that are not
 * valid UTF-8 as \u00XX. */
void json_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	buf_addc(b, '"');
	while (i < n) {
		size_t len = utf8_len(p + i, n - i);

		if (len > 1) {
			buf_add(b, p + i, len);
			i += len;
			continue;
		}
		if (p[i] == '"' || p[i] == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)p[i]);
		} else if (len == 1 && p[i] >= 0x20 && p[i] != 0x7f) {
			buf_addc(b, (char)p[i]);
		} else {
			char esc[6] = {'\\', 'u', '0', '0', hex[p[i] >> 4], hex[p[i] & 15]};

			buf_add(b, esc, sizeof(esc));
		}
		i++;
	}
	buf_addc(b, '"');
}

static void json_key(struct buf *b, const char *key)
{
	buf_addc(b, b->len == 0 ? '{' : ',');
	json_string(b, key, strlen(key));
	buf_addc(b, ':');
}

static void json_strvec(struct buf *b, const struct strvec *v)
{
	buf_addc(b, '[');
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			buf_addc(b, ',');
		json_string(b, v->v[i], strlen(v->v[i]));
	}
	buf_addc(b, ']');
}

static void jsonl_append(struct sink *s, const struct conn *c, const char *file,
                         const size_t *targets, size_t ntargets, const bool *delivered)
{
	struct buf b = {0};
	char num[32];
	bool first;

	json_key(&b, "id");
	json_string(&b, c->msg.id, strlen(c->msg.id));
	json_key(&b, "file");
	json_string(&b, file, strlen(file));
	json_key(&b, "proto");
	buf_adds(&b, s->cfg.lmtp ? "\"lmtp\"" : "\"smtp\"");
	json_key(&b, "transfer");
	buf_adds(&b, c->msg.bdat ? "\"bdat\"" : "\"data\"");
	json_key(&b, "helo");
	json_string(&b, c->helo, strlen(c->helo));
	json_key(&b, "mail_from");
	json_string(&b, c->mail_from, strlen(c->mail_from));
	json_key(&b, "mail_options");
	json_strvec(&b, &c->mail_opts);
	json_key(&b, "rcpt_to");
	buf_addc(&b, '[');
	first = true;
	for (size_t i = 0; i < ntargets; i++) {
		const char *a = c->rcpts[targets[i]].addr;

		if (!delivered[i])
			continue;
		if (!first)
			buf_addc(&b, ',');
		first = false;
		json_string(&b, a, strlen(a));
	}
	buf_addc(&b, ']');
	json_key(&b, "rcpt_options");
	buf_addc(&b, '[');
	first = true;
	for (size_t i = 0; i < ntargets; i++) {
		if (!delivered[i])
			continue;
		if (!first)
			buf_addc(&b, ',');
		first = false;
		json_strvec(&b, &c->rcpts[targets[i]].opts);
	}
	buf_addc(&b, ']');
	json_key(&b, "size");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c->msg.size);
	buf_adds(&b, num);
	buf_adds(&b, "}\n");
	/* One write on an O_APPEND descriptor: lines never interleave. */
	if (write(s->jsonl_fd, b.p, b.len) != (ssize_t)b.len)
		sink_warn(s, "deliveries.jsonl: %s", strerror(errno));
	buf_free(&b);
}

/*
 * Move the finished tmp file into new/ of each target recipient; delivered[i] says which
 * succeeded. Returns the number of copies made. The tmp file is gone afterwards.
 */
int store_deliver(struct sink *s, struct conn *c, const size_t *targets, size_t ntargets,
                  bool *delivered)
{
	struct message *m = &c->msg;
	struct buf path = {0};
	char *first = NULL;
	int count = 0;

	for (size_t i = 0; i < ntargets; i++)
		delivered[i] = false;
	if (close(m->fd) < 0) {
		m->fd = -1;
		sink_warn(s, "%s: %s", m->tmp_path, strerror(errno));
		store_discard(m);
		return 0;
	}
	m->fd = -1;
	for (size_t i = 0; i < ntargets; i++) {
		const char *addr = c->rcpts[targets[i]].addr;
		bool single = ntargets == 1;
		int rc;

		maildir_path(&path, s, addr, "new", m->name);
		rc = single ? rename(m->tmp_path, path.p) : link(m->tmp_path, path.p);
		if (rc < 0 && errno == ENOENT && maildir_create(s, addr) == 0)
			rc = single ? rename(m->tmp_path, path.p) : link(m->tmp_path, path.p);
		/* The same address twice: the name is unique, so the file there is this message. */
		if (rc < 0 && errno == EEXIST)
			rc = 0;
		if (rc < 0) {
			sink_warn(s, "%s: %s", path.p, strerror(errno));
			continue;
		}
		delivered[i] = true;
		count++;
		if (!first)
			first = sink_xstrndup(path.p, path.len - 1);
	}
	if (ntargets == 1 && count == 1) {
		free(m->tmp_path);
		m->tmp_path = NULL;
	} else {
		store_discard(m);
	}
	if (count > 0 && s->jsonl_fd >= 0)
		jsonl_append(s, c, first, targets, ntargets, delivered);
	free(first);
	buf_free(&path);
	return count;
}
