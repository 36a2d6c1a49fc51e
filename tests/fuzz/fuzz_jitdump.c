/*
 * libFuzzer target: the jitdump reader (records that lie about their
 * length, sizes that overflow, files cut anywhere), then the same checks
 * of the finished table as fuzz_perfmap.
 */
#include <stdint.h>
#include <stdlib.h>

#include "jit.h"

/* The checks are fuzz_perfmap's, copied: each target is one file. */
static void check(struct jit_table *t)
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
	const char *why;
	jit_table_init(&t);
	jitdump_parse(&t, data, size, &why);
	check(&t);
	jit_table_free(&t);
	return 0;
}
