/*
 * helpers.c - smtplib's module functions quoteaddr, quotedata and
 * encode_base64 (docs/RULES.md P7, P8 and P14), built on the
 * address, DATA encoder and base64 modules.
 */
#include "smtpc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "base64.h"
#include "dataenc.h"

/* "<" s[0..len) ">" in a new string. */
static char *bracket(const char *s, size_t len)
{
	char *r;

	if (len > SIZE_MAX - 3)
		return NULL;
	r = malloc(len + 3);
	if (r == NULL)
		return NULL;
	r[0] = '<';
	memcpy(r + 1, s, len);
	r[len + 1] = '>';
	r[len + 2] = '\0';
	return r;
}

SMTPC_API char *smtpc_quoteaddr(const char *addr)
{
	char *a;
	char *r;

	/* "" and "<>" are the null path; anything but exactly one address is refused
	 * (smtplib keeps the string: "<a@x> NOTIFY=SUCCESS" would carry a parameter). */
	if (smtpc__addr_path(addr, 1, &a) != 1)
		return NULL;
	r = bracket(a, strlen(a));
	free(a);
	return r;
}

SMTPC_API int smtpc_quotedata(const void *in, size_t len, char **out, size_t *outlen)
{
	smtpc__dataenc enc;
	size_t cap;
	size_t n;
	char *buf;
	char *shrunk;

	if (out == NULL || outlen == NULL)
		return SMTPC_EINVAL;
	*out = NULL;
	*outlen = 0;
	if (in == NULL && len > 0)
		return SMTPC_EINVAL;
	/* SMTPC__DATAENC_MAX_OUT(len) + SMTPC__DATAENC_FINISH_MAX + NUL */
	if (len > (SIZE_MAX - 2 - SMTPC__DATAENC_FINISH_MAX - 1) / 2)
		return SMTPC_ENOMEM;
	cap = SMTPC__DATAENC_MAX_OUT(len) + SMTPC__DATAENC_FINISH_MAX + 1;
	buf = malloc(cap);
	if (buf == NULL)
		return SMTPC_ENOMEM;
	smtpc__dataenc_init(&enc);
	n = smtpc__dataenc_update(&enc, in, len, buf);
	n += smtpc__dataenc_finish(&enc, buf + n, 0);
	buf[n] = '\0';
	shrunk = realloc(buf, n + 1);
	if (shrunk != NULL)
		buf = shrunk; /* else the larger block is as good */
	*out = buf;
	*outlen = n;
	return SMTPC_OK;
}

SMTPC_API char *smtpc_base64_encode(const void *data, size_t len, size_t maxlinelen,
                                    const char *eol)
{
	const unsigned char *p = data;
	size_t eollen;
	size_t linechars;
	size_t linebytes;
	size_t enclen;
	size_t nlines;
	size_t total;
	size_t off;
	char *r;
	char *o;

	if (data == NULL && len > 0)
		return NULL;
	if (eol == NULL)
		eol = "\n";
	eollen = strlen(eol);
	if (len == 0) {
		r = malloc(1);
		if (r != NULL)
			r[0] = '\0';
		return r;
	}
	if (len > (SIZE_MAX - 3) / 4 * 3 - 3)
		return NULL;
	enclen = SMTPC__B64_LEN(len);
	/*
	 * Lines hold whole 4-character groups so that padding only ends the
	 * data (smtplib pads every line when maxlinelen is not a multiple of
	 * 4). Below 4 no line can fit; use the shortest line there is.
	 */
	if (maxlinelen == 0 || maxlinelen >= enclen)
		linechars = enclen;
	else if (maxlinelen < 4)
		linechars = 4;
	else
		linechars = maxlinelen / 4 * 4;
	linebytes = linechars / 4 * 3;
	nlines = (enclen + linechars - 1) / linechars;
	if (eollen != 0 && nlines > (SIZE_MAX - enclen - 1) / eollen)
		return NULL;
	total = enclen + nlines * eollen + 1;
	r = malloc(total);
	if (r == NULL)
		return NULL;
	o = r;
	for (off = 0; off < len; off += linebytes) {
		size_t chunk = len - off < linebytes ? len - off : linebytes;

		o += smtpc__b64_encode(p + off, chunk, o);
		memcpy(o, eol, eollen);
		o += eollen;
	}
	*o = '\0';
	return r;
}
