/*
 * attach/run.c - `attach` from end to end: takes the mapping table (a live
 * process, or a saved snapshot), reads the profile twice as a stream, and
 * writes the result through gzip into its output, which appears only once
 * complete. The pieces it drives are in rewrite.c (the rewrite), wire/gz.c and
 * platform.h (the files).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/attach.h"
#include "buildid.h"
#include "wire/gz.h"
#include "jit.h"
#include "symbolize.h"
#include "lookup.h"
#include "platform.h"

static const char *file_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "standard input" : path;
}

/* Prefixes err's text with the name of the file it is about; keeps its kind. */
static void err_about(struct errmsg *err, const char *path, const struct errmsg *why)
{
	int code = why->code;
	err_set(err, "%s: %s", file_name(path), why->text);
	err->code = code;
}

/* The decompressed profile goes by in pieces of this size, twice. */
enum { ATTACH_WINDOW = 256 * 1024 };

static int profile_read(void *ctx, void *p, size_t cap, size_t *got, struct errmsg *err)
{
	return platform_in_read(ctx, p, cap, got, err);
}

/*
 * The profile's pass of 2 as job->progress hears of it, once per
 * ATTACH_WINDOW of the file read (as stored, before gzip) and at the end:
 * its bytes read of its size, or of the first pass's count once known.
 */
struct meter {
	struct platform_in *in;
	const struct progress_to *to;
	struct progress p;
	uint64_t told;		/* p.done when last told */
};

static int metered_read(void *ctx, void *p, size_t cap, size_t *got, struct errmsg *err)
{
	struct meter *m = ctx;
	if (platform_in_read(m->in, p, cap, got, err) < 0)
		return -1;
	m->p.done += *got;
	return 0;
}

typedef int (*feed_fn)(struct attach_stream *a, const void *p, size_t len, struct errmsg *err);
static int attach_pass(struct platform_in *in, uint64_t max, struct attach_stream *a,
		       feed_fn feed, int second, unsigned char *window, uint64_t *total,
		       struct meter *m, struct errmsg *err);

/*
 * The first pass over a saved snapshot: a CBOR one (it starts so) is
 * gathered into file, bounded by max, for attach_read_cbor; a pprof one
 * goes by into a table reader, *a, never held whole. The gzip layer's
 * errors come first, as in attach_pass.
 */
static int snapshot_first_pass(struct platform_in *in, uint64_t max, struct buf *file,
			       struct attach_stream **a, struct attach_jit_reader *jr,
			       unsigned char *window, struct errmsg *err)
{
	struct gz_reader *g = gz_reader_new(profile_read, in, max, err);
	struct errmsg bad;
	int rc = g ? 0 : -1, is_bad = 0, cbor = -1;
	uint64_t total = 0;
	while (rc == 0) {
		size_t got;
		if ((rc = gz_reader_read(g, window, ATTACH_WINDOW, &got, err)) < 0 || got == 0)
			break;
		total += got;
		if (cbor < 0) {
			cbor = attach_is_cbor(window, got);
			if (!cbor && !(*a = attach_table_reader_new(err)))
				rc = -1;
			else if (!cbor)
				attach_table_reader_set_jit(*a, jr);
		}
		if (is_bad && !gz_reader_is_gzip(g))
			break;
		if (is_bad || rc < 0)
			continue;
		if (cbor) {
			buf_put(file, window, got);
			if (file->oom) {
				err_setc(err, ERR_NO_MEMORY, "out of memory");
				rc = -1;
			}
		} else if (attach_table_scan(*a, window, got, &bad) < 0) {
			is_bad = 1;
		}
	}
	gz_reader_free(g);
	if (rc == 0 && is_bad) {
		*err = bad;
		rc = -1;
	}
	if (rc == 0 && total == 0) {
		err_set(err, "empty: not a pprof profile");
		rc = -1;
	}
	return rc;
}

/*
 * A saved snapshot's mapping table: a CBOR one's records go into s; a
 * pprof one's strings into raw, which the table borrows. With j->jit, its
 * JIT symbols too, into s->jit: a pprof one's gathered in the same passes.
 */
