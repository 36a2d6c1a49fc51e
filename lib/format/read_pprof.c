/*
 * format/read_pprof.c - reading back a snapshot that `modmap --format
 * pprof` wrote (or the mapping table of any pprof profile), and the entry
 * point that reads a saved snapshot of either format from a file (see
 * format/read.h).
 *
 * The profile goes by twice through the splitter (wire/split.c), never
 * held whole, so that a gzip bomb or a profile full of samples costs
 * memory for its mapping table only. The first pass decodes the Mappings,
 * counts the strings and checks the framing; the second keeps the strings
 * the mappings name and no other, and must see the same bytes (a file
 * changed between the passes is refused, not misread).
 */
#include <stdlib.h>
#include <string.h>

#include "format/read.h"
#include "jit.h"
#include "lookup.h"
#include "platform.h"
#include "wire/gz.h"
#include "wire/profile.h"
#include "wire/split.h"

/* A string the mappings name: its index, and where its offset in s goes. */
struct want {
	uint64_t index;
	uint32_t *off;
};

struct pprof_reader {
	struct snapshot *s;
	struct pprof_jit_reader *jr;	/* also hand the JIT symbols' fields here */
	struct pb_split sp;
	int held;			/* the current field was asked to be held */
	/* the first pass */
	struct pprof_mapping *map;
	size_t nmap, map_cap;
	size_t nstrings, nlocations;
	int str0_full;			/* string_table[0] is not "" */
	uint64_t len1;			/* ... what it saw: length and digest */
	uint64_t digest1;
	/* the second pass */
	int collecting;
	uint32_t *off;			/* per mapping: file, build ID offsets in s */
	struct want *want;		/* sorted by index */
	size_t nwant, kwant;
	uint64_t strings;		/* string fields seen */
};

static int no_memory(struct errmsg *err)
{
	err_setc(err, ERR_NO_MEMORY, "out of memory");
	return -1;
}

static int changed(struct errmsg *err)
{
	err_set(err, "changed while it was being read");
	return -1;
}

/* ---- the first pass: mappings, and the framing of the whole ---------------- */

static int scan_bad(void *ctx, uint64_t at, const char *why, struct errmsg *err)
{
	(void)ctx;
	return pprof_invalid(err, at, NULL, 0, why);
}

static int scan_header(void *ctx, const struct pb_field *f, const unsigned char *raw,
		       size_t hlen, struct errmsg *err)
{
	struct pprof_reader *r = ctx;
	uint64_t at = r->sp.at;
	int is_len = f->type == PB_LEN;
	(void)raw;
	(void)hlen;
	r->held = 0;
	switch (f->number) {
	case PROFILE_MAPPING:
		if (!is_len)
			return pprof_invalid(err, at, "mapping", r->nmap + 1, "not length-delimited");
		if (r->nmap >= PPROF_MAPPINGS_MAX)
			return pprof_invalid(err, at, "mapping", r->nmap + 1,
					     "too many mappings (at most 1048576)");
		r->held = 1;
		return PB_SPLIT_HOLD;
	case PROFILE_LOCATION:
		if (!is_len)
			return pprof_invalid(err, at, "location", r->nlocations + 1,
					     "not length-delimited");
		if (r->nlocations >= PPROF_LOCATIONS_MAX)
			return pprof_invalid(err, at, "location", r->nlocations + 1,
					     "too many locations (at most 16777216)");
		r->nlocations++;
		break;
	case PROFILE_STRING_TABLE:
		if (!is_len)
			return pprof_invalid(err, at, "string", r->nstrings, "not length-delimited");
		if (r->nstrings++ == 0 && f->len)
			r->str0_full = 1;
		return PB_SPLIT_SKIP;
	case PROFILE_SAMPLE:
	case PROFILE_FUNCTION:
		break;
	default:
		return PB_SPLIT_SKIP;
	}
	/* A sample, location or function, for the JIT symbols; one too long
	 * to hold is left out (it comes without data). */
	r->held = r->jr && is_len;
	return r->held ? PB_SPLIT_HOLD : PB_SPLIT_SKIP;
}

