/*
 * secret.c - passwords and tokens: from a file, the environment, a command
 * or a prompt with echo off; wiped after use (docs/RULES.md A5).
 *
 * Secrets are read with read(2) into buffers of our own (no stdio buffer
 * keeps a copy), and every buffer that held one is wiped before it is freed.
 */
#include "secret.h"

#include "exitcodes.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

void cli_secret_free(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

void cli_secret_no_core(void)
{
	struct rlimit none = {0, 0};

	setrlimit(RLIMIT_CORE, &none);
}

/* "smtpc: <what>: <why>" with what escaped (a file name or variable name, never a secret). */
static int config_error(const char *what, const char *subject, const char *why)
{
	fprintf(stderr, "smtpc: %s", what);
	if (subject) {
		fputs(" '", stderr);
		cli_put_str(stderr, subject);
		putc('\'', stderr);
	}
	fprintf(stderr, ": %s\n", why);
	return EX_CONFIG;
}

static int out_of_memory(void)
{
	fputs("smtpc: out of memory\n", stderr);
	return EX_OSERR;
}

/* What reading a first line found. */
struct first_line {
	char *buf;    /* CLI_SECRET_MAX + 1 bytes */
	size_t len;   /* bytes of the first line, without its LF */
	int complete; /* an LF or the end of the input ended it */
	int err;      /* errno of a failed read, or 0 */
};

/* Reads and wipes whatever is left, so that a writer never blocks on a full pipe. */
static void drain(int fd)
{
	char scratch[4096];
	ssize_t n;

	do {
		n = read(fd, scratch, sizeof(scratch));
	} while (n > 0 || (n < 0 && errno == EINTR));
	explicit_bzero(scratch, sizeof(scratch));
}

/*
 * Reads the first line of fd into fl->buf. With drain_rest the input is
 * read to its end (a command's output); otherwise reading stops at the LF.
 */
static int read_first_line(int fd, int drain_rest, struct first_line *fl)
{
	size_t used = 0;

	memset(fl, 0, sizeof(*fl));
	fl->buf = malloc(CLI_SECRET_MAX + 1);
	if (fl->buf == NULL)
		return EX_OSERR;
	for (;;) {
		char *lf = memchr(fl->buf, '\n', used);
		ssize_t n;

		if (lf != NULL) {
			fl->len = (size_t)(lf - fl->buf);
			fl->complete = 1;
			break;
		}
		if (used == CLI_SECRET_MAX + 1) {
			fl->len = used; /* too long: complete stays 0 */
			break;
		}
		n = read(fd, fl->buf + used, CLI_SECRET_MAX + 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fl->err = errno;
			break;
		}
		if (n == 0) {
			fl->len = used;
			fl->complete = 1;
			break;
		}
		used += (size_t)n;
	}
	if (drain_rest && fl->err == 0)
		drain(fd);
	return 0;
}

static void first_line_free(struct first_line *fl)
{
	if (fl->buf != NULL) {
		explicit_bzero(fl->buf, CLI_SECRET_MAX + 1);
		free(fl->buf);
	}
	memset(fl, 0, sizeof(*fl));
}

/*
 * The first line as a secret: trailing CRs removed, not empty, no NUL.
 * what/subject name the source in error messages.
 */
static int take_line(struct first_line *fl, const char *what, const char *subject, char **out)
{
	size_t len = fl->len;

	*out = NULL;
	if (fl->err != 0)
		return config_error(what, subject, strerror(fl->err));
	if (!fl->complete)
		return config_error(what, subject, "the first line is too long (over 64 KiB)");
	while (len > 0 && fl->buf[len - 1] == '\r')
		len--;
	if (len == 0)
		return config_error(what, subject, "the first line is empty");
	if (memchr(fl->buf, '\0', len) != NULL)
		return config_error(what, subject, "the first line holds a NUL byte");
	*out = malloc(len + 1);
	if (*out == NULL)
		return out_of_memory();
	memcpy(*out, fl->buf, len);
	(*out)[len] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- file */

/*
 * A password file named by the user's own configuration must be private:
 * owned by the user and of mode 0600 or less, or it is refused (the
 * configuration is read on every run, where nobody would see a warning).
 * Given on the command line, a file others can read gets a warning.
 */
static int password_from_file(const char *path, int private_only, char **password)
{
	struct first_line fl;
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return config_error("cannot read --password-file", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = errno;
		close(fd);
		return config_error("cannot read --password-file", path, strerror(rc));
	}
	if (private_only && (st.st_uid != geteuid() || (st.st_mode & 077))) {
		close(fd);
		return config_error("refused password-file", path,
		                    st.st_uid != geteuid()
		                        ? "not owned by the user running smtpc"
		                        : "readable or writable by group or others (chmod 600 it)");
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH))) {
		fputs("smtpc: warning: --password-file '", stderr);
		cli_put_str(stderr, path);
		fputs("' is readable by group or others (chmod 600 it)\n", stderr);
	}
	rc = read_first_line(fd, 0, &fl);
	close(fd);
	if (rc != 0)
		return out_of_memory();
	rc = take_line(&fl, "cannot read --password-file", path, password);
	first_line_free(&fl);
	return rc;
}