static int snapshot_table(const struct attach_job *j, struct snapshot *s, struct buf *file,
			  struct buf *raw, struct attach_mapping **table, size_t *n,
			  struct errmsg *why)
{
	struct attach_stream *a = NULL;
	struct attach_jit_reader *jr = NULL;
	struct platform_in *in = platform_in_open(j->snapshot, j->max, why);
	unsigned char *window = malloc(ATTACH_WINDOW);
	uint64_t total;
	int rc = -1;
	if (!in || !window || (j->jit && !(jr = attach_jit_reader_new()))) {
		if (in)
			err_setc(why, ERR_NO_MEMORY, "out of memory");
		goto done;
	}
	if (snapshot_first_pass(in, j->max, file, &a, jr, window, why) < 0)
		goto done;
	if (!a) {
		rc = attach_read_cbor(file->p, file->len, s, why) < 0 ||
				     attach_table_from_snapshot(s, table, n, why) < 0
			     ? -1
			     : 0;
		goto done;
	}
	if (platform_in_rewind(in, why) < 0 ||
	    attach_pass(in, j->max, a, attach_table_collect, 1, window, &total, NULL, why) < 0 ||
	    attach_table_finish(a, table, n, raw, why) < 0)
		goto done;
	if (jr) {
		if (!(s->jit = malloc(sizeof *s->jit))) {
			err_setc(why, ERR_NO_MEMORY, "out of memory");
			goto done;
		}
		jit_table_init(s->jit);
		if (attach_jit_reader_finish(jr, s->jit, why) < 0)
			goto done;
	}
	rc = 0;
done:
	attach_jit_reader_free(jr);
	attach_stream_free(a);
	platform_in_close(in);
	free(window);
	return rc;
}

/* Where a string of raw went in the snapshot's arena: raw's address is its key. */
struct interned {
	const char *p;
	uint32_t off;
};

static uint32_t intern_once(struct snapshot *s, struct interned *memo, size_t mask,
			    const char *p, size_t len)
{
	if (!len)
		return 0;
	size_t h = ((size_t)(uintptr_t)p * 0x9E3779B97F4A7C15u) >> 7 & mask;
	while (memo[h].p && memo[h].p != p)
		h = (h + 1) & mask;
	if (!memo[h].p) {
		uint32_t off = snapshot_intern(s, p, len);
		if (off == UINT32_MAX)
			return off;
		memo[h] = (struct interned){ p, off };
	}
	return memo[h].off;
}

int snapshot_read_saved(const char *path, uint64_t max, struct snapshot *s,
			struct errmsg *err)
{
	return snapshot_read_saved_jit(path, max, 0, s, err);
}

int snapshot_read_saved_jit(const char *path, uint64_t max, int jit, struct snapshot *s,
			    struct errmsg *err)
{
	struct attach_job j = { .snapshot = path, .max = max ? max : ATTACH_MAX_SIZE, .jit = jit };
	struct buf file = { 0 }, raw = { 0 };
	struct attach_mapping *table = NULL;
	struct interned *memo = NULL;
	size_t n = 0;
	struct errmsg why;
	int rc = -1;

	s->os = "linux";
	s->saved = 1;
	/* As attach reads it: a pprof one streamed, a CBOR one bounded. */
	if (snapshot_table(&j, s, &file, &raw, &table, &n, &why) < 0)
		goto bad;
	if (s->n == 0) {	/* pprof: the table borrows from raw; copy it */
		/* raw holds each string-table entry once however many mappings
		 * name it; so does the snapshot: one copy per entry, not per
		 * mapping (a small file naming one long string a million
		 * times must not become a million copies). */
		size_t cap = 16;
		while (cap < 4 * n)
			cap *= 2;
		if (!(memo = calloc(cap, sizeof *memo))) {
			err_setc(&why, ERR_NO_MEMORY, "out of memory");
			goto bad;
		}
		for (size_t i = 0; i < n; i++) {
			struct mapping *m = snapshot_add(s);
			uint32_t f, b;
			if (!m ||
			    (f = intern_once(s, memo, cap - 1, table[i].file, table[i].file_len)) ==
				    UINT32_MAX ||
			    (b = intern_once(s, memo, cap - 1, table[i].build_id,
					     table[i].build_id_len)) == UINT32_MAX) {
				err_setc(&why, ERR_NO_MEMORY, "out of memory");
				goto bad;
			}
			m = &s->map[s->n - 1];
			m->start = table[i].start;
			m->limit = table[i].limit;
			m->offset = table[i].offset;
			m->file = f;
			m->build_id = b;
			if (i == 0)
				m->flags |= MAPF_MAIN;	/* pprof puts the main executable first */
		}
		/* pprof says nothing of the OS: Windows paths tell a Windows process. */
		if (n && lookup_path_is_windows(snapshot_str(s, s->map[0].file)))
			s->os = "windows";
	}
	rc = 0;
	goto done;
bad:
	err_about(err, path, &why);
done:
	free(memo);
	free(table);
	buf_free(&file);
	buf_free(&raw);
	return rc;
}

