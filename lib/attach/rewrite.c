/*
 * attach.c - rewriting a pprof profile around a new mapping table (see
 * attach.h and docs/attach.md).
 *
 * The profile goes by twice, as a stream of top-level fields cut anywhere
 * into pieces. The first pass decodes every Mapping (kept, a few dozen
 * bytes each) and every Location (its mapping_id and address kept), counts
 * the strings and notes which are empty, and checks the framing; then the
 * plan says which old mappings stay and what each string slot becomes. The
 * second pass writes the result: every field but mappings and locations
 * goes out as the bytes it came as, without being held whole; each
 * location is re-encoded with only its mapping_id changed. Nothing is kept
 * per sample.
 *
 * With a JIT symbol table (attach_stream_set_jit), a location inside a
 * symbol that has no line gets one, whose function is new: the functions
 * and their strings go out after the profile's last string. The symbols
 * are found again as locations pass; only one number per symbol is kept.
 *
 * Portable C: no OS headers here (the Windows build compiles this too).
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "addrmap.h"
#include "attach/attach.h"
#include "wire/gz.h"
#include "jit.h"
#include "symbolize.h"
#include "wire/pbwire.h"
#include "wire/profile.h"

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
			err_setc(err, ERR_TOO_LARGE, "size exceeds the limit (%llu bytes)", (unsigned long long)max);
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
	const char *file, *bid;		/* resolved by the table reader only */
	size_t file_len, bid_len;	/* ... and by everyone: 0 when "" */
	size_t body, len;		/* the Mapping message, in scan.bodies */
	unsigned has;			/* PPROF_HAS_* */
	int used;			/* some location stays with it */
	uint64_t new_id;		/* 0: dropped */
};

/* What a location is, for the plan. */
struct locref {
	uint64_t mapping_id, address;
	int has_line;
};

/* What the first pass over a profile finds. */
struct scan {
	struct oldmap *old;
	size_t nold, old_cap;
	struct buf bodies;		/* the old Mapping messages, back to back */
	size_t nstrings;
	unsigned char *full;		/* bit i: string i is not empty */
	size_t full_cap;		/* bytes */
	int str0_full;			/* string_table[0] is not "" */
	int want_locations;		/* decode locations (the table reader does not) */
	struct locref *loc;
	size_t nlocations, loc_cap;
	const char *loc_why;		/* the first bad location: why, */
	size_t loc_ordinal;		/* which, */
	uint64_t loc_at;		/* and where it begins */
};

static void scan_free(struct scan *s)
{
	free(s->old);
	buf_free(&s->bodies);
	free(s->full);
	free(s->loc);
	memset(s, 0, sizeof *s);
}

static int mapping_parse(const unsigned char *p, size_t len, struct oldmap *m, const char **why)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof *m);
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

static int fail_at(struct errmsg *err, uint64_t at, const char *what, size_t ordinal,
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

/* ---- cutting a stream into fields ---------------------------------------- */

/*
 * The longest field header: a key and a varint value or length, each at
 * most 10 bytes (the key may be padded).
 */
#define HEADER_MAX 20

/*
 * The largest single Mapping or Location attach holds (whole, to decode
 * or re-encode it). Real ones are far smaller; other fields are never
 * held, whatever their size.
 */
#define MESSAGE_MAX ((uint64_t)64 << 20)

/*
 * What the first pass keeps costs about 130 bytes an old mapping and 16 a
 * location, so a hostile profile of empty messages (two bytes each) could
 * make it hold far more than its own size. Real profiles stay far below
 * these: past them attach refuses, with bounded memory (~130 + 256 MiB).
 */
#define OLD_MAPPINGS_MAX ((size_t)1 << 20)
#define LOCATIONS_MAX ((size_t)1 << 24)

/*
 * Reads a varint at *q: 1 read, 0 cut short by the end of what is there
 * (*why says so), -1 malformed.
 */
static int header_varint(const unsigned char **q, const unsigned char *end, uint64_t *v,
			 const char **why)
{
	size_t n = (size_t)(end - *q);
	int cut = n < 10;
	for (size_t i = 0; cut && i < n; i++)
		cut = ((*q)[i] & 0x80) != 0;
	if (cut) {
		*why = "truncated varint";
		return 0;
	}
	return pb_get_varint(q, end, v, why) < 0 ? -1 : 1;
}

/*
 * The header of the field at p (n bytes there): its key, and its value or
 * the length of the payload to follow. 1 with *hlen its length, 0 when p
 * ends inside it (*why says how, should no more come), -1 malformed; the
 * messages are pb_next's.
 */
static int header_parse(const unsigned char *p, size_t n, struct pb_field *f, uint64_t *plen,
			size_t *hlen, const char **why)
{
	const unsigned char *q = p, *end = p + n;
	uint64_t key;
	int rc;
	memset(f, 0, sizeof *f);
	*plen = 0;
	if ((rc = header_varint(&q, end, &key, why)) <= 0)
		return rc;
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff) {
		*why = "invalid field number";
		return -1;
	}
	f->number = (uint32_t)(key >> 3);
	f->type = (enum pb_wiretype)(key & 7);
	switch (f->type) {
	case PB_VARINT:
		if ((rc = header_varint(&q, end, &f->value, why)) <= 0)
			return rc;
		break;
	case PB_FIXED64:
	case PB_FIXED32: {
		size_t k = f->type == PB_FIXED64 ? 8 : 4;
		if ((size_t)(end - q) < k) {
			*why = "truncated fixed-width field";
			return 0;
		}
		for (size_t i = 0; i < k; i++)
			f->value |= (uint64_t)q[i] << (8 * i);
		q += k;
		break;
	}
	case PB_LEN:
		if ((rc = header_varint(&q, end, plen, why)) <= 0)
			return rc;
		break;
	default:
		*why = "unsupported wire type";
		return -1;
	}
	*hlen = (size_t)(q - p);
	return 1;
}

