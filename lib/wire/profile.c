/*
 * wire/profile.c - encoding and decoding a pprof Mapping message, and the
 * error text of a bad profile (see wire/profile.h).
 */
#include <string.h>

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

int pprof_mapping_parse(const unsigned char *p, size_t len, struct pprof_mapping *m,
			const char **why)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof *m);
	while ((rc = pb_next(&r, &f, why)) > 0) {
		if (f.number > MAPPING_HAS_INLINE_FRAMES)
			continue;	/* unknown: kept as bytes if the mapping is */
		if (f.type != PB_VARINT) {
			*why = "a field that should be a varint is not";
			return -1;
		}
		switch (f.number) {
		case MAPPING_ID: m->id = f.value; break;
		case MAPPING_MEMORY_START: m->start = f.value; break;
		case MAPPING_MEMORY_LIMIT: m->limit = f.value; break;
		case MAPPING_FILE_OFFSET: m->offset = f.value; break;
		case MAPPING_FILENAME: m->filename = (int64_t)f.value; break;
		case MAPPING_BUILD_ID: m->build_id = (int64_t)f.value; break;
		default: {
			unsigned bit = 1u << (f.number - MAPPING_HAS_FUNCTIONS);
			m->has = f.value ? m->has | bit : m->has & ~bit;
		}
		}
	}
	return rc;
}

int pprof_invalid(struct errmsg *err, uint64_t at, const char *what, size_t ordinal,
		  const char *why)
{
	if (what)
		err_set(err, "not a valid pprof profile: %s %llu: %s (field at byte %llu)", what,
			(unsigned long long)ordinal, why, (unsigned long long)at);
	else
		err_set(err, "not a valid pprof profile: %s (at byte %llu)", why,
			(unsigned long long)at);
	return -1;
}

int pprof_mapping_strings_check(const struct pprof_mapping *m, size_t ordinal, size_t nstrings,
				struct errmsg *err)
{
	const uint64_t idx[2] = { (uint64_t)m->filename, (uint64_t)m->build_id };
	for (int w = 0; w < 2; w++) {
		if (idx[w] >= nstrings && idx[w] != 0) {
			err_set(err, "not a valid pprof profile: mapping %llu names string %llu, "
				"past the string table (%llu strings)", (unsigned long long)ordinal,
				(unsigned long long)idx[w], (unsigned long long)nstrings);
			return -1;
		}
	}
	return 0;
}
