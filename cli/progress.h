/*
 * progress.h - the progress bar of smtpc send --progress: on standard error
 * when it is a terminal (not with --json), for messages over 1 MiB, redrawn
 * at most 10 times a second, the final state drawn, then erased.
 */
#ifndef SMTPC_CLI_PROGRESS_H
#define SMTPC_CLI_PROGRESS_H

#include "args.h"

#include <stdint.h>
#include <time.h>

/** A message of more bytes than this gets a bar. */
#define CLI_PROGRESS_MIN (1024 * 1024)

struct cli_progress {
	int enabled; /* --progress, standard error a terminal, no --json */
	int drawn;   /* the bar is on the screen */
	struct timespec start, last;
	uint64_t sent, total, shown; /* shown: the bytes of the last drawing */
};

/** Whether the bar will be drawn for these options (and this standard error). */
void cli_progress_init(struct cli_progress *p, const struct cli_options *o);

/** The library's progress callback (smtpc_progress_fn); user is the struct cli_progress. */
void cli_progress_update(uint64_t sent, uint64_t total, void *user);

/** Draws the final state (when a bar was drawn) and erases the bar. */
void cli_progress_end(struct cli_progress *p);

#endif /* SMTPC_CLI_PROGRESS_H */