/* What becomes of a field's payload once its header is read. */
enum action {
	SKIP,	/* nothing */
	KEEP,	/* gathered whole, then handed over */
	PASS,	/* written out as it comes (the header already is) */
};

struct split {
	uint64_t pos;			/* bytes seen */
	uint64_t at;			/* where the current field began */
	unsigned char hdr[HEADER_MAX];	/* a header that came apart, so far */
	size_t hdr_len;
	int in_payload;
	struct pb_field f;		/* the current field's header */
	uint64_t plen;			/* the payload's length */
	uint64_t left;			/* ... and how much of it is still to come */
	enum action action;
	int oversize;			/* KEEP, but over MESSAGE_MAX: not gathered */
	struct buf body;		/* a KEEP payload, so far */
	uint32_t crc;			/* of every byte seen */
};

/* ---- the rewriter --------------------------------------------------------- */

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
	size_t n = x->n < y->n ? x->n : y->n;
	int d = n ? memcmp(x->s, y->s, n) : 0;	/* an empty one may have no bytes */
	if (d)
		return d;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

struct strslot;

struct attach_stream {
	const struct attach_mapping *snap;
	size_t n;
	attach_put_fn put;
	void *put_ctx;
	struct addrmap where;	/* which snapshot mapping holds an address */
	unsigned *has;		/* per snapshot mapping: flags carried over */
	unsigned char *has_seen;	/* ... from at least one old mapping */
	uint64_t *str;		/* per string slot: its string-table index */
	uint32_t *rep;		/* per string slot: the first slot with its bytes */
	struct scan sc;
	struct key *old_by_id;
	int planned;
	struct split sp;
	uint64_t len1;		/* what the first pass saw: length and CRC */
	uint32_t crc1;
	int writing;		/* second pass */
	int collecting;		/* a snapshot's second pass: only its strings */
	struct strslot *slot;	/* ... the strings its mappings name, by index */
	size_t nslot, kslot;
	size_t *slot_off;	/* ... where each one's bytes begin in strs */
	struct buf strs;
	struct attach_jit_reader *jr;	/* a snapshot's JIT symbols, also (--jit) */
	int mappings_done;
	size_t strings;		/* string fields written so far */
	struct buf out;		/* output not yet handed to put */
	struct buf tmp;		/* one message being re-encoded */
	int out_failed;		/* put failed: err is put's */
	/* JIT symbols (docs/jit.md) */
	const struct jit_table *jit;
	uint32_t *jit_fn;	/* per symbol: its rank among those used, from 1; 0 unused */
	uint32_t *jit_sym;	/* per rank - 1: the symbol */
	size_t jit_used;	/* symbols some location falls in */
	size_t jit_named;	/* locations given a line */
	uint64_t fn_max;	/* the largest function id in the profile */
	uint64_t *jit_name, *jit_file;	/* per rank - 1: string indices (file 0: none) */
	/* attach --symbolize (names.c) */
	attach_names_fn names;
	void *names_ctx;
	struct names_table *nt;
	unsigned *names_has;	/* per snapshot mapping: PPROF_HAS_* found */
	uint64_t names_str;	/* the string index of the table's first string */
	size_t symbolized;
};

static int oldmap_empty(const struct oldmap *m)
{
	return (m->file_len == 0 && m->bid_len == 0) || m->limit <= m->start;
}

/* The index of the (innermost) snapshot mapping holding addr, or -1. */
static long snap_find(const struct attach_stream *a, uint64_t addr)
{
	return (long)addrmap_find(&a->where, addr);
}

/* The index of the old mapping with this id, or -1. */
static long old_find(const struct attach_stream *a, uint64_t id)
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
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}

	for (uint32_t i = 0; i < n; i++)
		ranges[i] = (struct addrmap_range){ a->snap[i].start, a->snap[i].limit };
	int built = addrmap_build(&a->where, ranges, n);
	free(ranges);
	if (built < 0) {
		free(strs);
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}

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

/*
 * Where a location goes: a snapshot mapping (*snap >= 0), or else its old
 * mapping (*old >= 0, kept only if it is not empty), or nowhere.
 */
static void location_place(const struct attach_stream *a, uint64_t mapping_id, uint64_t address,
			   long *snap, long *old)
{
	*snap = address ? snap_find(a, address) : -1;
	*old = old_find(a, mapping_id);
}


/* ---- the first pass ------------------------------------------------------ */

