/*
 * attach.h - giving a pprof profile a module map: the mapping table of a
 * snapshot replaces the profile's, and every location is pointed at the
 * mapping that holds its address (SPEC.md, "attach").
 *
 * Pure functions over bytes, in memory or fed in pieces: the first pass
 * and the plan (plan.c), the second pass (rewrite.c), the names
 * --symbolize adds (names.c); and attach_run (run.c), which drives them
 * over files. Saved snapshots are read by format/ (format/read.h).
 */
#ifndef MODMAP_ATTACH_H
#define MODMAP_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "format/read.h"
#include "platform.h"
#include "progress.h"
#include "snapshot.h"

/*
 * One mapping to attach. The strings need not be NUL-terminated and are
 * borrowed from a struct snapshot.
 */
struct attach_mapping {
	uint64_t start, limit, offset;
	const char *file, *build_id;
	size_t file_len, build_id_len;
};

/* What attach_profile did, for the summary line. */
struct attach_stats {
	size_t mappings;	/* mappings from the snapshot (ids 1..mappings) */
	size_t kept;		/* old mappings kept after them */
	size_t dropped;		/* old mappings not kept (replaced, unused or fake) */
	size_t locations;	/* locations in the profile */
	size_t mapped;		/* ... now pointing at a snapshot mapping */
	size_t kept_locations;	/* ... still pointing at a kept old mapping */
	size_t jit_named;	/* locations given a line from a JIT symbol */
	size_t jit_functions;	/* functions added for them */
	size_t symbolized;	/* locations given lines by --symbolize */
	size_t sym_functions;	/* functions added for them */
};

/* Default bound on a decompressed profile or snapshot: 4 GiB. */
#define ATTACH_MAX_SIZE SNAPSHOT_MAX_SIZE

/*
 * Gives the protobuf bytes of p: p itself when it is not gzip, else its
 * decompressed form, appended to scratch. Fails when the result would be
 * larger than max bytes, or the gzip data is bad; err says why.
 */
int attach_unpack(const unsigned char *p, size_t len, uint64_t max, struct buf *scratch,
		  const unsigned char **data, size_t *data_len, struct errmsg *err);

/*
 * The mapping table of s in pprof's order: the main executable's mappings
 * first, then the others, each group in the snapshot's order. *out is
 * malloc'ed (the caller frees it) and borrows s's strings.
 */
int attach_table_from_snapshot(const struct snapshot *s, struct attach_mapping **out,
			       size_t *n, struct errmsg *err);

/*
 * Rewriting a profile that need not fit in memory, in two passes over its
 * decompressed bytes, each fed in pieces of any size (a field may be cut
 * anywhere):
 *
 *   a = attach_stream_new(snap, n, put, ctx, err);
 *   attach_stream_scan(a, ...) for every piece, then attach_stream_plan;
 *   attach_stream_write(a, ...) for every piece of the same bytes again,
 *   then attach_stream_finish; attach_stream_free in any case.
 *
 * The n mappings of snap become the mapping table, ids 1..n in that order;
 * fields other than mappings and locations are copied byte for byte, and
 * never held whole; locations change only their mapping_id; the string
 * table only grows. Memory is proportional to the mapping and location
 * tables (a few bytes per location, one bit per string), not to the
 * samples. The result goes to put in pieces as the second pass makes it.
 *
 * Every call returns 0, or -1 with err saying what is wrong: with the
 * profile (offsets count from its first byte), or, in the second pass,
 * that the bytes differ from the first pass's, or put's own error (then
 * attach_stream_output_failed says so). The output is then incomplete,
 * and the caller discards it.
 */
struct attach_stream;
typedef int (*attach_put_fn)(void *ctx, const void *p, size_t len, struct errmsg *err);

struct attach_stream *attach_stream_new(const struct attach_mapping *snap, size_t n,
					attach_put_fn put, void *ctx, struct errmsg *err);
/*
 * Before the first pass: locations with an address inside a symbol of jit
 * (finished; it must outlive a) and no line get one naming the symbol
 * (docs/jit.md). The profile gains a function and its strings per symbol
 * used, after its last string.
 */
