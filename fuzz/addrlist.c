/*
 * addrlist.c - fuzz target for the RFC 5322 address-list parser
 * (smtpc_parse_addresses, src/addrlist.c).
 *
 * Input: a header field value, passed as (pointer, length) in a block of
 * exactly that size (no terminating NUL to lean on). Invariants: 0 or
 * SMTPC_ENOMEM; every name and address is a string without CR, LF or
 * other C0 control bytes that could end a command line (folds are
 * unfolded; CR/LF/NUL never reach an output string: docs/RULES.md I5);
 * group names likewise; the skipped count is bounded by the input.
 */
#include <string.h>

#include "fuzz.h"
#include "smtpc.h"

static void check_string(const char *s)
{
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(strchr(s, '\r') == NULL);
	FUZZ_CHECK(strchr(s, '\n') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = fuzz_dup(data, size);
	smtpc_address_list *list = NULL;
	size_t skipped = (size_t)-1;
	size_t i;
	int rc;

	if (value == NULL)
		return 0;
	rc = smtpc_parse_addresses(value, size, &list, &skipped);
	FUZZ_CHECK(rc == 0 || rc == SMTPC_ENOMEM);
	if (rc == 0) {
		FUZZ_CHECK(list != NULL);
		FUZZ_CHECK(skipped <= size);
		FUZZ_CHECK(list->n <= size);
		FUZZ_CHECK(list->n == 0 || list->items != NULL);
		for (i = 0; i < list->n; i++) {
			const smtpc_address *a = &list->items[i];

			check_string(a->name);
			check_string(a->address);
			if (a->group != NULL)
				check_string(a->group);
		}
		smtpc_address_list_free(list);
	}
	/* The same without the skipped counter. */
	list = NULL;
	rc = smtpc_parse_addresses(value, size, &list, NULL);
	FUZZ_CHECK(rc == 0 || rc == SMTPC_ENOMEM);
	smtpc_address_list_free(list);
	free(value);
	return 0;
}