/*
 * The mapping table to attach: the live process's or a CBOR snapshot's,
 * whose records s then owns, or a pprof snapshot's, which borrows from raw.
 */
static int attach_table(const struct attach_job *j, struct snapshot *s, struct buf *file,
			struct buf *raw, struct attach_mapping **table, size_t *n,
			struct errmsg *err)
{
	if (j->pid) {
		struct read_opts ro = { .cache = j->cache, .procfs = j->procfs, .jit = j->jit };
		if (!j->cache && !(ro.cache = bid_cache_new())) {
			err_setc(err, ERR_NO_MEMORY, "out of memory");
			return -1;
		}
		enum read_status r = snapshot_read(s, j->pid, &ro, err);
		if (ro.cache != j->cache)
			bid_cache_free(ro.cache);
		return r == READ_OK ? attach_table_from_snapshot(s, table, n, err) : -1;
	}
	struct errmsg why;
	if (snapshot_table(j, s, file, raw, table, n, &why) < 0) {
		err_about(err, j->snapshot, &why);
		return -1;
	}
	if (!j->jit && s->jit) {	/* a CBOR snapshot's, not asked for */
		jit_table_free(s->jit);
		free(s->jit);
		s->jit = NULL;
	}
	return 0;
}

/* Where the rewritten profile goes: compressed, into the output file. */
struct attach_sink {
	struct platform_out *file;
	struct gz_writer *gz;
};

static int sink_compress(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	return gz_writer_write(((struct attach_sink *)ctx)->gz, p, len, err);
}

static int sink_write(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	return platform_out_write(ctx, p, len, err);
}

/*
 * One pass over the decompressed profile: the first (scan) or the second
 * (write). *total counts its bytes. The gzip layer's errors come before
 * the profile's, as when the whole was decompressed first: after bad
 * protobuf the first pass still reads on through gzip, so a gzip bomb of
 * zeros is told as too large and a cut gzip stream as truncated; raw bytes
 * stop at the first bad field (a pipe of garbage is not spooled whole).
 */
static int attach_pass(struct platform_in *in, uint64_t max, struct attach_stream *a,
		       feed_fn feed, int second, unsigned char *window, uint64_t *total,
		       struct meter *m, struct errmsg *err)
{
	struct gz_reader *g = m ? gz_reader_new(metered_read, m, max, err)
				: gz_reader_new(profile_read, in, max, err);
	struct errmsg bad;
	int rc = g ? 0 : -1, is_bad = 0;
	*total = 0;
	while (rc == 0) {
		size_t got;
		if ((rc = gz_reader_read(g, window, ATTACH_WINDOW, &got, err)) < 0 || got == 0)
			break;
		*total += got;
		if (m && m->p.done - m->told >= ATTACH_WINDOW) {
			m->told = m->p.done;
			progress_tell(m->to, &m->p);
		}
		/* Raw protobuf has no later gzip error to find: stop at once. */
		if (is_bad && !gz_reader_is_gzip(g))
			break;
		if (is_bad)
			continue;
		if (second)
			rc = feed(a, window, got, err);
		else if (feed(a, window, got, &bad) < 0)
			is_bad = 1;
	}
	gz_reader_free(g);
	if (rc == 0 && is_bad) {
		*err = bad;
		rc = -1;
	}
	if (rc == 0 && m)	/* the whole pass: all of the file */
		progress_tell(m->to, &m->p);
	return rc;
}

static size_t names_at(void *ctx, uint64_t address, struct sym_frame *out, size_t cap)
{
	return sym_snap_frames(ctx, address, out, cap);
}

