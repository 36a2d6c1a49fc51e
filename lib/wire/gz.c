/* wire/gz.c - gzip through zlib, in memory and streaming (see gz.h). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wire/gz.h"

int gz_is_gzip(const void *p, size_t len)
{
	const unsigned char *s = p;
	return len >= 2 && s[0] == 0x1f && s[1] == 0x8b;
}

/* ---- streaming ----------------------------------------------------------- */

enum { GZ_CHUNK = 64 * 1024 };

enum gz_state { GZ_RAW, GZ_MEMBER, GZ_BETWEEN, GZ_END };

struct gz_reader {
	gz_read_fn read;
	void *ctx;
	uint64_t max, out;	/* bytes given out so far */
	enum gz_state state;
	z_stream z;
	int z_live;
	int eof;		/* read gave 0: nothing more to come */
	unsigned char *next;	/* unread input in in[] */
	size_t left;
	unsigned char in[GZ_CHUNK];
};

/*
 * Makes at least n bytes of input (n <= GZ_CHUNK) ready at next, unless the
 * input ends first: then eof is set, and stays so (a terminal is not asked
 * twice).
 */
static int reader_want(struct gz_reader *g, size_t n, struct errmsg *err)
{
	while (g->left < n && !g->eof) {
		size_t got;
		memmove(g->in, g->next, g->left);
		g->next = g->in;
		if (g->read(g->ctx, g->in + g->left, sizeof g->in - g->left, &got, err) < 0)
			return -1;
		g->left += got;
		g->eof = got == 0;
	}
	return 0;
}

struct gz_reader *gz_reader_new(gz_read_fn read, void *ctx, uint64_t max, struct errmsg *err)
{
	struct gz_reader *g = calloc(1, sizeof *g);
	if (!g) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	g->read = read;
	g->ctx = ctx;
	g->max = max;
	g->next = g->in;
	if (reader_want(g, 2, err) < 0) {
		free(g);
		return NULL;
	}
	g->state = gz_is_gzip(g->next, g->left) ? GZ_BETWEEN : GZ_RAW;
	return g;
}

static int too_big(struct gz_reader *g, struct errmsg *err)
{
	err_setc(err, ERR_TOO_LARGE, "%ssize exceeds the limit (%llu bytes)",
		g->state == GZ_RAW ? "" : "decompressed ", (unsigned long long)g->max);
	return -1;
}

/* Between gzip members: zero padding, then another member or the end. */
static int reader_next_member(struct gz_reader *g, struct errmsg *err)
{
	for (;;) {
		if (reader_want(g, 2, err) < 0)
			return -1;
		if (g->left == 0) {
			g->state = GZ_END;
			return 0;
		}
		if (g->next[0] != 0)
			break;
		g->next++;
		g->left--;
	}
	if (!gz_is_gzip(g->next, g->left)) {
		err_set(err, "trailing garbage after gzip data");
		return -1;
	}
	int rc = g->z_live ? inflateReset(&g->z) : inflateInit2(&g->z, 15 + 16);
	if (rc != Z_OK) {
		err_set(err, "zlib: cannot start decompressing");
		return -1;
	}
	g->z_live = 1;
	g->state = GZ_MEMBER;
	return 0;
}

int gz_reader_read(struct gz_reader *g, void *p, size_t cap, size_t *got, struct errmsg *err)
{
	unsigned char *out = p;
	*got = 0;
	while (*got == 0 && cap > 0) {
		switch (g->state) {
		case GZ_END:
			return 0;
		case GZ_RAW: {
			if (reader_want(g, 1, err) < 0)
				return -1;
			if (g->left == 0) {
				g->state = GZ_END;
				return 0;
			}
			size_t n = g->left < cap ? g->left : cap;
			memcpy(out, g->next, n);
			g->next += n;
			g->left -= n;
			g->out += n;
			*got = n;
			if (g->out > g->max)
				return too_big(g, err);
			break;
		}
		case GZ_BETWEEN:
			if (reader_next_member(g, err) < 0)
				return -1;
			break;
		case GZ_MEMBER: {
			if (reader_want(g, 1, err) < 0)
				return -1;
			uint64_t allowed = g->max - g->out;
			size_t room = cap;
			if (room > allowed)
				room = (size_t)allowed + 1;	/* one byte more tells */
			if (room > (1u << 30))
				room = 1u << 30;
			g->z.next_in = g->next;
			g->z.avail_in = (uInt)(g->left > (1u << 30) ? (1u << 30) : g->left);
			g->z.next_out = out;
			g->z.avail_out = (uInt)room;
			uInt avail_in = g->z.avail_in;
			int rc = inflate(&g->z, Z_NO_FLUSH);
			g->next += avail_in - g->z.avail_in;
			g->left -= avail_in - g->z.avail_in;
			*got = room - g->z.avail_out;
			g->out += *got;
			if (g->out > g->max)
				return too_big(g, err);
			if (rc == Z_STREAM_END) {
				g->state = GZ_BETWEEN;
			} else if (rc == Z_BUF_ERROR && g->left == 0 && g->eof) {
				err_set(err, "truncated gzip data");
				return -1;
			} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
				err_set(err, "corrupt gzip data (%s)", g->z.msg ? g->z.msg : "zlib error");
				return -1;
			}
			break;
		}
		}
	}
	return 0;
}

