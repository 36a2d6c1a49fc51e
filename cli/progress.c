/*
 * progress.c - the one progress line of long work (progress.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "progress.h"
#include "term.h"

static struct {
	int on;			/* drawing at all */
	size_t shown;		/* columns of the line now on the terminal (0: none) */
	uint64_t last_ms;	/* when it was last drawn */
} line;

void progress_start(int quiet, int output_on_terminal)
{
	memset(&line, 0, sizeof line);
	line.on = !quiet && !output_on_terminal && term_stderr_is_terminal();
}

void progress_show(int force, const char *fmt, ...)
{
	if (!line.on)
		return;
	uint64_t now = term_now_ms();
	if (!force && line.shown && now - line.last_ms < PROGRESS_EVERY_MS)
		return;
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Printable ASCII only (a file name must not move the cursor or
	 * set the terminal's title), one column each, and short of the last
	 * column, so the line never wraps: then '\r' returns to its start. */
	size_t len = strlen(text), width = term_stderr_columns();
	if (len > width - 1)
		len = width - 1;
	text[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			text[i] = '?';
	/* The new text over the old, blanks over the rest of the old, and
	 * the cursor back after the new text. */
	fprintf(stderr, "\r%s", text);
	if (len < line.shown)
		fprintf(stderr, "%*s\r%s", (int)(line.shown - len), "", text);
	fflush(stderr);
	line.shown = len;
	line.last_ms = now;
}

void progress_clear(void)
{
	if (!line.on || !line.shown)
		return;
	fprintf(stderr, "\r%*s\r", (int)line.shown, "");
	fflush(stderr);
	line.shown = 0;
}

const char *progress_size(char *out, size_t cap, uint64_t bytes)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	if (bytes < 1024) {
		snprintf(out, cap, "%llu B", (unsigned long long)bytes);
		return out;
	}
	/* Tenths of the largest unit under which it is at least 1. */
	int u = 0;
	uint64_t scale = 1024;
	while (u < 3 && bytes / scale >= 1024) {
		scale <<= 10;
		u++;
	}
	uint64_t tenths = (bytes % scale) * 10 / scale;
	snprintf(out, cap, "%llu.%llu %s", (unsigned long long)(bytes / scale),
		 (unsigned long long)tenths, unit[u]);
	return out;
}

const char *progress_base(const char *path)
{
	const char *base = path;
	for (const char *c = path; *c; c++)
		if (*c == '/' || *c == '\\')
			base = c + 1;
	return *base ? base : path;
}
