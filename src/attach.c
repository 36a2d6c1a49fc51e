/*
 * attach.c - rewriting a pprof profile around a new mapping table (see
 * attach.h and docs/attach.md).
 *
 * The profile is walked as a stream of top-level fields several times:
 * first to collect the old mappings and count locations and strings, then
 * to resolve the few strings the old mappings name, then to see where each
 * location's address falls, and last to write the result. Only mappings
 * and locations are decoded; every other field, and every field inside a
 * location except mapping_id, is copied as the bytes it came as. Nothing is
 * kept per sample or per location.
 *
 * Portable C: no OS headers here (the Windows build compiles this too).
 */
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "gz.h"
#include "pbwire.h"
#include "pprof.h"

int attach_unpack(const unsigned char *p, size_t len, uint64_t max, struct buf *scratch,
		  const unsigned char **data, size_t *data_len, struct errmsg *err)
{
	if (gz_is_gzip(p, len)) {
		size_t start = scratch->len;
		if (gz_decompress(scratch, p, len, max, err) < 0)
			return -1;
		*data = scratch->p ? scratch->p + start : p;
		*data_len = scratch->len - start;
	} else {
		if (len > max) {
			err_set(err, "size exceeds --max-size (%llu bytes)", (unsigned long long)max);
			return -1;
		}
		*data = p;
		*data_len = len;
	}
	if (*data_len == 0) {
		err_set(err, "empty: not a pprof profile");
		return -1;
	}
	return 0;
}

/* ---- the old mapping table --------------------------------------------- */

struct oldmap {
	uint64_t id, start, limit, offset;
	uint64_t filename, build_id;	/* string-table indices */
	const char *file, *bid;		/* resolved; "" when the index is 0 */
	size_t file_len, bid_len;
	const unsigned char *body;	/* the Mapping message, to copy fields from */
	size_t len;
	unsigned has;			/* PPROF_HAS_* */
	int used;			/* some location stays with it */
	uint64_t new_id;		/* 0: dropped */
};

/* What the first walk over a profile finds. */
struct scan {
	struct oldmap *old;
	size_t nold;
	size_t nstrings;
	size_t nlocations;
};

static void scan_free(struct scan *s)
{
	free(s->old);
	memset(s, 0, sizeof *s);
}

static int mapping_parse(const unsigned char *p, size_t len, struct oldmap *m, const char **why)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof *m);
	m->file = m->bid = "";
	m->body = p;
	m->len = len;
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
		case MAPPING_FILENAME: m->filename = f.value; break;
		case MAPPING_BUILD_ID: m->build_id = f.value; break;
		default: {
			unsigned bit = 1u << (f.number - MAPPING_HAS_FUNCTIONS);
			m->has = f.value ? m->has | bit : m->has & ~bit;
		}
		}
	}
	return rc;
}

static int fail_at(struct errmsg *err, const unsigned char *base, const unsigned char *at,
		   const char *what, size_t ordinal, const char *why)
{
	if (what)
		err_set(err, "not a valid pprof profile: %s %llu: %s (field at byte %llu)", what,
			(unsigned long long)ordinal, why, (unsigned long long)(at - base));
	else
		err_set(err, "not a valid pprof profile: %s (at byte %llu)", why,
			(unsigned long long)(at - base));
	return -1;
}

/* A string the old mappings name, to fill in from the string table. */
struct strslot {
	uint64_t index;
	const char **s;
	size_t *n;
};

