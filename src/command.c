/*
 * command.c - the command writer (RFC 5321 4.1): the only place where a
 * command line is assembled and CRLF appended. Every argument is checked
 * here, so a CR, LF, NUL or other control character in caller input can
 * never reach the wire (docs/RULES.md I1-I3).
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>

#include "smtpc.h"

int smtpc__arg_check(const char *arg, size_t len, int allow_8bit)
{
	const unsigned char *p = (const unsigned char *)arg;

	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return SMTPC_EINVAL;
		if (p[i] >= 0x80 && !allow_8bit)
			return SMTPC_EINVAL;
	}
	return 0;
}

int smtpc__cmd_build(char **out, size_t *outlen, const char *verb, const char *const *args,
                     size_t nargs, int allow_8bit)
{
	size_t vlen = strlen(verb);
	size_t total = vlen + 2;
	int rc;

	if (vlen == 0)
		return SMTPC_EINVAL;
	rc = smtpc__arg_check(verb, vlen, 0);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < nargs; i++) {
		size_t alen;

		if (args[i] == NULL || args[i][0] == '\0')
			continue;
		alen = strlen(args[i]);
		rc = smtpc__arg_check(args[i], alen, allow_8bit);
		if (rc != 0)
			return rc;
		if (alen > SMTPC__MAX_CMDLINE || total + 1 + alen > SMTPC__MAX_CMDLINE)
			return SMTPC_EINVAL;
		total += 1 + alen;
	}

	char *line = malloc(total + 1);
	size_t pos = 0;

	if (line == NULL)
		return SMTPC_ENOMEM;
	memcpy(line, verb, vlen);
	pos = vlen;
	for (size_t i = 0; i < nargs; i++) {
		size_t alen;

		if (args[i] == NULL || args[i][0] == '\0')
			continue;
		alen = strlen(args[i]);
		line[pos++] = ' ';
		memcpy(line + pos, args[i], alen);
		pos += alen;
	}
	line[pos++] = '\r';
	line[pos++] = '\n';
	line[pos] = '\0';
	*out = line;
	*outlen = pos;
	return 0;
}
