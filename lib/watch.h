/*
 * watch.h - following one process over time: each poll reads its module
 * map again and reports what was loaded and unloaded since the last one,
 * and when the process is gone. Portable: it sees only snapshot_read, so
 * Linux (PROCMAP_QUERY or maps) and Windows (Toolhelp32) work alike.
 */
#ifndef MODMAP_WATCH_H
#define MODMAP_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

enum watch_kind { WATCH_LOAD, WATCH_UNLOAD, WATCH_EXIT };

struct watch_event {
	enum watch_kind kind;
	uint64_t time_nanos;		/* when the poll that saw it read the process */
	const struct snapshot *s;	/* the snapshot m belongs to; NULL for exit */
	const struct mapping *m;
};

struct watch {
	uint64_t pid;
	struct read_opts o;		/* o.cache: kept across polls, so only new
					   mappings' files are read for build IDs */
	struct bid_cache *own_cache;	/* the cache when the caller gave none */
	struct snapshot snap[2];	/* the last two reads: events point into them */
	int cur;			/* snap[cur] is the newest; -1 before the first */
	int exited;
	uint64_t last_time;		/* times never go backwards */
	struct watch_event *ev;		/* the last poll's events */
	size_t nev, cap;
};

/* Starts following pid with o (copied; o->cache may be NULL). -1: out of memory. */
int watch_init(struct watch *w, uint64_t pid, const struct read_opts *o, struct errmsg *err);
void watch_free(struct watch *w);

/*
 * Reads the process again and fills w->ev: the first poll, every mapping
 * as a load; later ones, the mappings gone (unload, in the old order) then
 * the new ones (load, in the process's order), keyed by (start, limit,
 * inode, offset); once the process has ended (or its PID holds another
 * process: the start time changed), one exit event, after which
 * w->exited is set and polling again gives nothing. The events are valid
 * until the next poll. Returns 0, or -1 with err set when the first read
 * fails (no such process, denied) or memory runs out.
 */
int watch_poll(struct watch *w, struct errmsg *err);

/*
 * The diff, pure: sets gone[i] for each record i of a (old) that b (new)
 * lacks, and fresh[j] for each record j of b that a lacks (both arrays
 * zeroed by the caller, a->n and b->n long), matching by (start, limit,
 * inode, offset) in any order; a key held twice pairs one to one. Returns
 * 0, or -1 when memory runs out.
 */
int watch_diff(const struct snapshot *a, const struct snapshot *b, unsigned char *gone,
	       unsigned char *fresh);

#endif
