/*
 * identity.c - the default sender and the qualification of bare names
 * (identity.h).
 */
#include "identity.h"

#include "exitcodes.h"
#include "smtpc.h"

#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define HOST_MAX 255

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * A login name that can stand as a local part as it is: a dot-atom of
 * letters, digits and "._-+" (RFC 5322 3.2.3), at most 64 octets (RFC
 * 5321 4.5.3.1.1). Anything else is not guessed at.
 */
static int login_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64 || name[0] == '.' || name[len - 1] == '.' ||
	    strstr(name, "..") != NULL)
		return 0;
	for (const char *p = name; *p; p++) {
		if (!is_alnum(*p) && strchr("._-+", *p) == NULL)
			return 0;
	}
	return 1;
}

/* A host name: letters, digits, hyphens and dots. */
static int host_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > HOST_MAX || name[0] == '.' || name[len - 1] == '.' ||
	    name[0] == '-' || strstr(name, "..") != NULL)
		return 0;
	for (const char *p = name; *p; p++) {
		if (!is_alnum(*p) && *p != '-' && *p != '.')
			return 0;
	}
	return 1;
}

/* The user's login name: of the real user id (as sendmail(8)), else of the terminal. */
static const char *login_name(void)
{
	struct passwd *pw = getpwuid(getuid());
	const char *name;

	if (pw != NULL && pw->pw_name != NULL && login_ok(pw->pw_name))
		return pw->pw_name;
	name = getlogin();
	return name != NULL && login_ok(name) ? name : NULL;
}

/*
 * This host's name into buf (HOST_MAX + 1 bytes): the canonical name of
 * gethostname() when it resolves to one with a dot (fully qualified), else
 * the name itself, as sendmail(8) and msmtp do. Returns 0 or -1.
 */
static int host_name(char *buf)
{
	struct addrinfo hints, *ai = NULL;

	if (gethostname(buf, HOST_MAX + 1) != 0)
		return -1;
	buf[HOST_MAX] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(buf, NULL, &hints, &ai) == 0 && ai != NULL && ai->ai_canonname != NULL &&
	    host_ok(ai->ai_canonname) && strchr(ai->ai_canonname, '.') != NULL)
		snprintf(buf, HOST_MAX + 1, "%s", ai->ai_canonname);
	if (ai != NULL)
		freeaddrinfo(ai);
	return host_ok(buf) ? 0 : -1;
}

static char *join(const char *local, size_t len, const char *domain)
{
	size_t dlen = strlen(domain);
	char *out = malloc(len + 1 + dlen + 1);

	if (out == NULL)
		return NULL;
	memcpy(out, local, len);
	out[len] = '@';
	memcpy(out + len + 1, domain, dlen + 1);
	return out;
}

int cli_default_host(const char *domain, char *buf)
{
	if (domain == NULL)
		return host_name(buf);
	if (!host_ok(domain))
		return -1;
	snprintf(buf, HOST_MAX + 1, "%s", domain);
	return 0;
}

int cli_default_sender(const char *domain, char **out)
{
	const char *login = login_name();
	char host[HOST_MAX + 1];

	*out = NULL;
	if (login == NULL) {
		fputs("smtpc: no sender: the login name cannot be used as an address; give -f "
		      "SENDER or 'from' in the configuration\n",
		      stderr);
		return EX_DATAERR;
	}
	if (domain == NULL && host_name(host) != 0) {
		fputs("smtpc: no sender: this host has no usable name; give -f SENDER, or "
		      "'from' or 'domain' in the configuration\n",
		      stderr);
		return EX_DATAERR;
	}
	*out = join(login, strlen(login), domain ? domain : host);
	if (*out == NULL) {
		fputs("smtpc: out of memory\n", stderr);
		return EX_OSERR;
	}
	return 0;
}

char *cli_envelope_address(const char *addr)
{
	char *q = smtpc_quoteaddr(addr);
	size_t len;

	if (q == NULL)
		return NULL;
	len = strlen(q);
	if (len >= 2 && q[0] == '<' && q[len - 1] == '>') {
		memmove(q, q + 1, len - 2);
		q[len - 2] = '\0';
	}
	return q;
}

/* 1 when the address has an "@" outside quoted strings. */
static int has_domain(const char *a)
{
	int quoted = 0;

	for (; *a; a++) {
		if (quoted && *a == '\\' && a[1] != '\0')
			a++;
		else if (*a == '"')
			quoted = !quoted;
		else if (!quoted && *a == '@')
			return 1;
	}
	return 0;
}

int cli_is_bare(const char *addr)
{
	char *bare = cli_envelope_address(addr);
	int yes = bare != NULL && *bare != '\0' && !has_domain(bare);

	free(bare);
	return yes;
}

int cli_qualify(const char *addr, const char *domain, char **out)
{
	char *bare;

	*out = NULL;
	if (domain == NULL)
		return 0;
	bare = cli_envelope_address(addr);
	if (bare == NULL)
		return 0; /* not one address: left as it is, for the library to refuse */
	if (*bare != '\0' && !has_domain(bare)) {
		*out = join(bare, strlen(bare), domain);
		if (*out == NULL) {
			free(bare);
			fputs("smtpc: out of memory\n", stderr);
			return EX_OSERR;
		}
	}
	free(bare);
	return 0;
}