static int strslot_cmp(const void *a, const void *b)
{
	const struct strslot *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

/* Points every old mapping's file and build ID at its string-table entry. */
static int strings_resolve(const unsigned char *p, size_t len, struct scan *s, struct errmsg *err)
{
	struct strslot *slot = malloc((s->nold ? s->nold : 1) * 2 * sizeof *slot);
	size_t n = 0, k = 0, i = 0;
	if (!slot) {
		err_set(err, "out of memory");
		return -1;
	}
	for (size_t j = 0; j < s->nold; j++) {
		struct oldmap *m = &s->old[j];
		const uint64_t idx[2] = { m->filename, m->build_id };
		for (int w = 0; w < 2; w++) {
			if (idx[w] == 0)
				continue;	/* "" already */
			if (idx[w] >= s->nstrings) {
				err_set(err, "not a valid pprof profile: mapping %llu names string %llu, "
					"past the string table (%llu strings)", (unsigned long long)j + 1,
					(unsigned long long)idx[w], (unsigned long long)s->nstrings);
				free(slot);
				return -1;
			}
			slot[n].index = idx[w];
			slot[n].s = w ? &m->bid : &m->file;
			slot[n].n = w ? &m->bid_len : &m->file_len;
			n++;
		}
	}
	qsort(slot, n, sizeof *slot, strslot_cmp);

	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why = NULL;
	int rc;
	while ((rc = pb_next(&r, &f, &why)) > 0) {
		if (f.number != PROFILE_STRING_TABLE)
			continue;
		if (i == 0 && f.len != 0) {
			free(slot);
			err_set(err, "not a valid pprof profile: string_table[0] is not empty");
			return -1;
		}
		for (; k < n && slot[k].index == i; k++) {
			*slot[k].s = (const char *)f.data;
			*slot[k].n = f.len;
		}
		i++;
	}
	free(slot);
	if (rc < 0) /* the first walk saw the same bytes whole */
		return fail_at(err, p, r.p, NULL, 0, why);
	return 0;
}

/*
 * The first walks: every Mapping decoded, locations and strings counted,
 * the framing of every top-level field checked.
 */
static int scan_profile(const unsigned char *p, size_t len, struct scan *s, struct errmsg *err)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why = NULL;
	const unsigned char *at = r.p;
	size_t cap = 0;
	int rc;

	memset(s, 0, sizeof *s);
	while ((rc = pb_next(&r, &f, &why)) > 0) {
		const char *what = f.number == PROFILE_MAPPING	 ? "mapping"
				   : f.number == PROFILE_LOCATION ? "location"
				   : f.number == PROFILE_STRING_TABLE ? "string"
								       : NULL;
		size_t ordinal = f.number == PROFILE_MAPPING	? s->nold + 1
				 : f.number == PROFILE_LOCATION ? s->nlocations + 1
								: s->nstrings;
		if (what && f.type != PB_LEN) {
			fail_at(err, p, at, what, ordinal, "not length-delimited");
			goto fail;
		}
		if (f.number == PROFILE_MAPPING) {
			if (s->nold == cap) {
				size_t ncap = cap ? 2 * cap : 16;
				struct oldmap *o = realloc(s->old, ncap * sizeof *o);
				if (!o) {
					err_set(err, "out of memory");
					goto fail;
				}
				s->old = o;
				cap = ncap;
			}
			if (mapping_parse(f.data, f.len, &s->old[s->nold], &why) < 0) {
				fail_at(err, p, at, what, ordinal, why);
				goto fail;
			}
			s->nold++;
		} else if (f.number == PROFILE_LOCATION) {
			s->nlocations++;
		} else if (f.number == PROFILE_STRING_TABLE) {
			s->nstrings++;
		}
		at = r.p;
	}
	if (rc < 0) {
		fail_at(err, p, at, NULL, 0, why);
		goto fail;
	}
	if (strings_resolve(p, len, s, err) < 0)
		goto fail;
	return 0;
fail:
	scan_free(s);
	return -1;
}

int attach_table_from_profile(const unsigned char *p, size_t len, struct attach_mapping **out,
			      size_t *n, struct errmsg *err)
{
	struct scan s;
	if (scan_profile(p, len, &s, err) < 0)
		return -1;
	*out = malloc((s.nold ? s.nold : 1) * sizeof **out);
	if (!*out) {
		scan_free(&s);
		err_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < s.nold; i++) {
		const struct oldmap *m = &s.old[i];
		struct attach_mapping *a = &(*out)[i];
		a->start = m->start;
		a->limit = m->limit;
		a->offset = m->offset;
		a->file = m->file;
		a->file_len = m->file_len;
		a->build_id = m->bid;
		a->build_id_len = m->bid_len;
	}
	*n = s.nold;
	scan_free(&s);
	return 0;
}

int attach_table_from_snapshot(const struct snapshot *s, struct attach_mapping **out,
			       size_t *n, struct errmsg *err)
{
	size_t k = 0;
	*out = malloc((s->n ? s->n : 1) * sizeof **out);
	if (!*out) {
		err_set(err, "out of memory");
		return -1;
	}
	for (int main_pass = 1; main_pass >= 0; main_pass--) {
		for (size_t i = 0; i < s->n; i++) {
			const struct mapping *m = &s->map[i];
			if (!(m->flags & MAPF_MAIN) != !main_pass)
				continue;
			struct attach_mapping *a = &(*out)[k++];
			a->start = m->start;
			a->limit = m->limit;
			a->offset = m->offset;
			a->file = snapshot_str(s, m->file);
			a->file_len = strlen(a->file);
			a->build_id = snapshot_str(s, m->build_id);
			a->build_id_len = strlen(a->build_id);
		}
	}
	*n = k;
	return 0;
}

