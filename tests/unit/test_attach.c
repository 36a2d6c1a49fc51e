/*
 * test_attach.c - attach_profile and its readers on hand-made profiles:
 * which mapping each location ends up with, what is copied byte for byte,
 * how the string table grows, and the errors bad bytes give; and the same
 * profiles streamed in pieces cut anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attach/attach.h"
#include "format/read.h"
#include "wire/gz.h"
#include "wire/pbwire.h"
#include "wire/profile.h"

/* ---- building profiles -------------------------------------------------- */

static void put_msg(struct buf *b, uint32_t field, struct buf *m)
{
	pb_put_bytes(b, field, m->p ? m->p : (unsigned char *)"", m->len);
	buf_free(m);
}

static void put_location(struct buf *b, uint64_t id, uint64_t mapping, uint64_t addr)
{
	struct buf m = { 0 }, line = { 0 };
	pb_put_uint(&m, LOCATION_ID, id);
	if (mapping)
		pb_put_uint(&m, LOCATION_MAPPING_ID, mapping);
	if (addr)
		pb_put_uint(&m, LOCATION_ADDRESS, addr);
	pb_put_uint(&line, 1, 1);	/* function_id */
	pb_put_int(&line, 2, 40 + (int64_t)id);	/* line */
	put_msg(&m, LOCATION_LINE, &line);
	put_msg(b, PROFILE_LOCATION, &m);
}

static void put_strings(struct buf *b, const char *const *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pb_put_string(b, PROFILE_STRING_TABLE, s[i]);
}

static const char *const old_strings[] = {
	"", "samples", "count", "/bin/old", "oldbid", "main", "/lib/kept.so",
};

/*
 * Old mappings: 7 is replaced by the snapshot, 9 lies outside it and is
 * kept, 11 is fake (no file, empty range). Locations:
 *   1: in 7, at an address of snapshot mapping A      -> 1
 *   2: in 9, outside the snapshot                      -> kept 9, now 4
 *   3: in 11, outside the snapshot                     -> 0
 *   4: in 11, at an address of A                       -> 1
 *   5: in 9, no address                                -> kept 9, now 4
 *   6: no mapping, at an address of snapshot mapping B -> 2
 */
static void make_profile(struct buf *b)
{
	struct buf m = { 0 };
	pb_put_uint(&m, 1, 1);
	pb_put_uint(&m, 2, 2);
	put_msg(b, PROFILE_SAMPLE_TYPE, &m);
	const uint64_t locs[] = { 1, 2, 3, 4, 5, 6 }, vals[] = { 7 };
	pb_put_packed(&m, 1, locs, 6);
	pb_put_packed(&m, 2, vals, 1);
	put_msg(b, PROFILE_SAMPLE, &m);

	const struct pprof_mapping old[] = {
		{ .id = 7, .start = 0x1000, .limit = 0x2000, .filename = 3, .build_id = 4,
		  .has = PPROF_HAS_FUNCTIONS | PPROF_HAS_FILENAMES },
		{ .id = 9, .start = 0x9000, .limit = 0xa000, .filename = 6,
		  .has = PPROF_HAS_LINE_NUMBERS },
		{ .id = 11, .has = PPROF_HAS_FUNCTIONS },
	};
	for (int i = 0; i < 3; i++)
		pprof_put_mapping(b, &old[i]);
	put_location(b, 1, 7, 0x1100);
	put_location(b, 2, 9, 0x9100);
	put_location(b, 3, 11, 0x5000);
	put_location(b, 4, 11, 0x1200);
	put_location(b, 5, 9, 0);
	put_location(b, 6, 0, 0x3100);
	pb_put_uint(&m, 1, 1);
	pb_put_uint(&m, 2, 5);
	put_msg(b, PROFILE_FUNCTION, &m);
	put_strings(b, old_strings, 7);
	pb_put_uint(b, PROFILE_TIME_NANOS, 1234567890);
	pb_put_uint(b, PROFILE_COMMENT, 5);
	pb_put_uint(b, 100, 42);		/* fields attach does not know */
	pb_put_string(b, 101, "future");
	pb_put_key(b, 102, PB_FIXED64);
	buf_put(b, "\1\2\3\4\5\6\7\10", 8);
}

