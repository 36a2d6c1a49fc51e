/*
 * test_watch.c - watch's diff on snapshots built here: which records went
 * and which came, by (start, limit, inode, offset), in any order; and the
 * event line each becomes, with the snapshot's mapping keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format/emit.h"
#include "watch.h"

static void add(struct snapshot *s, uint64_t start, uint64_t limit, uint64_t inode,
		uint64_t offset, const char *file)
{
	struct mapping *m = snapshot_add(s);
	assert_non_null(m);
	m->start = start;
	m->limit = limit;
	m->inode = inode;
	m->offset = offset;
	m->prot = PERM_R | PERM_X;
	m->flags = inode ? MAPF_FILE : 0;
	assert_int_equal(snapshot_set(s, &m->file, file), 0);
}

/* "gone" and "fresh" as strings of 0/1, one per record. */
static void diff(const struct snapshot *a, const struct snapshot *b, const char *want_gone,
		 const char *want_fresh)
{
	unsigned char gone[16] = { 0 }, fresh[16] = { 0 };
	char g[17] = { 0 }, f[17] = { 0 };
	assert_int_equal(watch_diff(a, b, gone, fresh), 0);
	for (size_t i = 0; i < a->n; i++)
		g[i] = gone[i] ? '1' : '0';
	for (size_t j = 0; j < b->n; j++)
		f[j] = fresh[j] ? '1' : '0';
	assert_string_equal(g, want_gone);
	assert_string_equal(f, want_fresh);
}

static void test_each_part_of_the_key_counts(void **state)
{
	(void)state;
	struct snapshot a, b;
	snapshot_init(&a);
	snapshot_init(&b);
	add(&a, 0x1000, 0x2000, 7, 0, "/lib/a");
	add(&a, 0x3000, 0x4000, 8, 0, "/lib/b");
	add(&a, 0x5000, 0x6000, 9, 0x1000, "/lib/c");
	add(&a, 0x7000, 0x8000, 10, 0, "/lib/d");
	add(&a, 0x9000, 0xa000, 11, 0, "/lib/e");
	add(&b, 0x1000, 0x2000, 7, 0, "/lib/a");	/* the same */
	add(&b, 0x3000, 0x5000, 8, 0, "/lib/b");	/* limit moved */
	add(&b, 0x5000, 0x6000, 9, 0x2000, "/lib/c");	/* offset moved */
	add(&b, 0x7000, 0x8000, 12, 0, "/lib/d");	/* another file there */
	add(&b, 0x9100, 0xa000, 11, 0, "/lib/e");	/* start moved */
	diff(&a, &b, "01111", "01111");
	snapshot_free(&a);
	snapshot_free(&b);
}

static void test_order_does_not_matter_and_duplicates_pair(void **state)
{
	(void)state;
	struct snapshot a, b;
	snapshot_init(&a);
	snapshot_init(&b);
	/* Toolhelp32 lists modules in load order, not by address. */
	add(&a, 0x9000, 0xa000, 0, 0, "C:\\w\\x.dll");
	add(&a, 0x1000, 0x2000, 0, 0, "C:\\w\\main.exe");
	add(&a, 0x5000, 0x6000, 0, 0, "C:\\w\\y.dll");
	add(&a, 0x5000, 0x6000, 0, 0, "C:\\w\\y.dll");
	add(&b, 0x1000, 0x2000, 0, 0, "C:\\w\\main.exe");
	add(&b, 0x5000, 0x6000, 0, 0, "C:\\w\\y.dll");
	add(&b, 0x3000, 0x4000, 0, 0, "C:\\w\\new.dll");
	add(&b, 0x9000, 0xa000, 0, 0, "C:\\w\\x.dll");
	/* One of the two y.dll records is gone, the other stays. */
	diff(&a, &b, "0001", "0010");
	snapshot_free(&a);
	snapshot_free(&b);
}

static void test_empty_sides(void **state)
{
	(void)state;
	struct snapshot a, b;
	snapshot_init(&a);
	snapshot_init(&b);
	diff(&a, &b, "", "");
	add(&b, 0x1000, 0x2000, 1, 0, "/x");
	diff(&a, &b, "", "1");
	diff(&b, &a, "1", "");
	snapshot_free(&a);
	snapshot_free(&b);
}

static void test_event_lines(void **state)
{
	(void)state;
	struct snapshot s;
	struct buf b = { 0 };
	struct errmsg err;
	snapshot_init(&s);
	s.os = "linux";
	add(&s, 0x1000, 0x2000, 5, 0x3000, "/lib/\"q\".so");
	assert_int_equal(emit_json_event(&b, "unload", 1700000000123456789ULL, 42, &s, &s.map[0],
					 &err),
			 0);
	buf_putc(&b, '\0');
	assert_string_equal(b.p, "{\"event\":\"unload\",\"time\":\"2023-11-14T22:13:20.123456789Z\","
				 "\"pid\":42,\"start\":\"0x1000\",\"limit\":\"0x2000\","
				 "\"offset\":\"0x3000\",\"file\":\"/lib/\\\"q\\\".so\","
				 "\"build_id\":\"\",\"build_id_kind\":\"none\",\"perms\":\"r-xp\","
				 "\"dev\":\"00:00\",\"inode\":5,\"deleted\":false,\"main\":false}\n");
	b.len = 0;
	assert_int_equal(emit_json_event(&b, "exit", 0, 42, NULL, NULL, &err), 0);
	buf_putc(&b, '\0');
	assert_string_equal(b.p,
			    "{\"event\":\"exit\",\"time\":\"1970-01-01T00:00:00.000000000Z\",\"pid\":42}\n");
	buf_free(&b);
	snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_part_of_the_key_counts),
		cmocka_unit_test(test_order_does_not_matter_and_duplicates_pair),
		cmocka_unit_test(test_empty_sides),
		cmocka_unit_test(test_event_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