int attach_run(const struct attach_job *job, struct attach_stats *st, struct errmsg *err)
{
	struct attach_job j = *job;
	struct buf snap_file = { 0 }, snap_raw = { 0 };
	struct snapshot s, saved;
	struct sym_snap *ss = NULL;
	struct attach_mapping *table = NULL;
	size_t n = 0;
	struct attach_stream *a = NULL;
	struct attach_sink sink = { 0 };
	struct platform_in *in = NULL;
	unsigned char *window = NULL;
	uint64_t total;
	struct errmsg why;
	int rc = -1, in_bad = 0;	/* in_bad: why is about the profile */
	struct meter meter = { NULL, &j.progress, { PROGRESS_ATTACH, 1, 2, 0, 0, NULL }, 0 };

	if (!j.max)
		j.max = ATTACH_MAX_SIZE;
	memset(st, 0, sizeof *st);
	snapshot_init(&s);
	snapshot_init(&saved);
	in_bad = 1;
	if (!(in = platform_in_open(j.profile, j.max, &why)))
		goto done;
	in_bad = 0;
	meter.in = in;
	meter.p.total = platform_in_size(in);
	if (attach_table(&j, &s, &snap_file, &snap_raw, &table, &n, err) < 0)
		goto done;
	if (n == 0) {
		if (j.pid)
			err_setc(err, ERR_BAD_INPUT, "pid %llu: no mappings to attach",
				 (unsigned long long)j.pid);
		else
			err_setc(err, ERR_BAD_INPUT, "%s: the snapshot holds no mappings",
				 file_name(j.snapshot));
		goto done;
	}
	in_bad = 1;
	if (!(window = malloc(ATTACH_WINDOW))) {
		err_setc(&why, ERR_NO_MEMORY, "out of memory");
		goto done;
	}
	if (j.symbolizer) {
		/* A pprof snapshot's table borrows its bytes: its records, for
		 * the symbolizer, are read once more, as lookup reads them. */
		const struct snapshot *names_of = &s;
		if (!j.pid && s.n == 0) {
			in_bad = 0;
			if (snapshot_read_saved(j.snapshot, j.max, &saved, err) < 0)
				goto done;
			in_bad = 1;
			names_of = &saved;
		}
		if (!(ss = sym_snap_new(j.symbolizer, names_of, j.pid, &why)))
			goto done;
	}
	if (!(a = attach_stream_new(table, n, sink_compress, &sink, &why)) ||
	    attach_stream_set_jit(a, s.jit, &why) < 0 ||
	    (ss && attach_stream_set_names(a, names_at, ss, &why) < 0) ||
	    attach_pass(in, j.max, a, attach_stream_scan, 0, window, &total, &meter, &why) < 0)
		goto done;
	if (total == 0) {
		err_setc(&why, ERR_BAD_INPUT, "empty: not a pprof profile");
		goto done;
	}
	if (attach_stream_plan(a, st, &why) < 0 || platform_in_rewind(in, &why) < 0)
		goto done;

	in_bad = 0;
	if (!(sink.file = platform_out_open(j.output, &j.temp, err)) ||
	    !(sink.gz = gz_writer_new(sink_write, sink.file, err)))
		goto done;
	meter.p.pass = 2;
	meter.p.total = meter.p.done;	/* what the first pass read */
	meter.p.done = meter.told = 0;
	if (attach_pass(in, j.max, a, attach_stream_write, 1, window, &total, &meter, &why) < 0 ||
	    attach_stream_finish(a, &why) < 0) {
		in_bad = !attach_stream_output_failed(a);
		if (!in_bad)
			*err = why;
		goto done;
	}
	if (gz_writer_finish(sink.gz, err) < 0)
		goto done;
	/* Closed first: Windows renames nothing over a file still open. */
	platform_in_close(in);
	in = NULL;
	rc = platform_out_commit(sink.file, err);
	sink.file = NULL;
done:
	if (rc < 0 && in_bad)
		err_about(err, j.profile, &why);
	platform_out_abort(sink.file);
	gz_writer_free(sink.gz);
	platform_in_close(in);
	attach_stream_free(a);
	sym_snap_free(ss);
	free(window);
	free(table);
	snapshot_free(&s);
	snapshot_free(&saved);
	buf_free(&snap_file);
	buf_free(&snap_raw);
	return rc;
}
