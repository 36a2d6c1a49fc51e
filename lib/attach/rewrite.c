/*
 * attach/rewrite.c - the second pass over a profile: writing it anew
 * around the mapping table the plan made (plan.c; see attach.h and
 * docs/attach.md).
 *
 * Every field but mappings and locations goes out as the bytes it came
 * as, without being held whole; the new mapping table goes where the old
 * one began (before the first field numbered above it); each location is
 * re-encoded with only its mapping_id changed, and a line when a JIT
 * symbol or the symbolizer names it; the new strings and functions go
 * after the profile's last string. The bytes must be the first pass's:
 * the splitter's length and digest are compared at the end.
 *
 * Portable C: no OS headers here (the Windows build compiles this too).
 */
#include <stdlib.h>
#include <string.h>

#include "attach/plan.h"
#include "jit.h"
#include "symbolize.h"
#include "wire/gz.h"
#include "wire/pbwire.h"
#include "wire/profile.h"

int attach_changed(struct errmsg *err)
{
	err_set(err, "changed while it was being read");
	return -1;
}

/* ---- output, in chunks -------------------------------------------------- */

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

/* ---- what is new ---------------------------------------------------------- */

/* The snapshot's mappings, ids 1..n, then the old ones kept, renumbered. */
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

/* The JIT symbols' functions, with ids above every one of the profile's. */
static void put_jit_functions(const struct attach_stream *a, struct buf *out)
{
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
}

/*
 * After the profile's last string: the snapshot's strings, then the JIT
 * functions' and the symbolizer's strings, then their functions, in the
 * order the plan numbered them.
 */
static void put_new_strings(const struct attach_stream *a, struct buf *out)
{
	for (uint32_t slot = 0; slot < 2 * a->n; slot++) {
		const char *s;
		size_t n;
		if (attach_string_slot(a->snap, slot, &s, &n) && a->rep[slot] == slot)
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
	put_jit_functions(a, out);
	if (a->nt)
		names_table_put_functions(a->nt, a->names_str, a->fn_max + a->jit_used, out);
}

/* ---- locations ------------------------------------------------------------ */

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
	while (pb_next(&r, &f, &why) > 0)	/* checked by the first pass */
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

/*
 * The Line field(s) a location gains, into lf: one naming the JIT symbol
 * holding addr, or the symbolizer's frames. 0, or -1 when the plan saw
 * otherwise (the bytes changed).
 */
static int location_lines(struct attach_stream *a, uint64_t addr, int has_line, long snap,
			  struct buf *lf, struct errmsg *err)
{
	const struct jit_sym *sym = a->jit && addr && !has_line ? jit_lookup(a->jit, addr) : NULL;
	uint32_t rank = sym ? a->jit_fn[sym - a->jit->sym] : 0;
	if (sym && !rank)
		return attach_changed(err);	/* the first pass found none here */
	if (rank) {
		struct buf lb = { 0 };
		const struct jit_line *l = jit_line_at(a->jit, sym, addr);
		pb_put_uint(&lb, 1, a->fn_max + rank);	/* Line.function_id */
		if (l && l->lineno)
			pb_put_int(&lb, 2, l->lineno);	/* Line.line */
		pb_put_bytes(lf, LOCATION_LINE, lb.p, lb.len);
		lf->oom |= lb.oom;
		buf_free(&lb);
	} else if (attach_names_wanted(a, addr, has_line, snap)) {
		if (names_table_next_lines(a->nt, a->fn_max + a->jit_used, lf) < 0)
			return attach_changed(err);	/* the plan saw fewer such locations */
	}
	return 0;
}

static int write_location(struct attach_stream *a, const unsigned char *p, size_t len,
			  struct errmsg *err)
{
	uint64_t mid, addr, id = 0;
	long s, o;
	const char *why;
	int has_line;
	if (attach_location_parse(p, len, &mid, &addr, &has_line, &why) < 0)
		return attach_changed(err);
	attach_location_place(a, mid, addr, &s, &o);
	if (s >= 0)
		id = (uint64_t)s + 1;
	else if (o >= 0)
		id = a->sc.old[o].new_id;
	struct buf lf = { 0 };
	if (location_lines(a, addr, has_line, s, &lf, err) < 0) {
		buf_free(&lf);
		return -1;
	}
	put_location(a, p, len, id, lf.len ? &lf : NULL, &a->out);
	a->out.oom |= lf.oom;
	buf_free(&lf);
	return a->out.len >= OUT_CHUNK ? out_flush(a, err) : 0;
}

/* ---- the second pass ----------------------------------------------------- */

static int write_header(void *ctx, const struct pb_field *f, const unsigned char *raw,
			size_t hlen, struct errmsg *err)
{
	struct attach_stream *a = ctx;
	if (!a->mappings_done && f->number >= PROFILE_MAPPING) {
		put_mappings(a, &a->out);
		a->mappings_done = 1;
	}
	if (f->number == PROFILE_MAPPING)
		return PB_SPLIT_SKIP;
	if (f->number == PROFILE_LOCATION && f->type == PB_LEN)
		return PB_SPLIT_HOLD;
	return out_put(a, raw, hlen, err) < 0 ? -1 : PB_SPLIT_PASS;
}

static int write_payload(void *ctx, const unsigned char *p, size_t len, struct errmsg *err)
{
	return out_put(ctx, p, len, err);
}

static int write_field(void *ctx, const struct pb_field *f, struct errmsg *err)
{
	struct attach_stream *a = ctx;
	if (f->number == PROFILE_LOCATION && f->type == PB_LEN)
		return f->data ? write_location(a, f->data, f->len, err) : attach_changed(err);
	if (f->number == PROFILE_STRING_TABLE && f->type == PB_LEN &&
	    ++a->strings == a->sc.nstrings)
		put_new_strings(a, &a->out);
	return 0;
}

static int write_bad(void *ctx, uint64_t at, const char *why, struct errmsg *err)
{
	(void)ctx;
	(void)at;
	(void)why;
	return attach_changed(err);
}

static const struct pb_split_ops write_ops = {
	.header = write_header, .payload = write_payload, .field = write_field,
	.bad = write_bad,
};

/* The second pass's splitter replaces the plan's, at its first piece. */
static void write_begin(struct attach_stream *a)
{
	if (a->writing)
		return;
	a->writing = 1;
	pb_split_free(&a->sp);
	pb_split_init(&a->sp, &write_ops, a, PPROF_MESSAGE_MAX);
}

int attach_stream_write(struct attach_stream *a, const void *p, size_t len, struct errmsg *err)
{
	write_begin(a);
	return pb_split_feed(&a->sp, p, len, err);
}

int attach_stream_finish(struct attach_stream *a, struct errmsg *err)
{
	write_begin(a);
	if (pb_split_end(&a->sp, err) < 0)
		return -1;
	if (a->sp.pos != a->len1 || pb_split_digest(&a->sp) != a->digest1)
		return attach_changed(err);
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

/* ---- in memory ------------------------------------------------------------ */

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
