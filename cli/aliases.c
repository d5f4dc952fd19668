/*
 * aliases.c - the sendmail mode's aliases file (aliases.h). The format and
 * the lookup are msmtp's: one "name: address, address" per line, names
 * compared as they are written, the entry "default" for names the file does
 * not list, targets without '@' looked up again.
 */
#include "aliases.h"

#include "config.h"
#include "exitcodes.h"
#include "identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIASES_MAX   (1024 * 1024)
#define ALIASES_DEPTH 16 /* msmtp's bound on aliases of aliases */

struct alias {
	const char *name;
	const char **target;
	size_t ntargets;
};

struct aliases {
	const char *path;
	char *text;
	struct alias *alias;
	size_t nalias;
	char **out; /* the recipients being built */
	size_t nout;
};

static int out_of_memory(void)
{
	fputs("smtpc: out of memory\n", stderr);
	return EX_OSERR;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static const struct alias *find(const struct aliases *a, const char *name)
{
	for (size_t k = 0; k < a->nalias; k++) {
		if (strcmp(a->alias[k].name, name) == 0)
			return &a->alias[k];
	}
	return NULL;
}

/* One "name: target, target" line (the comment already cut off, not blank). */
static int parse_line(struct aliases *a, char *line, int lineno)
{
	char *colon = strchr(line, ':'), *name, *p;
	struct alias *grown, *al;

	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		return cli_config_error(a->path, lineno, "expected one ':' (name: address, ...)",
		                        NULL);
	*colon = '\0';
	name = trim(line);
	if (*name == '\0' || strchr(name, '@') != NULL)
		return cli_config_error(a->path, lineno, "invalid alias name", name);
	if (find(a, name) != NULL)
		return cli_config_error(a->path, lineno, "alias given twice:", name);
	grown = realloc(a->alias, (a->nalias + 1) * sizeof(*grown));
	if (grown == NULL)
		return out_of_memory();
	a->alias = grown;
	al = &a->alias[a->nalias++];
	memset(al, 0, sizeof(*al));
	al->name = name;
	for (p = colon + 1; p != NULL;) {
		char *next = strchr(p, ','), *t;
		const char **more;

		if (next != NULL)
			*next++ = '\0';
		t = trim(p);
		if (*t == '\0')
			return cli_config_error(a->path, lineno, "empty address for", name);
		more = realloc(al->target, (al->ntargets + 1) * sizeof(*more));
		if (more == NULL)
			return out_of_memory();
		al->target = more;
		al->target[al->ntargets++] = t;
		p = next;
	}
	return 0;
}

static int load(struct aliases *a)
{
	struct stat st;
	char *line, *next;
	int err = cli_config_read_file(a->path, ALIASES_MAX, &a->text, &st), lineno = 0;

	if (err == ENOMEM)
		return out_of_memory();
	if (err != 0)
		return cli_config_error(a->path, 0,
		                        err == EFBIG    ? "larger than 1 MiB"
		                        : err == EINVAL ? "holds a NUL byte"
		                                        : strerror(err),
		                        NULL);
	for (line = a->text; line != NULL && *line; line = next) {
		char *hash;
		int ex;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		if (*trim(line) == '\0')
			continue;
		ex = parse_line(a, line, lineno);
		if (ex != 0)
			return ex;
	}
	return 0;
}

static int emit(struct aliases *a, const char *addr)
{
	char **grown = realloc(a->out, (a->nout + 1) * sizeof(*grown));

	if (grown == NULL)
		return out_of_memory();
	a->out = grown;
	a->out[a->nout] = strdup(addr);
	if (a->out[a->nout] == NULL)
		return out_of_memory();
	a->nout++;
	return 0;
}

/* The addresses of a local name: its entry, else "default", else the name itself. */
static int expand(struct aliases *a, const char *name, const char *as_given, int depth)
{
	const struct alias *al = find(a, name);

	if (depth > ALIASES_DEPTH)
		return cli_config_error(a->path, 0, "aliases nested too deep (a loop?) for", name);
	if (al == NULL)
		al = find(a, "default");
	if (al == NULL)
		return emit(a, as_given);
	for (size_t k = 0; k < al->ntargets; k++) {
		const char *t = al->target[k];
		int ex = strchr(t, '@') != NULL ? emit(a, t) : expand(a, t, t, depth + 1);

		if (ex != 0)
			return ex;
	}
	return 0;
}

static void free_list(char **list, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(list[k]);
	free(list);
}

int cli_aliases_expand(struct cli_options *o)
{
	struct aliases a = {o->aliases, NULL, NULL, 0, NULL, 0};
	size_t k;
	int ex = 0;

	for (k = 0; k < o->nto && !cli_is_bare(o->to[k]); k++)
		;
	if (o->aliases == NULL || k == o->nto)
		return 0;
	ex = load(&a);
	for (k = 0; ex == 0 && k < o->nto; k++) {
		char *bare = cli_is_bare(o->to[k]) ? cli_envelope_address(o->to[k]) : NULL;

		ex = bare != NULL ? expand(&a, bare, o->to[k], 0) : emit(&a, o->to[k]);
		free(bare);
	}
	if (ex == 0) {
		free_list(o->to, o->nto);
		o->to = a.out;
		o->nto = a.nout;
	} else {
		free_list(a.out, a.nout);
	}
	for (k = 0; k < a.nalias; k++)
		free(a.alias[k].target);
	free(a.alias);
	free(a.text);
	return ex;
}
