/*
 * libFuzzer target: the pprof profile reader and rewriter of attach.c, on
 * gzip or raw input, and the CBOR snapshot reader. Whatever attach_profile
 * accepts, it must turn into a profile it accepts again, with the mapping
 * table it was given. Streamed in pieces cut where the input's first byte
 * says, the profile must give the same bytes, the same statistics and the
 * same error; and a second pass over other bytes must fail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attach/attach.h"
#include "format/read.h"
#include "snapshot.h"

static const struct attach_mapping snap[] = {
	{ 0x400000, 0x4af000, 0, "/bin/prog", "", 9, 0 },
	{ 0x7f0000001000, 0x7f0000002000, 0x1000, "/lib/libc.so.6", "abcd", 14, 4 },
	{ 0x7f0000003000, 0x7f0000004000, 0, "/bin/prog", "", 9, 0 },
};

static int sink(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	(void)err;
	buf_put(ctx, p, len);
	return 0;
}

/* Pieces of 1 to 64 bytes, in a pattern seeded by cut. */
static size_t piece(unsigned *cut, size_t left)
{
	*cut = *cut * 1103515245u + 12345u;
	size_t k = 1 + (*cut >> 16) % 64;
	return k < left ? k : left;
}

/* Both passes in pieces; the second over q when it is given. */
static int stream(const unsigned char *p, const unsigned char *q, size_t len,
		  const struct attach_mapping *m, size_t n, unsigned seed, struct buf *out,
		  struct attach_stats *st, struct errmsg *err)
{
	struct attach_stream *a = attach_stream_new(m, n, sink, out, err);
	unsigned cut = seed;
	size_t k;
	int rc = a ? 0 : -1;
	memset(st, 0, sizeof *st);
	for (size_t i = 0; rc == 0 && i < len; i += k)
		rc = attach_stream_scan(a, p + i, k = piece(&cut, len - i), err);
	if (rc == 0)
		rc = attach_stream_plan(a, st, err);
	for (size_t i = 0; rc == 0 && i < len; i += k)
		rc = attach_stream_write(a, (q ? q : p) + i, k = piece(&cut, len - i), err);
	if (rc == 0)
		rc = attach_stream_finish(a, err);
	attach_stream_free(a);
	return rc;
}

static void check_stream(const unsigned char *p, size_t len, const struct attach_mapping *m,
			 size_t n, int whole_rc, const struct buf *whole,
			 const struct attach_stats *whole_st, const struct errmsg *whole_err)
{
	struct buf out = { 0 };
	struct attach_stats st;
	struct errmsg err;
	unsigned seed = len ? p[0] : 0;
	int rc = stream(p, NULL, len, m, n, seed, &out, &st, &err);
	if (rc != whole_rc)
		abort();
	if (rc == 0 && (out.len != whole->len || memcmp(out.p, whole->p, out.len) != 0 ||
			memcmp(&st, whole_st, sizeof st) != 0))
		abort();
	if (rc < 0 && strcmp(err.text, whole_err->text) != 0)
		abort();
	buf_free(&out);
	if (rc == 0 && len) {
		unsigned char *q = malloc(len);
		if (!q)
			return;
		memcpy(q, p, len);
		q[len / 2] ^= 0x40;
		if (stream(p, q, len, m, n, seed, &out, &st, &err) == 0)
			abort();
		free(q);
		buf_free(&out);
	}
}

static void check(const unsigned char *p, size_t len, const struct attach_mapping *m, size_t n)
{
	struct buf out = { 0 }, again = { 0 };
	struct attach_stats st, st2;
	struct errmsg err;
	struct snapshot t;
	int rc = attach_profile(p, len, m, n, &out, &st, &err);
	snapshot_init(&t);
	check_stream(p, len, m, n, rc, &out, &st, &err);
	if (rc == 0) {
		if (st.mapped + st.kept_locations > st.locations)
			abort();
		if (snapshot_read_pprof(out.p, out.len, &t, &err) < 0 || t.n != n + st.kept)
			abort();
		if (attach_profile(out.p, out.len, m, n, &again, &st2, &err) < 0 ||
		    st2.locations != st.locations || st2.mapped != st.mapped)
			abort();
	}
	snapshot_free(&t);
	buf_free(&out);
	buf_free(&again);
}

static void check_cbor(const unsigned char *p, size_t len)
{
	struct snapshot s;
	struct attach_mapping *t = NULL;
	size_t n;
	struct errmsg err;
	snapshot_init(&s);
	if (snapshot_read_cbor(p, len, &s, &err) == 0 &&
	    (attach_table_from_snapshot(&s, &t, &n, &err) < 0 || n != s.n))
		abort();
	free(t);
	snapshot_free(&s);
}

/*
 * A saved snapshot read as a stream, in pieces: it succeeds exactly when
 * the whole-buffer read does, with the same mappings and strings.
 */
static void check_table_stream(const unsigned char *p, size_t len, int whole_ok,
			       const struct snapshot *own)
{
	struct errmsg err;
	struct snapshot s;
	snapshot_init(&s);
	struct pprof_reader *r = pprof_reader_new(&s, NULL, &err);
	unsigned cut = len ? p[0] : 0;
	size_t k;
	int rc = r ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < len; i += k)
		rc = pprof_reader_scan(r, p + i, k = piece(&cut, len - i), &err);
	for (size_t i = 0; rc == 0 && i < len; i += k)
		rc = pprof_reader_collect(r, p + i, k = piece(&cut, len - i), &err);
	if (rc == 0)
		rc = pprof_reader_finish(r, &err);
	if ((rc == 0) != whole_ok || (rc == 0 && s.n != own->n))
		abort();
	for (size_t i = 0; rc == 0 && i < s.n; i++) {
		const struct mapping *x = &own->map[i], *y = &s.map[i];
		if (x->start != y->start || x->limit != y->limit || x->offset != y->offset ||
		    x->flags != y->flags ||
		    strcmp(snapshot_str(own, x->file), snapshot_str(&s, y->file)) != 0 ||
		    strcmp(snapshot_str(own, x->build_id), snapshot_str(&s, y->build_id)) != 0)
			abort();
	}
	pprof_reader_free(r);
	snapshot_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf scratch = { 0 };
	const unsigned char *p;
	size_t len;
	struct errmsg err;
	if (attach_unpack(data, size, 1 << 20, &scratch, &p, &len, &err) == 0) {
		struct attach_mapping *own = NULL;
		struct snapshot s;
		size_t n;
		if (snapshot_is_cbor(p, len))
			check_cbor(p, len);
		check(p, len, snap, sizeof snap / sizeof snap[0]);
		snapshot_init(&s);
		int ok = snapshot_read_pprof(p, len, &s, &err) == 0;
		if (ok && attach_table_from_snapshot(&s, &own, &n, &err) == 0)
			check(p, len, own, n);
		check_table_stream(p, len, ok, &s);
		free(own);
		snapshot_free(&s);
	}
	buf_free(&scratch);
	return 0;
}