#define MAP(s, l, o, f, bid) { s, l, o, f, bid, sizeof f - 1, sizeof bid - 1 }
static const struct attach_mapping snap3[] = {
	MAP(0x1000, 0x2000, 0, "/bin/new", "newbid"),	/* A */
	MAP(0x3000, 0x4000, 0, "/lib/b.so", ""),	/* B */
	MAP(0x2000, 0x2800, 0x1000, "/bin/new", ""),	/* C: same file as A */
};

/* ---- reading them back ---------------------------------------------------- */

struct fields {
	struct pb_field f[128];
	size_t n;
};

static void decode(const unsigned char *p, size_t len, struct fields *out)
{
	struct pb_reader r = pb_reader(p, len);
	const char *why = NULL;
	int rc;
	out->n = 0;
	while ((rc = pb_next(&r, &out->f[out->n], &why)) > 0)
		assert_true(++out->n < 128);
	assert_int_equal(rc, 0);
}

/* The k-th field numbered num, or NULL. */
static const struct pb_field *nth(const struct fields *fs, uint32_t num, size_t k)
{
	for (size_t i = 0; i < fs->n; i++)
		if (fs->f[i].number == num && k-- == 0)
			return &fs->f[i];
	return NULL;
}

static size_t count(const struct fields *fs, uint32_t num)
{
	size_t n = 0;
	for (size_t i = 0; i < fs->n; i++)
		n += fs->f[i].number == num;
	return n;
}

/* The varint field num of a message (the last one wins), or 0. */
static uint64_t get(const struct pb_field *msg, uint32_t num)
{
	struct fields fs;
	uint64_t v = 0;
	decode(msg->data, msg->len, &fs);
	for (size_t i = 0; i < fs.n; i++)
		if (fs.f[i].number == num)
			v = fs.f[i].value;
	return v;
}

static unsigned has_bits(const struct pb_field *m)
{
	unsigned has = 0;
	for (unsigned i = 0; i < 4; i++)
		if (get(m, MAPPING_HAS_FUNCTIONS + i))
			has |= 1u << i;
	return has;
}

static void assert_string(const struct fields *fs, uint64_t index, const char *want)
{
	const struct pb_field *s = nth(fs, PROFILE_STRING_TABLE, index);
	assert_non_null(s);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->data, want, s->len);
}

static int attach(const struct buf *in, const struct attach_mapping *snap, size_t n,
		  struct buf *out, struct attach_stats *st, struct errmsg *err)
{
	memset(out, 0, sizeof *out);
	return attach_profile(in->p, in->len, snap, n, out, st, err);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_mapping_table_replaced(void **state)
{
	(void)state;
	struct buf in = { 0 }, out;
	struct attach_stats st;
	struct errmsg err;
	struct fields fs;
	make_profile(&in);
	assert_int_equal(attach(&in, snap3, 3, &out, &st, &err), 0);
	decode(out.p, out.len, &fs);

	assert_int_equal(count(&fs, PROFILE_MAPPING), 4);
	const uint64_t want[][5] = {	/* id, start, limit, offset, file */
		{ 1, 0x1000, 0x2000, 0, 7 },
		{ 2, 0x3000, 0x4000, 0, 9 },
		{ 3, 0x2000, 0x2800, 0x1000, 7 },
		{ 4, 0x9000, 0xa000, 0, 6 },	/* old 9, kept */
	};
	for (size_t i = 0; i < 4; i++) {
		const struct pb_field *m = nth(&fs, PROFILE_MAPPING, i);
		for (uint32_t k = 0; k < 5; k++)
			assert_int_equal(get(m, MAPPING_ID + k), want[i][k]);
	}
	assert_int_equal(get(nth(&fs, PROFILE_MAPPING, 0), MAPPING_BUILD_ID), 8);
	assert_int_equal(get(nth(&fs, PROFILE_MAPPING, 1), MAPPING_BUILD_ID), 0);
	assert_int_equal(get(nth(&fs, PROFILE_MAPPING, 2), MAPPING_BUILD_ID), 0);

	/* New strings after the old ones, each once. */
	assert_int_equal(count(&fs, PROFILE_STRING_TABLE), 10);
	for (size_t i = 0; i < 7; i++)
		assert_string(&fs, i, old_strings[i]);
	assert_string(&fs, 7, "/bin/new");
	assert_string(&fs, 8, "newbid");
	assert_string(&fs, 9, "/lib/b.so");

	const uint64_t loc_mapping[] = { 1, 4, 0, 1, 4, 2 };
	assert_int_equal(count(&fs, PROFILE_LOCATION), 6);
	for (size_t i = 0; i < 6; i++) {
		const struct pb_field *l = nth(&fs, PROFILE_LOCATION, i);
		assert_int_equal(get(l, LOCATION_ID), i + 1);
		assert_int_equal(get(l, LOCATION_MAPPING_ID), loc_mapping[i]);
	}

	assert_int_equal(st.mappings, 3);
	assert_int_equal(st.kept, 1);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.locations, 6);
	assert_int_equal(st.mapped, 3);
	assert_int_equal(st.kept_locations, 2);
	buf_free(&in);
	buf_free(&out);
}

