/*
 * caps.c - fuzz target for the EHLO/LHLO capability parser (src/caps.c).
 *
 * Input: the text of a 250 EHLO reply (lines joined by '\n', the first the
 * greeting), as the reply parser hands it over. Invariants: at most
 * SMTPC__CAPS_MAX keywords; each is an RFC 1869 keyword in upper case,
 * listed once, and smtpc__caps_find() finds it (in any case); parameters
 * are one line, without surrounding blanks; AUTH holds distinct mechanisms
 * (at most SMTPC__CAPS_MAX_AUTH) separated by single spaces; SIZE known
 * only when advertised. Parsing twice gives the same list (the second
 * parse clears the first).
 */
#include <string.h>

#include "caps.h"
#include "fuzz.h"

static int is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void check_auth(const char *p)
{
	size_t n = 0;
	const char *w = p;

	if (*p == '\0')
		return;
	FUZZ_CHECK(*p != ' ');
	FUZZ_CHECK(p[strlen(p) - 1] != ' ');
	while (*w != '\0') {
		const char *e = strchr(w, ' ');
		size_t len = e != NULL ? (size_t)(e - w) : strlen(w);
		const char *o = p;
		size_t i;

		FUZZ_CHECK(len > 0);
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)w[i];

			FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			           c == '_');
		}
		/* Each mechanism once (the list is a set). */
		while (o < w) {
			const char *oe = strchr(o, ' ');

			FUZZ_CHECK(!((size_t)(oe - o) == len && memcmp(o, w, len) == 0));
			o = oe + 1;
		}
		n++;
		w += len;
		if (*w == ' ')
			w++;
	}
	FUZZ_CHECK(n <= SMTPC__CAPS_MAX_AUTH);
}

static void check(const smtpc__caps *c)
{
	size_t i, j;

	FUZZ_CHECK(c->n <= SMTPC__CAPS_MAX);
	for (i = 0; i < c->n; i++) {
		const char *kw = c->cap[i].keyword;
		const char *pa = c->cap[i].params;
		size_t len;
		char lower[256];

		FUZZ_CHECK(kw != NULL && pa != NULL);
		len = strlen(kw);
		FUZZ_CHECK(len > 0);
		FUZZ_CHECK(is_alnum((unsigned char)kw[0]));
		for (j = 0; j < len; j++) {
			unsigned char ch = (unsigned char)kw[j];

			FUZZ_CHECK(is_alnum(ch) || ch == '-');
			FUZZ_CHECK(!(ch >= 'a' && ch <= 'z'));
		}
		FUZZ_CHECK(smtpc__caps_find(c, kw) == &c->cap[i]);
		if (len < sizeof(lower)) {
			for (j = 0; j <= len; j++) {
				char ch = kw[j];

				lower[j] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
			}
			FUZZ_CHECK(smtpc__caps_find(c, lower) == &c->cap[i]);
		}
		FUZZ_CHECK(strchr(pa, '\n') == NULL);
		if (*pa != '\0') {
			FUZZ_CHECK(pa[0] != ' ' && pa[0] != '\t');
			FUZZ_CHECK(pa[strlen(pa) - 1] != ' ' && pa[strlen(pa) - 1] != '\t');
		}
		if (strcmp(kw, "AUTH") == 0)
			check_auth(pa);
	}
	if (c->size_known)
		FUZZ_CHECK(smtpc__caps_find(c, "SIZE") != NULL);
	else
		FUZZ_CHECK(c->size_max == 0);
	FUZZ_CHECK(smtpc__caps_find(c, "") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smtpc__caps a, b;
	char *text = fuzz_dup(data, size);
	size_t i;
	int ra, rb;

	if (text == NULL)
		return 0;
	smtpc__caps_init(&a);
	smtpc__caps_init(&b);
	ra = smtpc__caps_parse(&a, text, size);
	FUZZ_CHECK(ra == 0 || ra == SMTPC_ENOMEM);
	if (ra == 0)
		check(&a);
	/* A second parse into a used struct: the first list is forgotten. */
	rb = smtpc__caps_parse(&b, "mx.example.org\nSTALE 1\nAUTH OLD", 31);
	if (rb == 0)
		rb = smtpc__caps_parse(&b, text, size);
	if (ra == 0 && rb == 0) {
		check(&b);
		FUZZ_CHECK(a.n == b.n);
		FUZZ_CHECK(a.size_known == b.size_known && a.size_max == b.size_max);
		for (i = 0; i < a.n && i < b.n; i++) {
			FUZZ_CHECK(strcmp(a.cap[i].keyword, b.cap[i].keyword) == 0);
			FUZZ_CHECK(strcmp(a.cap[i].params, b.cap[i].params) == 0);
		}
	}
	smtpc__caps_clear(&a);
	smtpc__caps_clear(&b);
	free(text);
	return 0;
}