struct jit_table;
int attach_stream_set_jit(struct attach_stream *a, const struct jit_table *jit,
			  struct errmsg *err);
/*
 * Before the first pass: locations in a snapshot mapping with an address
 * and no line get the frames names gives for the address (attach
 * --symbolize), as lines, innermost first, with a function per distinct
 * (name, system name, file, start line) after the profile's own and the
 * JIT's; their mappings get the has_* flags for what was found. names is
 * called once per such location, in the plan; ctx must outlive a.
 */
struct sym_frame;
typedef size_t (*attach_names_fn)(void *ctx, uint64_t address, struct sym_frame *out,
				  size_t cap);
int attach_stream_set_names(struct attach_stream *a, attach_names_fn names, void *ctx,
			    struct errmsg *err);
int attach_stream_scan(struct attach_stream *a, const void *p, size_t len, struct errmsg *err);
/* The end of the first pass: the whole profile is checked, st filled. */
int attach_stream_plan(struct attach_stream *a, struct attach_stats *st, struct errmsg *err);
int attach_stream_write(struct attach_stream *a, const void *p, size_t len, struct errmsg *err);
/* The end of the second pass: the rest of the output goes to put. */
int attach_stream_finish(struct attach_stream *a, struct errmsg *err);
int attach_stream_output_failed(const struct attach_stream *a);
void attach_stream_free(struct attach_stream *a);

/*
 * The same over a profile in memory (decompressed bytes): appends the
 * result to out. On failure out may hold a partial profile, which the
 * caller discards.
 */
int attach_profile(const unsigned char *p, size_t len, const struct attach_mapping *snap,
		   size_t n, struct buf *out, struct attach_stats *st, struct errmsg *err);

/*
 * What attach --symbolize adds (names.c): functions, strings and
 * each location's lines, gathered in the plan and written in the second
 * pass. names_table_add records one location's frames (n may be 0);
 * names_table_next_lines appends the next location's Line fields, in the
 * order added, with function ids from fn_base + 1 (-1 past the last).
 */
struct names_table;
struct names_table *names_table_new(void);
void names_table_free(struct names_table *t);
int names_table_add(struct names_table *t, const struct sym_frame *f, size_t n);
size_t names_table_strings(const struct names_table *t);
size_t names_table_functions(const struct names_table *t);
int names_table_next_lines(struct names_table *t, uint64_t fn_base, struct buf *out);
void names_table_put_strings(const struct names_table *t, struct buf *out);
void names_table_put_functions(const struct names_table *t, uint64_t str_base, uint64_t fn_base,
			       struct buf *out);

/* One attach from end to end (attach/run.c). */
struct attach_job {
	uint64_t pid;		/* the table of this live process, or ... */
	const char *snapshot;	/* ... of this saved snapshot (pprof or CBOR) */
	const char *profile;	/* the profile to rewrite; "-": standard input */
	const char *output;	/* NULL: standard output; may name profile */
	uint64_t max;		/* bound on every input, also decompressed; 0: default */
	struct bid_cache *cache;	/* for pid; may be NULL */
	const char *procfs;	/* for pid: its proc filesystem; NULL: /proc */
	int jit;		/* name locations in JIT code (docs/jit.md) */
	/* attach --symbolize (docs/symbolize.md): names from this symbolizer,
	 * NULL for none */
	struct symbolizer *symbolizer;
	/* told as the profile is read: pass 1 or 2, its bytes read of its size */
	struct progress_to progress;
	struct platform_temp_hook temp;	/* told of the output's temporary file */
};

/*
 * Reads the profile twice as a stream, once to check it and plan the new
 * tables, once to write the result through gzip into the output. Nothing
 * is opened for output until the input has proved good; on failure the
 * output file is removed (standard output may have had part of it) and
 * err names the file or PID and the reason.
 */
int attach_run(const struct attach_job *job, struct attach_stats *st, struct errmsg *err);

#endif