/* Everything but mappings, locations and the new strings, byte for byte. */
static void test_other_fields_verbatim(void **state)
{
	(void)state;
	struct buf in = { 0 }, out;
	struct attach_stats st;
	struct errmsg err;
	struct fields a, b;
	make_profile(&in);
	assert_int_equal(attach(&in, snap3, 3, &out, &st, &err), 0);
	decode(in.p, in.len, &a);
	decode(out.p, out.len, &b);
	size_t i = 0, j = 0, strings = 0;
	for (;; i++, j++) {
		while (i < a.n && (a.f[i].number == PROFILE_MAPPING ||
				   a.f[i].number == PROFILE_LOCATION))
			i++;
		while (j < b.n && (b.f[j].number == PROFILE_MAPPING ||
				   b.f[j].number == PROFILE_LOCATION ||
				   (b.f[j].number == PROFILE_STRING_TABLE && strings >= 7)))
			j++;
		if (i == a.n || j == b.n)
			break;
		strings += b.f[j].number == PROFILE_STRING_TABLE;
		assert_int_equal(a.f[i].raw_len, b.f[j].raw_len);
		assert_memory_equal(a.f[i].raw, b.f[j].raw, a.f[i].raw_len);
	}
	assert_int_equal(i, a.n);
	assert_int_equal(j, b.n);
	buf_free(&in);
	buf_free(&out);
}

/*
 * Attaches a one-mapping table to a profile holding the location loc (and
 * an empty string table after it); the location must come out as want,
 * right after the mapping table. Frees loc and want.
 */
static void expect_location(struct buf *loc, struct buf *want)
{
	struct buf in = { 0 }, out;
	struct attach_stats st;
	struct errmsg err;
	struct fields fs;
	pb_put_bytes(&in, PROFILE_LOCATION, loc->p, loc->len);
	pb_put_string(&in, PROFILE_STRING_TABLE, "");
	const struct attach_mapping snap[] = { MAP(0x1000, 0x2000, 0, "/x", "") };
	assert_int_equal(attach(&in, snap, 1, &out, &st, &err), 0);
	decode(out.p, out.len, &fs);
	/* The mapping table comes where mappings belong: before locations. */
	assert_int_equal(fs.f[0].number, PROFILE_MAPPING);
	assert_int_equal(fs.f[1].number, PROFILE_LOCATION);
	assert_int_equal(fs.f[1].len, want->len);
	assert_memory_equal(fs.f[1].data, want->p, want->len);
	buf_free(&in);
	buf_free(&out);
	buf_free(loc);
	buf_free(want);
}

/* Only mapping_id changes, in its place; lines, is_folded, unknown stay. */
static void test_location_fields_kept(void **state)
{
	(void)state;
	struct buf loc = { 0 }, line = { 0 }, want = { 0 };
	pb_put_uint(&line, 1, 3);
	pb_put_int(&line, 2, 99);
	pb_put_uint(&line, 3, 7);	/* column: newer than this code */

	pb_put_uint(&loc, LOCATION_ID, 1);
	pb_put_uint(&loc, LOCATION_ADDRESS, 0x1234);
	pb_put_bytes(&loc, LOCATION_LINE, line.p, line.len);
	pb_put_uint(&loc, LOCATION_MAPPING_ID, 5);	/* out of place, and twice */
	pb_put_uint(&loc, LOCATION_IS_FOLDED, 1);
	pb_put_uint(&loc, LOCATION_MAPPING_ID, 6);
	pb_put_string(&loc, 50, "unknown");

	pb_put_uint(&want, LOCATION_ID, 1);
	pb_put_uint(&want, LOCATION_ADDRESS, 0x1234);
	pb_put_bytes(&want, LOCATION_LINE, line.p, line.len);
	pb_put_uint(&want, LOCATION_IS_FOLDED, 1);
	pb_put_uint(&want, LOCATION_MAPPING_ID, 1);	/* where the last one was */
	pb_put_string(&want, 50, "unknown");
	expect_location(&loc, &want);
	buf_free(&line);
}