/* ---- rewriting ---------------------------------------------------------- */

/* A sort key: a value and the index, in its table, of what it belongs to. */
struct key {
	uint64_t v;
	uint32_t i;
};

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* The first key in k[0..n) with value above v. */
static size_t key_upper(const struct key *k, size_t n, uint64_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k[mid].v <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The snapshot's strings by slot: slot 2i is mapping i's file, 2i+1 its
 * build ID.
 */
static int string_slot(const struct attach_mapping *snap, uint32_t slot, const char **s, size_t *n)
{
	const struct attach_mapping *m = &snap[slot / 2];
	*s = slot & 1 ? m->build_id : m->file;
	*n = slot & 1 ? m->build_id_len : m->file_len;
	return *n != 0;
}

struct strkey {
	const char *s;
	size_t n;
	uint32_t slot;
};

static int strkey_cmp(const void *a, const void *b)
{
	const struct strkey *x = a, *y = b;
	int d = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
	if (d)
		return d;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

struct attach {
	const struct attach_mapping *snap;
	size_t n;
	struct key *by_start;	/* snapshot mappings with a non-empty range */
	size_t nsorted;
	unsigned *has;		/* per snapshot mapping: flags carried over */
	unsigned char *has_seen;	/* ... from at least one old mapping */
	uint64_t *str;		/* per string slot: its string-table index */
	uint32_t *rep;		/* per string slot: the first slot with its bytes */
	struct scan sc;
	struct key *old_by_id;
	struct buf tmp;		/* one message being re-encoded */
};

static void attach_free(struct attach *a)
{
	free(a->by_start);
	free(a->has);
	free(a->has_seen);
	free(a->str);
	free(a->rep);
	free(a->old_by_id);
	scan_free(&a->sc);
	buf_free(&a->tmp);
}

static int oldmap_empty(const struct oldmap *m)
{
	return (m->file_len == 0 && m->bid_len == 0) || m->limit <= m->start;
}

/* The index of the snapshot mapping holding addr, or -1. */
static long snap_find(const struct attach *a, uint64_t addr)
{
	size_t k = key_upper(a->by_start, a->nsorted, addr);
	if (k == 0)
		return -1;
	uint32_t i = a->by_start[k - 1].i;
	return addr < a->snap[i].limit ? (long)i : -1;
}

/* The index of the old mapping with this id, or -1. */
static long old_find(const struct attach *a, uint64_t id)
{
	size_t k = key_upper(a->old_by_id, a->sc.nold, id);
	if (id == 0 || k == 0 || a->old_by_id[k - 1].v != id)
		return -1;
	return (long)a->old_by_id[k - 1].i;
}

/*
 * Index tables: snapshot mappings by start, old mappings by id, and the
 * snapshot's strings deduplicated.
 */
static int attach_index(struct attach *a, struct errmsg *err)
{
	size_t n = a->n, nold = a->sc.nold, n2 = 2 * n;
	if (n > UINT32_MAX / 2 || nold > UINT32_MAX) {
		err_set(err, "too many mappings");
		return -1;
	}
	/* calloc(x ? x : 1, ...): never a zero-size request. */
	struct strkey *strs = calloc(n2 ? n2 : 1, sizeof *strs);
	a->by_start = calloc(n ? n : 1, sizeof *a->by_start);
	a->has = calloc(n ? n : 1, sizeof *a->has);
	a->has_seen = calloc(n ? n : 1, 1);
	a->str = calloc(n2 ? n2 : 1, sizeof *a->str);
	a->rep = calloc(n2 ? n2 : 1, sizeof *a->rep);
	a->old_by_id = calloc(nold ? nold : 1, sizeof *a->old_by_id);
	if (!strs || !a->by_start || !a->has || !a->has_seen || !a->str || !a->rep ||
	    !a->old_by_id) {
		free(strs);
		err_set(err, "out of memory");
		return -1;
	}

	for (uint32_t i = 0; i < n; i++)
		if (a->snap[i].limit > a->snap[i].start)
			a->by_start[a->nsorted++] = (struct key){ a->snap[i].start, i };
	qsort(a->by_start, a->nsorted, sizeof *a->by_start, key_cmp);

	for (uint32_t i = 0; i < nold; i++)
		a->old_by_id[i] = (struct key){ a->sc.old[i].id, i };
	qsort(a->old_by_id, nold, sizeof *a->old_by_id, key_cmp);

	/* Equal strings sort by slot, so each run starts with its first slot. */
	for (uint32_t i = 0; i < n2; i++) {
		strs[i].slot = i;
		string_slot(a->snap, i, &strs[i].s, &strs[i].n);
	}
	qsort(strs, n2, sizeof *strs, strkey_cmp);
	for (size_t i = 0; i < n2; i++) {
		const struct strkey *x = &strs[i], *prev = i ? &strs[i - 1] : NULL;
		int same = prev && prev->n == x->n && memcmp(prev->s, x->s, x->n) == 0;
		a->rep[x->slot] = same ? a->rep[prev->slot] : x->slot;
	}
	free(strs);
	return 0;
}

static int location_parse(const unsigned char *p, size_t len, uint64_t *mapping_id,
			  uint64_t *address, const char **why)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	int rc;
	*mapping_id = *address = 0;
	while ((rc = pb_next(&r, &f, why)) > 0) {
		if (f.number != LOCATION_MAPPING_ID && f.number != LOCATION_ADDRESS)
			continue;
		if (f.type != PB_VARINT) {
			*why = f.number == LOCATION_ADDRESS ? "address is not a varint"
							   : "mapping_id is not a varint";
			return -1;
		}
		*(f.number == LOCATION_ADDRESS ? address : mapping_id) = f.value;
	}
	return rc;
}

/*
 * Where a location goes: a snapshot mapping (*snap >= 0), or else its old
 * mapping (*old >= 0, kept only if it is not empty), or nowhere.
 */
static void location_place(const struct attach *a, uint64_t mapping_id, uint64_t address,
			   long *snap, long *old)
{
	*snap = address ? snap_find(a, address) : -1;
	*old = old_find(a, mapping_id);
}

/* Decides which old mappings stay and which flags carry over. */
static int attach_plan(struct attach *a, const unsigned char *p, size_t len,
		       struct attach_stats *st, struct errmsg *err)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why = NULL;
	const unsigned char *at = r.p;
	int rc;

	while ((rc = pb_next(&r, &f, &why)) > 0) {
		if (f.number != PROFILE_LOCATION) {
			at = r.p;
			continue;
		}
		uint64_t mid, addr;
		long s, o;
		st->locations++;
		if (location_parse(f.data, f.len, &mid, &addr, &why) < 0)
			return fail_at(err, p, at, "location", st->locations, why);
		location_place(a, mid, addr, &s, &o);
		if (s >= 0) {
			st->mapped++;
			if (o >= 0) {
				a->has[s] = a->has_seen[s] ? a->has[s] & a->sc.old[o].has
							   : a->sc.old[o].has;
				a->has_seen[s] = 1;
			}
		} else if (o >= 0 && !oldmap_empty(&a->sc.old[o])) {
			a->sc.old[o].used = 1;
			st->kept_locations++;
		}
		at = r.p;
	}
	if (rc < 0)
		return fail_at(err, p, at, NULL, 0, why);

	uint64_t next = (uint64_t)a->n + 1;
	for (size_t i = 0; i < a->sc.nold; i++) {
		if (a->sc.old[i].used) {
			a->sc.old[i].new_id = next++;
			st->kept++;
		} else {
			st->dropped++;
		}
	}

	uint64_t nexts = a->sc.nstrings ? a->sc.nstrings : 1;	/* 0 is "" */
	for (uint32_t slot = 0; slot < 2 * a->n; slot++) {
		const char *s;
		size_t n;
		if (!string_slot(a->snap, slot, &s, &n))
			a->str[slot] = 0;
		else
			a->str[slot] = a->rep[slot] == slot ? nexts++ : a->str[a->rep[slot]];
	}
	return 0;
}

