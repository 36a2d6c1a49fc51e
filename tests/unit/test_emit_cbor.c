/*
 * test_emit_cbor.c - the CBOR writer on a hand-made snapshot, decoded with
 * libcbor's own loader: the self-described tag, the JSON keys in order,
 * unsigned addresses up to 2^64-1, text for UTF-8 and a byte string for a
 * name that is not; and that attach reads back what the writer wrote. In a
 * build without libcbor: the refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attach/attach.h"
#include "format/emit.h"
#include "jit.h"

#ifdef HAVE_CBOR
#include <cbor.h>

static cbor_item_t *get(cbor_item_t *map, const char *key)
{
	struct cbor_pair *p = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		cbor_item_t *k = p[i].key;
		if (cbor_isa_string(k) && cbor_string_length(k) == strlen(key) &&
		    memcmp(cbor_string_handle(k), key, strlen(key)) == 0)
			return p[i].value;
	}
	fail_msg("no key %s", key);
	return NULL;
}

static void assert_text(cbor_item_t *it, const char *want)
{
	assert_true(cbor_isa_string(it));
	assert_int_equal(cbor_string_length(it), strlen(want));
	assert_memory_equal(cbor_string_handle(it), want, strlen(want));
}

static void test_document(void **state)
{
	(void)state;
	struct snapshot s;
	snapshot_init(&s);
	s.pid = 99;
	s.os = "linux";
	s.time_nanos = UINT64_C(1795650644000000001);
	s.exe = snapshot_intern_str(&s, "/opt/caf\xc3\xa9");
	struct mapping *m = snapshot_add(&s);
	m->start = UINT64_C(0xffffffffff600000);
	m->limit = UINT64_MAX;
	m->offset = 0x2000;
	m->file = snapshot_intern_str(&s, "/tmp/bad\xff\x80name");
	m->build_id = snapshot_intern_str(&s, "abcd");
	m->bid_kind = BIDK_GNU;
	m->prot = PERM_R | PERM_X;
	m->flags = MAPF_FILE | MAPF_MAIN;
	m->dev_major = 0xfe;
	m->inode = UINT64_C(1) << 40;

	struct buf b = { 0 };
	struct errmsg err;
	assert_int_equal(emit_cbor(&b, &s, 1, 0, &err), 0);
	assert_memory_equal(b.p, "\xd9\xd9\xf7", 3);

	struct cbor_load_result res;
	cbor_item_t *top = cbor_load(b.p, b.len, &res);
	assert_non_null(top);
	assert_int_equal(res.error.code, CBOR_ERR_NONE);
	assert_int_equal(res.read, b.len);
	assert_true(cbor_isa_tag(top));
	assert_int_equal(cbor_tag_value(top), 55799);
	cbor_item_t *doc = cbor_move(cbor_tag_item(top));
	assert_true(cbor_isa_map(doc));

	const char *keys[] = { "pid",	 "os",	   "exe",	   "time",    "comm",
			       "ns_pid", "cgroup", "container_id", "mappings" };
	struct cbor_pair *p = cbor_map_handle(doc);
	assert_int_equal(cbor_map_size(doc), 9);
	for (size_t i = 0; i < 9; i++)
		assert_text(p[i].key, keys[i]);
	assert_int_equal(cbor_get_int(get(doc, "pid")), 99);
	assert_text(get(doc, "exe"), "/opt/caf\xc3\xa9");
	assert_text(get(doc, "time"), "2026-11-25T23:50:44.000000001Z");

	cbor_item_t *maps = get(doc, "mappings");
	assert_int_equal(cbor_array_size(maps), 1);
	cbor_item_t *mm = cbor_array_handle(maps)[0];
	assert_true(cbor_isa_uint(get(mm, "start")));
	assert_true(cbor_get_int(get(mm, "start")) == UINT64_C(0xffffffffff600000));
	assert_true(cbor_get_int(get(mm, "limit")) == UINT64_MAX);
	assert_int_equal(cbor_get_int(get(mm, "offset")), 0x2000);
	assert_true(cbor_get_int(get(mm, "inode")) == UINT64_C(1) << 40);
	cbor_item_t *file = get(mm, "file");
	assert_true(cbor_isa_bytestring(file));
	assert_int_equal(cbor_bytestring_length(file), 14);
	assert_memory_equal(cbor_bytestring_handle(file), "/tmp/bad\xff\x80name", 14);
	assert_text(get(mm, "dev"), "fe:00");
	assert_text(get(mm, "perms"), "r-xp");
	assert_true(cbor_get_bool(get(mm, "main")));
	assert_false(cbor_get_bool(get(mm, "deleted")));

	cbor_decref(&top);
	buf_free(&b);
	snapshot_free(&s);
}

/* Several processes, or none under --all: an array. */
static void test_array(void **state)
{
	(void)state;
	struct snapshot s[2];
	snapshot_init(&s[0]);
	snapshot_init(&s[1]);
	s[0].os = s[1].os = "linux";
	struct buf b = { 0 };
	struct errmsg err;
	assert_int_equal(emit_cbor(&b, s, 2, 1, &err), 0);
	assert_memory_equal(b.p, "\xd9\xd9\xf7\x82", 4);
	b.len = 0;
	assert_int_equal(emit_cbor(&b, s, 0, 1, &err), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.p, "\xd9\xd9\xf7\x80", 4);
	buf_free(&b);
}

/*
 * What --format cbor writes, attach --snapshot reads: every record, with a
 * name that is not UTF-8 (written as a byte string) kept byte for byte.
 */
