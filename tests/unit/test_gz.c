/*
 * test_gz.c - gzip streaming: the writer gives gz_compress's bytes, and
 * the reader, fed a byte at a time or all at once, gives back what went
 * in, across members and zero padding, with gz_decompress's errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "wire/gz.h"

struct feed {
	const unsigned char *p;
	size_t len, pos, step;	/* step: the most one read gives */
};

static int feed_read(void *ctx, void *p, size_t cap, size_t *got, struct errmsg *err)
{
	struct feed *s = ctx;
	(void)err;
	size_t n = s->len - s->pos;
	if (n > cap)
		n = cap;
	if (n > s->step)
		n = s->step;
	memcpy(p, s->p + s->pos, n);
	s->pos += n;
	*got = n;
	return 0;
}

static int sink(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	(void)err;
	buf_put(ctx, p, len);
	return 0;
}

/* Everything the reader gives for p, read in pieces of `step`. */
static int read_all(const struct buf *in, size_t step, uint64_t max, struct buf *out,
		    struct errmsg *err)
{
	struct feed s = { in->p, in->len, 0, step };
	struct gz_reader *g = gz_reader_new(feed_read, &s, max, err);
	unsigned char piece[1000];
	size_t got;
	int rc = g ? 0 : -1;
	while (rc == 0 && (rc = gz_reader_read(g, piece, sizeof piece, &got, err)) == 0 && got)
		buf_put(out, piece, got);
	gz_reader_free(g);
	return rc;
}

static void make_text(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_putc(b, "profile "[i % 8] + (int)(i / 4096 % 3));
}

static void test_writer_as_gz_compress(void **state)
{
	(void)state;
	struct buf text = { 0 }, whole = { 0 }, streamed = { 0 };
	struct errmsg err;
	make_text(&text, 300000);
	assert_int_equal(gz_compress(&whole, text.p, text.len, &err), 0);
	struct gz_writer *w = gz_writer_new(sink, &streamed, &err);
	assert_non_null(w);
	for (size_t i = 0; i < text.len; i += 777)
		assert_int_equal(gz_writer_write(w, text.p + i, text.len - i < 777 ? text.len - i : 777,
						 &err), 0);
	assert_int_equal(gz_writer_finish(w, &err), 0);
	gz_writer_free(w);
	assert_int_equal(streamed.len, whole.len);
	assert_memory_equal(streamed.p, whole.p, whole.len);
	buf_free(&text);
	buf_free(&whole);
	buf_free(&streamed);
}

static void test_reader_members_and_padding(void **state)
{
	(void)state;
	struct buf a = { 0 }, b = { 0 }, in = { 0 };
	struct errmsg err;
	make_text(&a, 100000);
	make_text(&b, 5000);
	assert_int_equal(gz_compress(&in, a.p, a.len, &err), 0);
	buf_put(&in, "\0\0\0", 3);
	assert_int_equal(gz_compress(&in, b.p, b.len, &err), 0);
	buf_put(&in, "\0", 1);
	buf_put(&a, b.p, b.len);
	const size_t steps[] = { 1, 2, 3, 4096, 1 << 20 };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct buf out = { 0 };
		assert_int_equal(read_all(&in, steps[i], 1 << 20, &out, &err), 0);
		assert_int_equal(out.len, a.len);
		assert_memory_equal(out.p, a.p, a.len);
		buf_free(&out);
	}
	/* Not gzip: passed through. */
	struct buf out = { 0 };
	assert_int_equal(read_all(&b, 3, 1 << 20, &out, &err), 0);
	assert_int_equal(out.len, b.len);
	assert_memory_equal(out.p, b.p, b.len);
	buf_free(&out);
	buf_free(&a);
	buf_free(&b);
	buf_free(&in);
}

static void expect(const struct buf *in, uint64_t max, const char *want)
{
	for (size_t step = 1; step <= 4096; step *= 64) {
		struct buf out = { 0 };
		struct errmsg err = { .text = "" };
		assert_int_equal(read_all(in, step, max, &out, &err), -1);
		if (!strstr(err.text, want))
			fail_msg("error '%s' does not say '%s'", err.text, want);
		buf_free(&out);
	}
}

static void test_reader_errors(void **state)
{
	(void)state;
	struct buf text = { 0 }, in = { 0 };
	struct errmsg err;
	make_text(&text, 50000);
	assert_int_equal(gz_compress(&in, text.p, text.len, &err), 0);
	expect(&in, text.len - 1, "decompressed size exceeds the limit");
	expect(&text, text.len - 1, "size exceeds the limit");
	in.len -= 5;
	expect(&in, 1 << 20, "truncated gzip data");
	in.len += 5;
	buf_put(&in, "\0x", 2);
	expect(&in, 1 << 20, "trailing garbage after gzip data");
	in.len -= 2;
	buf_put(&in, "\x1f", 1);	/* half a magic */
	expect(&in, 1 << 20, "trailing garbage after gzip data");
	in.p[20] ^= 0xff;
	in.len--;
	expect(&in, 1 << 20, "gzip data");
	buf_free(&text);
	buf_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_as_gz_compress),
		cmocka_unit_test(test_reader_members_and_padding),
		cmocka_unit_test(test_reader_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
