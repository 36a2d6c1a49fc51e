/*
 * progress.c - the one progress line of long work (progress.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "progress.h"
#include "term.h"

void progress_init(struct progress *p, int quiet, int to_stdout_terminal)
{
	memset(p, 0, sizeof *p);
	p->on = !quiet && !to_stdout_terminal && term_stderr_is_terminal();
}

void progress_show(struct progress *p, int force, const char *fmt, ...)
{
	if (!p->on)
		return;
	uint64_t now = term_now_ms();
	if (!force && p->shown && now - p->last_ms < PROGRESS_EVERY_MS)
		return;
	char line[PROGRESS_WIDTH + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = strlen(line);
	/* Back to the line's start, the new text, blanks over what is left
	 * of the old one, and back again after the text. */
	fprintf(stderr, "\r%s", line);
	if (len < p->shown)
		fprintf(stderr, "%*s\r%s", (int)(p->shown - len), "", line);
	fflush(stderr);
	p->shown = len;
	p->last_ms = now;
}

const char *progress_size(char *out, size_t cap, uint64_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (bytes >= 10 * 1024 && u < 4) {
		bytes >>= 10;
		u++;
	}
	snprintf(out, cap, "%llu %s", (unsigned long long)bytes, unit[u]);
	return out;
}

void progress_clear(struct progress *p)
{
	if (!p->on || !p->shown)
		return;
	fprintf(stderr, "\r%*s\r", (int)p->shown, "");
	fflush(stderr);
	p->shown = 0;
}
