/*
 * attach/plan.c - the first pass over a profile and the plan (see attach.h
 * and docs/attach.md).
 *
 * The profile goes by as a stream of top-level fields (wire/split.c). The
 * first pass decodes every Mapping (kept, a few dozen bytes each) and
 * every Location (its mapping_id and address kept), counts the strings and
 * notes which are empty, and checks the framing; then the plan says which
 * old mappings stay, which flags each mapping carries, and what each
 * string slot becomes. Nothing is kept per sample. The second pass
 * (rewrite.c) writes the result from what is decided here.
 *
 * With a JIT symbol table, the first pass counts the symbols locations
 * fall in (only one number per symbol is kept); with --symbolize, the plan
 * asks for every location's frames, in location order.
 */
#include <stdlib.h>
#include <string.h>

#include "attach/plan.h"
#include "jit.h"
#include "symbolize.h"
#include "wire/pbwire.h"
#include "wire/profile.h"

static int no_memory(struct errmsg *err)
{
	err_setc(err, ERR_NO_MEMORY, "out of memory");
	return -1;
}

/*
 * An array p of sz-byte elements, with room for element n: p itself, or
 * p moved to twice its room; NULL when out of memory (p stays as it was).
 */
static void *grow(void *p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return p;
	size_t ncap = *cap ? 2 * *cap : 16;
	void *q = ncap <= SIZE_MAX / sz ? realloc(p, ncap * sz) : NULL;
	if (q)
		*cap = ncap;
	return q;
}

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

int attach_string_slot(const struct attach_mapping *snap, uint32_t slot, const char **s,
		       size_t *n)
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
	size_t n = x->n < y->n ? x->n : y->n;
	int d = n ? memcmp(x->s, y->s, n) : 0;	/* an empty one may have no bytes */
	if (d)
		return d;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

/* An old mapping that names nothing, or no addresses, is not kept. */
static int oldmap_empty(const struct oldmap *m)
{
	return m->named == 0 || m->limit <= m->start;
}

/* The index of the old mapping with this id, or -1. */
static long old_find(const struct attach_stream *a, uint64_t id)
{
	size_t k = key_upper(a->old_by_id, a->sc.nold, id);
	if (id == 0 || k == 0 || a->old_by_id[k - 1].v != id)
		return -1;
	return (long)a->old_by_id[k - 1].i;
}

void attach_location_place(const struct attach_stream *a, uint64_t mapping_id,
			   uint64_t address, long *snap, long *old)
{
	*snap = address ? (long)addrmap_find(&a->where, address) : -1;
	*old = old_find(a, mapping_id);
}

int attach_names_wanted(const struct attach_stream *a, uint64_t addr, int has_line, long snap)
{
	return a->nt && addr && !has_line && snap >= 0 && !(a->jit && jit_lookup(a->jit, addr));
}

