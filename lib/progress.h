/*
 * progress.h - how far long work is, told to whoever asked (modmap.h's
 * struct modmap_progress, which api.c makes of this): attach as it reads
 * the profile, collect per file, the symbolizer per module opened. The
 * library never draws; it only calls.
 */
#ifndef MODMAP_PROGRESS_H
#define MODMAP_PROGRESS_H

#include <stdint.h>

enum progress_stage { PROGRESS_ATTACH = 1, PROGRESS_COLLECT, PROGRESS_SYMBOLIZE };

struct progress {
	enum progress_stage stage;
	int pass, passes;	/* attach: 1 or 2 of 2; else 1 of 1 */
	uint64_t done, total;	/* total 0: not known */
	const char *name;	/* the file or module just handled, or NULL */
};

/* Where it goes: fn(ctx, p); fn may be NULL (nobody asked). */
struct progress_to {
	void (*fn)(void *ctx, const struct progress *p);
	void *ctx;
};

static inline void progress_tell(const struct progress_to *to, const struct progress *p)
{
	if (to && to->fn)
		to->fn(to->ctx, p);
}

#endif