static int scan_mapping(struct attach_stream *a, const unsigned char *p, size_t len,
			struct errmsg *err)
{
	struct scan *s = &a->sc;
	const char *why = NULL;
	struct oldmap *old = grow(s->old, &s->old_cap, s->nold, sizeof *s->old);
	if (!old) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	s->old = old;
	struct oldmap *m = &s->old[s->nold];
	if (mapping_parse(p, len, m, &why) < 0)
		return fail_at(err, a->sp.at, "mapping", s->nold + 1, why);
	m->body = s->bodies.len;
	buf_put(&s->bodies, p, len);
	if (s->bodies.oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	s->nold++;
	return 0;
}

/* A bad location is told only once the framing of the whole is known good. */
static int scan_location(struct attach_stream *a, const unsigned char *p, size_t len,
			 struct errmsg *err)
{
	struct scan *s = &a->sc;
	struct locref r;
	const char *why = NULL;
	int has_line;
	if (location_parse(p, len, &r.mapping_id, &r.address, &has_line, &why) < 0) {
		has_line = 1;	/* the plan fails on it before it asks for names */
		if (!s->loc_why) {
			s->loc_why = why;
			s->loc_ordinal = s->nlocations;
			s->loc_at = a->sp.at;
		}
	} else if (a->jit && r.address && !has_line) {
		const struct jit_sym *sym = jit_lookup(a->jit, r.address);
		if (sym) {
			size_t i = (size_t)(sym - a->jit->sym);
			if (!a->jit_fn[i])
				a->jit_fn[i] = (uint32_t)++a->jit_used;
			a->jit_named++;
		}
	}
	struct locref *loc = grow(s->loc, &s->loc_cap, s->nlocations - 1, sizeof *s->loc);
	if (!loc) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
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
	return rc < 0 ? fail_at(err, a->sp.at, "function", 0, why) : 0;
}

static enum action scan_header(struct attach_stream *a, const struct pb_field *f,
			       uint64_t plen, struct errmsg *err, int *failed)
{
	struct scan *s = &a->sc;
	const char *what = f->number == PROFILE_MAPPING	   ? "mapping"
			   : f->number == PROFILE_LOCATION	   ? "location"
			   : f->number == PROFILE_STRING_TABLE ? "string"
								 : NULL;
	size_t ordinal = f->number == PROFILE_MAPPING	 ? s->nold + 1
			 : f->number == PROFILE_LOCATION ? s->nlocations + 1
							 : s->nstrings;
	if (what && f->type != PB_LEN) {
		*failed = fail_at(err, a->sp.at, what, ordinal, "not length-delimited");
		return SKIP;
	}
	switch (f->number) {
	case PROFILE_MAPPING:
		if (s->nold >= OLD_MAPPINGS_MAX) {
			*failed = fail_at(err, a->sp.at, what, ordinal,
					  "too many mappings (attach takes at most 1048576)");
			return SKIP;
		}
		return KEEP;
	case PROFILE_LOCATION:
		if (s->nlocations >= LOCATIONS_MAX) {
			*failed = fail_at(err, a->sp.at, what, ordinal,
					  "too many locations (attach takes at most 16777216)");
			return SKIP;
		}
		s->nlocations++;
		return s->want_locations || (a->jr && plen <= MESSAGE_MAX) ? KEEP : SKIP;
	case PROFILE_FUNCTION:
	case PROFILE_SAMPLE:
		if (f->type == PB_LEN && a->jr)
			return plen <= MESSAGE_MAX ? KEEP : SKIP;	/* a bigger one is left out */
		return f->number == PROFILE_FUNCTION && (a->jit || a->names) && f->type == PB_LEN ? KEEP : SKIP;
	case PROFILE_STRING_TABLE: {
		unsigned char *full = grow(s->full, &s->full_cap, s->nstrings / 8, 1);
		if (!full) {
			err_setc(err, ERR_NO_MEMORY, "out of memory");
			*failed = -1;
			return SKIP;
		}
		s->full = full;
		if (s->nstrings % 8 == 0)
			s->full[s->nstrings / 8] = 0;
		if (plen)
			s->full[s->nstrings / 8] |= (unsigned char)(1u << (s->nstrings % 8));
		if (s->nstrings == 0 && plen)
			s->str0_full = 1;
		s->nstrings++;
		return SKIP;
	}
	default:
		return SKIP;
	}
}

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
		const uint64_t idx[2] = { m->filename, m->build_id };
		for (int w = 0; w < 2; w++) {
			if (idx[w] >= s->nstrings && idx[w] != 0) {
				err_set(err, "not a valid pprof profile: mapping %llu names string %llu, "
					"past the string table (%llu strings)", (unsigned long long)j + 1,
					(unsigned long long)idx[w], (unsigned long long)s->nstrings);
				return -1;
			}
		}
		m->file_len = m->filename && string_full(s, m->filename);
		m->bid_len = m->build_id && string_full(s, m->build_id);
	}
	if (s->str0_full) {
		err_set(err, "not a valid pprof profile: string_table[0] is not empty");
		return -1;
	}
	return 0;
}

/* ---- the second pass ----------------------------------------------------- */

