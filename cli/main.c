/*
 * main.c - smtpc, the command-line client of libsmtpc.
 *
 * Built on the public header smtpc.h alone. The manual is docs/CLI.md.
 */
#include "args.h"
#include "commands.h"
#include "exitcodes.h"
#include "smtpc.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static int run(const struct cli_options *o)
{
	switch (o->command) {
	case CLI_HELP:
		cli_print_help(stdout);
		return EX_OK;
	case CLI_VERSION:
		printf("smtpc %s\n", SMTPC_VERSION_STRING);
		return EX_OK;
	case CLI_SEND:
		return cli_send(o);
	case CLI_PROBE:
		return cli_probe(o);
	case CLI_NONE:
	default:
		return EX_SOFTWARE;
	}
}

/*
 * A report that cannot be written is an error, but it never changes the
 * outcome of a send: a message that went out must not look failed (a
 * retry would send it twice).
 */
static int check_output(const struct cli_options *o, int ex)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return ex;
	fputs("smtpc: cannot write to standard output\n", stderr);
	if (o->command == CLI_SEND || ex != EX_OK)
		return ex;
	return EX_IOERR;
}

/* 1 when the program was invoked as "sendmail" (a symlink named so). */
static int invoked_as_sendmail(const char *argv0)
{
	const char *base;

	if (argv0 == NULL)
		return 0;
	base = strrchr(argv0, '/');
	return strcmp(base ? base + 1 : argv0, "sendmail") == 0;
}

int main(int argc, char **argv)
{
	struct cli_options o = {0};
	int ex;

	/* A closed standard output must not kill us before the exit status. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 0 && invoked_as_sendmail(argv[0]))
		return cli_sendmail(argc, argv);
	ex = cli_parse_args(argc, argv, &o);
	if (ex == EX_OK)
		ex = check_output(&o, run(&o));
	cli_options_free(&o);
	return ex;
}