/* ---------------------------------------------------------------- environment */

static int password_from_env(const char *var, char **password)
{
	const char *value = getenv(var);

	*password = NULL;
	if (value == NULL)
		return config_error("--password-env", var, "the variable is not set");
	if (*value == '\0')
		return config_error("--password-env", var, "the variable is empty");
	*password = strdup(value);
	return *password ? 0 : out_of_memory();
}

/* ---------------------------------------------------------------- command */

/* A descriptor at 3 or above, close-on-exec (so that it is never stdout by accident). */
static int high_cloexec(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int saved = errno;

	close(fd);
	errno = saved;
	return copy;
}

static int spawn_shell(const char *cmd, int out_fd, pid_t *pid)
{
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dflt;
	int rc;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return ENOMEM;
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return ENOMEM;
	}
	/* smtpc ignores SIGPIPE; the command gets the default back. */
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	rc = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&attr, &dflt);
	if (rc == 0)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	if (rc == 0)
		rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

int cli_command_first_line(const char *cmd, const char *what, char **line)
{
	struct first_line fl;
	char why[96];
	int fds[2], status = 0, rc;
	pid_t pid;

	*line = NULL;
	if (pipe(fds) != 0)
		return config_error(what, NULL, strerror(errno));
	fds[0] = high_cloexec(fds[0]);
	fds[1] = high_cloexec(fds[1]);
	if (fds[0] < 0 || fds[1] < 0) {
		rc = errno;
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return config_error(what, NULL, strerror(rc));
	}
	rc = spawn_shell(cmd, fds[1], &pid);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		snprintf(why, sizeof(why), "cannot run /bin/sh: %s", strerror(rc));
		return config_error(what, NULL, why);
	}
	rc = read_first_line(fds[0], 1, &fl);
	close(fds[0]);
	if (wait_child(pid, &status) != 0) {
		first_line_free(&fl);
		return config_error(what, NULL, strerror(errno));
	}
	if (rc != 0) {
		first_line_free(&fl);
		return out_of_memory();
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		first_line_free(&fl);
		snprintf(why, sizeof(why), "the command failed (exit status %d)",
		         WEXITSTATUS(status));
		return config_error(what, NULL, why);
	}
	if (WIFSIGNALED(status)) {
		first_line_free(&fl);
		snprintf(why, sizeof(why), "the command was killed by signal %d", WTERMSIG(status));
		return config_error(what, NULL, why);
	}
	rc = take_line(&fl, what, NULL, line);
	first_line_free(&fl);
	return rc;
}

/* ---------------------------------------------------------------- prompt */

static volatile sig_atomic_t prompt_signal;

static void on_prompt_signal(int sig)
{
	prompt_signal = sig;
}

