/*
 * consumer.c - a program built against an installed libsmtpc, as a user builds one: with
 * find_package(smtpc) (CMakeLists.txt here) or with pkg-config (tests/install/consumer.sh).
 *
 * usage: consumer PORT
 * Checks that smtpc.h is the version the package or smtpc.pc announced (EXPECTED_VERSION,
 * given at compile time), then connects to 127.0.0.1:PORT and says EHLO. Prints
 * "smtpc VERSION: 250, CHUNKING yes|no" and exits 0; on an error, prints the error's kind
 * (smtplib's name) and message and exits 1; exits 2 on a version mismatch or a usage error.
 */
#include <smtpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EXPECTED_VERSION
#error "compile with -DEXPECTED_VERSION=\"x.y.z\""
#endif

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: consumer PORT\n");
		return 2;
	}
	if (strcmp(SMTPC_VERSION_STRING, EXPECTED_VERSION) != 0) {
		fprintf(stderr, "smtpc.h is %s, the package says %s\n", SMTPC_VERSION_STRING,
		        EXPECTED_VERSION);
		return 2;
	}

	smtpc *s = smtpc_new();
	smtpc_reply reply;
	if (s == NULL)
		return 1;
	smtpc_set_timeout(s, 10000);
	if (smtpc_connect(s, "127.0.0.1", (int)strtol(argv[1], NULL, 10), NULL) != 0 ||
	    smtpc_ehlo(s, NULL, &reply) != 0) {
		const smtpc_error *e = smtpc_last_error(s);
		printf("%s: %s\n", smtpc_error_name(e->kind), e->message);
		smtpc_free(s);
		return 1;
	}
	printf("smtpc %s: %d, CHUNKING %s\n", SMTPC_VERSION_STRING, reply.code,
	       smtpc_has_extn(s, "CHUNKING") ? "yes" : "no");
	smtpc_quit(s, NULL);
	smtpc_free(s);
	return 0;
}
