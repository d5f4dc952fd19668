/*
 * fields.c - the Date and Message-ID fields of the sendmail mode (fields.h).
 */
#include "fields.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define RANDOM_BYTES 16

/* RFC 5322 3.3: day-name and month-name are these English abbreviations. */
static const char DAYS[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char MONTHS[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static size_t line_end(char *buf, size_t n, int crlf)
{
	if (crlf)
		buf[n++] = '\r';
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

size_t cli_date_field(char *buf, time_t t, int crlf)
{
	struct tm tm;
	long off, hours, minutes;
	int n;

	if (localtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11 || tm.tm_year + 1900 < 1900 || tm.tm_year + 1900 > 9999)
		return 0;
	off = tm.tm_gmtoff / 60; /* minutes east of UTC */
	hours = (off < 0 ? -off : off) / 60;
	minutes = (off < 0 ? -off : off) % 60;
	if (hours > 99)
		return 0;
	n = snprintf(buf, CLI_FIELD_MAX, "Date: %s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	             DAYS[tm.tm_wday], tm.tm_mday, MONTHS[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	             tm.tm_min, tm.tm_sec > 59 ? 59 : tm.tm_sec, off < 0 ? '-' : '+', hours,
	             minutes);
	if (n < 0 || n + 3 > CLI_FIELD_MAX)
		return 0;
	return line_end(buf, (size_t)n, crlf);
}

/* Fills buf with len random bytes: getrandom(), else /dev/urandom. Returns 0 or -1. */
static int random_bytes(unsigned char *buf, size_t len)
{
	size_t got = 0;
	int fd;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == len)
		return 0;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (got = 0; got < len;) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return got == len ? 0 : -1;
}

/* A host name as it may stand in an id-right (RFC 5322 3.6.4: dot-atom-text). */
static int host_ok(const char *host)
{
	size_t len = strlen(host);

	if (len == 0 || len > 255 || host[0] == '.' || host[len - 1] == '.' ||
	    strstr(host, "..") != NULL)
		return 0;
	for (const char *p = host; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return 0;
	}
	return 1;
}

size_t cli_message_id_field(char *buf, const char *host, time_t t, int crlf)
{
	static const char HEX[] = "0123456789abcdef";
	unsigned char r[RANDOM_BYTES];
	char id[2 * RANDOM_BYTES + 1];
	int n;

	if (!host_ok(host) || random_bytes(r, sizeof(r)) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(r); i++) {
		id[2 * i] = HEX[r[i] >> 4];
		id[2 * i + 1] = HEX[r[i] & 15];
	}
	id[2 * RANDOM_BYTES] = '\0';
	n = snprintf(buf, CLI_FIELD_MAX, "Message-ID: <%s.%llx@%s>", id,
	             (unsigned long long)(uint64_t)t, host);
	if (n < 0 || n + 3 > CLI_FIELD_MAX)
		return 0;
	return line_end(buf, (size_t)n, crlf);
}
