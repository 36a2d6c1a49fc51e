/*
 * attach/run.c - `attach` from end to end: takes the mapping table (a live
 * process, or a saved snapshot read by format/), reads the profile twice
 * as a stream, and writes the result through gzip into its output, which
 * appears only once complete. The pieces it drives are in plan.c and
 * rewrite.c (the rewrite), wire/gz.c and platform.h (the files).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/attach.h"
#include "buildid.h"
#include "jit.h"
#include "platform.h"
#include "symbolize.h"
#include "wire/gz.h"

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

/*
 * The mapping table to attach, into s: the live process's, or a saved
 * snapshot's (pprof or CBOR, as lookup reads it). *table borrows s's
 * strings.
 */
static int attach_table(const struct attach_job *j, struct snapshot *s,
			struct attach_mapping **table, size_t *n, struct errmsg *err)
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
	if (snapshot_read_saved_jit(j->snapshot, j->max, j->jit, s, err) < 0)
		return -1;
	if (!j->jit && s->jit) {	/* a CBOR snapshot's, not asked for */
		jit_table_free(s->jit);
		free(s->jit);
		s->jit = NULL;
	}
	return attach_table_from_snapshot(s, table, n, err);
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
	if (m->p.done - m->told >= ATTACH_WINDOW) {
		m->told = m->p.done;
		progress_tell(m->to, &m->p);
	}
	return 0;
}

/* One pass over the profile through gzip (see gz_pass), metered. */
static int profile_pass(struct meter *m, uint64_t max, unsigned char *window, int check,
			gz_feed_fn feed, void *a, uint64_t *total, struct errmsg *err)
{
	int rc = gz_pass(metered_read, m, max, window, ATTACH_WINDOW, check, feed, a, total, err);
	if (rc == 0)	/* the whole pass: all of the file */
		progress_tell(m->to, &m->p);
	return rc;
}

static int feed_scan(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	return attach_stream_scan(ctx, p, len, err);
}

static int feed_write(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	return attach_stream_write(ctx, p, len, err);
}

static size_t names_at(void *ctx, uint64_t address, struct sym_frame *out, size_t cap)
{
	return sym_snap_frames(ctx, address, out, cap);
}

/* What one attach holds, to free in one place whatever went wrong. */
struct attach_state {
	struct attach_job j;
	struct snapshot s;
	struct attach_mapping *table;
	size_t n;
	struct sym_snap *ss;
	struct attach_stream *a;
	struct attach_sink sink;
	struct platform_in *in;
	struct meter meter;
	unsigned char *window;
};

/*
 * The first pass: the profile checked, the plan made. -1 with why about
 * the profile.
 */
static int attach_first_pass(struct attach_state *t, struct attach_stats *st,
			     struct errmsg *why)
{
	uint64_t total;
	if (!(t->window = malloc(ATTACH_WINDOW))) {
		err_setc(why, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	if (t->j.symbolizer && !(t->ss = sym_snap_new(t->j.symbolizer, &t->s, t->j.pid, why)))
		return -1;
	if (!(t->a = attach_stream_new(t->table, t->n, sink_compress, &t->sink, why)) ||
	    attach_stream_set_jit(t->a, t->s.jit, why) < 0 ||
	    (t->ss && attach_stream_set_names(t->a, names_at, t->ss, why) < 0) ||
	    profile_pass(&t->meter, t->j.max, t->window, 1, feed_scan, t->a, &total, why) < 0)
		return -1;
	if (total == 0) {
		err_setc(why, ERR_BAD_INPUT, "empty: not a pprof profile");
		return -1;
	}
	return attach_stream_plan(t->a, st, why);
}

/*
 * The second pass, into the output, opened only now that the input has
 * proved good. -1 with err set, or with why about the profile and
 * *in_bad set.
 */
static int attach_second_pass(struct attach_state *t, int *in_bad, struct errmsg *why,
			      struct errmsg *err)
{
	uint64_t total;
	*in_bad = 1;
	if (platform_in_rewind(t->in, why) < 0)
		return -1;
	*in_bad = 0;
	if (!(t->sink.file = platform_out_open(t->j.output, &t->j.temp, err)) ||
	    !(t->sink.gz = gz_writer_new(sink_write, t->sink.file, err)))
		return -1;
	t->meter.p.pass = 2;
	t->meter.p.total = t->meter.p.done;	/* what the first pass read */
	t->meter.p.done = t->meter.told = 0;
	if (profile_pass(&t->meter, t->j.max, t->window, 0, feed_write, t->a, &total, why) < 0 ||
	    attach_stream_finish(t->a, why) < 0) {
		*in_bad = !attach_stream_output_failed(t->a);
		if (!*in_bad)
			*err = *why;
		return -1;
	}
	if (gz_writer_finish(t->sink.gz, err) < 0)
		return -1;
	/* Closed first: Windows renames nothing over a file still open. */
	platform_in_close(t->in);
	t->in = NULL;
	int rc = platform_out_commit(t->sink.file, err);
	t->sink.file = NULL;
	return rc;
}

int attach_run(const struct attach_job *job, struct attach_stats *st, struct errmsg *err)
{
	struct attach_state t = { .j = *job };
	struct errmsg why;
	int rc = -1, in_bad = 1;	/* in_bad: why is about the profile */

	if (!t.j.max)
		t.j.max = ATTACH_MAX_SIZE;
	memset(st, 0, sizeof *st);
	snapshot_init(&t.s);
	if (!(t.in = platform_in_open(t.j.profile, t.j.max, &why)))
		goto done;
	in_bad = 0;
	t.meter = (struct meter){ t.in, &t.j.progress,
				  { PROGRESS_ATTACH, 1, 2, 0, platform_in_size(t.in), NULL }, 0 };
	if (attach_table(&t.j, &t.s, &t.table, &t.n, err) < 0)
		goto done;
	if (t.n == 0) {
		if (t.j.pid)
			err_setc(err, ERR_BAD_INPUT, "pid %llu: no mappings to attach",
				 (unsigned long long)t.j.pid);
		else
			err_setc(err, ERR_BAD_INPUT, "%s: the snapshot holds no mappings",
				 file_name(t.j.snapshot));
		goto done;
	}
	in_bad = 1;
	if (attach_first_pass(&t, st, &why) < 0)
		goto done;
	rc = attach_second_pass(&t, &in_bad, &why, err);
done:
	if (rc < 0 && in_bad)
		err_about(err, t.j.profile, &why);
	platform_out_abort(t.sink.file);
	gz_writer_free(t.sink.gz);
	platform_in_close(t.in);
	attach_stream_free(t.a);
	sym_snap_free(t.ss);
	free(t.window);
	free(t.table);
	snapshot_free(&t.s);
	return rc;
}