static const int PROMPT_SIGNALS[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NPROMPT_SIGNALS (sizeof(PROMPT_SIGNALS) / sizeof(PROMPT_SIGNALS[0]))

/* "smtpc: password for <user>: " (the name escaped) to the terminal. */
static void write_prompt(int fd, const char *user)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (m == NULL)
		return;
	fputs("smtpc: password for ", m);
	cli_put_str(m, user);
	fputs(": ", m);
	if (fclose(m) == 0 && write(fd, text, len) < 0) {
		/* no prompt shown: the answer is read anyway */
	}
	free(text);
}

/* Reads one line from the terminal, byte by byte; stops at a signal. */
static int read_tty_line(int fd, struct first_line *fl)
{
	size_t used = 0;

	memset(fl, 0, sizeof(*fl));
	fl->buf = malloc(CLI_SECRET_MAX + 1);
	if (fl->buf == NULL)
		return EX_OSERR;
	while (prompt_signal == 0) {
		ssize_t n;

		if (used == CLI_SECRET_MAX + 1) {
			fl->len = used;
			return 0;
		}
		n = read(fd, fl->buf + used, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fl->err = errno;
			return 0;
		}
		if (n == 0 || fl->buf[used] == '\n')
			break;
		used++;
	}
	fl->len = used;
	fl->complete = 1;
	return 0;
}

static int prompt_password(const char *user, char **password)
{
	struct sigaction sa, old_sa[NPROMPT_SIGNALS];
	struct termios old, quiet;
	struct first_line fl;
	size_t k;
	int fd, rc, sig;

	*password = NULL;
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return config_error("cannot open the terminal", "/dev/tty", strerror(errno));
	if (tcgetattr(fd, &old) != 0) {
		rc = errno;
		close(fd);
		return config_error("cannot read the terminal settings", "/dev/tty", strerror(rc));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prompt_signal; /* no SA_RESTART: read() returns */
	sigemptyset(&sa.sa_mask);
	prompt_signal = 0;
	for (k = 0; k < NPROMPT_SIGNALS; k++)
		sigaction(PROMPT_SIGNALS[k], &sa, &old_sa[k]);
	write_prompt(fd, user);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	rc = read_tty_line(fd, &fl);
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* the newline only keeps the terminal tidy */
	}
	close(fd);
	for (k = 0; k < NPROMPT_SIGNALS; k++)
		sigaction(PROMPT_SIGNALS[k], &old_sa[k], NULL);
	sig = prompt_signal;
	if (rc != 0) {
		first_line_free(&fl);
		return out_of_memory();
	}
	if (sig != 0) {
		first_line_free(&fl);
		raise(sig); /* the terminal is restored: now the signal may act */
		fputs("smtpc: interrupted\n", stderr);
		return EX_CONFIG;
	}
	rc = take_line(&fl, "password from the terminal", NULL, password);
	first_line_free(&fl);
	return rc;
}

/* ---------------------------------------------------------------- sources */

static int message_from_stdin(const struct cli_options *o)
{
	return o->command == CLI_SEND && (o->file == NULL || strcmp(o->file, "-") == 0);
}

int cli_password_check(const struct cli_options *o)
{
	if (o->password_file || o->password_env || o->password_cmd)
		return 0;
	if (isatty(STDIN_FILENO) && !message_from_stdin(o))
		return 0;
	fputs("smtpc: --user needs a password: give --password-file, --password-env or "
	      "--password-cmd (there is no terminal to ask on, or the message is read from "
	      "standard input)\n",
	      stderr);
	return EX_USAGE;
}

int cli_password_get(const struct cli_options *o, char **password)
{
	int rc;

	*password = NULL;
	if (o->password_file)
		return password_from_file(o->password_file, o->password_file_private, password);
	if (o->password_env)
		return password_from_env(o->password_env, password);
	if (o->password_cmd)
		return cli_command_first_line(o->password_cmd, "--password-cmd", password);
	rc = cli_password_check(o);
	return rc != 0 ? rc : prompt_password(o->user, password);
}
