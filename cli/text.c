/*
 * text.c - terminal-safe output of untrusted text.
 */
#include "text.h"

#include <string.h>

/* smtpc_reply.enhanced is a char[16]: never read past it. */
#define ENHANCED_MAX 16

static const char HEX[] = "0123456789abcdef";

static void put_escaped(FILE *f, const char *p, size_t len, int join_lines)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n' && join_lines) {
			fputs(" / ", f);
		} else if (c >= 0x20 && c <= 0x7e) {
			putc(c, f);
		} else {
			putc('\\', f);
			putc('x', f);
			putc(HEX[c >> 4], f);
			putc(HEX[c & 0x0f], f);
		}
	}
}

void cli_put_text(FILE *f, const char *p, size_t len)
{
	put_escaped(f, p, len, 1);
}

void cli_put_str(FILE *f, const char *s)
{
	if (s)
		put_escaped(f, s, strlen(s), 0);
}

void cli_put_reply(FILE *f, int code, const char *enhanced, const char *text, size_t len)
{
	fprintf(f, "%d", code);
	if (enhanced && *enhanced) {
		putc(' ', f);
		put_escaped(f, enhanced, strnlen(enhanced, ENHANCED_MAX), 0);
	}
	if (text && len > 0) {
		putc(' ', f);
		cli_put_text(f, text, len);
	}
}