static int scan_field(void *ctx, const struct pb_field *f, struct errmsg *err)
{
	struct pprof_reader *r = ctx;
	const char *why = NULL;
	if (!r->held)
		return 0;
	if (f->number != PROFILE_MAPPING) {
		if (f->data)
			pprof_jit_reader_field(r->jr, f->number, f->data, f->len);
		return 0;
	}
	if (!f->data)
		return pprof_invalid(err, r->sp.at, "mapping", r->nmap + 1,
				     "longer than modmap reads (64 MiB)");
	if (r->nmap == r->map_cap) {
		size_t cap = r->map_cap ? 2 * r->map_cap : 16;
		struct pprof_mapping *m = realloc(r->map, cap * sizeof *m);
		if (!m)
			return no_memory(err);
		r->map = m;
		r->map_cap = cap;
	}
	if (pprof_mapping_parse(f->data, f->len, &r->map[r->nmap], &why) < 0)
		return pprof_invalid(err, r->sp.at, "mapping", r->nmap + 1, why);
	r->nmap++;
	return 0;
}

static const struct pb_split_ops scan_ops = {
	.header = scan_header, .field = scan_field, .bad = scan_bad,
};

struct pprof_reader *pprof_reader_new(struct snapshot *s, struct pprof_jit_reader *jr,
				      struct errmsg *err)
{
	struct pprof_reader *r = calloc(1, sizeof *r);
	if (!r) {
		no_memory(err);
		return NULL;
	}
	r->s = s;
	r->jr = jr;
	pb_split_init(&r->sp, &scan_ops, r, PPROF_MESSAGE_MAX);
	return r;
}

int pprof_reader_scan(struct pprof_reader *r, const void *p, size_t len, struct errmsg *err)
{
	return pb_split_feed(&r->sp, p, len, err);
}

/* ---- the second pass: the strings the mappings name ------------------------ */

static int collect_bad(void *ctx, uint64_t at, const char *why, struct errmsg *err)
{
	(void)ctx;
	(void)at;
	(void)why;
	return changed(err);
}

static int collect_header(void *ctx, const struct pb_field *f, const unsigned char *raw,
			  size_t hlen, struct errmsg *err)
{
	struct pprof_reader *r = ctx;
	(void)raw;
	(void)hlen;
	(void)err;
	r->held = 0;
	if (f->number != PROFILE_STRING_TABLE || f->type != PB_LEN)
		return PB_SPLIT_SKIP;
	uint64_t i = r->strings++;
	r->held = (r->kwant < r->nwant && r->want[r->kwant].index == i) ||
		  (r->jr && pprof_jit_reader_wants(r->jr, i));
	return r->held ? PB_SPLIT_HOLD : PB_SPLIT_SKIP;
}

/*
 * A string some mapping or JIT symbol names: interned once, however many
 * mappings name it (a small file naming one long string a million times
 * must not become a million copies).
 */
static int collect_field(void *ctx, const struct pb_field *f, struct errmsg *err)
{
	struct pprof_reader *r = ctx;
	uint64_t index = r->strings - 1;
	if (!r->held)
		return 0;
	if (!f->data) {
		err_set(err, "not a valid pprof profile: string %llu: longer than modmap reads "
			"(64 MiB) (field at byte %llu)", (unsigned long long)index,
			(unsigned long long)r->sp.at);
		return -1;
	}
	if (r->jr && pprof_jit_reader_string(r->jr, index, f->data, f->len, err) < 0)
		return -1;
	if (r->kwant >= r->nwant || r->want[r->kwant].index != index)
		return 0;	/* only the JIT symbols' */
	uint32_t off = snapshot_intern(r->s, (const char *)f->data, f->len);
	if (off == UINT32_MAX)
		return no_memory(err);
	for (; r->kwant < r->nwant && r->want[r->kwant].index == index; r->kwant++)
		*r->want[r->kwant].off = off;
	return 0;
}

