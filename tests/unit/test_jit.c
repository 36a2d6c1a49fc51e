/*
 * test_jit.c - the JIT symbol table and its readers on hand-made perf maps
 * and jitdumps: what each line or record gives, which symbol owns an
 * address when records overlap (the latest), and what hostile bytes do
 * (nothing but dropped records).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jit.h"

static const char *name_at(const struct jit_table *t, uint64_t addr)
{
	const struct jit_sym *s = jit_lookup(t, addr);
	return s ? jit_str(t, s->name) : NULL;
}

static void test_line(void **state)
{
	(void)state;
	uint64_t a, n;
	const char *name;
	size_t len;
	assert_int_equal(perfmap_parse_line("7f00 10 LazyCompile:*hot x.js:3\n", 31, &a, &n,
					    &name, &len), 1);
	assert_int_equal(a, 0x7f00);
	assert_int_equal(n, 0x10);
	assert_int_equal(len, strlen("LazyCompile:*hot x.js:3"));
	assert_memory_equal(name, "LazyCompile:*hot x.js:3", len);

	const char *l = "0x7F00\t0X1a  name with  spaces\r\n";
	assert_int_equal(perfmap_parse_line(l, strlen(l), &a, &n, &name, &len), 1);
	assert_int_equal(a, 0x7f00);
	assert_int_equal(n, 0x1a);
	assert_int_equal(len, strlen("name with  spaces"));

	const char *bad[] = { "", "\n", "7f00", "7f00 10", "7f00 10 ", "zz 10 x", "7f00 zz x",
			      "7f00x 10 x", "0x 10 x", "7f00 0x x",
			      "10000000000000000 10 x" /* 17 digits */ };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(perfmap_parse_line(bad[i], strlen(bad[i]), &a, &n, &name, &len), 0);
	l = "ffffffffffffffff 1 top";
	assert_int_equal(perfmap_parse_line(l, strlen(l), &a, &n, &name, &len), 1);
	assert_int_equal(a, UINT64_MAX);
}

static void test_perfmap(void **state)
{
	(void)state;
	struct jit_table t;
	jit_table_init(&t);
	const char *m = "1000 100 first\n"
			"garbage line\n"
			"1080 10 later\n"		/* inside first: wins there */
			"2000 0 empty\n"		/* size 0: nothing */
			"ffffffffffffff00 200 wraps\n"	/* overflows: dropped */
			"3000 10 last-no-newline";
	perfmap_parse(&t, m, strlen(m));
	assert_int_equal(jit_finish(&t), 0);
	assert_string_equal(name_at(&t, 0x1000), "first");
	assert_string_equal(name_at(&t, 0x107f), "first");
	assert_string_equal(name_at(&t, 0x1080), "later");
	assert_string_equal(name_at(&t, 0x108f), "later");
	assert_string_equal(name_at(&t, 0x1090), "first");
	assert_string_equal(name_at(&t, 0x10ff), "first");
	assert_null(name_at(&t, 0x1100));
	assert_null(name_at(&t, 0xfff));
	assert_null(name_at(&t, 0x2000));
	assert_string_equal(name_at(&t, 0x300f), "last-no-newline");
	assert_null(name_at(&t, 0x3010));
	assert_int_equal(t.dropped, 3);
	jit_table_free(&t);
}

static void test_later_wins(void **state)
{
	(void)state;
	struct jit_table t;
	jit_table_init(&t);
	/* Same start: the later replaces it whole, even when shorter. */
	const char *m = "1000 100 old\n1000 40 new\n0f00 400 covers-all-earlier\n1200 10 tail\n";
	perfmap_parse(&t, m, strlen(m));
	assert_int_equal(jit_finish(&t), 0);
	assert_string_equal(name_at(&t, 0x1000), "covers-all-earlier");
	assert_string_equal(name_at(&t, 0x1205), "tail");
	assert_string_equal(name_at(&t, 0x1210), "covers-all-earlier");
	assert_false(t.sym[0].live);
	assert_false(t.sym[1].live);
	assert_true(t.sym[2].live);
	jit_table_free(&t);

	jit_table_init(&t);
	m = "1000 100 old\n1000 40 new\n";
	perfmap_parse(&t, m, strlen(m));
	assert_int_equal(jit_finish(&t), 0);
	assert_string_equal(name_at(&t, 0x1000), "new");
	assert_string_equal(name_at(&t, 0x103f), "new");
	assert_string_equal(name_at(&t, 0x1040), "old");
	jit_table_free(&t);
}