/* A location without mapping_id gets one before its first later field. */
static void test_location_mapping_id_inserted(void **state)
{
	(void)state;
	struct buf loc = { 0 }, want = { 0 };
	pb_put_uint(&loc, LOCATION_ID, 1);
	pb_put_uint(&loc, LOCATION_ADDRESS, 0x1234);
	pb_put_uint(&loc, LOCATION_IS_FOLDED, 1);
	pb_put_uint(&want, LOCATION_ID, 1);
	pb_put_uint(&want, LOCATION_MAPPING_ID, 1);
	pb_put_uint(&want, LOCATION_ADDRESS, 0x1234);
	pb_put_uint(&want, LOCATION_IS_FOLDED, 1);
	expect_location(&loc, &want);
}

/*
 * Address boundaries: a location at a mapping's start or limit - 1 is in
 * it; at its limit, between two mappings, before the first or after the
 * last, in none (mapping id 0: these old locations had no mapping).
 */
static void test_address_boundaries(void **state)
{
	(void)state;
	static const struct attach_mapping snap[] = {
		MAP(0x3000, 0x4000, 0, "/lib/b.so", ""),	/* out of order on purpose */
		MAP(0x1000, 0x2000, 0, "/bin/a", ""),
	};
	static const struct {
		uint64_t addr, id;	/* ids: main-first order keeps the snapshot's */
	} want[] = {
		{ 0xfff, 0 }, { 0x1000, 2 }, { 0x1fff, 2 }, { 0x2000, 0 }, { 0x2800, 0 },
		{ 0x2fff, 0 }, { 0x3000, 1 }, { 0x3fff, 1 }, { 0x4000, 0 }, { 0xffffffffffffffffULL, 0 },
	};
	const size_t n = sizeof want / sizeof want[0];
	struct buf in = { 0 }, out;
	struct attach_stats st;
	struct errmsg err = { 0 };
	for (size_t i = 0; i < n; i++)
		put_location(&in, i + 1, 0, want[i].addr);
	put_strings(&in, old_strings, 2);
	assert_int_equal(attach(&in, snap, 2, &out, &st, &err), 0);
	assert_int_equal(st.locations, n);
	assert_int_equal(st.mapped, 4);

	struct fields fs;
	decode(out.p, out.len, &fs);
	assert_int_equal(count(&fs, PROFILE_LOCATION), n);
	for (size_t i = 0; i < n; i++) {
		const struct pb_field *loc = nth(&fs, PROFILE_LOCATION, i);
		assert_int_equal(get(loc, LOCATION_ADDRESS), want[i].addr);
		if (get(loc, LOCATION_MAPPING_ID) != want[i].id)
			fail_msg("location at 0x%llx: mapping %llu, want %llu",
				 (unsigned long long)want[i].addr,
				 (unsigned long long)get(loc, LOCATION_MAPPING_ID),
				 (unsigned long long)want[i].id);
	}
	/* The table is the snapshot's, in its order: 1 is b.so, 2 is a. */
	const struct pb_field *m1 = nth(&fs, PROFILE_MAPPING, 0);
	assert_non_null(m1);
	assert_int_equal(get(m1, MAPPING_MEMORY_START), 0x3000);
	assert_int_equal(get(m1, MAPPING_MEMORY_LIMIT), 0x4000);
	buf_free(&in);
	buf_free(&out);
}

