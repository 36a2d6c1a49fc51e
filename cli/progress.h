/*
 * progress.h - one line on standard error that says how far long work is
 * (--all, collect, attach, lookup --symbolize), as pv, rsync
 * --info=progress2 and curl draw theirs: rewritten in place at most every
 * PROGRESS_EVERY_MS, erased before any other message and when the work is
 * done. Drawn only when standard error is a terminal, -q was not given,
 * and the command's output is not on a terminal (a line rewritten in
 * place would tear the text written there).
 *
 * The line is the program's, so its state is too: one per process.
 */
#ifndef MODMAP_CLI_PROGRESS_H
#define MODMAP_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

#define PROGRESS_EVERY_MS 100

/*
 * Decides whether to draw at all: quiet is -q; output_on_terminal says
 * what the command writes goes to a terminal.
 */
void progress_start(int quiet, int output_on_terminal);
/*
 * Draws the line (printf-style; a byte that is not printable ASCII shows
 * as '?', and the line is cut to the terminal's width), unless one was
 * drawn less than PROGRESS_EVERY_MS ago and force is 0.
 */
CLI_PRINTF(2, 3) void progress_show(int force, const char *fmt, ...);
/* Erases the line, if one is shown: before any other message, and at the end. */
void progress_clear(void);
/* bytes for people: "512 B", "40.0 KiB", "12.3 MiB", "3.1 GiB" (tenths cut, not
 * rounded; cap >= 24). */
const char *progress_size(char *out, size_t cap, uint64_t bytes);
/* The last part of a path, to name a file in the line. */
const char *progress_base(const char *path);

#endif