/* Hands the output gathered so far to put. */
static int out_flush(struct attach_stream *a, struct errmsg *err)
{
	if (a->out.oom || a->tmp.oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	if (a->out.len && a->put(a->put_ctx, a->out.p, a->out.len, err) < 0) {
		a->out_failed = 1;
		return -1;
	}
	a->out.len = 0;
	return 0;
}

enum { OUT_CHUNK = 64 * 1024 };

static int out_put(struct attach_stream *a, const void *p, size_t n, struct errmsg *err)
{
	if (n >= OUT_CHUNK) {
		if (out_flush(a, err) < 0)
			return -1;
		if (a->put(a->put_ctx, p, n, err) < 0) {
			a->out_failed = 1;
			return -1;
		}
		return 0;
	}
	buf_put(&a->out, p, n);
	return a->out.len >= OUT_CHUNK ? out_flush(a, err) : 0;
}

static void put_mappings(struct attach_stream *a, struct buf *out)
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
		if (!m->new_id)
			continue;
		const unsigned char *body = m->len ? a->sc.bodies.p + m->body : (const unsigned char *)"";
		struct pb_reader r = pb_reader(body, m->len);
		struct pb_field f;
		const char *why;
		a->tmp.len = 0;
		pb_put_uint(&a->tmp, MAPPING_ID, m->new_id);
		while (pb_next(&r, &f, &why) > 0)	/* checked by the first pass */
			if (f.number != MAPPING_ID)
				buf_put(&a->tmp, f.raw, f.raw_len);
		pb_put_bytes(out, PROFILE_MAPPING, a->tmp.p ? a->tmp.p : (const unsigned char *)"",
			     a->tmp.len);
	}
}

/*
 * After the profile's last string: the snapshot's strings, then the JIT
 * functions and their strings, in the order attach_plan numbered them.
 */
static void put_new_strings(const struct attach_stream *a, struct buf *out)
{
	for (uint32_t slot = 0; slot < 2 * a->n; slot++) {
		const char *s;
		size_t n;
		if (string_slot(a->snap, slot, &s, &n) && a->rep[slot] == slot)
			pb_put_bytes(out, PROFILE_STRING_TABLE, s, n);
	}
	for (size_t r = 0; a->jit && r < a->jit_used; r++) {
		const struct jit_sym *sym = &a->jit->sym[a->jit_sym[r]];
		pb_put_bytes(out, PROFILE_STRING_TABLE, jit_str(a->jit, sym->name), sym->name_len);
		if (a->jit_file[r]) {
			const struct jit_line *l = &a->jit->line[sym->line];
			pb_put_bytes(out, PROFILE_STRING_TABLE, jit_str(a->jit, l->file), l->file_len);
		}
	}
	if (a->nt)
		names_table_put_strings(a->nt, out);
	struct buf fn = { 0 };
	for (size_t r = 0; a->jit && r < a->jit_used; r++) {
		fn.len = 0;
		pb_put_uint(&fn, 1, a->fn_max + r + 1);	/* Function.id */
		pb_put_uint(&fn, 2, a->jit_name[r]);	/* name */
		pb_put_uint(&fn, 3, a->jit_name[r]);	/* system_name */
		if (a->jit_file[r])
			pb_put_uint(&fn, 4, a->jit_file[r]);	/* filename */
		pb_put_bytes(out, PROFILE_FUNCTION, fn.p, fn.len);
	}
	if (fn.oom)
		out->oom = 1;
	buf_free(&fn);
	if (a->nt)
		names_table_put_functions(a->nt, a->names_str, a->fn_max + a->jit_used, out);
}

/*
 * The location with only mapping_id changed. The new value takes the place
 * of the last mapping_id field (the one that counts: in protobuf a later
 * field overrides an earlier one) and the others go; without one, it goes
 * where the field belongs, before the first field numbered above it. A
 * line, when given, goes last.
 */
static void put_location(struct attach_stream *a, const unsigned char *p, size_t len, uint64_t id,
			 const struct buf *line, struct buf *out)
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
	if (line)
		buf_put(&a->tmp, line->p, line->len);	/* whole Line fields */
	pb_put_bytes(out, PROFILE_LOCATION, a->tmp.p ? a->tmp.p : (const unsigned char *)"",
		     a->tmp.len);
}

static int changed(struct errmsg *err)
{
	err_set(err, "changed while it was being read");
	return -1;
}

static enum action write_header(struct attach_stream *a, const struct pb_field *f,
				const unsigned char *raw, size_t hlen, struct errmsg *err,
				int *failed)
{
	if (!a->mappings_done && f->number >= PROFILE_MAPPING) {
		put_mappings(a, &a->out);
		a->mappings_done = 1;
	}
	if (f->number == PROFILE_MAPPING)
		return SKIP;
	if (f->number == PROFILE_LOCATION && f->type == PB_LEN)
		return KEEP;
	*failed = out_put(a, raw, hlen, err);
	return PASS;
}

/*
 * Does this location get names (attach --symbolize)? One with an address
 * in a snapshot mapping, no line, and no JIT symbol naming it: asked the
 * same way in the plan and as the second pass meets it.
 */
static int names_wanted(const struct attach_stream *a, uint64_t addr, int has_line, long snap)
{
	return a->nt && addr && !has_line && snap >= 0 && !(a->jit && jit_lookup(a->jit, addr));
}

