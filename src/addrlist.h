/*
 * addrlist.h - RFC 5322 address lists (smtpc_parse_addresses), with where
 * the first element that did not parse is, for callers that refuse it.
 */
#ifndef SMTPC_ADDRLIST_H
#define SMTPC_ADDRLIST_H

#include <stddef.h>

#include "smtpc.h"

typedef struct smtpc__span {
	size_t off;
	size_t len;
} smtpc__span;

/**
 * smtpc_parse_addresses(); when first_bad is not NULL and an element was
 * skipped, *first_bad is where the first one is in value (from its start up
 * to the separator after it, blanks included), else {0, 0}.
 */
int smtpc__parse_addresses(const char *value, size_t len, smtpc_address_list **out, size_t *skipped,
                           smtpc__span *first_bad);

#endif