int attach_location_parse(const unsigned char *p, size_t len, uint64_t *mapping_id,
			  uint64_t *address, int *has_line, const char **why)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	int rc;
	*mapping_id = *address = 0;
	*has_line = 0;
	while ((rc = pb_next(&r, &f, why)) > 0) {
		if (f.number == LOCATION_LINE)
			*has_line = 1;
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

/* ---- the first pass ------------------------------------------------------ */

static int scan_mapping(struct attach_stream *a, const unsigned char *p, size_t len,
			struct errmsg *err)
{
	struct scan *s = &a->sc;
	const char *why = NULL;
	struct pprof_mapping pm;
	struct oldmap *old = grow(s->old, &s->old_cap, s->nold, sizeof *s->old);
	if (!old)
		return no_memory(err);
	s->old = old;
	if (pprof_mapping_parse(p, len, &pm, &why) < 0)
		return pprof_invalid(err, a->sp.at, "mapping", s->nold + 1, why);
	s->old[s->nold] = (struct oldmap){
		.id = pm.id, .start = pm.start, .limit = pm.limit, .offset = pm.offset,
		.filename = (uint64_t)pm.filename, .build_id = (uint64_t)pm.build_id,
		.has = pm.has, .body = s->bodies.len, .len = len,
	};
	buf_put(&s->bodies, p, len);
	if (s->bodies.oom)
		return no_memory(err);
	s->nold++;
	return 0;
}

/* A JIT symbol holding a location without a line gets a rank, once. */
static void scan_jit(struct attach_stream *a, uint64_t address)
{
	const struct jit_sym *sym = jit_lookup(a->jit, address);
	if (sym) {
		size_t i = (size_t)(sym - a->jit->sym);
		if (!a->jit_fn[i])
			a->jit_fn[i] = (uint32_t)++a->jit_used;
		a->jit_named++;
	}
}

/* A bad location is told only once the framing of the whole is known good. */
static int scan_location(struct attach_stream *a, const unsigned char *p, size_t len,
			 struct errmsg *err)
{
	struct scan *s = &a->sc;
	struct locref r;
	const char *why = NULL;
	int has_line;
	if (attach_location_parse(p, len, &r.mapping_id, &r.address, &has_line, &why) < 0) {
		has_line = 1;	/* the plan fails on it before it asks for names */
		if (!s->loc_why) {
			s->loc_why = why;
			s->loc_ordinal = s->nlocations;
			s->loc_at = a->sp.at;
		}
	} else if (a->jit && r.address && !has_line) {
		scan_jit(a, r.address);
	}
	struct locref *loc = grow(s->loc, &s->loc_cap, s->nlocations - 1, sizeof *s->loc);
	if (!loc)
		return no_memory(err);
	s->loc = loc;
	r.has_line = has_line;
	s->loc[s->nlocations - 1] = r;
	return 0;
}

/* Only a function's id counts: the JIT's get ids above every one. */
static int scan_function(struct attach_stream *a, const unsigned char *p, size_t len,
			 struct errmsg *err)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why = NULL;
	int rc;
	while ((rc = pb_next(&r, &f, &why)) > 0)
		if (f.number == 1 && f.type == PB_VARINT && f.value > a->fn_max)
			a->fn_max = f.value;	/* Function.id */
	return rc < 0 ? pprof_invalid(err, a->sp.at, "function", 0, why) : 0;
}

/* One more string: is it empty? (string_table[0] must be.) */
static int scan_string(struct scan *s, size_t len, struct errmsg *err)
{
	unsigned char *full = grow(s->full, &s->full_cap, s->nstrings / 8, 1);
	if (!full)
		return no_memory(err);
	s->full = full;
	if (s->nstrings % 8 == 0)
		s->full[s->nstrings / 8] = 0;
	if (len)
		s->full[s->nstrings / 8] |= (unsigned char)(1u << (s->nstrings % 8));
	if (s->nstrings == 0 && len)
		s->str0_full = 1;
	s->nstrings++;
	return PB_SPLIT_SKIP;
}

static int scan_header(void *ctx, const struct pb_field *f, const unsigned char *raw,
		       size_t hlen, struct errmsg *err)
{
	struct attach_stream *a = ctx;
	struct scan *s = &a->sc;
	uint64_t at = a->sp.at;
	(void)raw;
	(void)hlen;
	s->held = 0;
	switch (f->number) {
	case PROFILE_MAPPING:
		if (f->type != PB_LEN)
			return pprof_invalid(err, at, "mapping", s->nold + 1, "not length-delimited");
		if (s->nold >= PPROF_MAPPINGS_MAX)
			return pprof_invalid(err, at, "mapping", s->nold + 1,
					     "too many mappings (attach takes at most 1048576)");
		break;
	case PROFILE_LOCATION:
		if (f->type != PB_LEN)
			return pprof_invalid(err, at, "location", s->nlocations + 1,
					     "not length-delimited");
		if (s->nlocations >= PPROF_LOCATIONS_MAX)
			return pprof_invalid(err, at, "location", s->nlocations + 1,
					     "too many locations (attach takes at most 16777216)");
		s->nlocations++;
		break;
	case PROFILE_FUNCTION:
		/* Function ids matter only when functions are added. */
		if (f->type != PB_LEN || !(a->jit || a->names))
			return PB_SPLIT_SKIP;
		break;
	case PROFILE_STRING_TABLE:
		if (f->type != PB_LEN)
			return pprof_invalid(err, at, "string", s->nstrings, "not length-delimited");
		return scan_string(s, f->len, err);
	default:
		return PB_SPLIT_SKIP;
	}
	s->held = 1;
	return PB_SPLIT_HOLD;
}

