/*
 * addrmap.c - the address search (addrmap.h): ranges flattened once into
 * disjoint runs by a sweep over their boundaries, then binary search.
 */
#include <stdlib.h>

#include "addrmap.h"

/* Is range a more inner than range b? (Later start, then shorter, then first.) */
static int inner(const struct addrmap_range *r, size_t a, size_t b)
{
	if (r[a].start != r[b].start)
		return r[a].start > r[b].start;
	if (r[a].limit != r[b].limit)
		return r[a].limit < r[b].limit;
	return a < b;
}

/* A binary heap of range indices, the innermost on top. */
struct heap {
	size_t *v;
	size_t n;
};

static void heap_push(struct heap *h, const struct addrmap_range *r, size_t x)
{
	size_t k = h->n++;
	while (k > 0 && inner(r, x, h->v[(k - 1) / 2])) {
		h->v[k] = h->v[(k - 1) / 2];
		k = (k - 1) / 2;
	}
	h->v[k] = x;
}

static void heap_pop(struct heap *h, const struct addrmap_range *r)
{
	size_t x = h->v[--h->n], k = 0;
	for (;;) {
		size_t c = 2 * k + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && inner(r, h->v[c + 1], h->v[c]))
			c++;
		if (!inner(r, h->v[c], x))
			break;
		h->v[k] = h->v[c];
		k = c;
	}
	if (h->n)
		h->v[k] = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* qsort has no context: sort (start, index) pairs instead of indices. */
struct bystart {
	uint64_t start;
	size_t i;
};

static int cmp_bystart(const void *a, const void *b)
{
	const struct bystart *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/*
 * Ranges in address order that do not overlap (a process's mappings, as
 * every backend lists them) are their own runs: built without a sort.
 * Returns 1 when it built m, 0 when r is not so (m untouched), -1 when
 * memory ran out.
 */
static int build_disjoint(struct addrmap *m, const struct addrmap_range *r, size_t n)
{
	uint64_t end = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].limit <= r[i].start)
			continue;	/* empty: holds nothing */
		if (r[i].start < end)
			return 0;
		end = r[i].limit;
	}
	struct addrmap_run *run = malloc((n ? n : 1) * sizeof *run);
	size_t nrun = 0;
	if (!run)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (r[i].limit > r[i].start)
			run[nrun++] = (struct addrmap_run){ r[i].start, r[i].limit, i };
	m->run = run;
	m->n = nrun;
	return 1;
}

int addrmap_build(struct addrmap *m, const struct addrmap_range *r, size_t n)
{
	size_t k = 0, npts = 0;
	m->run = NULL;
	m->n = 0;
	if (n > SIZE_MAX / (2 * sizeof(uint64_t)))
		return -1;
	int done = build_disjoint(m, r, n);
	if (done != 0)
		return done < 0 ? -1 : 0;
	m->n = 0;	/* as build_disjoint left it: said for clang's analyzer */
	struct bystart *ord = malloc((n ? n : 1) * sizeof *ord);
	uint64_t *pts = malloc((n ? 2 * n : 1) * sizeof *pts);
	struct heap h = { malloc((n ? n : 1) * sizeof *h.v), 0 };
	m->run = malloc((n ? 2 * n : 1) * sizeof *m->run);
	if (!ord || !pts || !h.v || !m->run) {
		free(m->run);
		m->run = NULL;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i].limit <= r[i].start)
			continue;
		ord[k++] = (struct bystart){ r[i].start, i };
		pts[npts++] = r[i].start;
		pts[npts++] = r[i].limit;
	}
	qsort(ord, k, sizeof *ord, cmp_bystart);
	qsort(pts, npts, sizeof *pts, cmp_u64);

	size_t j = 0;
	for (size_t t = 0; t < npts; t++) {
		uint64_t p = pts[t];
		if (t + 1 < npts && pts[t + 1] == p)
			continue;	/* the last of equal points does the work */
		while (j < k && ord[j].start <= p)
			heap_push(&h, r, ord[j++].i);
		while (h.n && r[h.v[0]].limit <= p)
			heap_pop(&h, r);
		if (!h.n || t + 1 == npts)
			continue;
		size_t top = h.v[0];
		struct addrmap_run *last = m->n ? &m->run[m->n - 1] : NULL;
		if (last && last->limit == p && last->i == top)
			last->limit = pts[t + 1];
		else
			m->run[m->n++] = (struct addrmap_run){ p, pts[t + 1], top };
	}
done:
	free(ord);
	free(pts);
	free(h.v);
	return m->run ? 0 : -1;
}

long long addrmap_find(const struct addrmap *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	/* The first run that starts above addr; the one before may hold it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->run[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= m->run[lo - 1].limit)
		return -1;
	return (long long)m->run[lo - 1].i;
}

void addrmap_free(struct addrmap *m)
{
	free(m->run);
	m->run = NULL;
	m->n = 0;
}
