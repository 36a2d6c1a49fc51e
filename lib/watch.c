/*
 * watch.c - the poll and the diff behind `modmap watch` and
 * modmap_watch_poll. Each poll is one snapshot_read, with the build-ID
 * cache kept across polls; the diff matches records by (start, limit,
 * inode, offset) through two sorted index arrays, so it is O(n log n)
 * whatever order the OS lists mappings in.
 */
#include <stdlib.h>
#include <string.h>

#include "buildid.h"
#include "watch.h"

int watch_init(struct watch *w, uint64_t pid, const struct read_opts *o, struct errmsg *err)
{
	memset(w, 0, sizeof *w);
	w->pid = pid;
	w->o = *o;
	w->cur = -1;
	snapshot_init(&w->snap[0]);
	snapshot_init(&w->snap[1]);
	if (!w->o.cache) {
		if (!(w->own_cache = bid_cache_new())) {
			err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory",
				 (unsigned long long)pid);
			return -1;
		}
		w->o.cache = w->own_cache;
	}
	return 0;
}

void watch_free(struct watch *w)
{
	snapshot_free(&w->snap[0]);
	snapshot_free(&w->snap[1]);
	bid_cache_free(w->own_cache);
	free(w->ev);
	memset(w, 0, sizeof *w);
	w->cur = -1;
}

static int cmp_key(const struct mapping *a, const struct mapping *b)
{
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->limit != b->limit)
		return a->limit < b->limit ? -1 : 1;
	if (a->inode != b->inode)
		return a->inode < b->inode ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

/* qsort has no context argument: pointers to the records are sorted instead. */
static int cmp_ptr(const void *x, const void *y)
{
	return cmp_key(*(const struct mapping *const *)x, *(const struct mapping *const *)y);
}

static const struct mapping **sorted(const struct snapshot *s)
{
	const struct mapping **v = malloc((s->n ? s->n : 1) * sizeof(const struct mapping *));
	if (!v)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		v[i] = &s->map[i];
	qsort(v, s->n, sizeof(const struct mapping *), cmp_ptr);
	return v;
}

static int add_event(struct watch *w, enum watch_kind kind, uint64_t t,
		     const struct snapshot *s, const struct mapping *m)
{
	if (w->nev == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct watch_event *p = realloc(w->ev, cap * sizeof *p);
		if (!p)
			return -1;
		w->ev = p;
		w->cap = cap;
	}
	w->ev[w->nev++] = (struct watch_event){ kind, t, s, m };
	return 0;
}

/* Merges the two sorted orders; a key twice in one snapshot pairs one to one. */
int watch_diff(const struct snapshot *a, const struct snapshot *b, unsigned char *gone,
	       unsigned char *fresh)
{
	const struct mapping **x = sorted(a), **y = sorted(b);
	if (!x || !y) {
		free(x);
		free(y);
		return -1;
	}
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : cmp_key(x[i], y[j]);
		if (c < 0)
			gone[x[i++] - a->map] = 1;
		else if (c > 0)
			fresh[y[j++] - b->map] = 1;
		else
			i++, j++;
	}
	free(x);
	free(y);
	return 0;
}

int watch_poll(struct watch *w, struct errmsg *err)
{
	w->nev = 0;
	if (w->exited)
		return 0;
	int next = w->cur < 0 ? 0 : 1 - w->cur;
	struct snapshot *s = &w->snap[next];
	snapshot_free(s);
	snapshot_init(s);
	enum read_status r = snapshot_read(s, w->pid, &w->o, err);
	uint64_t t = s->time_nanos;
	if (t < w->last_time)
		t = w->last_time;
	if (r != READ_OK) {
		/* Gone (or a zombie) after it was seen: it has ended. */
		int ended = r == READ_SKIP || err->code == ERR_NO_PROCESS;
		if (w->cur < 0 || !ended)
			return -1;
		w->exited = 1;
		if (add_event(w, WATCH_EXIT, t, NULL, NULL) < 0)
			goto oom;
		w->last_time = t;
		return 0;
	}
	/* Another life under the same PID (the one followed ended, the PID
	 * went to a new process between two polls): that is the end. */
	if (w->cur >= 0 && w->snap[w->cur].start_time && s->start_time &&
	    s->start_time != w->snap[w->cur].start_time) {
		w->exited = 1;
		if (add_event(w, WATCH_EXIT, t, NULL, NULL) < 0)
			goto oom;
		w->last_time = t;
		return 0;
	}
	w->last_time = t;
	if (w->cur < 0) {
		for (size_t i = 0; i < s->n; i++)
			if (add_event(w, WATCH_LOAD, t, s, &s->map[i]) < 0)
				goto oom;
		w->cur = next;
		return 0;
	}
	const struct snapshot *old = &w->snap[w->cur];
	unsigned char *gone = calloc(old->n + 1, 1), *fresh = calloc(s->n + 1, 1);
	int rc = gone && fresh ? watch_diff(old, s, gone, fresh) : -1;
	for (size_t i = 0; rc == 0 && i < old->n; i++)
		if (gone[i])
			rc = add_event(w, WATCH_UNLOAD, t, old, &old->map[i]);
	for (size_t j = 0; rc == 0 && j < s->n; j++)
		if (fresh[j])
			rc = add_event(w, WATCH_LOAD, t, s, &s->map[j]);
	free(gone);
	free(fresh);
	if (rc < 0)
		goto oom;
	w->cur = next;
	return 0;
oom:
	w->nev = 0;
	err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)w->pid);
	return -1;
}
