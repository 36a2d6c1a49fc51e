/*
 * attach_run.c - `attach` from end to end: takes the mapping table (a live
 * process, or a saved snapshot), reads the profile twice as a stream, and
 * writes the result through gzip into its output, which appears only once
 * complete. The pieces it drives are in attach.c (the rewrite), gz.c and
 * platform.c (the files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "buildid.h"
#include "gz.h"
#include "jit.h"
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

/*
 * The mapping table to attach: the live process's or a CBOR snapshot's,
 * whose records s then owns, or a pprof snapshot's, which borrows from raw.
 */
static int attach_table(const struct attach_job *j, struct snapshot *s, struct buf *file,
			struct buf *raw, struct attach_mapping **table, size_t *n,
			struct errmsg *err)
{
	if (j->pid) {
		struct read_opts ro = { .cache = j->cache, .jit = j->jit };
		if (!j->cache && !(ro.cache = bid_cache_new())) {
			err_setc(err, ERR_NO_MEMORY, "out of memory");
			return -1;
		}
		enum read_status r = snapshot_read(s, j->pid, &ro, err);
		if (ro.cache != j->cache)
			bid_cache_free(ro.cache);
		return r == READ_OK ? attach_table_from_snapshot(s, table, n, err) : -1;
	}
	const unsigned char *p;
	size_t len;
	struct errmsg why;
	if (platform_read_file(j->snapshot, file, j->max, err) < 0)
		return -1;
	if (attach_unpack(file->p, file->len, j->max, raw, &p, &len, &why) < 0)
		goto bad;
	if (attach_is_cbor(p, len)) {
		if (attach_read_cbor(p, len, s, &why) < 0 ||
		    attach_table_from_snapshot(s, table, n, &why) < 0)
			goto bad;
	} else if (attach_table_from_profile(p, len, table, n, &why) < 0) {
		goto bad;
	} else if (j->jit) {
		if (!(s->jit = malloc(sizeof *s->jit))) {
			err_setc(&why, ERR_NO_MEMORY, "out of memory");
			goto bad;
		}
		jit_table_init(s->jit);
		if (attach_jit_from_profile(p, len, s->jit, &why) < 0)
			goto bad;
	}
	if (!j->jit && s->jit) {	/* a CBOR snapshot's, not asked for */
		jit_table_free(s->jit);
		free(s->jit);
		s->jit = NULL;
	}
	return 0;
bad:
	err_about(err, j->snapshot, &why);
	return -1;
}

/* The decompressed profile goes by in pieces of this size, twice. */
enum { ATTACH_WINDOW = 256 * 1024 };

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

static int profile_read(void *ctx, void *p, size_t cap, size_t *got, struct errmsg *err)
{
	return platform_in_read(ctx, p, cap, got, err);
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
		       int second, unsigned char *window, uint64_t *total, struct errmsg *err)
{
	struct gz_reader *g = gz_reader_new(profile_read, in, max, err);
	struct errmsg bad;
	int rc = g ? 0 : -1, is_bad = 0;
	*total = 0;
	while (rc == 0) {
		size_t got;
		if ((rc = gz_reader_read(g, window, ATTACH_WINDOW, &got, err)) < 0 || got == 0)
			break;
		*total += got;
		/* Raw protobuf has no later gzip error to find: stop at once. */
		if (is_bad && !gz_reader_is_gzip(g))
			break;
		if (is_bad)
			continue;
		if (second)
			rc = attach_stream_write(a, window, got, err);
		else if (attach_stream_scan(a, window, got, &bad) < 0)
			is_bad = 1;
	}
	gz_reader_free(g);
	if (rc == 0 && is_bad) {
		*err = bad;
		rc = -1;
	}
	return rc;
}

int attach_run(const struct attach_job *job, struct attach_stats *st, struct errmsg *err)
{
	struct attach_job j = *job;
	struct buf snap_file = { 0 }, snap_raw = { 0 };
	struct snapshot s;
	struct attach_mapping *table = NULL;
	size_t n = 0;
	struct attach_stream *a = NULL;
	struct attach_sink sink = { 0 };
	struct platform_in *in = NULL;
	unsigned char *window = NULL;
	uint64_t total;
	struct errmsg why;
	int rc = -1, in_bad = 0;	/* in_bad: why is about the profile */

	if (!j.max)
		j.max = ATTACH_MAX_SIZE;
	memset(st, 0, sizeof *st);
	snapshot_init(&s);
	in_bad = 1;
	if (!(in = platform_in_open(j.profile, j.max, &why)))
		goto done;
	in_bad = 0;
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
	if (!(a = attach_stream_new(table, n, sink_compress, &sink, &why)) ||
	    attach_stream_set_jit(a, s.jit, &why) < 0 || attach_pass(in, j.max, a, 0, window, &total, &why) < 0)
		goto done;
	if (total == 0) {
		err_setc(&why, ERR_BAD_INPUT, "empty: not a pprof profile");
		goto done;
	}
	if (attach_stream_plan(a, st, &why) < 0 || platform_in_rewind(in, &why) < 0)
		goto done;

	in_bad = 0;
	if (!(sink.file = platform_out_open(j.output, err)) ||
	    !(sink.gz = gz_writer_new(sink_write, sink.file, err)))
		goto done;
	if (attach_pass(in, j.max, a, 1, window, &total, &why) < 0 ||
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
	free(window);
	free(table);
	snapshot_free(&s);
	buf_free(&snap_file);
	buf_free(&snap_raw);
	return rc;
}