static void test_attach_reads_it_back(void **state)
{
	(void)state;
	static const char *const files[] = { "/usr/bin/caf\xc3\xa9", "/tmp/bad\xff\x80name", "" };
	struct snapshot s, back;
	snapshot_init(&s);
	snapshot_init(&back);
	s.pid = 7;
	s.os = "linux";
	s.exe = snapshot_intern_str(&s, files[0]);
	for (size_t i = 0; i < 3; i++) {
		struct mapping *m = snapshot_add(&s);
		m->start = 0x1000 * (i + 1);
		m->limit = m->start + 0x800;
		m->offset = i;
		m->file = snapshot_intern_str(&s, files[i]);
		m->build_id = snapshot_intern_str(&s, i == 1 ? "/tmp/bad\xff\x80name2021" : "ab");
		m->flags = i == 0 ? MAPF_MAIN : 0;
	}
	struct buf b = { 0 };
	struct errmsg err;
	assert_int_equal(emit_cbor(&b, &s, 1, 0, &err), 0);
	assert_int_equal(snapshot_read_cbor((const unsigned char *)b.p, b.len, &back, &err), 0);
	assert_int_equal(back.n, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct mapping *w = &s.map[i], *g = &back.map[i];
		assert_true(g->start == w->start && g->limit == w->limit && g->offset == w->offset);
		assert_string_equal(snapshot_str(&back, g->file), files[i]);
		assert_string_equal(snapshot_str(&back, g->build_id), snapshot_str(&s, w->build_id));
		assert_int_equal(g->flags & MAPF_MAIN, w->flags & MAPF_MAIN);
	}
	buf_free(&b);
	snapshot_free(&back);
	snapshot_free(&s);
}

static void put_pair(cbor_item_t *map, const char *k, cbor_item_t *v)
{
	cbor_item_t *key = cbor_build_string(k);
	assert_true(cbor_map_add(map, (struct cbor_pair){ .key = cbor_move(key),
							  .value = cbor_move(v) }));
}

/*
 * A CBOR snapshot's "jit" array, walked entry by entry: a good entry is
 * kept; one that is not a map, or one bigger than the per-entry cap, is
 * left out and counted, and neither fails the read.
 */
static void test_attach_reads_jit_entries(void **state)
{
	(void)state;
	cbor_item_t *doc = cbor_new_indefinite_map();
	cbor_item_t *maps = cbor_new_indefinite_array();
	cbor_item_t *m = cbor_new_indefinite_map();
	put_pair(m, "start", cbor_build_uint64(0x1000));
	put_pair(m, "limit", cbor_build_uint64(0x2000));
	put_pair(m, "offset", cbor_build_uint64(0));
	put_pair(m, "file", cbor_build_string("[jit]"));
	put_pair(m, "build_id", cbor_build_string(""));
	assert_true(cbor_array_push(maps, cbor_move(m)));
	put_pair(doc, "mappings", maps);
	cbor_item_t *jit = cbor_new_indefinite_array();
	cbor_item_t *good = cbor_new_indefinite_map();
	put_pair(good, "start", cbor_build_uint64(0x1100));
	put_pair(good, "size", cbor_build_uint64(0x40));
	put_pair(good, "name", cbor_build_string("LazyCompile:*hot"));
	put_pair(good, "source", cbor_build_string("jitdump"));
	assert_true(cbor_array_push(jit, cbor_move(good)));
	assert_true(cbor_array_push(jit, cbor_move(cbor_build_string("not a map"))));
	cbor_item_t *big = cbor_new_indefinite_map();
	put_pair(big, "start", cbor_build_uint64(0x1200));
	put_pair(big, "size", cbor_build_uint64(0x40));
	put_pair(big, "name", cbor_build_string("too big"));
	for (int i = 0; i < 40; i++) {
		char k[16];
		snprintf(k, sizeof k, "pad%d", i);
		put_pair(big, k, cbor_build_uint64((uint64_t)i));
	}
	assert_true(cbor_array_push(jit, cbor_move(big)));
	put_pair(doc, "jit", jit);
	unsigned char *p = NULL;
	size_t cap = 0, len = cbor_serialize_alloc(doc, &p, &cap);
	cbor_decref(&doc);
	assert_true(len > 0);

	struct snapshot back;
	struct errmsg err;
	snapshot_init(&back);
	assert_int_equal(snapshot_read_cbor(p, len, &back, &err), 0);
	assert_int_equal(back.n, 1);
	assert_non_null(back.jit);
	assert_int_equal(back.jit->nlive, 1);
	const struct jit_sym *sym = &back.jit->sym[back.jit->live[0]];
	assert_true(sym->start == 0x1100 && sym->size == 0x40);
	assert_int_equal(sym->name_len, strlen("LazyCompile:*hot"));
	assert_memory_equal(jit_str(back.jit, sym->name), "LazyCompile:*hot", sym->name_len);
	assert_int_equal(sym->source, JIT_JITDUMP);
	assert_int_equal(back.jit->dropped, 2);
	snapshot_free(&back);
	free(p);
}

#else

static void test_missing(void **state)
{
	(void)state;
	struct snapshot s;
	struct buf b = { 0 };
	struct errmsg err;
	snapshot_init(&s);
	assert_false(emit_cbor_supported());
	assert_int_equal(emit_cbor(&b, &s, 1, 0, &err), -1);
	assert_string_equal(err.text, CBOR_MISSING);
	assert_int_equal(b.len, 0);
}

#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef HAVE_CBOR
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_array),
		cmocka_unit_test(test_attach_reads_it_back),
		cmocka_unit_test(test_attach_reads_jit_entries),
#else
		cmocka_unit_test(test_missing),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
