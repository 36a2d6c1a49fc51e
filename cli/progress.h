/*
 * progress.h - one line of progress on standard error while long work
 * runs (collect, --all, attach), as pv, rsync and curl show it: rewritten
 * in place at most every PROGRESS_EVERY_MS, erased when the work is done or
 * before any other message. Only when standard error is a terminal, -q was
 * not given, and standard output is not that terminal too.
 */
#ifndef MODMAP_CLI_PROGRESS_H
#define MODMAP_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"	/* MODMAP_PRINTF */

#define PROGRESS_EVERY_MS 100
#define PROGRESS_WIDTH 79	/* the longest line shown, in bytes */

struct progress {
	int on;			/* showing at all */
	size_t shown;		/* bytes of the line now on the terminal (0: none) */
	uint64_t last_ms;	/* when it was last drawn */
};

/* Decides whether to show progress: quiet is -q; to_stdout_terminal says
 * the output goes to standard output and that is a terminal. */
void progress_init(struct progress *p, int quiet, int to_stdout_terminal);
/* Draws the line (printf-style), unless one was drawn less than
 * PROGRESS_EVERY_MS ago; force draws it regardless. */
MODMAP_PRINTF(3, 4) void progress_show(struct progress *p, int force, const char *fmt, ...);
/* bytes for people: "512 B", "40 KiB", "12 MiB", "3 GiB" (cap >= 24). */
const char *progress_size(char *out, size_t cap, uint64_t bytes);
/* Erases the line, if one is shown: before other output to the terminal,
 * and when the work is done. */
void progress_clear(struct progress *p);

#endif