/* A flag carries over only if every old mapping whose locations moved has it. */
static void test_flags_carry_over(void **state)
{
	(void)state;
	struct buf in = { 0 }, out;
	struct attach_stats st;
	struct errmsg err;
	struct fields fs;
	make_profile(&in);
	assert_int_equal(attach(&in, snap3, 3, &out, &st, &err), 0);
	decode(out.p, out.len, &fs);
	/* A got locations from 7 (functions, filenames) and 11 (functions). */
	assert_int_equal(has_bits(nth(&fs, PROFILE_MAPPING, 0)), PPROF_HAS_FUNCTIONS);
	/* B only from a location without a mapping; C from none. */
	assert_int_equal(has_bits(nth(&fs, PROFILE_MAPPING, 1)), 0);
	assert_int_equal(has_bits(nth(&fs, PROFILE_MAPPING, 2)), 0);
	/* The kept one keeps its own. */
	assert_int_equal(has_bits(nth(&fs, PROFILE_MAPPING, 3)), PPROF_HAS_LINE_NUMBERS);
	buf_free(&in);
	buf_free(&out);
}

/* A profile without strings gets string_table[0] == "" first. */
static void test_no_string_table(void **state)
{
	(void)state;
	struct buf in = { 0 }, out;
	struct attach_stats st;
	struct errmsg err;
	struct fields fs;
	put_location(&in, 1, 0, 0x1100);
	assert_int_equal(attach(&in, snap3, 1, &out, &st, &err), 0);
	decode(out.p, out.len, &fs);
	assert_int_equal(count(&fs, PROFILE_STRING_TABLE), 3);
	assert_string(&fs, 0, "");
	assert_string(&fs, 1, "/bin/new");
	assert_string(&fs, 2, "newbid");
	assert_int_equal(get(nth(&fs, PROFILE_LOCATION, 0), LOCATION_MAPPING_ID), 1);
	buf_free(&in);
	buf_free(&out);
}