static void put_mappings(struct attach *a, struct buf *out)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct attach_mapping *m = &a->snap[i];
		struct pprof_mapping pm = {
			.id = i + 1,
			.start = m->start,
			.limit = m->limit,
			.offset = m->offset,
			.filename = (int64_t)a->str[2 * i],
			.build_id = (int64_t)a->str[2 * i + 1],
			.has = a->has[i],
		};
		pprof_put_mapping(out, &pm);
	}
	for (size_t i = 0; i < a->sc.nold; i++) {
		const struct oldmap *m = &a->sc.old[i];
		struct pb_reader r = pb_reader(m->body, m->len);
		struct pb_field f;
		const char *why;
		if (!m->new_id)
			continue;
		a->tmp.len = 0;
		pb_put_uint(&a->tmp, MAPPING_ID, m->new_id);
		while (pb_next(&r, &f, &why) > 0)	/* checked by scan_profile */
			if (f.number != MAPPING_ID)
				buf_put(&a->tmp, f.raw, f.raw_len);
		pb_put_bytes(out, PROFILE_MAPPING, a->tmp.p, a->tmp.len);
	}
}

static void put_new_strings(const struct attach *a, struct buf *out)
{
	for (uint32_t slot = 0; slot < 2 * a->n; slot++) {
		const char *s;
		size_t n;
		if (string_slot(a->snap, slot, &s, &n) && a->rep[slot] == slot)
			pb_put_bytes(out, PROFILE_STRING_TABLE, s, n);
	}
}