static int write_location(struct attach_stream *a, const unsigned char *p, size_t len,
			  struct errmsg *err)
{
	uint64_t mid, addr, id = 0;
	long s, o;
	const char *why;
	int has_line;
	if (location_parse(p, len, &mid, &addr, &has_line, &why) < 0)
		return changed(err);
	location_place(a, mid, addr, &s, &o);
	if (s >= 0)
		id = (uint64_t)s + 1;
	else if (o >= 0)
		id = a->sc.old[o].new_id;
	struct buf *line = NULL;
	const struct jit_sym *sym = a->jit && addr && !has_line ? jit_lookup(a->jit, addr) : NULL;
	uint32_t rank = sym ? a->jit_fn[sym - a->jit->sym] : 0;
	if (sym && !rank)
		return changed(err);	/* the first pass found none here */
	struct buf lb = { 0 }, lf = { 0 };
	if (rank) {
		const struct jit_line *l = jit_line_at(a->jit, sym, addr);
		pb_put_uint(&lb, 1, a->fn_max + rank);	/* Line.function_id */
		if (l && l->lineno)
			pb_put_int(&lb, 2, l->lineno);	/* Line.line */
		pb_put_bytes(&lf, LOCATION_LINE, lb.p, lb.len);
		line = &lf;
	} else if (names_wanted(a, addr, has_line, s)) {
		if (names_table_next_lines(a->nt, a->fn_max + a->jit_used, &lf) < 0)
			return changed(err);	/* the plan saw fewer such locations */
		line = lf.len ? &lf : NULL;
	}
	put_location(a, p, len, id, line, &a->out);
	a->out.oom |= lb.oom | lf.oom;
	buf_free(&lb);
	buf_free(&lf);
	return a->out.len >= OUT_CHUNK ? out_flush(a, err) : 0;
}

/* ---- both passes ---------------------------------------------------------- */

/* Bad bytes: in the second pass, bytes the first saw good, changed since. */
static int bad_at(const struct attach_stream *a, struct errmsg *err, uint64_t at,
		  const char *what, size_t ordinal, const char *why)
{
	return a->writing || a->collecting ? changed(err) : fail_at(err, at, what, ordinal, why);
}

static enum action collect_header(struct attach_stream *a, const struct pb_field *f);
static int collect_string(struct attach_stream *a, const unsigned char *p, size_t len,
			  struct errmsg *err);

/* A field's payload is all there: p is it when it was kept. */
static int field_done(struct attach_stream *a, const unsigned char *p, size_t len,
		      struct errmsg *err)
{
	struct split *sp = &a->sp;
	int rc = 0;
	if (a->collecting && sp->action == KEEP && sp->oversize) {
		err_set(err, "not a valid pprof profile: string %llu: longer than attach handles "
			"(64 MiB) (field at byte %llu)", (unsigned long long)a->strings,
			(unsigned long long)sp->at);
		rc = -1;
	} else if (a->collecting) {
		rc = sp->action == KEEP ? collect_string(a, p, len, err) : 0;
	} else if (sp->action == KEEP && sp->oversize) {
		rc = bad_at(a, err, sp->at,
			    sp->f.number == PROFILE_MAPPING    ? "mapping"
			    : sp->f.number == PROFILE_FUNCTION ? "function"
							       : "location",
			     sp->f.number == PROFILE_MAPPING ? a->sc.nold + 1 : a->sc.nlocations,
			     "longer than attach handles (64 MiB)");
	} else if (sp->action == KEEP && !a->writing) {
		if (a->jr && sp->f.number != PROFILE_MAPPING)
			attach_jit_reader_field(a->jr, sp->f.number, p, len);
		if (sp->f.number == PROFILE_MAPPING)
			rc = scan_mapping(a, p, len, err);
		else if (sp->f.number == PROFILE_FUNCTION && (a->jit || a->names))
			rc = scan_function(a, p, len, err);
		else if (sp->f.number == PROFILE_LOCATION && a->sc.want_locations)
			rc = scan_location(a, p, len, err);
	} else if (sp->action == KEEP) {
		rc = write_location(a, p, len, err);
	} else if (a->writing && sp->f.number == PROFILE_STRING_TABLE && sp->f.type == PB_LEN &&
		   ++a->strings == a->sc.nstrings) {
		put_new_strings(a, &a->out);
	}
	sp->in_payload = 0;
	sp->body.len = 0;
	sp->at = sp->pos;
	return rc;
}

/* A field's header is all there, at raw. */
static int field_begin(struct attach_stream *a, const struct pb_field *f, uint64_t plen,
		       const unsigned char *raw, size_t hlen, struct errmsg *err)
{
	struct split *sp = &a->sp;
	int failed = 0;
	sp->f = *f;
	sp->plen = sp->left = plen;
	sp->in_payload = 1;
	sp->action = a->collecting ? collect_header(a, f)
		     : a->writing  ? write_header(a, f, raw, hlen, err, &failed)
				   : scan_header(a, f, plen, err, &failed);
	sp->oversize = sp->action == KEEP && plen > MESSAGE_MAX;
	if (failed)
		return -1;
	return plen == 0 ? field_done(a, (const unsigned char *)"", 0, err) : 0;
}