static int scan_field(void *ctx, const struct pb_field *f, struct errmsg *err)
{
	struct attach_stream *a = ctx;
	struct scan *s = &a->sc;
	if (!s->held)
		return 0;
	if (!f->data)
		return pprof_invalid(err, a->sp.at,
				     f->number == PROFILE_MAPPING    ? "mapping"
				     : f->number == PROFILE_FUNCTION ? "function"
								     : "location",
				     f->number == PROFILE_MAPPING ? s->nold + 1 : s->nlocations,
				     "longer than attach handles (64 MiB)");
	if (f->number == PROFILE_MAPPING)
		return scan_mapping(a, f->data, f->len, err);
	if (f->number == PROFILE_FUNCTION)
		return scan_function(a, f->data, f->len, err);
	return scan_location(a, f->data, f->len, err);
}

static int scan_bad(void *ctx, uint64_t at, const char *why, struct errmsg *err)
{
	(void)ctx;
	return pprof_invalid(err, at, NULL, 0, why);
}

static const struct pb_split_ops scan_ops = {
	.header = scan_header, .field = scan_field, .bad = scan_bad,
};

static int string_full(const struct scan *s, uint64_t i)
{
	return (s->full[i / 8] >> (i % 8)) & 1;
}

/*
 * After the first pass: every old mapping's strings in the table, and
 * string_table[0] empty. Fills in which old mappings name a file or a
 * build ID.
 */
static int scan_check_strings(struct scan *s, struct errmsg *err)
{
	for (size_t j = 0; j < s->nold; j++) {
		struct oldmap *m = &s->old[j];
		const struct pprof_mapping pm = { .filename = (int64_t)m->filename,
						  .build_id = (int64_t)m->build_id };
		if (pprof_mapping_strings_check(&pm, j + 1, s->nstrings, err) < 0)
			return -1;
		m->named = (m->filename && string_full(s, m->filename)) |
			   (m->build_id && string_full(s, m->build_id)) << 1;
	}
	if (s->str0_full) {
		err_set(err, "not a valid pprof profile: string_table[0] is not empty");
		return -1;
	}
	return 0;
}

/* ---- the plan ------------------------------------------------------------- */

/*
 * Index tables: snapshot mappings by start, old mappings by id, and the
 * snapshot's strings deduplicated.
 */