/*
 * The location with only mapping_id changed. The new value takes the place
 * of the last mapping_id field (the one that counts: in protobuf a later
 * field overrides an earlier one) and the others go; without one, it goes
 * where the field belongs, before the first field numbered above it.
 */
static void put_location(struct attach *a, const unsigned char *p, size_t len, uint64_t id,
			 struct buf *out)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why;
	const unsigned char *last = NULL;
	while (pb_next(&r, &f, &why) > 0)	/* checked by attach_plan */
		if (f.number == LOCATION_MAPPING_ID)
			last = f.raw;

	int placed = 0;
	a->tmp.len = 0;
	r = pb_reader(p, len);
	while (pb_next(&r, &f, &why) > 0) {
		if (!placed && (last ? f.raw == last : f.number > LOCATION_MAPPING_ID)) {
			if (id)
				pb_put_uint(&a->tmp, LOCATION_MAPPING_ID, id);
			placed = 1;
		}
		if (f.number != LOCATION_MAPPING_ID)
			buf_put(&a->tmp, f.raw, f.raw_len);
	}
	if (!placed && id)
		pb_put_uint(&a->tmp, LOCATION_MAPPING_ID, id);
	pb_put_bytes(out, PROFILE_LOCATION, a->tmp.p ? a->tmp.p : (const unsigned char *)"",
		     a->tmp.len);
}

int attach_profile(const unsigned char *p, size_t len, const struct attach_mapping *snap,
		   size_t n, struct buf *out, struct attach_stats *st, struct errmsg *err)
{
	struct attach a = { .snap = snap, .n = n };
	memset(st, 0, sizeof *st);
	st->mappings = n;
	if (scan_profile(p, len, &a.sc, err) < 0)
		return -1;
	if (attach_index(&a, err) < 0 || attach_plan(&a, p, len, st, err) < 0) {
		attach_free(&a);
		return -1;
	}

	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why;
	int mappings_done = 0;
	size_t strings = 0;
	while (pb_next(&r, &f, &why) > 0) {	/* checked by scan_profile */
		if (!mappings_done && f.number >= PROFILE_MAPPING) {
			put_mappings(&a, out);
			mappings_done = 1;
		}
		if (f.number == PROFILE_MAPPING)
			continue;
		if (f.number == PROFILE_LOCATION) {
			uint64_t mid, addr, id = 0;
			long s, o;
			location_parse(f.data, f.len, &mid, &addr, &why);
			location_place(&a, mid, addr, &s, &o);
			if (s >= 0)
				id = (uint64_t)s + 1;
			else if (o >= 0)
				id = a.sc.old[o].new_id;
			put_location(&a, f.data, f.len, id, out);
			continue;
		}
		buf_put(out, f.raw, f.raw_len);
		if (f.number == PROFILE_STRING_TABLE && ++strings == a.sc.nstrings)
			put_new_strings(&a, out);
	}
	if (!mappings_done)
		put_mappings(&a, out);
	if (a.sc.nstrings == 0) {
		pb_put_bytes(out, PROFILE_STRING_TABLE, "", 0);
		put_new_strings(&a, out);
	}

	int oom = out->oom || a.tmp.oom;
	attach_free(&a);
	if (oom) {
		err_set(err, "out of memory");
		return -1;
	}
	return 0;
}