static void test_bounds(void **state)
{
	(void)state;
	struct jit_table t;
	jit_table_init(&t);
	char name[JIT_NAME_MAX * 2];
	memset(name, 'n', sizeof name);
	assert_int_equal(jit_add(&t, 0x10, 1, name, sizeof name, JIT_PERF_MAP), 0);
	assert_int_equal(t.sym[0].name_len, JIT_NAME_MAX);
	assert_int_equal(strlen(jit_str(&t, t.sym[0].name)), JIT_NAME_MAX);
	for (size_t i = 1; i < JIT_SYMBOLS_MAX; i++)
		jit_add(&t, 0x100 + 16 * i, 16, "s", 1, JIT_PERF_MAP);
	assert_int_equal(t.n, JIT_SYMBOLS_MAX);
	assert_int_equal(jit_add(&t, 0x10, 1, "more", 4, JIT_PERF_MAP), -1);
	assert_int_equal(t.dropped, 1);
	assert_int_equal(jit_finish(&t), 0);
	assert_string_equal(name_at(&t, 0x100 + 16 * 77 + 3), "s");
	jit_table_free(&t);
}

/* ---- jitdump ------------------------------------------------------------- */

static void put32(struct buf *b, uint32_t v, int be)
{
	unsigned char x[4];
	for (int i = 0; i < 4; i++)
		x[be ? 3 - i : i] = (unsigned char)(v >> (8 * i));
	buf_put(b, x, 4);
}

static void put64(struct buf *b, uint64_t v, int be)
{
	put32(b, (uint32_t)(be ? v >> 32 : v), be);
	put32(b, (uint32_t)(be ? v : v >> 32), be);
}

static void header(struct buf *b, int be)
{
	put32(b, JITDUMP_MAGIC, be);
	put32(b, 1, be);
	put32(b, JITDUMP_HEADER_SIZE, be);
	put32(b, 62, be);
	put32(b, 0, be);
	put32(b, 4242, be);
	put64(b, 1, be);
	put64(b, 0, be);
}

static void load(struct buf *b, int be, uint64_t addr, uint64_t size, uint64_t index,
		 const char *name)
{
	size_t nl = strlen(name) + 1;
	uint64_t code = size < 256 ? size : 0;	/* the code bytes written */
	put32(b, JIT_CODE_LOAD, be);
	put32(b, (uint32_t)(56 + nl + code), be);
	put64(b, 7, be);
	put32(b, 4242, be);
	put32(b, 4243, be);
	put64(b, addr, be);
	put64(b, addr, be);
	put64(b, size, be);
	put64(b, index, be);
	buf_put(b, name, nl);
	for (uint64_t i = 0; i < code; i++)
		buf_putc(b, 0xcc);
}

static void move(struct buf *b, int be, uint64_t from, uint64_t to, uint64_t size,
		 uint64_t index)
{
	put32(b, JIT_CODE_MOVE, be);
	put32(b, 64, be);
	put64(b, 8, be);
	put32(b, 4242, be);
	put32(b, 4243, be);
	put64(b, to, be);
	put64(b, from, be);
	put64(b, to, be);
	put64(b, size, be);
	put64(b, index, be);
}

struct ent {
	uint64_t addr;
	uint32_t line;
	const char *file;
};

static void debug_info(struct buf *b, int be, uint64_t code, const struct ent *e, size_t n)
{
	size_t total = 32;
	for (size_t i = 0; i < n; i++)
		total += 16 + strlen(e[i].file) + 1;
	put32(b, JIT_CODE_DEBUG_INFO, be);
	put32(b, (uint32_t)total, be);
	put64(b, 9, be);
	put64(b, code, be);
	put64(b, n, be);
	for (size_t i = 0; i < n; i++) {
		put64(b, e[i].addr, be);
		put32(b, e[i].line, be);
		put32(b, 0, be);
		buf_put(b, e[i].file, strlen(e[i].file) + 1);
	}
}

static void test_jitdump(void **state)
{
	(void)state;
	for (int be = 0; be < 2; be++) {
		struct buf b = { 0 };
		struct jit_table t;
		const char *why = NULL;
		header(&b, be);
		const struct ent e[] = { { 0x5010, 12, "/src/a.js" }, { 0x5000, 10, "/src/a.js" },
					 { 0x5020, 30, "\xff" } };
		debug_info(&b, be, 0x5000, e, 3);
		load(&b, be, 0x5000, 0x40, 1, "JS:*hot /src/a.js:10");
		load(&b, be, 0x6000, 0x20, 2, "JS:cold");
		move(&b, be, 0x6000, 0x7000, 0x20, 2);
		put32(&b, 77, be);	/* an unknown record: skipped */
		put32(&b, 20, be);
		put64(&b, 0, be);
		put32(&b, 0, be);
		put32(&b, JIT_CODE_CLOSE, be);
		put32(&b, 16, be);
		put64(&b, 0, be);
		load(&b, be, 0x8000, 0x10, 3, "after-close");
		jit_table_init(&t);
		assert_int_equal(jitdump_parse(&t, b.p, b.len, &why), 0);
		assert_int_equal(jit_finish(&t), 0);
		assert_string_equal(name_at(&t, 0x5000), "JS:*hot /src/a.js:10");
		assert_string_equal(name_at(&t, 0x603f - 0x20), "JS:cold");
		assert_string_equal(name_at(&t, 0x7010), "JS:cold");
		assert_null(name_at(&t, 0x8000));
		const struct jit_sym *s = jit_lookup(&t, 0x5015);
		assert_int_equal(s->source, JIT_JITDUMP);
		const struct jit_line *l = jit_line_at(&t, s, 0x5015);
		assert_non_null(l);
		assert_int_equal(l->lineno, 12);
		assert_string_equal(jit_str(&t, l->file), "/src/a.js");
		l = jit_line_at(&t, s, 0x503f);
		assert_int_equal(l->lineno, 30);
		assert_string_equal(jit_str(&t, l->file), "/src/a.js");
		assert_int_equal(jit_line_at(&t, s, 0x5000)->lineno, 10);
		assert_int_equal(jit_lookup(&t, 0x6000)->nline, 0);
		jit_table_free(&t);
		buf_free(&b);
	}
}