int gz_reader_is_gzip(const struct gz_reader *g)
{
	return g->state != GZ_RAW;
}

void gz_reader_free(struct gz_reader *g)
{
	if (!g)
		return;
	if (g->z_live)
		inflateEnd(&g->z);
	free(g);
}

int gz_pass(gz_read_fn read, void *read_ctx, uint64_t max, unsigned char *window, size_t cap,
	    int check, gz_feed_fn feed, void *feed_ctx, uint64_t *total, struct errmsg *err)
{
	struct gz_reader *g = gz_reader_new(read, read_ctx, max, err);
	struct errmsg bad;
	int rc = g ? 0 : -1, is_bad = 0;
	*total = 0;
	while (rc == 0) {
		size_t got;
		if ((rc = gz_reader_read(g, window, cap, &got, err)) < 0 || got == 0)
			break;
		*total += got;
		/* Raw bytes have no later gzip error to find: stop at once. */
		if (is_bad && !gz_reader_is_gzip(g))
			break;
		if (is_bad)
			continue;
		if (!check)
			rc = feed(feed_ctx, window, got, err);
		else if (feed(feed_ctx, window, got, &bad) < 0)
			is_bad = 1;
	}
	gz_reader_free(g);
	if (rc == 0 && is_bad) {
		*err = bad;
		rc = -1;
	}
	return rc;
}

struct gz_writer {
	gz_write_fn write;
	void *ctx;
	z_stream z;
	unsigned char out[GZ_CHUNK];
};

struct gz_writer *gz_writer_new(gz_write_fn write, void *ctx, struct errmsg *err)
{
	struct gz_writer *g = calloc(1, sizeof *g);
	if (!g) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	/* The same bytes for the same input. Level 1, as Go's runtime/pprof
	 * writes profiles: attach rewrites a whole profile, and level 6 made
	 * it 2x a gzip -dc | gzip -1 round trip for a few percent of size. */
	if (deflateInit2(&g->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		err_set(err, "zlib: cannot start compressing");
		return NULL;
	}
	g->write = write;
	g->ctx = ctx;
	return g;
}

static int writer_run(struct gz_writer *g, const void *p, size_t len, int flush,
		      struct errmsg *err)
{
	const unsigned char *in = p;
	int rc;
	do {
		uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
		g->z.next_in = (unsigned char *)(uintptr_t)in;
		g->z.avail_in = chunk;
		in += chunk;
		len -= chunk;
		int f = len ? Z_NO_FLUSH : flush;
		do {
			g->z.next_out = g->out;
			g->z.avail_out = sizeof g->out;
			rc = deflate(&g->z, f);
			size_t n = sizeof g->out - g->z.avail_out;
			if (n && g->write(g->ctx, g->out, n, err) < 0)
				return -1;
		} while (g->z.avail_out == 0 || (f == Z_FINISH && rc != Z_STREAM_END));
	} while (len);
	return 0;
}

int gz_writer_write(struct gz_writer *g, const void *p, size_t len, struct errmsg *err)
{
	return len ? writer_run(g, p, len, Z_NO_FLUSH, err) : 0;
}

int gz_writer_finish(struct gz_writer *g, struct errmsg *err)
{
	return writer_run(g, "", 0, Z_FINISH, err);
}

void gz_writer_free(struct gz_writer *g)
{
	if (!g)
		return;
	deflateEnd(&g->z);
	free(g);
}

/* ---- in memory, through the streams ------------------------------------- */

int gz_compress(struct buf *out, const void *p, size_t len, struct errmsg *err)
{
	struct gz_writer *g = gz_writer_new(buf_sink, out, err);
	int rc = g && gz_writer_write(g, p, len, err) == 0 && gz_writer_finish(g, err) == 0;
	gz_writer_free(g);
	return rc ? 0 : -1;
}

struct mem_source {
	const unsigned char *p;
	size_t left;
};

static int mem_read(void *ctx, void *p, size_t cap, size_t *got, struct errmsg *err)
{
	struct mem_source *m = ctx;
	(void)err;
	*got = m->left < cap ? m->left : cap;
	memcpy(p, m->p, *got);
	m->p += *got;
	m->left -= *got;
	return 0;
}

int gz_decompress(struct buf *out, const void *p, size_t len, uint64_t max, struct errmsg *err)
{
	if (!gz_is_gzip(p, len)) {
		err_set(err, "not gzip data");
		return -1;
	}
	struct mem_source m = { p, len };
	struct gz_reader *g = gz_reader_new(mem_read, &m, max, err);
	int rc = g ? 0 : -1;
	while (rc == 0) {
		size_t got;
		if (buf_reserve(out, 256 * 1024) < 0) {
			err_setc(err, ERR_NO_MEMORY, "out of memory");
			rc = -1;
		} else if ((rc = gz_reader_read(g, out->p + out->len, out->cap - out->len, &got,
						err)) == 0) {
			if (got == 0)
				break;
			out->len += got;
		}
	}
	gz_reader_free(g);
	return rc;
}
