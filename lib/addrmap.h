/*
 * addrmap.h - which of a table of address ranges holds an address: the one
 * address search of the library (attach, lookup, modmap_snapshot_find).
 *
 * Ranges may nest or overlap (any pprof profile is accepted as a snapshot,
 * and profilers write nested mappings, e.g. a JIT region inside an
 * anonymous one). The answer is the innermost range that holds the
 * address: of those holding it, the one that starts last; of equal starts
 * the shortest; of equal ranges the first in the table. Empty ranges
 * (limit <= start) hold nothing.
 *
 * addrmap_build flattens the table once into disjoint runs, each naming
 * its innermost range, so every search is one binary search: O(log n),
 * however deep the nesting.
 */
#ifndef MODMAP_ADDRMAP_H
#define MODMAP_ADDRMAP_H

#include <stddef.h>
#include <stdint.h>

struct addrmap_range {
	uint64_t start, limit;	/* [start, limit) */
};

/* One piece of the flattened table: [start, limit) belongs to range i. */
struct addrmap_run {
	uint64_t start, limit;
	size_t i;
};

struct addrmap {
	struct addrmap_run *run;	/* sorted, disjoint */
	size_t n;
};

/*
 * Builds m (any previous contents are not freed) from the n ranges at r,
 * which it does not keep. Returns 0, or -1 when memory runs out (m is then
 * empty). At most 2n - 1 runs.
 */
int addrmap_build(struct addrmap *m, const struct addrmap_range *r, size_t n);
/* The index of the innermost range holding addr, or -1. */
long long addrmap_find(const struct addrmap *m, uint64_t addr);
void addrmap_free(struct addrmap *m);

#endif