static void test_jitdump_hostile(void **state)
{
	(void)state;
	struct buf b = { 0 };
	struct jit_table t;
	const char *why = NULL;

	/* Not a jitdump. */
	jit_table_init(&t);
	assert_int_equal(jitdump_parse(&t, (const unsigned char *)"JiTD", 4, &why), -1);
	assert_int_equal(jitdump_parse(&t, (const unsigned char *)"0123456789012345678901234567890123456789",
				       40, &why), -1);
	jit_table_free(&t);

	/* A record claiming more than there is: the file ends there. */
	header(&b, 0);
	load(&b, 0, 0x5000, 0x10, 1, "whole");
	size_t cut = b.len;
	load(&b, 0, 0x6000, 0x10, 2, "cut");
	jit_table_init(&t);
	assert_int_equal(jitdump_parse(&t, b.p, b.len - 3, &why), 0);
	assert_int_equal(t.n, 1);
	jit_table_free(&t);

	/* A record shorter than its own header: nothing after it is read. */
	b.len = cut;
	put32(&b, JIT_CODE_LOAD, 0);
	put32(&b, 3, 0);
	put64(&b, 0, 0);
	load(&b, 0, 0x6000, 0x10, 2, "unreachable");
	jit_table_init(&t);
	assert_int_equal(jitdump_parse(&t, b.p, b.len, &why), 0);
	assert_int_equal(t.n, 1);
	jit_table_free(&t);

	/* A LOAD whose length cuts its name: skipped, the next one read. */
	b.len = cut;
	put32(&b, JIT_CODE_LOAD, 0);
	put32(&b, 56 + 2, 0);
	put64(&b, 0, 0);
	put32(&b, 1, 0);
	put32(&b, 1, 0);
	put64(&b, 0x9000, 0);
	put64(&b, 0x9000, 0);
	put64(&b, 0x10, 0);
	put64(&b, 9, 0);
	buf_put(&b, "ab", 2);	/* no NUL within the record */
	load(&b, 0, 0xa000, 0xffffffffffffffff, 3, "wraps");	/* too big: dropped */
	load(&b, 0, 0xb000, 0x10, 4, "fine");
	jit_table_init(&t);
	assert_int_equal(jitdump_parse(&t, b.p, b.len, &why), 0);
	assert_int_equal(jit_finish(&t), 0);
	assert_null(name_at(&t, 0x9000));
	assert_string_equal(name_at(&t, 0xb000), "fine");
	jit_table_free(&t);

	/* A DEBUG_INFO claiming 2^64-1 entries in a short record. */
	b.len = 0;
	header(&b, 0);
	put32(&b, JIT_CODE_DEBUG_INFO, 0);
	put32(&b, 32 + 17, 0);
	put64(&b, 0, 0);
	put64(&b, 0x5000, 0);
	put64(&b, UINT64_MAX, 0);
	put64(&b, 0x5000, 0);
	put32(&b, 1, 0);
	put32(&b, 0, 0);
	buf_putc(&b, 0);
	load(&b, 0, 0x5000, 0x10, 1, "hot");
	jit_table_init(&t);
	assert_int_equal(jitdump_parse(&t, b.p, b.len, &why), 0);
	assert_int_equal(jit_finish(&t), 0);
	assert_int_equal(jit_lookup(&t, 0x5000)->nline, 1);
	jit_table_free(&t);

	/* A MOVE of code never loaded names nothing. */
	b.len = 0;
	header(&b, 0);
	move(&b, 0, 0x1000, 0x2000, 0x10, 5);
	jit_table_init(&t);
	assert_int_equal(jitdump_parse(&t, b.p, b.len, &why), 0);
	assert_int_equal(jit_finish(&t), 0);
	assert_null(jit_lookup(&t, 0x2000));
	jit_table_free(&t);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_perfmap),
		cmocka_unit_test(test_later_wins),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_jitdump),
		cmocka_unit_test(test_jitdump_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