static void test_table_from_profile(void **state)
{
	(void)state;
	struct buf in = { 0 };
	struct snapshot s;
	struct errmsg err;
	make_profile(&in);
	snapshot_init(&s);
	assert_int_equal(snapshot_read_pprof(in.p, in.len, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.map[0].start, 0x1000);
	assert_int_equal(s.map[0].limit, 0x2000);
	assert_string_equal(snapshot_str(&s, s.map[0].file), "/bin/old");
	assert_string_equal(snapshot_str(&s, s.map[0].build_id), "oldbid");
	assert_true(s.map[0].flags & MAPF_MAIN);
	assert_int_equal(strlen(snapshot_str(&s, s.map[1].file)), 12);
	assert_string_equal(snapshot_str(&s, s.map[1].build_id), "");
	assert_false(s.map[1].flags & MAPF_MAIN);
	assert_string_equal(snapshot_str(&s, s.map[2].file), "");
	snapshot_free(&s);
	buf_free(&in);
}

/* Attaching a profile's own table changes no location and no other field. */
static void test_own_table_round_trip(void **state)
{
	(void)state;
	struct buf in = { 0 }, out;
	struct attach_mapping *t;
	size_t n;
	struct attach_stats st;
	struct errmsg err;
	struct fields a, b;
	struct snapshot s;
	make_profile(&in);
	snapshot_init(&s);
	assert_int_equal(snapshot_read_pprof(in.p, in.len, &s, &err), 0);
	assert_int_equal(attach_table_from_snapshot(&s, &t, &n, &err), 0);
	assert_int_equal(attach(&in, t, n, &out, &st, &err), 0);
	decode(in.p, in.len, &a);
	decode(out.p, out.len, &b);
	/* Ids 1..3 now; the locations keep theirs where the old ids were 1..3. */
	for (size_t i = 0; i < 6; i++) {
		const struct pb_field *x = nth(&a, PROFILE_LOCATION, i);
		const struct pb_field *y = nth(&b, PROFILE_LOCATION, i);
		assert_int_equal(get(x, LOCATION_ADDRESS), get(y, LOCATION_ADDRESS));
		assert_int_equal(get(x, LOCATION_ID), get(y, LOCATION_ID));
	}
	/* The fake mapping holds nothing: location 3 gets none. */
	assert_int_equal(get(nth(&b, PROFILE_LOCATION, 2), LOCATION_MAPPING_ID), 0);
	free(t);
	snapshot_free(&s);
	buf_free(&in);
	buf_free(&out);
}

static void test_unpack(void **state)
{
	(void)state;
	struct buf in = { 0 }, gz = { 0 }, scratch = { 0 };
	const unsigned char *p;
	size_t n;
	struct errmsg err;
	make_profile(&in);
	assert_int_equal(gz_compress(&gz, in.p, in.len, &err), 0);

	assert_int_equal(attach_unpack(gz.p, gz.len, 1 << 20, &scratch, &p, &n, &err), 0);
	assert_int_equal(n, in.len);
	assert_memory_equal(p, in.p, n);
	assert_int_equal(attach_unpack(in.p, in.len, 1 << 20, &scratch, &p, &n, &err), 0);
	assert_ptr_equal(p, in.p);

	assert_int_equal(attach_unpack(gz.p, gz.len, in.len - 1, &scratch, &p, &n, &err), -1);
	assert_int_equal(err.code, ERR_TOO_LARGE);
	assert_int_equal(attach_unpack(in.p, in.len, in.len - 1, &scratch, &p, &n, &err), -1);
	assert_int_equal(err.code, ERR_TOO_LARGE);
	assert_int_equal(attach_unpack(in.p, 0, 100, &scratch, &p, &n, &err), -1);
	assert_non_null(strstr(err.text, "empty"));
	buf_free(&in);
	buf_free(&gz);
	buf_free(&scratch);
}

static void expect_error(const void *p, size_t len, const char *want)
{
	struct buf out = { 0 };
	struct attach_stats st;
	struct errmsg err = { .text = "" };
	struct snapshot s;
	assert_int_equal(attach_profile(p, len, snap3, 3, &out, &st, &err), -1);
	if (!strstr(err.text, want))
		fail_msg("error '%s' does not say '%s'", err.text, want);
	/* The snapshot reader finds the same fault the same way. */
	snapshot_init(&s);
	assert_int_equal(snapshot_read_pprof(p, len, &s, &err), -1);
	if (!strstr(err.text, want))
		fail_msg("error '%s' does not say '%s'", err.text, want);
	assert_int_equal(s.n, 0);
	snapshot_free(&s);
	buf_free(&out);
}

static void test_bad_input(void **state)
{
	(void)state;
	static const unsigned char past_end[] = { 0x0a, 0x05, 'a', 'b' };
	static const unsigned char long_varint[] = {
		0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
	};
	static const unsigned char group[] = { 0x0b, 0x0c };
	static const unsigned char bad_mapping[] = { 0x1a, 0x03, 0x0a, 0x01, 'x' };
	static const unsigned char short_key[] = { 0x80 };
	expect_error(past_end, sizeof past_end, "length past the end");
	expect_error(long_varint, sizeof long_varint, "varint longer than 10 bytes");
	expect_error(group, sizeof group, "wire type");
	expect_error(bad_mapping, sizeof bad_mapping, "mapping 1: ");
	expect_error(short_key, sizeof short_key, "truncated varint");

	struct buf in = { 0 };
	make_profile(&in);
	expect_error(in.p, in.len - 3, "not a valid pprof profile");
	buf_free(&in);

	/* A mapping naming a string past the table. */
	const struct pprof_mapping m = { .id = 1, .start = 1, .limit = 2, .filename = 5 };
	pprof_put_mapping(&in, &m);
	pb_put_string(&in, PROFILE_STRING_TABLE, "");
	expect_error(in.p, in.len, "past the string table");
	buf_free(&in);

	pb_put_string(&in, PROFILE_STRING_TABLE, "x");
	expect_error(in.p, in.len, "string_table[0] is not empty");
	buf_free(&in);

	/* attach_profile reads locations; the table reader does not. */
	struct buf out = { 0 }, loc = { 0 };
	struct attach_stats st;
	struct errmsg err;
	pb_put_string(&loc, LOCATION_ADDRESS, "1234");
	pb_put_bytes(&in, PROFILE_LOCATION, loc.p, loc.len);
	assert_int_equal(attach_profile(in.p, in.len, snap3, 3, &out, &st, &err), -1);
	assert_non_null(strstr(err.text, "location 1: address is not a varint"));
	buf_free(&in);
	buf_free(&loc);
	buf_free(&out);
}

static void test_table_from_snapshot(void **state)
{
	(void)state;
	struct snapshot s;
	struct attach_mapping *t;
	size_t n;
	struct errmsg err;
	snapshot_init(&s);
	const char *files[] = { "/lib/libc.so.6", "/bin/prog", "/bin/prog", "[vdso]" };
	for (int i = 0; i < 4; i++) {
		struct mapping *m = snapshot_add(&s);
		assert_non_null(m);
		m->start = 0x1000 * (uint64_t)(i + 1);
		m->limit = m->start + 0x1000;
		m->file = snapshot_intern_str(&s, files[i]);
		m->flags = i == 1 || i == 2 ? MAPF_MAIN : 0;
	}
	s.map[1].build_id = snapshot_intern_str(&s, "abcd");
	assert_int_equal(attach_table_from_snapshot(&s, &t, &n, &err), 0);
	assert_int_equal(n, 4);
	const uint64_t order[] = { 0x2000, 0x3000, 0x1000, 0x4000 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(t[i].start, order[i]);
	assert_string_equal(t[0].file, "/bin/prog");
	assert_int_equal(t[0].build_id_len, 4);
	assert_int_equal(t[3].file_len, 6);
	free(t);
	snapshot_free(&s);
}

/* ---- streaming ------------------------------------------------------------ */

static int sink(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	(void)err;
	buf_put(ctx, p, len);
	return 0;
}

/*
 * Both passes over p fed in pieces of `piece` bytes; the second pass gets
 * q (of the same length) instead, when it is given.
 */
static int stream(const unsigned char *p, const unsigned char *q, size_t len, size_t piece,
		  struct buf *out, struct attach_stats *st, struct errmsg *err)
{
	struct attach_stream *a = attach_stream_new(snap3, 3, sink, out, err);
	int rc = a ? 0 : -1;
	assert_non_null(a);
	for (size_t i = 0; rc == 0 && i < len; i += piece)
		rc = attach_stream_scan(a, p + i, len - i < piece ? len - i : piece, err);
	if (rc == 0)
		rc = attach_stream_plan(a, st, err);
	for (size_t i = 0; rc == 0 && i < len; i += piece)
		rc = attach_stream_write(a, (q ? q : p) + i, len - i < piece ? len - i : piece, err);
	if (rc == 0)
		rc = attach_stream_finish(a, err);
	assert_false(attach_stream_output_failed(a));
	attach_stream_free(a);
	return rc;
}

/* Cut anywhere, even inside a varint, the same bytes come out. */
static void test_stream_in_pieces(void **state)
{
	(void)state;
	struct buf in = { 0 }, whole;
	struct attach_stats st, st2;
	struct errmsg err;
	make_profile(&in);
	assert_int_equal(attach(&in, snap3, 3, &whole, &st, &err), 0);
	for (size_t piece = 1; piece <= in.len; piece++) {
		struct buf out = { 0 };
		assert_int_equal(stream(in.p, NULL, in.len, piece, &out, &st2, &err), 0);
		assert_int_equal(out.len, whole.len);
		assert_memory_equal(out.p, whole.p, out.len);
		assert_memory_equal(&st2, &st, sizeof st);
		buf_free(&out);
	}
	buf_free(&in);
	buf_free(&whole);
}

/* The errors of bad bytes do not depend on where the pieces are cut. */
static void test_stream_errors_in_pieces(void **state)
{
	(void)state;
	static const unsigned char long_varint[] = {
		0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
	};
	static const unsigned char cut_fixed[] = { 0x09, 1, 2, 3 };
	static const unsigned char past_end[] = { 0x0a, 0x05, 'a', 'b' };
	static const unsigned char cut_key[] = { 0x12, 0x00, 0x80 };
	struct {
		const unsigned char *p;
		size_t len;
		const char *want;
	} cases[] = {
		{ long_varint, sizeof long_varint, "varint longer than 10 bytes (at byte 0)" },
		{ cut_fixed, sizeof cut_fixed, "truncated fixed-width field (at byte 0)" },
		{ past_end, sizeof past_end, "length past the end (at byte 0)" },
		{ cut_key, sizeof cut_key, "truncated varint (at byte 2)" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (size_t piece = 1; piece <= cases[c].len; piece++) {
			struct buf out = { 0 };
			struct attach_stats st;
			struct errmsg err = { .text = "" };
			assert_int_equal(stream(cases[c].p, NULL, cases[c].len, piece, &out, &st, &err),
					 -1);
			if (!strstr(err.text, cases[c].want))
				fail_msg("error '%s' does not say '%s'", err.text, cases[c].want);
			buf_free(&out);
		}
	}
}

/* Bytes that differ the second time (a file rewritten meanwhile) fail. */
static void test_stream_changed_between_passes(void **state)
{
	(void)state;
	struct buf in = { 0 }, out = { 0 };
	struct attach_stats st;
	struct errmsg err;
	make_profile(&in);
	unsigned char *q = malloc(in.len);
	assert_non_null(q);
	memcpy(q, in.p, in.len);
	q[in.len - 1] ^= 1;	/* inside the last string: the framing still holds */
	assert_int_equal(stream(in.p, q, in.len, 7, &out, &st, &err), -1);
	assert_string_equal(err.text, "changed while it was being read");
	free(q);
	buf_free(&in);
	buf_free(&out);
}

/*
 * A location is held whole to be re-encoded, so there is a bound on one;
 * other fields pass through whatever their size.
 */
static void test_stream_large_fields(void **state)
{
	(void)state;
	static unsigned char zeros[1 << 16];
	const uint64_t big = ((uint64_t)64 << 20) + 1;
	struct buf head = { 0 }, out = { 0 };
	struct attach_stats st;
	struct errmsg err;

	pb_put_key(&head, PROFILE_LOCATION, PB_LEN);
	pb_put_varint(&head, big);
	struct attach_stream *a = attach_stream_new(snap3, 3, sink, &out, &err);
	assert_int_equal(attach_stream_scan(a, head.p, head.len, &err), 0);
	int rc = 0;
	for (uint64_t left = big; rc == 0 && left; left -= left < sizeof zeros ? left : sizeof zeros)
		rc = attach_stream_scan(a, zeros, left < sizeof zeros ? left : sizeof zeros, &err);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err.text, "location 1: longer than attach handles"));
	attach_stream_free(a);

	/* Cut short, it is the length that is wrong. */
	a = attach_stream_new(snap3, 3, sink, &out, &err);
	assert_int_equal(attach_stream_scan(a, head.p, head.len, &err), 0);
	assert_int_equal(attach_stream_scan(a, zeros, sizeof zeros, &err), 0);
	assert_int_equal(attach_stream_plan(a, &st, &err), -1);
	assert_non_null(strstr(err.text, "length past the end (at byte 0)"));
	attach_stream_free(a);

	/* A comment string of the same size goes through. */
	head.len = 0;
	pb_put_key(&head, PROFILE_COMMENT, PB_LEN);
	pb_put_varint(&head, big);
	a = attach_stream_new(snap3, 3, sink, &out, &err);
	for (int pass = 0; pass < 2; pass++) {
		int (*feed)(struct attach_stream *, const void *, size_t, struct errmsg *) =
			pass ? attach_stream_write : attach_stream_scan;
		assert_int_equal(feed(a, head.p, head.len, &err), 0);
		for (uint64_t left = big; left; left -= left < sizeof zeros ? left : sizeof zeros)
			assert_int_equal(feed(a, zeros, left < sizeof zeros ? left : sizeof zeros, &err),
					 0);
		if (pass == 0)
			assert_int_equal(attach_stream_plan(a, &st, &err), 0);
	}
	assert_int_equal(attach_stream_finish(a, &err), 0);
	assert_true(out.len > big);
	attach_stream_free(a);
	buf_free(&head);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping_table_replaced),
		cmocka_unit_test(test_other_fields_verbatim),
		cmocka_unit_test(test_location_fields_kept),
		cmocka_unit_test(test_location_mapping_id_inserted),
		cmocka_unit_test(test_address_boundaries),
		cmocka_unit_test(test_flags_carry_over),
		cmocka_unit_test(test_no_string_table),
		cmocka_unit_test(test_table_from_profile),
		cmocka_unit_test(test_own_table_round_trip),
		cmocka_unit_test(test_unpack),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_table_from_snapshot),
		cmocka_unit_test(test_stream_in_pieces),
		cmocka_unit_test(test_stream_errors_in_pieces),
		cmocka_unit_test(test_stream_changed_between_passes),
		cmocka_unit_test(test_stream_large_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
