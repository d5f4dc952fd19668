/*
 * progress.c - the progress bar of smtpc send --progress (progress.h).
 */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH  30
#define REDRAW_NS  100000000L /* 10 times a second at most */
#define MIB        (1024.0 * 1024.0)
#define ERASE_LINE "\r\033[K"

void cli_progress_init(struct cli_progress *p, const struct cli_options *o)
{
	memset(p, 0, sizeof(*p));
	p->enabled = o->progress && !o->json && isatty(STDERR_FILENO);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void draw(struct cli_progress *p, const struct timespec *now)
{
	char line[160];
	double elapsed = seconds_between(&p->start, now);
	double rate = elapsed > 0 ? (double)p->sent / elapsed : 0;
	int n;

	if (p->total > 0) {
		uint64_t sent = p->sent < p->total ? p->sent : p->total;
		int fill = (int)(sent * BAR_WIDTH / p->total);
		int pct = (int)(sent * 100 / p->total);
		char bar[BAR_WIDTH + 1];

		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
		bar[BAR_WIDTH] = '\0';
		n = snprintf(line, sizeof(line), "\r[%s] %3d%%  %.1f / %.1f MiB  %.1f MiB/s\033[K",
		             bar, pct, (double)sent / MIB, (double)p->total / MIB, rate / MIB);
	} else {
		n = snprintf(line, sizeof(line), "\r%.1f MiB sent  %.1f MiB/s\033[K",
		             (double)p->sent / MIB, rate / MIB);
	}
	if (n > 0 && (size_t)n < sizeof(line)) {
		fwrite(line, 1, (size_t)n, stderr);
		fflush(stderr);
	}
	p->drawn = 1;
	p->last = *now;
	p->shown = p->sent;
}

void cli_progress_update(uint64_t sent, uint64_t total, void *user)
{
	struct cli_progress *p = user;
	struct timespec now;
	int final;

	if (!p->enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->start.tv_sec == 0 && p->start.tv_nsec == 0)
		p->start = now;
	p->sent = sent;
	p->total = total;
	if (total > 0 ? total <= CLI_PROGRESS_MIN : sent <= CLI_PROGRESS_MIN)
		return;
	if (p->drawn && sent == p->shown)
		return; /* nothing new (a last empty write) */
	final = total > 0 && sent >= total;
	if (!final && p->drawn && seconds_between(&p->last, &now) * 1e9 < REDRAW_NS)
		return;
	draw(p, &now);
}

void cli_progress_end(struct cli_progress *p)
{
	struct timespec now;

	if (!p->enabled || !p->drawn)
		return;
	if (p->shown != p->sent) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		draw(p, &now);
	}
	fputs(ERASE_LINE, stderr);
	fflush(stderr);
	p->drawn = 0;
}
