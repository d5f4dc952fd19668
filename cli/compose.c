/*
 * compose.c - smtpc send building the message: From and To from --from and
 * --to, --subject, --header, the --text and --html bodies, the --attach
 * files (streamed by the library from their file descriptors).
 */
#include "compose.h"

#include "exitcodes.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX (64u << 20) /* a text or HTML body is read into memory */

/* The whole of a text file (or standard input for "-"). */
static int read_body(const char *path, char **out, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 0, n = 0;
	char *p = NULL;
	ssize_t r = 1;

	while (fd >= 0 && r > 0 && n <= BODY_MAX) {
		if (cap - n < 4096) {
			char *q = realloc(p, cap = cap ? cap * 2 : 65536);

			if (q == NULL)
				break;
			p = q;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			r = 1;
		else if (r > 0)
			n += (size_t)r;
	}
	if (fd < 0 || r != 0 || n > BODY_MAX) {
		fputs("smtpc: cannot read ", stderr);
		cli_put_str(stderr, path);
		fprintf(stderr, ": %s\n",
		        n > BODY_MAX ? "over 64 MiB" : strerror(errno ? errno : ENOMEM));
		if (fd > 0)
			close(fd);
		free(p);
		return EX_NOINPUT;
	}
	if (fd > 0)
		close(fd);
	*out = p;
	*len = n;
	return 0;
}

/* The length of FILE in --attach FILE[;type=T][;name=N]: up to the first ";type=" or ";name=". */
static size_t attach_path_len(const char *spec)
{
	const char *t = strstr(spec, ";type="), *n = strstr(spec, ";name=");

	if (t != NULL && (n == NULL || t < n))
		return (size_t)(t - spec);
	return n != NULL ? (size_t)(n - spec) : strlen(spec);
}

int cli_compose_open(struct cli_compose *c, const struct cli_options *o)
{
	size_t i;
	int ex = 0;

	memset(c, 0, sizeof(*c));
	c->fds = calloc(o->nattach + 1, sizeof(*c->fds));
	if (c->fds == NULL)
		return EX_OSERR;
	if (o->text_file != NULL)
		ex = read_body(o->text_file, &c->text, &c->text_len);
	if (ex == 0 && o->html_file != NULL)
		ex = read_body(o->html_file, &c->html, &c->html_len);
	for (i = 0; ex == 0 && i < o->nattach; i++) {
		char *path = strndup(o->attach[i], attach_path_len(o->attach[i]));

		if (path == NULL)
			return EX_OSERR;
		c->fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (c->fds[i] < 0) {
			fputs("smtpc: cannot read ", stderr);
			cli_put_str(stderr, path);
			fprintf(stderr, ": %s\n", strerror(errno));
			ex = EX_NOINPUT;
		}
		c->nfds++;
		free(path);
	}
	return ex;
}

/* The part for one --attach value and its open file descriptor. */
static int attach_one(struct cli_compose *c, const char *spec, int fd)
{
	smtpc_mime_part part = SMTPC_MIME_PART_INIT;
	size_t plen = attach_path_len(spec);
	const char *p = spec + plen, *slash;
	char *type = NULL, *name = NULL, *path = strndup(spec, plen);
	int rc = SMTPC_ENOMEM;

	while (path != NULL && *p == ';') {
		size_t len = strcspn(p + 1, ";");
		char **slot = strncmp(p + 1, "type=", 5) == 0 ? &type : &name;

		if (*slot != NULL || len == 5 ||
		    (slot == &name && strncmp(p + 1, "name=", 5) != 0)) {
			rc = SMTPC_EINVAL; /* twice, empty, or another parameter */
			goto out;
		}
		*slot = strndup(p + 6, len - 5);
		if (*slot == NULL)
			goto out;
		p += len + 1;
	}
	if (path == NULL)
		goto out;
	slash = strrchr(path, '/');
	part.source.fd = fd;
	part.type = type;
	part.filename = name ? name : slash ? slash + 1 : path;
	rc = smtpc_mime_attach(c->m, &part);
out:
	free(type);
	free(name);
	free(path);
	return rc;
}

/* --from and --to as header addresses: "Name <addr>" or "addr". */
static int add_address(struct cli_compose *c, const char *value, int from)
{
	smtpc_address_list *list = NULL;
	size_t skipped = 0;
	int rc = smtpc_parse_addresses(value, strlen(value), &list, &skipped);

	if (rc == 0 && (list->n != 1 || skipped != 0))
		rc = SMTPC_EINVAL;
	if (rc == 0)
		rc = from ? smtpc_mime_set_from(c->m, &list->items[0])
		          : smtpc_mime_add_to(c->m, &list->items[0]);
	smtpc_address_list_free(list);
	return rc;
}

/* --header 'Name: value': the blanks after the colon are not part of the value. */
static int add_header(struct cli_compose *c, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char *name;
	int rc;

	if (colon == NULL)
		return SMTPC_EINVAL;
	name = strndup(spec, (size_t)(colon - spec));
	if (name == NULL)
		return SMTPC_ENOMEM;
	colon++;
	colon += strspn(colon, " \t");
	rc = smtpc_mime_add_header(c->m, name, colon);
	free(name);
	return rc;
}

static int add_headers(struct cli_compose *c, const struct cli_options *o, const char **what)
{
	int rc = 0;
	size_t i;

	*what = "--from";
	if (o->from == NULL || o->from[0] == '\0')
		return SMTPC_EINVAL; /* a built message needs From: not the null sender */
	rc = add_address(c, o->from, 1);
	for (i = 0; rc == 0 && i < o->nto; i++) {
		*what = o->to[i];
		rc = add_address(c, o->to[i], 0);
	}
	*what = "--subject";
	if (rc == 0 && o->subject != NULL)
		rc = smtpc_mime_set_subject(c->m, o->subject);
	for (i = 0; rc == 0 && i < o->nheaders; i++) {
		*what = o->headers[i];
		rc = add_header(c, o->headers[i]);
	}
	return rc;
}

static int add_bodies(struct cli_compose *c, const struct cli_options *o, const char **what)
{
	int rc = 0;
	size_t i;

	*what = o->text_file;
	if (c->text != NULL)
		rc = smtpc_mime_set_text(c->m, c->text, c->text_len);
	*what = o->html_file;
	if (rc == 0 && c->html != NULL)
		rc = smtpc_mime_set_html(c->m, c->html, c->html_len);
	for (i = 0; rc == 0 && i < o->nattach; i++) {
		*what = o->attach[i];
		rc = attach_one(c, o->attach[i], c->fds[i]);
	}
	return rc;
}

/*
 * The builder's last step (the source, unless a step failed already, named by what); reports
 * a failure. Returns 0, EX_OSERR or EX_DATAERR.
 */
static int finish(struct cli_compose *c, int rc, const char *what, smtpc_source *src)
{
	if (rc == 0) {
		what = "the message";
		rc = smtpc_mime_source(c->m, src);
	}
	if (rc == SMTPC_ENOMEM)
		return EX_OSERR;
	if (rc != 0) {
		fputs("smtpc: cannot build the message: ", stderr);
		cli_put_str(stderr, what ? what : "");
		fputs(": ", stderr);
		cli_put_str(stderr, smtpc_mime_error(c->m)[0] ? smtpc_mime_error(c->m)
		                                              : "not a valid value");
		fputc('\n', stderr);
		return EX_DATAERR;
	}
	return 0;
}

int cli_compose_build(struct cli_compose *c, const struct cli_options *o, smtpc *s, int utf8,
                      smtpc_source *src)
{
	const char *what = "";
	int rc;

	c->m = smtpc_mime_new();
	if (c->m == NULL)
		return EX_OSERR;
	/* 8bit only to a server that takes it (RFC 6152); quoted-printable or base64 otherwise. */
	rc = smtpc_mime_set_8bit(c->m, smtpc_has_extn(s, "8BITMIME"));
	if (rc == 0)
		rc = smtpc_mime_set_utf8(c->m, utf8);
	if (rc == 0)
		rc = add_headers(c, o, &what);
	if (rc == 0)
		rc = add_bodies(c, o, &what);
	return finish(c, rc, what, src);
}

int cli_compose_parts(struct cli_compose *c, const struct cli_options *o, smtpc_source *src)
{
	const char *what = "the message";
	size_t i;
	int rc;

	c->m = smtpc_mime_new();
	if (c->m == NULL)
		return EX_OSERR;
	/* The builder wants a From; its header block is not sent (cli/attach.c keeps the parts). */
	rc = add_address(c, "smtpc@attach.invalid", 1);
	for (i = 0; rc == 0 && i < o->nattach; i++) {
		what = o->attach[i];
		rc = attach_one(c, o->attach[i], c->fds[i]);
	}
	return finish(c, rc, what, src);
}

void cli_compose_close(struct cli_compose *c)
{
	size_t i;

	smtpc_mime_free(c->m);
	for (i = 0; i < c->nfds; i++) {
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	}
	free(c->fds);
	free(c->text);
	free(c->html);
	memset(c, 0, sizeof(*c));
}
