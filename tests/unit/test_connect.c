/*
 * Unit tests of smtpc_connect(): the forms of the host argument, default
 * ports, Unix sockets, and the timeout that bounds a whole reply (not one
 * read). A small server thread on loopback plays the other side.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "smtpc.h"

enum mode { GREET, SILENT, TRICKLE };

typedef struct server {
	int lfd;
	int port;
	enum mode mode;
	pthread_t thread;
} server;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void *serve(void *arg)
{
	server *sv = arg;
	int fd = accept(sv->lfd, NULL, NULL);
	char buf[256];

	if (fd < 0)
		return NULL;
	if (sv->mode == GREET) {
		const char *g = "220 test ready\r\n";

		(void)!write(fd, g, strlen(g));
	} else if (sv->mode == TRICKLE) {
		/* One byte every 100 ms: each read is quick, the reply is not. */
		const char *g = "220 a slow greeting that takes seconds\r\n";

		for (size_t i = 0; i < strlen(g); i++) {
			if (send(fd, g + i, 1, MSG_NOSIGNAL) != 1)
				break;
			sleep_ms(100);
		}
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

static int start_tcp(server *sv, int family, int port, enum mode mode)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int one = 1;

	sv->mode = mode;
	sv->lfd = socket(family, SOCK_STREAM, 0);
	if (sv->lfd < 0)
		return -1;
	setsockopt(sv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	if (bind(sv->lfd, (struct sockaddr *)&ss, len) != 0 || listen(sv->lfd, 4) != 0) {
		close(sv->lfd);
		return -1;
	}
	len = sizeof(ss);
	getsockname(sv->lfd, (struct sockaddr *)&ss, &len);
	sv->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                   : ((struct sockaddr_in6 *)&ss)->sin6_port);
	pthread_create(&sv->thread, NULL, serve, sv);
	return 0;
}

static void stop(server *sv, smtpc *s)
{
	smtpc_free(s);
	pthread_join(sv->thread, NULL);
	close(sv->lfd);
}

static smtpc *client(void)
{
	smtpc *s = smtpc_new();

	assert_non_null(s);
	assert_int_equal(smtpc_set_local_hostname(s, "client.example"), 0);
	assert_int_equal(smtpc_set_timeout(s, 5000), 0);
	return s;
}

/* Connects with the host string prefix + port + suffix ("%" in form = the port). */
static void connect_form(int family, const char *form, int pass_port)
{
	server sv;
	char host[128];
	smtpc_reply r;
	smtpc *s;

	if (start_tcp(&sv, family, 0, GREET) != 0) {
		print_message("skipped: no %s loopback\n", family == AF_INET6 ? "IPv6" : "IPv4");
		return;
	}
	const char *pct = strchr(form, '%');

	if (pct == NULL)
		snprintf(host, sizeof(host), "%s", form);
	else
		snprintf(host, sizeof(host), "%.*s%d", (int)(pct - form), form, sv.port);
	s = client();
	assert_int_equal(smtpc_connect(s, host, pass_port ? sv.port : 0, &r), 0);
	assert_int_equal(r.code, 220);
	assert_string_equal(r.text, "test ready");
	assert_true(smtpc_is_connected(s));
	stop(&sv, s);
}

static void test_host_forms(void **state)
{
	(void)state;
	connect_form(AF_INET, "127.0.0.1", 1);
	connect_form(AF_INET, "127.0.0.1:%", 0);
	connect_form(AF_INET, "[127.0.0.1]:%", 0);
	connect_form(AF_INET, "localhost:%", 0);
	connect_form(AF_INET6, "[::1]:%", 0);
	connect_form(AF_INET6, "[IPv6:::1]:%", 0);
	connect_form(AF_INET6, "::1", 1);
	connect_form(AF_INET6, "[::1]", 1);
}

