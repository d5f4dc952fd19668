/*
 * args.c - the command line of smtpc, parsed by hand: long options with
 * "--name value" or "--name=value", no abbreviations, options and operands
 * in any order, "--" ends the options.
 */
#include "args.h"

#include "exitcodes.h"
#include "text.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
	OPT_SERVER,
	OPT_FROM,
	OPT_TO,
	OPT_HELO,
	OPT_TIMEOUT,
	OPT_DEBUG,
	OPT_JSON,
	OPT_HELP,
	OPT_VERSION,
};

#define FOR_SEND  1u
#define FOR_PROBE 2u
#define FOR_ALL   (FOR_SEND | FOR_PROBE)

struct opt_spec {
	const char *name;
	char short_name; /* 0: none */
	enum opt_id id;
	int has_value;
	unsigned commands; /* FOR_* */
};

static const struct opt_spec OPTIONS[] = {
    {"server", 0, OPT_SERVER, 1, FOR_ALL},
    {"from", 0, OPT_FROM, 1, FOR_SEND},
    {"to", 0, OPT_TO, 1, FOR_SEND},
    {"helo", 0, OPT_HELO, 1, FOR_ALL},
    {"timeout", 0, OPT_TIMEOUT, 1, FOR_ALL},
    {"debug", 0, OPT_DEBUG, 0, FOR_ALL},
    {"json", 0, OPT_JSON, 0, FOR_ALL},
    {"help", 'h', OPT_HELP, 0, FOR_ALL},
    {"version", 'V', OPT_VERSION, 0, FOR_ALL},
};
#define NOPTIONS (sizeof(OPTIONS) / sizeof(OPTIONS[0]))

struct parser {
	struct cli_options *o;
	unsigned seen;       /* bit (1u << index in OPTIONS) of every option given */
	const char *timeout; /* the --timeout text, to refuse a second one */
	int argc;
	char **argv;
	int i; /* the argument being parsed */
};

void cli_print_synopsis(FILE *f)
{
	fputs("usage: smtpc send --server URL --from ADDR --to ADDR[,ADDR...]... [--helo NAME]\n"
	      "                  [--timeout SEC] [--debug] [--json] [FILE]\n"
	      "       smtpc probe --server URL [--helo NAME] [--timeout SEC] [--debug] [--json]\n"
	      "       smtpc --help | --version\n",
	      f);
}

void cli_print_help(FILE *f)
{
	fputs("smtpc - send a message by SMTP or LMTP, or probe a server.\n\n", f);
	cli_print_synopsis(f);
	fputs(
	    "\n"
	    "commands:\n"
	    "  send             send the message in FILE (or standard input; \"-\" too)\n"
	    "  probe            connect, greet with EHLO (LHLO), list the extensions, QUIT\n"
	    "\n"
	    "options:\n"
	    "  --server URL     smtp://host[:port] (port 25), lmtp://host[:port] (port 2003),\n"
	    "                   lmtp:/socket/path or lmtp:///socket/path; IPv6: smtp://[::1]:2525\n"
	    "  --from ADDR      envelope sender (required for send; --from '' sends <>)\n"
	    "  --to ADDR        envelope recipient; repeat it or give a comma-separated list\n"
	    "  --helo NAME      name sent with EHLO/HELO/LHLO (default: this host's name)\n"
	    "  --timeout SEC    timeout of each step in seconds, fractions allowed (default 60)\n"
	    "  --debug          write the SMTP transcript to standard error\n"
	    "  --json           write one JSON object to standard output instead of text\n"
	    "  -h, --help       this help\n"
	    "  -V, --version    the version\n"
	    "\n"
	    "exit status: 0 every recipient accepted, 64 usage, 65 bad address,\n"
	    "  66 cannot read the message, 68 unknown host, 69 permanent failure (5xx),\n"
	    "  70 internal error, 71 out of memory, 75 temporary failure (4xx, network),\n"
	    "  76 protocol error, 79 outcome unknown (connection lost after the message).\n"
	    "See docs/CLI.md.\n",
	    f);
}

/* "smtpc: <msg>[ '<user>']" and the synopsis: the command line is wrong. */
static int usage_error(const char *msg, const char *user)
{
	fprintf(stderr, "smtpc: %s", msg);
	if (user) {
		fputs(" '", stderr);
		cli_put_str(stderr, user);
		putc('\'', stderr);
	}
	putc('\n', stderr);
	cli_print_synopsis(stderr);
	return EX_USAGE;
}