static int attach_index(struct attach_stream *a, struct errmsg *err)
{
	size_t n = a->n, nold = a->sc.nold, n2 = 2 * n;
	if (n > UINT32_MAX / 2 || nold > UINT32_MAX) {
		err_set(err, "too many mappings");
		return -1;
	}
	/* calloc(x ? x : 1, ...): never a zero-size request. */
	struct strkey *strs = calloc(n2 ? n2 : 1, sizeof *strs);
	struct addrmap_range *ranges = calloc(n ? n : 1, sizeof *ranges);
	a->has = calloc(n ? n : 1, sizeof *a->has);
	a->has_seen = calloc(n ? n : 1, 1);
	a->str = calloc(n2 ? n2 : 1, sizeof *a->str);
	a->rep = calloc(n2 ? n2 : 1, sizeof *a->rep);
	a->old_by_id = calloc(nold ? nold : 1, sizeof *a->old_by_id);
	if (!strs || !ranges || !a->has || !a->has_seen || !a->str || !a->rep ||
	    !a->old_by_id) {
		free(strs);
		free(ranges);
		return no_memory(err);
	}

	for (uint32_t i = 0; i < n; i++)
		ranges[i] = (struct addrmap_range){ a->snap[i].start, a->snap[i].limit };
	int built = addrmap_build(&a->where, ranges, n);
	free(ranges);
	if (built < 0) {
		free(strs);
		return no_memory(err);
	}

	for (uint32_t i = 0; i < nold; i++)
		a->old_by_id[i] = (struct key){ a->sc.old[i].id, i };
	qsort(a->old_by_id, nold, sizeof *a->old_by_id, key_cmp);

	/* Equal strings sort by slot, so each run starts with its first slot. */
	for (uint32_t i = 0; i < n2; i++) {
		strs[i].slot = i;
		attach_string_slot(a->snap, i, &strs[i].s, &strs[i].n);
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

/* Which old mappings stay, and which flags each snapshot mapping carries over. */
static void plan_mappings(struct attach_stream *a, struct attach_stats *st)
{
	st->locations = a->sc.nlocations;
	for (size_t i = 0; i < a->sc.nlocations; i++) {
		long s, o;
		attach_location_place(a, a->sc.loc[i].mapping_id, a->sc.loc[i].address, &s, &o);
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
	}

	uint64_t next = (uint64_t)a->n + 1;
	for (size_t i = 0; i < a->sc.nold; i++) {
		if (a->sc.old[i].used) {
			a->sc.old[i].new_id = next++;
			st->kept++;
		} else {
			st->dropped++;
		}
	}
}

/*
 * The string-table index of every new string, after the profile's last:
 * the snapshot's (each distinct one once), then the JIT functions' names
 * and files, then (names_str on) what --symbolize adds.
 */
static void plan_strings(struct attach_stream *a, struct attach_stats *st)
{
	uint64_t nexts = a->sc.nstrings ? a->sc.nstrings : 1;	/* 0 is "" */
	for (uint32_t slot = 0; slot < 2 * a->n; slot++) {
		const char *s;
		size_t n;
		if (!attach_string_slot(a->snap, slot, &s, &n))
			a->str[slot] = 0;
		else
			a->str[slot] = a->rep[slot] == slot ? nexts++ : a->str[a->rep[slot]];
	}
	for (size_t i = 0; a->jit && i < a->jit->n; i++)
		if (a->jit_fn[i])
			a->jit_sym[a->jit_fn[i] - 1] = (uint32_t)i;
	for (size_t r = 0; a->jit && r < a->jit_used; r++) {	/* in the order they are written */
		const struct jit_sym *sym = &a->jit->sym[a->jit_sym[r]];
		a->jit_name[r] = nexts++;
		int has_file = sym->nline && a->jit->line[sym->line].file_len;
		a->jit_file[r] = has_file ? nexts++ : 0;
	}
	st->jit_named = a->jit_named;
	st->jit_functions = a->jit_used;
	a->names_str = nexts;
}

/*
 * attach --symbolize: each location that gets names (attach_names_wanted)
 * is asked for its frames, in location order, which the second pass
 * follows.
 */
static int names_plan(struct attach_stream *a, struct attach_stats *st, struct errmsg *err)
{
	struct sym_frame fr[SYM_FRAMES_MAX];
	if (!a->nt)
		return 0;
	if (!(a->names_has = calloc(a->n ? a->n : 1, sizeof *a->names_has)))
		return no_memory(err);
	for (size_t i = 0; i < a->sc.nlocations; i++) {
		const struct locref *r = &a->sc.loc[i];
		long s = r->address ? (long)addrmap_find(&a->where, r->address) : -1;
		if (!attach_names_wanted(a, r->address, r->has_line, s))
			continue;
		size_t n = a->names(a->names_ctx, r->address, fr, SYM_FRAMES_MAX);
		if (names_table_add(a->nt, fr, n) < 0)
			return no_memory(err);
		if (n == 0)
			continue;
		a->symbolized++;
		unsigned has = n > 1 ? PPROF_HAS_INLINE_FRAMES : 0;
		for (size_t k = 0; k < n; k++) {
			if (fr[k].function || fr[k].system_name)
				has |= PPROF_HAS_FUNCTIONS;
			if (fr[k].file)
				has |= PPROF_HAS_FILENAMES;
			if (fr[k].line)
				has |= PPROF_HAS_LINE_NUMBERS;
		}
		a->names_has[s] |= has;
	}
	st->symbolized = a->symbolized;
	st->sym_functions = names_table_functions(a->nt);
	return 0;
}

/* Room for the JIT functions, whose ids go above every one of the profile's. */
static int jit_plan(struct attach_stream *a, struct errmsg *err)
{
	size_t added = a->jit_used + (a->nt ? names_table_functions(a->nt) : 0);
	if (a->jit_used) {
		a->jit_sym = calloc(a->jit_used, sizeof *a->jit_sym);
		a->jit_name = calloc(a->jit_used, sizeof *a->jit_name);
		a->jit_file = calloc(a->jit_used, sizeof *a->jit_file);
		if (!a->jit_sym || !a->jit_name || !a->jit_file)
			return no_memory(err);
	}
	if (a->fn_max > UINT64_MAX - added) {
		err_set(err, "not a valid pprof profile: function ids too large to add more");
		return -1;
	}
	return 0;
}

/* ---- the interface ---------------------------------------------------------- */

struct attach_stream *attach_stream_new(const struct attach_mapping *snap, size_t n,
					attach_put_fn put, void *ctx, struct errmsg *err)
{
	struct attach_stream *a = calloc(1, sizeof *a);
	if (!a) {
		no_memory(err);
		return NULL;
	}
	a->snap = snap;
	a->n = n;
	a->put = put;
	a->put_ctx = ctx;
	pb_split_init(&a->sp, &scan_ops, a, PPROF_MESSAGE_MAX);
	return a;
}

int attach_stream_set_jit(struct attach_stream *a, const struct jit_table *jit,
			  struct errmsg *err)
{
	if (!jit || jit->n == 0)
		return 0;
	if (!(a->jit_fn = calloc(jit->n, sizeof *a->jit_fn)))
		return no_memory(err);
	a->jit = jit;
	return 0;
}

int attach_stream_set_names(struct attach_stream *a, attach_names_fn names, void *ctx,
			    struct errmsg *err)
{
	if (!(a->nt = names_table_new()))
		return no_memory(err);
	a->names = names;
	a->names_ctx = ctx;
	return 0;
}

int attach_stream_scan(struct attach_stream *a, const void *p, size_t len, struct errmsg *err)
{
	return pb_split_feed(&a->sp, p, len, err);
}

int attach_stream_plan(struct attach_stream *a, struct attach_stats *st, struct errmsg *err)
{
	struct scan *s = &a->sc;
	memset(st, 0, sizeof *st);
	st->mappings = a->n;
	if (pb_split_end(&a->sp, err) < 0 || scan_check_strings(s, err) < 0)
		return -1;
	if (s->loc_why)
		return pprof_invalid(err, s->loc_at, "location", s->loc_ordinal, s->loc_why);
	if (attach_index(a, err) < 0 || names_plan(a, st, err) < 0 || jit_plan(a, err) < 0)
		return -1;
	plan_mappings(a, st);
	plan_strings(a, st);
	for (size_t i = 0; a->names_has && i < a->n; i++)
		a->has[i] |= a->names_has[i];
	free(s->loc);	/* the plan is made: locations are placed again as they pass */
	s->loc = NULL;
	s->loc_cap = 0;

	a->len1 = a->sp.pos;
	a->digest1 = pb_split_digest(&a->sp);
	return 0;
}

void attach_stream_free(struct attach_stream *a)
{
	if (!a)
		return;
	addrmap_free(&a->where);
	free(a->has);
	free(a->has_seen);
	free(a->str);
	free(a->rep);
	free(a->old_by_id);
	names_table_free(a->nt);
	free(a->names_has);
	free(a->jit_fn);
	free(a->jit_sym);
	free(a->jit_name);
	free(a->jit_file);
	free(a->sc.old);
	buf_free(&a->sc.bodies);
	free(a->sc.full);
	free(a->sc.loc);
	pb_split_free(&a->sp);
	buf_free(&a->out);
	buf_free(&a->tmp);
	free(a);
}

int attach_table_from_snapshot(const struct snapshot *s, struct attach_mapping **out,
			       size_t *n, struct errmsg *err)
{
	size_t *order = malloc((s->n ? s->n : 1) * sizeof *order);
	*out = malloc((s->n ? s->n : 1) * sizeof **out);
	if (!*out || !order) {
		free(order);
		free(*out);
		*out = NULL;
		return no_memory(err);
	}
	/* The table's order is the pprof writer's: main executable first. */
	pprof_main_first(s, order);
	for (size_t k = 0; k < s->n; k++) {
		const struct mapping *m = &s->map[order[k]];
		struct attach_mapping *a = &(*out)[k];
		a->start = m->start;
		a->limit = m->limit;
		a->offset = m->offset;
		a->file = snapshot_str(s, m->file);
		a->file_len = strlen(a->file);
		a->build_id = snapshot_str(s, m->build_id);
		a->build_id_len = strlen(a->build_id);
	}
	free(order);
	*n = s->n;
	return 0;
}
