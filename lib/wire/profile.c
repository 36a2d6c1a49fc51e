/* wire/profile.c - encoding a pprof Mapping message (see wire/profile.h). */
#include "wire/pbwire.h"
#include "wire/profile.h"

void pprof_put_mapping(struct buf *b, const struct pprof_mapping *m)
{
	struct buf body = { 0 };
	const uint64_t v[] = { m->id, m->start, m->limit, m->offset,
			       (uint64_t)m->filename, (uint64_t)m->build_id };
	for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++)
		if (v[i])
			pb_put_uint(&body, MAPPING_ID + i, v[i]);
	for (unsigned i = 0; i < 4; i++)
		if (m->has & (1u << i))
			pb_put_uint(&body, MAPPING_HAS_FUNCTIONS + i, 1);
	if (body.oom)
		b->oom = 1;
	else
		pb_put_bytes(b, PROFILE_MAPPING, body.p, body.len);
	buf_free(&body);
}

void pprof_main_first(const struct snapshot *s, size_t *order)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->map[i].flags & MAPF_MAIN)
			order[k++] = i;
	for (size_t i = 0; i < s->n; i++)
		if (!(s->map[i].flags & MAPF_MAIN))
			order[k++] = i;
}