static int split_feed(struct attach_stream *a, const unsigned char *p, size_t len,
		      struct errmsg *err)
{
	struct split *sp = &a->sp;
	for (size_t done = 0; done < len; done += 1u << 30)
		sp->crc = (uint32_t)crc32(sp->crc, p + done,
					  (uInt)(len - done < 1u << 30 ? len - done : 1u << 30));
	while (len) {
		if (!sp->in_payload) {
			/* The header, read where it is, or gathered when it comes apart. */
			struct pb_field f;
			uint64_t plen;
			size_t hlen, old = sp->hdr_len, avail = len;
			const unsigned char *h = p;
			const char *why = NULL;
			if (old) {
				size_t k = len < HEADER_MAX - old ? len : HEADER_MAX - old;
				/* p holds len > 0 bytes here; the analyser loses
				 * track of it across the loop. */
				memcpy(sp->hdr + old, p, k);	/* NOLINT(clang-analyzer-core.NonNullParamChecker) */
				h = sp->hdr;
				avail = old + k;
			}
			int rc = header_parse(h, avail, &f, &plen, &hlen, &why);
			if (rc < 0)
				return bad_at(a, err, sp->at, NULL, 0, why);
			if (rc == 0) {	/* avail < HEADER_MAX: all of p fits */
				if (!old)
					memcpy(sp->hdr, p, len);
				sp->hdr_len = avail;
				sp->pos += len;
				return 0;
			}
			p += hlen - old;
			len -= hlen - old;
			sp->pos += hlen - old;
			sp->hdr_len = 0;
			if (field_begin(a, &f, plen, h, hlen, err) < 0)
				return -1;
			continue;
		}
		size_t k = sp->left < len ? (size_t)sp->left : len;
		const unsigned char *whole = NULL;
		if (sp->action == KEEP && !sp->oversize) {
			if (sp->body.len == 0 && k == sp->left) {
				whole = p;	/* all here: no copy */
			} else {
				buf_put(&sp->body, p, k);
				if (sp->body.oom) {
					err_setc(err, ERR_NO_MEMORY, "out of memory");
					return -1;
				}
			}
		} else if (sp->action == PASS && out_put(a, p, k, err) < 0) {
			return -1;
		}
		p += k;
		len -= k;
		sp->pos += k;
		sp->left -= k;
		if (sp->left == 0) {
			if (!whole)
				whole = sp->body.p ? sp->body.p : (const unsigned char *)"";
			if (field_done(a, whole, (size_t)sp->plen, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* The end of the input: no field may be cut short. */
static int split_end(struct attach_stream *a, struct errmsg *err)
{
	struct split *sp = &a->sp;
	if (sp->hdr_len) {
		struct pb_field f;
		uint64_t plen;
		size_t hlen;
		const char *why = "truncated varint";
		header_parse(sp->hdr, sp->hdr_len, &f, &plen, &hlen, &why);
		return bad_at(a, err, sp->at, NULL, 0, why);
	}
	if (sp->in_payload)
		return bad_at(a, err, sp->at, NULL, 0, "length past the end");
	return 0;
}

/* ---- the plan ------------------------------------------------------------- */

/* Decides which old mappings stay, which flags carry over, and the strings. */
static void attach_plan(struct attach_stream *a, struct attach_stats *st)
{
	st->locations = a->sc.nlocations;
	for (size_t i = 0; i < a->sc.nlocations; i++) {
		long s, o;
		location_place(a, a->sc.loc[i].mapping_id, a->sc.loc[i].address, &s, &o);
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

	uint64_t nexts = a->sc.nstrings ? a->sc.nstrings : 1;	/* 0 is "" */
	for (uint32_t slot = 0; slot < 2 * a->n; slot++) {
		const char *s;
		size_t n;
		if (!string_slot(a->snap, slot, &s, &n))
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
 * attach --symbolize: each location that gets names (names_wanted) is
 * asked for its frames, in location order, which the second pass follows.
 */
static int names_plan(struct attach_stream *a, struct attach_stats *st, struct errmsg *err)
{
	struct sym_frame fr[SYM_FRAMES_MAX];
	if (!a->nt)
		return 0;
	if (!(a->names_has = calloc(a->n ? a->n : 1, sizeof *a->names_has))) {
		err_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < a->sc.nlocations; i++) {
		const struct locref *r = &a->sc.loc[i];
		long s = r->address ? snap_find(a, r->address) : -1;
		if (!names_wanted(a, r->address, r->has_line, s))
			continue;
		size_t n = a->names(a->names_ctx, r->address, fr, SYM_FRAMES_MAX);
		if (names_table_add(a->nt, fr, n) < 0) {
			err_set(err, "out of memory");
			return -1;
		}
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

/* ---- the interface ---------------------------------------------------------- */

struct attach_stream *attach_stream_new(const struct attach_mapping *snap, size_t n,
					attach_put_fn put, void *ctx, struct errmsg *err)
{
	struct attach_stream *a = calloc(1, sizeof *a);
	if (!a) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	a->snap = snap;
	a->n = n;
	a->put = put;
	a->put_ctx = ctx;
	a->sc.want_locations = 1;
	return a;
}

int attach_stream_set_jit(struct attach_stream *a, const struct jit_table *jit,
			  struct errmsg *err)
{
	if (!jit || jit->n == 0)
		return 0;
	if (!(a->jit_fn = calloc(jit->n, sizeof *a->jit_fn))) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	a->jit = jit;
	return 0;
}

int attach_stream_set_names(struct attach_stream *a, attach_names_fn names, void *ctx,
			    struct errmsg *err)
{
	if (!(a->nt = names_table_new())) {
		err_set(err, "out of memory");
		return -1;
	}
	a->names = names;
	a->names_ctx = ctx;
	return 0;
}

int attach_stream_scan(struct attach_stream *a, const void *p, size_t len, struct errmsg *err)
{
	return split_feed(a, p, len, err);
}

int attach_stream_plan(struct attach_stream *a, struct attach_stats *st, struct errmsg *err)
{
	struct scan *s = &a->sc;
	memset(st, 0, sizeof *st);
	st->mappings = a->n;
	if (split_end(a, err) < 0 || scan_check_strings(s, err) < 0)
		return -1;
	if (s->loc_why)
		return fail_at(err, s->loc_at, "location", s->loc_ordinal, s->loc_why);
	if (attach_index(a, err) < 0 || names_plan(a, st, err) < 0)
		return -1;
	if (a->jit_used) {
		a->jit_sym = calloc(a->jit_used, sizeof *a->jit_sym);
		a->jit_name = calloc(a->jit_used, sizeof *a->jit_name);
		a->jit_file = calloc(a->jit_used, sizeof *a->jit_file);
		if (!a->jit_sym || !a->jit_name || !a->jit_file) {
			err_setc(err, ERR_NO_MEMORY, "out of memory");
			return -1;
		}
		if (a->fn_max > UINT64_MAX - a->jit_used) {
			err_set(err, "not a valid pprof profile: function ids too large to add more");
			return -1;
		}
	}
	if (a->nt && a->fn_max > UINT64_MAX - a->jit_used - names_table_functions(a->nt)) {
		err_set(err, "not a valid pprof profile: function ids too large to add more");
		return -1;
	}
	attach_plan(a, st);
	for (size_t i = 0; a->names_has && i < a->n; i++)
		a->has[i] |= a->names_has[i];
	free(s->loc);	/* the plan is made: locations are placed again as they pass */
	s->loc = NULL;
	s->loc_cap = 0;

	a->len1 = a->sp.pos;
	a->crc1 = a->sp.crc;
	buf_free(&a->sp.body);
	memset(&a->sp, 0, sizeof a->sp);
	a->writing = 1;
	return 0;
}

int attach_stream_write(struct attach_stream *a, const void *p, size_t len, struct errmsg *err)
{
	return split_feed(a, p, len, err);
}

int attach_stream_finish(struct attach_stream *a, struct errmsg *err)
{
	if (split_end(a, err) < 0)
		return -1;
	if (a->sp.pos != a->len1 || a->sp.crc != a->crc1)
		return changed(err);
	if (!a->mappings_done)
		put_mappings(a, &a->out);
	if (a->sc.nstrings == 0) {
		pb_put_bytes(&a->out, PROFILE_STRING_TABLE, "", 0);
		put_new_strings(a, &a->out);
	}
	return out_flush(a, err);
}

int attach_stream_output_failed(const struct attach_stream *a)
{
	return a->out_failed;
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
	free(a->slot);
	free(a->slot_off);
	buf_free(&a->strs);
	scan_free(&a->sc);
	buf_free(&a->sp.body);
	buf_free(&a->out);
	buf_free(&a->tmp);
	free(a);
}

int attach_profile(const unsigned char *p, size_t len, const struct attach_mapping *snap,
		   size_t n, struct buf *out, struct attach_stats *st, struct errmsg *err)
{
	struct attach_stream *a = attach_stream_new(snap, n, buf_sink, out, err);
	memset(st, 0, sizeof *st);
	int rc = a && attach_stream_scan(a, p, len, err) == 0 &&
			 attach_stream_plan(a, st, err) == 0 &&
			 attach_stream_write(a, p, len, err) == 0 && attach_stream_finish(a, err) == 0
		 ? 0
		 : -1;
	attach_stream_free(a);
	return rc;
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

/*
 * Empties every old mapping's file and build ID, and lists in slot (room
 * for two a mapping) the strings they name, sorted by string index.
 * Returns how many.
 */
static size_t strslots_fill(struct scan *s, struct strslot *slot)
{
	size_t n = 0;
	for (size_t j = 0; j < s->nold; j++) {
		struct oldmap *m = &s->old[j];
		const uint64_t idx[2] = { m->filename, m->build_id };
		m->file = m->bid = "";
		m->file_len = m->bid_len = 0;
		for (int w = 0; w < 2; w++) {
			if (idx[w] == 0)
				continue;	/* "" already */
			slot[n].index = idx[w];
			slot[n].s = w ? &m->bid : &m->file;
			slot[n].n = w ? &m->bid_len : &m->file_len;
			n++;
		}
	}
	qsort(slot, n, sizeof *slot, strslot_cmp);
	return n;
}

/* Points every old mapping's file and build ID at its string's bytes in p. */
static int strings_resolve(const unsigned char *p, size_t len, struct scan *s, struct errmsg *err)
{
	struct strslot *slot = malloc((s->nold ? s->nold : 1) * 2 * sizeof *slot);
	size_t n, k = 0, i = 0;
	if (!slot) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	n = strslots_fill(s, slot);

	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why = NULL;
	while (pb_next(&r, &f, &why) > 0) {	/* checked by the first pass */
		if (f.number != PROFILE_STRING_TABLE)
			continue;
		for (; k < n && slot[k].index == i; k++) {
			*slot[k].s = (const char *)f.data;
			*slot[k].n = f.len;
		}
		i++;
	}
	free(slot);
	return 0;
}

int attach_table_from_profile(const unsigned char *p, size_t len, struct attach_mapping **out,
			      size_t *n, struct errmsg *err)
{
	struct attach_stream *a = attach_stream_new(NULL, 0, NULL, NULL, err);
	*out = NULL;
	if (!a)
		return -1;
	struct scan *s = &a->sc;
	s->want_locations = 0;
	if (split_feed(a, p, len, err) < 0 || split_end(a, err) < 0 ||
	    scan_check_strings(s, err) < 0 || strings_resolve(p, len, s, err) < 0)
		goto fail;
	if (!(*out = malloc((s->nold ? s->nold : 1) * sizeof **out))) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < s->nold; i++) {
		const struct oldmap *m = &s->old[i];
		struct attach_mapping *t = &(*out)[i];
		t->start = m->start;
		t->limit = m->limit;
		t->offset = m->offset;
		t->file = m->file;
		t->file_len = m->file_len;
		t->build_id = m->bid;
		t->build_id_len = m->bid_len;
	}
	*n = s->nold;
	attach_stream_free(a);
	return 0;
fail:
	attach_stream_free(a);
	return -1;
}

/* ---- a snapshot's table, as a stream -------------------------------------- */

struct attach_stream *attach_table_reader_new(struct errmsg *err)
{
	struct attach_stream *a = attach_stream_new(NULL, 0, NULL, NULL, err);
	if (a)
		a->sc.want_locations = 0;
	return a;
}

void attach_table_reader_set_jit(struct attach_stream *a, struct attach_jit_reader *j)
{
	a->jr = j;
}

int attach_table_scan(struct attach_stream *a, const void *p, size_t len, struct errmsg *err)
{
	return split_feed(a, p, len, err);
}

/* The second pass keeps the string-table entries the slots name, no more. */
static enum action collect_header(struct attach_stream *a, const struct pb_field *f)
{
	if (f->number != PROFILE_STRING_TABLE || f->type != PB_LEN)
		return SKIP;
	uint64_t i = a->strings++;
	return (a->kslot < a->nslot && a->slot[a->kslot].index == i) ||
			       (a->jr && attach_jit_reader_wants(a->jr, i))
		       ? KEEP
		       : SKIP;
}

static int collect_string(struct attach_stream *a, const unsigned char *p, size_t len,
			  struct errmsg *err)
{
	uint64_t index = a->strings - 1;
	if (a->jr && attach_jit_reader_string(a->jr, index, p, len, err) < 0)
		return -1;
	if (a->kslot >= a->nslot || a->slot[a->kslot].index != index)
		return 0;	/* only the JIT symbols' */
	size_t off = a->strs.len;
	buf_put(&a->strs, p, len);
	if (a->strs.oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	for (uint64_t i = a->slot[a->kslot].index; a->kslot < a->nslot &&
						   a->slot[a->kslot].index == i; a->kslot++) {
		a->slot_off[a->kslot] = off;
		*a->slot[a->kslot].n = len;
	}
	return 0;
}

/* The end of the first pass: the table is checked, the strings it names listed. */
static int table_plan(struct attach_stream *a, struct errmsg *err)
{
	struct scan *s = &a->sc;
	if (split_end(a, err) < 0 || scan_check_strings(s, err) < 0 ||
	    (a->jr && attach_jit_reader_plan(a->jr, err) < 0))
		return -1;
	a->slot = malloc((s->nold ? s->nold : 1) * 2 * sizeof *a->slot);
	a->slot_off = malloc((s->nold ? s->nold : 1) * 2 * sizeof *a->slot_off);
	if (!a->slot || !a->slot_off) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	a->nslot = strslots_fill(s, a->slot);
	a->len1 = a->sp.pos;
	a->crc1 = a->sp.crc;
	buf_free(&a->sp.body);
	memset(&a->sp, 0, sizeof a->sp);
	a->collecting = 1;
	return 0;
}

int attach_table_collect(struct attach_stream *a, const void *p, size_t len, struct errmsg *err)
{
	if (!a->collecting && table_plan(a, err) < 0)
		return -1;
	return split_feed(a, p, len, err);
}

int attach_table_finish(struct attach_stream *a, struct attach_mapping **out, size_t *n,
			struct buf *strings, struct errmsg *err)
{
	struct scan *s = &a->sc;
	*out = NULL;
	if (!a->collecting && table_plan(a, err) < 0)
		return -1;
	if (split_end(a, err) < 0)
		return -1;
	if (a->sp.pos != a->len1 || a->sp.crc != a->crc1 || a->kslot != a->nslot)
		return changed(err);
	for (size_t k = 0; k < a->nslot; k++)
		*a->slot[k].s = a->strs.p ? (const char *)a->strs.p + a->slot_off[k] : "";
	if (!(*out = malloc((s->nold ? s->nold : 1) * sizeof **out))) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < s->nold; i++) {
		const struct oldmap *m = &s->old[i];
		(*out)[i] = (struct attach_mapping){ m->start, m->limit, m->offset, m->file, m->bid,
						     m->file_len, m->bid_len };
	}
	*n = s->nold;
	/* The table borrows these bytes: the caller keeps them. */
	*strings = a->strs;
	memset(&a->strs, 0, sizeof a->strs);
	return 0;
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
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
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

