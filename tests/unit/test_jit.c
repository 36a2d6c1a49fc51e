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

#include "attach/attach.h"
#include "format/emit.h"
#include "wire/gz.h"
#include "jit.h"
#include "wire/pbwire.h"
#include "wire/profile.h"

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

	/*
	 * An entry outside the code it describes: the entries from there on
	 * are misframed (Node 20 writes names with NULs inside) and dropped.
	 */
	b.len = 0;
	header(&b, 0);
	const struct ent lying[] = { { 0x5000, 3, "a.js" }, { 0x2f00000001, 5, "g" },
				     { 0x5020, 9, "a.js" } };
	debug_info(&b, 0, 0x5000, lying, 3);
	load(&b, 0, 0x5000, 0x40, 1, "hot");
	jit_table_init(&t);
	assert_int_equal(jitdump_parse(&t, b.p, b.len, &why), 0);
	assert_int_equal(jit_finish(&t), 0);
	assert_int_equal(jit_lookup(&t, 0x5030)->nline, 1);
	assert_int_equal(jit_line_at(&t, jit_lookup(&t, 0x5030), 0x5030)->lineno, 3);
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

/* ---- attach --jit ----------------------------------------------------------- */

static void put_msg(struct buf *b, uint32_t field, struct buf *m)
{
	pb_put_bytes(b, field, m->p ? m->p : (unsigned char *)"", m->len);
	buf_free(m);
}

/* A location at addr; with a line of function fn when fn is not 0. */
static void put_loc(struct buf *b, uint64_t id, uint64_t addr, uint64_t fn)
{
	struct buf m = { 0 }, line = { 0 };
	pb_put_uint(&m, LOCATION_ID, id);
	pb_put_uint(&m, LOCATION_ADDRESS, addr);
	if (fn) {
		pb_put_uint(&line, 1, fn);
		pb_put_int(&line, 2, 99);
		put_msg(&m, LOCATION_LINE, &line);
	}
	put_msg(b, PROFILE_LOCATION, &m);
}

static int sink(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	(void)err;
	buf_put(ctx, p, len);
	return 0;
}

/* The fields numbered num of message p, in order. */
static size_t fields_of(const unsigned char *p, size_t len, uint32_t num, struct pb_field *out,
			size_t max)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why;
	size_t n = 0;
	while (pb_next(&r, &f, &why) > 0)
		if (f.number == num && n < max)
			out[n++] = f;
	return n;
}

static uint64_t varint_of(const struct pb_field *msg, uint32_t num)
{
	struct pb_field f[4];
	size_t n = fields_of(msg->data, msg->len, num, f, 4);
	return n ? f[n - 1].value : 0;
}

static void test_attach_names_locations(void **state)
{
	(void)state;
	struct jit_table t;
	jit_table_init(&t);
	long k = jit_add(&t, 0x5000, 0x100, "JS:*hot", 7, JIT_JITDUMP);
	assert_int_equal(jit_add_line(&t, (size_t)k, 0x5000, 10, "a.js", 4), 0);
	assert_int_equal(jit_add_line(&t, (size_t)k, 0x5080, 12, "a.js", 4), 0);
	jit_add(&t, 0x6000, 0x10, "JS:other", 8, JIT_PERF_MAP);
	assert_int_equal(jit_finish(&t), 0);

	/* strings "", "main"; function 7; four locations */
	struct buf prof = { 0 }, m = { 0 }, out = { 0 };
	put_loc(&prof, 1, 0x5090, 0);		/* in JS:*hot, no line: gets one */
	put_loc(&prof, 2, 0x5010, 7);		/* in JS:*hot, has a line: unchanged */
	put_loc(&prof, 3, 0x9000, 0);		/* in no symbol */
	put_loc(&prof, 4, 0x5000, 0);		/* the same symbol again: one function */
	pb_put_uint(&m, 1, 7);
	pb_put_uint(&m, 2, 1);
	put_msg(&prof, PROFILE_FUNCTION, &m);
	pb_put_bytes(&prof, PROFILE_STRING_TABLE, "", 0);
	pb_put_bytes(&prof, PROFILE_STRING_TABLE, "main", 4);

	const struct attach_mapping snap[] = { { .start = 0x5000, .limit = 0x7000,
						 .file = "[jit]", .file_len = 5 } };
	struct errmsg err;
	struct attach_stats st;
	struct attach_stream *a = attach_stream_new(snap, 1, sink, &out, &err);
	assert_non_null(a);
	assert_int_equal(attach_stream_set_jit(a, &t, &err), 0);
	assert_int_equal(attach_stream_scan(a, prof.p, prof.len, &err), 0);
	assert_int_equal(attach_stream_plan(a, &st, &err), 0);
	assert_int_equal(attach_stream_write(a, prof.p, prof.len, &err), 0);
	assert_int_equal(attach_stream_finish(a, &err), 0);
	attach_stream_free(a);
	assert_int_equal(st.jit_named, 2);
	assert_int_equal(st.jit_functions, 1);

	struct pb_field loc[8], fn[8], str[8], line[4];
	assert_int_equal(fields_of(out.p, out.len, PROFILE_LOCATION, loc, 8), 4);
	size_t nf = fields_of(out.p, out.len, PROFILE_FUNCTION, fn, 8);
	size_t ns = fields_of(out.p, out.len, PROFILE_STRING_TABLE, str, 8);
	assert_int_equal(nf, 2);
	assert_int_equal(varint_of(&fn[0], 1), 7);	/* the profile's own, as it was */
	assert_int_equal(varint_of(&fn[1], 1), 8);	/* the new one, above every id */
	uint64_t name = varint_of(&fn[1], 2), file = varint_of(&fn[1], 4);
	assert_true(name < ns && file < ns);
	assert_memory_equal(str[name].data, "JS:*hot", 7);
	assert_int_equal(str[name].len, 7);
	assert_int_equal(varint_of(&fn[1], 3), name);	/* system_name */
	assert_memory_equal(str[file].data, "a.js", 4);
	/* "", "main", then the snapshot's "[jit]", then the JIT's: only grows */
	assert_int_equal(ns, 5);
	assert_memory_equal(str[1].data, "main", 4);

	/* location 1: a line of function 8 at the line of 0x5090: 12 */
	assert_int_equal(fields_of(loc[0].data, loc[0].len, LOCATION_LINE, line, 4), 1);
	assert_int_equal(varint_of(&line[0], 1), 8);
	assert_int_equal(varint_of(&line[0], 2), 12);
	assert_int_equal(varint_of(&loc[0], LOCATION_MAPPING_ID), 1);
	/* location 2 keeps its one line */
	assert_int_equal(fields_of(loc[1].data, loc[1].len, LOCATION_LINE, line, 4), 1);
	assert_int_equal(varint_of(&line[0], 1), 7);
	/* location 3 gets none */
	assert_int_equal(fields_of(loc[2].data, loc[2].len, LOCATION_LINE, line, 4), 0);
	/* location 4: the same function, line 10 */
	assert_int_equal(fields_of(loc[3].data, loc[3].len, LOCATION_LINE, line, 4), 1);
	assert_int_equal(varint_of(&line[0], 1), 8);
	assert_int_equal(varint_of(&line[0], 2), 10);

	buf_free(&prof);
	buf_free(&out);
	jit_table_free(&t);
}