static void test_bad_hosts(void **state)
{
	static const struct {
		const char *host;
		int port;
	} bad[] = {
	    {"", 25},
	    {"127.0.0.1:abc", 0},
	    {"127.0.0.1:0", 0},
	    {"127.0.0.1:70000", 0},
	    {"127.0.0.1:", 0},
	    {"[::1", 0},
	    {"[::1]x", 0},
	    {"[::1]:", 0},
	    {"a:1", 2},
	    {"127.0.0.1", -1},
	    {"127.0.0.1", 65536},
	    {"a\r\nb", 25},
	    {"127.0.0.1:+25", 0},
	    {"127.0.0.1: 25", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtpc *s = client();

		assert_int_equal(smtpc_connect(s, bad[i].host, bad[i].port, NULL), SMTPC_EINVAL);
		assert_int_equal(smtpc_last_error(s)->kind, SMTPC_EINVAL);
		assert_false(smtpc_is_connected(s));
		smtpc_free(s);
	}
	smtpc *s = client();

	assert_int_equal(smtpc_connect(s, NULL, 25, NULL), SMTPC_EINVAL);
	assert_int_equal(smtpc_set_timeout(s, 0), SMTPC_EINVAL);
	assert_int_equal(smtpc_set_timeout(s, -2), SMTPC_EINVAL);
	assert_int_equal(smtpc_set_local_hostname(s, "bad\r\nname"), SMTPC_EINVAL);
	assert_int_equal(smtpc_set_local_hostname(s, "bad name"), SMTPC_EINVAL);
	assert_int_equal(smtpc_set_protocol(s, (smtpc_protocol)7), SMTPC_EINVAL);
	smtpc_free(s);
}

static void test_refused(void **state)
{
	server sv;
	smtpc *s = client();
	int port;

	(void)state;
	/* A port that was just free: nothing listens there any more. */
	assert_int_equal(start_tcp(&sv, AF_INET, 0, SILENT), 0);
	port = sv.port;
	shutdown(sv.lfd, SHUT_RDWR);
	close(sv.lfd);
	pthread_cancel(sv.thread);
	pthread_join(sv.thread, NULL);
	assert_int_equal(smtpc_connect(s, "127.0.0.1", port, NULL), SMTPC_ECONNECT);
	assert_int_equal(smtpc_last_error(s)->os_error, ECONNREFUSED);
	smtpc_free(s);
}

static void test_unix_socket(void **state)
{
	char dir[] = "/tmp/smtpc-unit-XXXXXX";
	char path[128];
	struct sockaddr_un sun = {0};
	server sv;
	smtpc_reply r;
	smtpc *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lmtp.sock", dir);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	sv.mode = GREET;
	sv.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(sv.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(sv.lfd, 4), 0);
	pthread_create(&sv.thread, NULL, serve, &sv);
	s = client();
	assert_int_equal(smtpc_set_protocol(s, SMTPC_PROTO_LMTP), 0);
	assert_int_equal(smtpc_connect(s, path, 0, &r), 0);
	assert_int_equal(r.code, 220);
	stop(&sv, s);
	unlink(path);
	rmdir(dir);

	s = client();
	assert_int_equal(smtpc_connect(s, "/nonexistent/smtpc.sock", 0, NULL), SMTPC_ECONNECT);
	smtpc_free(s);
}

static void test_lmtp_default_port(void **state)
{
	server sv;
	smtpc *s;

	(void)state;
	if (start_tcp(&sv, AF_INET, SMTPC_LMTP_PORT, GREET) != 0) {
		print_message("skipped: port 2003 is busy\n");
		return;
	}
	s = client();
	assert_int_equal(smtpc_set_protocol(s, SMTPC_PROTO_LMTP), 0);
	assert_int_equal(smtpc_connect(s, "127.0.0.1", 0, NULL), 0);
	stop(&sv, s);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void timed_greeting(enum mode mode)
{
	server sv;
	smtpc *s = client();
	int64_t t0;

	assert_int_equal(start_tcp(&sv, AF_INET, 0, mode), 0);
	assert_int_equal(smtpc_set_timeout(s, 700), 0);
	t0 = now_ms();
	assert_int_equal(smtpc_connect(s, "127.0.0.1", sv.port, NULL), SMTPC_ETIMEOUT);
	/* Generous bound: the point is that it does not wait for the whole trickle. */
	assert_true(now_ms() - t0 < 3000);
	assert_false(smtpc_is_connected(s));
	stop(&sv, s);
}

static void test_timeout_silent(void **state)
{
	(void)state;
	timed_greeting(SILENT);
}

static void test_timeout_is_per_reply(void **state)
{
	(void)state;
	timed_greeting(TRICKLE);
}

static void test_local_hostname(void **state)
{
	server sv;
	smtpc *s = smtpc_new();
	const char *name;

	(void)state;
	assert_int_equal(start_tcp(&sv, AF_INET, 0, GREET), 0);
	assert_int_equal(smtpc_connect(s, "127.0.0.1", sv.port, NULL), 0);
	name = smtpc_local_hostname(s);
	/* A fully qualified name, else an address literal (RFC 5321 4.1.4). */
	assert_true(strchr(name, '.') != NULL || name[0] == '[');
	assert_null(strpbrk(name, " \r\n"));
	stop(&sv, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_forms),
	    cmocka_unit_test(test_bad_hosts),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_unix_socket),
	    cmocka_unit_test(test_lmtp_default_port),
	    cmocka_unit_test(test_timeout_silent),
	    cmocka_unit_test(test_timeout_is_per_reply),
	    cmocka_unit_test(test_local_hostname),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