static const struct pb_split_ops collect_ops = {
	.header = collect_header, .field = collect_field, .bad = collect_bad,
};

static int want_cmp(const void *a, const void *b)
{
	const struct want *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

/* The end of the first pass: the table is checked, the strings it names listed. */
static int reader_plan(struct pprof_reader *r, struct errmsg *err)
{
	size_t n2 = 2 * r->nmap;
	if (pb_split_end(&r->sp, err) < 0)
		return -1;
	for (size_t i = 0; i < r->nmap; i++)
		if (pprof_mapping_strings_check(&r->map[i], i + 1, r->nstrings, err) < 0)
			return -1;
	if (r->str0_full) {
		err_set(err, "not a valid pprof profile: string_table[0] is not empty");
		return -1;
	}
	if (r->jr && pprof_jit_reader_plan(r->jr, err) < 0)
		return -1;
	r->off = calloc(n2 ? n2 : 1, sizeof *r->off);
	r->want = malloc((n2 ? n2 : 1) * sizeof *r->want);
	if (!r->off || !r->want)
		return no_memory(err);
	for (size_t i = 0; i < n2; i++) {
		const struct pprof_mapping *m = &r->map[i / 2];
		uint64_t index = (uint64_t)(i % 2 ? m->build_id : m->filename);
		if (index)	/* 0 is "", which offset 0 already is */
			r->want[r->nwant++] = (struct want){ index, &r->off[i] };
	}
	qsort(r->want, r->nwant, sizeof *r->want, want_cmp);
	r->len1 = r->sp.pos;
	r->digest1 = pb_split_digest(&r->sp);
	pb_split_free(&r->sp);
	pb_split_init(&r->sp, &collect_ops, r, PPROF_MESSAGE_MAX);
	r->collecting = 1;
	return 0;
}

int pprof_reader_collect(struct pprof_reader *r, const void *p, size_t len, struct errmsg *err)
{
	if (!r->collecting && reader_plan(r, err) < 0)
		return -1;
	return pb_split_feed(&r->sp, p, len, err);
}

int pprof_reader_finish(struct pprof_reader *r, struct errmsg *err)
{
	struct snapshot *s = r->s;
	if (!r->collecting && reader_plan(r, err) < 0)
		return -1;
	if (pb_split_end(&r->sp, err) < 0)
		return -1;
	if (r->sp.pos != r->len1 || pb_split_digest(&r->sp) != r->digest1 || r->kwant != r->nwant)
		return changed(err);
	for (size_t i = 0; i < r->nmap; i++) {
		const struct pprof_mapping *pm = &r->map[i];
		struct mapping *m = snapshot_add(s);
		if (!m)
			return no_memory(err);
		m->start = pm->start;
		m->limit = pm->limit;
		m->offset = pm->offset;
		m->file = r->off[2 * i];
		m->build_id = r->off[2 * i + 1];
		if (i == 0)
			m->flags |= MAPF_MAIN;	/* pprof puts the main executable first */
	}
	/* pprof says nothing of the OS: Windows paths tell a Windows process. */
	if (s->n && lookup_path_is_windows(snapshot_str(s, s->map[0].file)))
		s->os = "windows";
	return 0;
}

void pprof_reader_free(struct pprof_reader *r)
{
	if (!r)
		return;
	pb_split_free(&r->sp);
	free(r->map);
	free(r->off);
	free(r->want);
	free(r);
}

int snapshot_read_pprof(const unsigned char *p, size_t len, struct snapshot *s,
			struct errmsg *err)
{
	struct pprof_reader *r = pprof_reader_new(s, NULL, err);
	int rc = r && pprof_reader_scan(r, p, len, err) == 0 &&
			 pprof_reader_collect(r, p, len, err) == 0 && pprof_reader_finish(r, err) == 0
		 ? 0
		 : -1;
	pprof_reader_free(r);
	return rc;
}

/* ---- a saved snapshot, from a file ---------------------------------------- */

/* The decompressed snapshot goes by in pieces of this size. */
enum { SAVED_WINDOW = 256 * 1024 };

/* What the first pass over a saved snapshot has found. */
struct saved {
	struct snapshot *s;
	struct pprof_jit_reader *jr;
	int cbor;			/* -1 until the first piece tells */
	struct buf file;		/* CBOR: the whole, for snapshot_read_cbor */
	struct pprof_reader *r;		/* pprof: streamed, never held whole */
};

static int in_read(void *ctx, void *p, size_t cap, size_t *got, struct errmsg *err)
{
	return platform_in_read(ctx, p, cap, got, err);
}

static int saved_first(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	struct saved *sv = ctx;
	if (sv->cbor < 0) {
		sv->cbor = snapshot_is_cbor(p, len);
		if (!sv->cbor && !(sv->r = pprof_reader_new(sv->s, sv->jr, err)))
			return -1;
	}
	if (!sv->cbor)
		return pprof_reader_scan(sv->r, p, len, err);
	buf_put(&sv->file, p, len);
	return sv->file.oom ? no_memory(err) : 0;
}

static int saved_second(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	return pprof_reader_collect(((struct saved *)ctx)->r, p, len, err);
}

/* Reads the snapshot at in into sv->s: err says why not, without the file's name. */
static int saved_read(struct platform_in *in, uint64_t max, struct saved *sv,
		      struct errmsg *err)
{
	unsigned char *window = malloc(SAVED_WINDOW);
	uint64_t total;
	int rc = -1;
	if (!window) {
		no_memory(err);
		goto done;
	}
	if (gz_pass(in_read, in, max, window, SAVED_WINDOW, 1, saved_first, sv, &total, err) < 0)
		goto done;
	if (total == 0) {
		err_set(err, "empty: not a pprof profile");
		goto done;
	}
	if (sv->cbor)
		rc = snapshot_read_cbor(sv->file.p, sv->file.len, sv->s, err);
	else if (platform_in_rewind(in, err) == 0 &&
		 gz_pass(in_read, in, max, window, SAVED_WINDOW, 0, saved_second, sv, &total,
			 err) == 0)
		rc = pprof_reader_finish(sv->r, err);
done:
	free(window);
	return rc;
}

int snapshot_read_saved(const char *path, uint64_t max, struct snapshot *s,
			struct errmsg *err)
{
	return snapshot_read_saved_jit(path, max, 0, s, err);
}

int snapshot_read_saved_jit(const char *path, uint64_t max, int jit, struct snapshot *s,
			    struct errmsg *err)
{
	struct saved sv = { .s = s, .cbor = -1 };
	struct errmsg why;
	struct platform_in *in = NULL;
	int rc = -1;

	if (!max)
		max = SNAPSHOT_MAX_SIZE;
	s->os = "linux";
	s->saved = 1;
	if (!(in = platform_in_open(path, max, &why)))
		goto done;
	if (jit && !(sv.jr = pprof_jit_reader_new())) {
		no_memory(&why);
		goto done;
	}
	if (saved_read(in, max, &sv, &why) < 0)
		goto done;
	if (sv.jr && !sv.cbor) {	/* a CBOR one's come with its records */
		if (!(s->jit = malloc(sizeof *s->jit))) {
			no_memory(&why);
			goto done;
		}
		jit_table_init(s->jit);
		if (pprof_jit_reader_finish(sv.jr, s->jit, &why) < 0)
			goto done;
	}
	rc = 0;
done:
	if (rc < 0)
		err_set(err, "%s: %s", strcmp(path, "-") == 0 ? "standard input" : path, why.text);
	if (rc < 0)
		err->code = why.code;
	pprof_jit_reader_free(sv.jr);
	pprof_reader_free(sv.r);
	platform_in_close(in);
	buf_free(&sv.file);
	return rc;
}
