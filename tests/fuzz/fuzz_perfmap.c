/*
 * libFuzzer target: the perf map reader and the table it fills, which must
 * come out sorted and disjoint, every address owned by a symbol covering it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "jit.h"

static void jit_fuzz_check(struct jit_table *t)
{
	if (jit_finish(t) < 0 && !t->oom)
		abort();
	for (size_t i = 0; i < t->nseg; i++) {
		const struct jit_seg *g = &t->seg[i];
		if (g->end <= g->start || (i && t->seg[i - 1].end > g->start) || g->sym >= t->n)
			abort();
		const struct jit_sym *s = jit_lookup(t, g->start), *e = jit_lookup(t, g->end - 1);
		if (s != &t->sym[g->sym] || e != s || g->start < s->start ||
		    g->end - 1 > s->start + s->size - 1 || s->name_len > JIT_NAME_MAX)
			abort();
		if (s->nline && !jit_line_at(t, s, g->start))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jit_table t;
	jit_table_init(&t);
	perfmap_parse(&t, (const char *)data, size);
	jit_fuzz_check(&t);
	jit_table_free(&t);
	return 0;
}