/* "smtpc: <msg> '<user>': <why>": one line, an option's value is wrong. */
static int value_error(const char *msg, const char *user, const char *why)
{
	fprintf(stderr, "smtpc: %s '", msg);
	cli_put_str(stderr, user);
	fprintf(stderr, "': %s\n", why);
	return EX_USAGE;
}

static int out_of_memory(void)
{
	fputs("smtpc: out of memory\n", stderr);
	return EX_OSERR;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

int cli_parse_timeout(const char *text, int *ms)
{
	long long seconds = 0, frac_ms = 0, total;
	int digits = 0, frac_digits = 0, round_up = 0;
	const char *p = text;

	for (; is_digit((unsigned char)*p); p++, digits++) {
		seconds = seconds * 10 + (*p - '0');
		if (seconds > INT_MAX / 1000 + 1)
			return -1;
	}
	if (*p == '.') {
		for (p++; is_digit((unsigned char)*p); p++, digits++) {
			if (frac_digits < 3) {
				frac_ms = frac_ms * 10 + (*p - '0');
				frac_digits++;
			} else if (*p != '0') {
				round_up = 1; /* below a millisecond: round up */
			}
		}
	}
	if (*p != '\0' || digits == 0)
		return -1;
	for (; frac_digits < 3; frac_digits++)
		frac_ms *= 10;
	total = seconds * 1000 + frac_ms + round_up;
	if (total <= 0 || total > INT_MAX)
		return -1;
	*ms = (int)total;
	return 0;
}

static int push_recipient(struct cli_options *o, const char *p, size_t len)
{
	char **to;
	char *addr;

	if (o->nto >= SIZE_MAX / sizeof(*o->to) - 1)
		return out_of_memory();
	addr = strndup(p, len);
	if (addr == NULL)
		return out_of_memory();
	to = realloc(o->to, (o->nto + 1) * sizeof(*o->to));
	if (to == NULL) {
		free(addr);
		return out_of_memory();
	}
	o->to = to;
	o->to[o->nto++] = addr;
	return 0;
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* One --to value: a comma-separated list; blanks around each address are dropped. */
static int add_recipients(struct cli_options *o, const char *list)
{
	const char *p = list;

	for (;;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		int rc;

		while (p < end && is_blank((unsigned char)*p))
			p++;
		while (end > p && is_blank((unsigned char)end[-1]))
			end--;
		if (p == end)
			return value_error("invalid --to", list, "empty address");
		rc = push_recipient(o, p, (size_t)(end - p));
		if (rc != 0)
			return rc;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static int set_once(const char **slot, const char *value, const char *name)
{
	if (*slot != NULL) {
		fprintf(stderr, "smtpc: --%s given more than once\n", name);
		return EX_USAGE;
	}
	*slot = value;
	return 0;
}

static int apply_option(struct parser *ps, const struct opt_spec *spec, const char *value)
{
	struct cli_options *o = ps->o;

	ps->seen |= 1u << (spec - OPTIONS);
	switch (spec->id) {
	case OPT_SERVER:
		return set_once(&o->server, value, spec->name);
	case OPT_FROM:
		return set_once(&o->from, value, spec->name);
	case OPT_TO:
		return add_recipients(o, value);
	case OPT_HELO:
		if (*value == '\0')
			return value_error("invalid --helo", value, "empty name");
		return set_once(&o->helo, value, spec->name);
	case OPT_TIMEOUT:
		if (set_once(&ps->timeout, value, spec->name) != 0)
			return EX_USAGE;
		if (cli_parse_timeout(value, &o->timeout_ms) != 0)
			return value_error(
			    "invalid --timeout", value,
			    "expected a positive number of seconds (at most 2147483)");
		return 0;
	case OPT_DEBUG:
		o->debug = 1;
		return 0;
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_HELP:
		o->command = CLI_HELP;
		return 0;
	case OPT_VERSION:
		o->command = CLI_VERSION;
		return 0;
	default:
		return usage_error("internal error: unhandled option", spec->name);
	}
}

static const struct opt_spec *find_long(const char *name, size_t len)
{
	size_t k;

	for (k = 0; k < NOPTIONS; k++) {
		if (strlen(OPTIONS[k].name) == len && strncmp(OPTIONS[k].name, name, len) == 0)
			return &OPTIONS[k];
	}
	return NULL;
}

static const struct opt_spec *find_short(const char *arg)
{
	size_t k;

	if (arg[1] == '\0' || arg[2] != '\0')
		return NULL;
	for (k = 0; k < NOPTIONS; k++) {
		if (OPTIONS[k].short_name != 0 && OPTIONS[k].short_name == arg[1])
			return &OPTIONS[k];
	}
	return NULL;
}

/* argv[ps->i] starts with "-"; it may take the next argument as its value. */
static int parse_option(struct parser *ps)
{
	const char *arg = ps->argv[ps->i];
	const char *name = arg + 2, *eq = NULL, *value = NULL;
	const struct opt_spec *spec;

	if (arg[1] == '-') {
		eq = strchr(name, '=');
		spec = find_long(name, eq ? (size_t)(eq - name) : strlen(name));
	} else {
		spec = find_short(arg);
	}
	if (spec == NULL)
		return usage_error("unknown option", arg);
	if (!spec->has_value && eq)
		return usage_error("this option takes no value:", arg);
	if (spec->has_value && eq) {
		value = eq + 1;
	} else if (spec->has_value) {
		if (ps->i + 1 >= ps->argc)
			return usage_error("this option needs a value:", arg);
		value = ps->argv[++ps->i];
	}
	return apply_option(ps, spec, value);
}

static int parse_operand(struct parser *ps, const char *arg)
{
	struct cli_options *o = ps->o;

	if (o->command == CLI_NONE) {
		if (strcmp(arg, "send") == 0)
			o->command = CLI_SEND;
		else if (strcmp(arg, "probe") == 0)
			o->command = CLI_PROBE;
		else
			return usage_error("unknown command", arg);
		return 0;
	}
	if (o->command == CLI_SEND && o->file == NULL) {
		o->file = arg;
		return 0;
	}
	return usage_error("unexpected argument", arg);
}

/* Every option given must belong to the command. */
static int check_options(const struct parser *ps)
{
	unsigned mask = ps->o->command == CLI_SEND ? FOR_SEND : FOR_PROBE;
	size_t k;

	for (k = 0; k < NOPTIONS; k++) {
		if ((ps->seen & (1u << k)) && !(OPTIONS[k].commands & mask)) {
			fprintf(stderr, "smtpc: --%s is not an option of '%s'\n", OPTIONS[k].name,
			        ps->o->command == CLI_SEND ? "send" : "probe");
			cli_print_synopsis(stderr);
			return EX_USAGE;
		}
	}
	return 0;
}

static int finish(const struct parser *ps)
{
	struct cli_options *o = ps->o;
	const char *why = NULL;
	int rc;

	if (o->command == CLI_NONE)
		return usage_error("missing command (send or probe)", NULL);
	rc = check_options(ps);
	if (rc != 0)
		return rc;
	if (o->server == NULL)
		return usage_error("missing --server URL", NULL);
	if (o->command == CLI_SEND && o->from == NULL)
		return usage_error("missing --from ADDR (the envelope sender; --from '' sends <>)",
		                   NULL);
	if (o->command == CLI_SEND && o->nto == 0)
		return usage_error("missing --to ADDR", NULL);
	rc = cli_url_parse(o->server, &o->url, &why);
	if (rc == EX_USAGE)
		return value_error("invalid --server", o->server, why);
	if (rc != 0)
		return out_of_memory();
	return 0;
}

int cli_parse_args(int argc, char **argv, struct cli_options *o)
{
	struct parser ps = {o, 0, NULL, argc, argv, 0};
	int only_operands = 0, rc = 0;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
	for (ps.i = 1; ps.i < argc && rc == 0; ps.i++) {
		const char *arg = argv[ps.i];

		if (!only_operands && strcmp(arg, "--") == 0)
			only_operands = 1;
		else if (!only_operands && arg[0] == '-' && arg[1] != '\0')
			rc = parse_option(&ps);
		else
			rc = parse_operand(&ps, arg);
		if (o->command == CLI_HELP || o->command == CLI_VERSION)
			return rc;
	}
	return rc != 0 ? rc : finish(&ps);
}

void cli_options_free(struct cli_options *o)
{
	size_t k;

	for (k = 0; k < o->nto; k++)
		free(o->to[k]);
	free(o->to);
	cli_url_free(&o->url);
	memset(o, 0, sizeof(*o));
}