/* A pprof snapshot's JIT symbols read back are the ones written. */
static void test_pprof_round_trip(void **state)
{
	(void)state;
	struct snapshot s;
	snapshot_init(&s);
	s.os = "linux";
	s.pid = 42;
	struct mapping *m = snapshot_add(&s);
	m->start = 0x5000;
	m->limit = 0x7000;
	m->prot = PERM_X;
	snapshot_set(&s, &m->file, "[jit]");
	s.jit = malloc(sizeof *s.jit);
	jit_table_init(s.jit);
	jit_add(s.jit, 0x6000, 0x100, "old", 3, JIT_PERF_MAP);
	long k = jit_add(s.jit, 0x5000, 0x40, "JS:*hot", 7, JIT_JITDUMP);
	jit_add_line(s.jit, (size_t)k, 0x5000, 33, "a.js", 4);
	jit_add(s.jit, 0x6080, 0x10, "newer, inside old", 17, JIT_PERF_MAP);
	jit_add(s.jit, 0x6000, 0x100, "dead", 4, JIT_PERF_MAP);	/* replaces old whole */
	jit_add(s.jit, 0x6080, 0x10, "newest", 6, JIT_PERF_MAP);
	assert_int_equal(jit_finish(s.jit), 0);

	struct buf gz = { 0 }, raw = { 0 };
	struct errmsg err;
	assert_int_equal(emit_pprof(&gz, &s, 1, &err), 0);
	assert_int_equal(gz_decompress(&raw, gz.p, gz.len, 1 << 30, &err), 0);
	struct jit_table t;
	jit_table_init(&t);
	assert_int_equal(pprof_jit_from_profile(raw.p, raw.len, &t, &err), 0);
	assert_int_equal(t.nlive, s.jit->nlive);
	for (uint64_t a = 0x4f00; a < 0x7000; a += 8) {
		const struct jit_sym *x = jit_lookup(s.jit, a), *y = jit_lookup(&t, a);
		assert_true(!x == !y);
		if (!x)
			continue;
		assert_string_equal(jit_str(s.jit, x->name), jit_str(&t, y->name));
		assert_int_equal(x->start, y->start);
		assert_int_equal(x->size, y->size);
		assert_int_equal(x->source, y->source);
	}
	const struct jit_sym *hot = jit_lookup(&t, 0x5010);
	assert_int_equal(jit_line_at(&t, hot, 0x5010)->lineno, 33);
	assert_string_equal(jit_str(&t, jit_line_at(&t, hot, 0x5010)->file), "a.js");
	assert_string_equal(jit_str(&t, jit_lookup(&t, 0x6085)->name), "newest");
	assert_string_equal(jit_str(&t, jit_lookup(&t, 0x6000)->name), "dead");
	jit_table_free(&t);
	buf_free(&gz);
	buf_free(&raw);
	snapshot_free(&s);
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
		cmocka_unit_test(test_attach_names_locations),
		cmocka_unit_test(test_pprof_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
