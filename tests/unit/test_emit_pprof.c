/*
 * test_emit_pprof.c - the pprof writer on hand-made snapshots: main
 * executable first wherever the OS listed it, ids 1..N, a string table
 * that starts with "" and holds each string once, the comment, and the
 * refusal of several processes, each mapping's one location inside it.
 * Decoded with modmap's own protobuf reader here; tests/e2e/test_pprof.py
 * reads the same with protoc and google/pprof's parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "format/emit.h"
#include "wire/gz.h"
#include "wire/pbwire.h"
#include "wire/profile.h"

struct decoded {
	struct buf raw;
	const unsigned char *str[64];
	size_t strlen[64];
	size_t nstr;
	struct pprof_mapping map[16];
	size_t nmap;
	uint64_t comment[4];
	size_t ncomment;
	size_t nsample, nlocation;
	uint64_t loc_id[16], loc_mapping[16], loc_addr[16];
	uint64_t time_nanos;
};

static void add_mapping(struct snapshot *s, uint64_t start, const char *file,
			const char *bid, uint32_t flags)
{
	struct mapping *m = snapshot_add(s);
	assert_non_null(m);
	m->start = start;
	m->limit = start + 0x1000;
	m->offset = start >> 4;
	m->file = snapshot_intern_str(s, file);
	m->build_id = snapshot_intern_str(s, bid);
	m->flags = flags;
}

static void decode(const struct snapshot *s, struct decoded *d)
{
	struct buf gz = { 0 };
	struct errmsg err;
	const char *why = NULL;
	memset(d, 0, sizeof *d);
	assert_int_equal(emit_pprof(&gz, s, 1, &err), 0);
	assert_true(gz_is_gzip(gz.p, gz.len));
	assert_int_equal(gz_decompress(&d->raw, gz.p, gz.len, 1 << 20, &err), 0);
	buf_free(&gz);

	struct pb_reader r = pb_reader(d->raw.p, d->raw.len);
	struct pb_field f;
	int rc;
	while ((rc = pb_next(&r, &f, &why)) == 1) {
		switch (f.number) {
		case PROFILE_STRING_TABLE:
			assert_true(d->nstr < 64);
			d->str[d->nstr] = f.data;
			d->strlen[d->nstr++] = f.len;
			break;
		case PROFILE_COMMENT:
			d->comment[d->ncomment++] = f.value;
			break;
		case PROFILE_SAMPLE:
			d->nsample++;
			break;
		case PROFILE_LOCATION: {
			assert_true(d->nlocation < 16);
			size_t k = d->nlocation++;
			struct pb_reader lr = pb_reader(f.data, f.len);
			struct pb_field lf;
			while ((rc = pb_next(&lr, &lf, &why)) == 1) {
				if (lf.number == LOCATION_ID)
					d->loc_id[k] = lf.value;
				else if (lf.number == LOCATION_MAPPING_ID)
					d->loc_mapping[k] = lf.value;
				else if (lf.number == LOCATION_ADDRESS)
					d->loc_addr[k] = lf.value;
			}
			assert_int_equal(rc, 0);
			break;
		}
		case PROFILE_TIME_NANOS:
			d->time_nanos = f.value;
			break;
		case PROFILE_MAPPING: {
			struct pprof_mapping *m = &d->map[d->nmap++];
			struct pb_reader mr = pb_reader(f.data, f.len);
			struct pb_field mf;
			while ((rc = pb_next(&mr, &mf, &why)) == 1) {
				assert_int_equal(mf.type, PB_VARINT);
				switch (mf.number) {
				case MAPPING_ID: m->id = mf.value; break;
				case MAPPING_MEMORY_START: m->start = mf.value; break;
				case MAPPING_MEMORY_LIMIT: m->limit = mf.value; break;
				case MAPPING_FILE_OFFSET: m->offset = mf.value; break;
				case MAPPING_FILENAME: m->filename = (int64_t)mf.value; break;
				case MAPPING_BUILD_ID: m->build_id = (int64_t)mf.value; break;
				default: fail_msg("mapping field %u", mf.number);
				}
			}
			assert_int_equal(rc, 0);
			break;
		}
		default:
			break;
		}
	}
	assert_int_equal(rc, 0);
}

/*
 * Each mapping has one location, and it lies inside that mapping: at an
 * address in [start, limit), not at limit (pprof would give it to the
 * next module).
 */
static void assert_locations_inside(const struct decoded *d)
{
	assert_int_equal(d->nlocation, d->nmap);
	for (size_t i = 0; i < d->nlocation; i++) {
		assert_int_equal(d->loc_id[i], i + 1);
		assert_int_equal(d->loc_mapping[i], i + 1);
		const struct pprof_mapping *m = &d->map[i];
		if (d->loc_addr[i] < m->start || d->loc_addr[i] >= m->limit)
			fail_msg("location %zu at 0x%llx is outside its mapping [0x%llx, 0x%llx)",
				 i + 1, (unsigned long long)d->loc_addr[i],
				 (unsigned long long)m->start, (unsigned long long)m->limit);
	}
}

static void assert_str(const struct decoded *d, int64_t i, const char *want)
{
	assert_true(i >= 0 && (size_t)i < d->nstr);
	assert_int_equal(d->strlen[i], strlen(want));
	assert_memory_equal(d->str[i], want, strlen(want));
}

/* The OS lists a library first; the main executable's two records lead. */
static void test_main_first(void **state)
{
	(void)state;
	struct snapshot s;
	struct decoded d;
	snapshot_init(&s);
	s.pid = 4242;
	s.os = "linux";
	s.time_nanos = UINT64_C(1795650644174128562);
	s.exe = snapshot_intern_str(&s, "/usr/bin/app");
	add_mapping(&s, 0x1000, "/lib/libc.so.6", "aa", 0);
	add_mapping(&s, 0x5000, "/usr/bin/app", "bb", MAPF_MAIN | MAPF_FILE);
	add_mapping(&s, 0x7000, "/lib/libm.so.6", "aa", 0);	/* same ID: one string */
	add_mapping(&s, 0x9000, "/usr/bin/app", "bb", MAPF_MAIN | MAPF_FILE);
	add_mapping(&s, 0xb000, "", "", 0);			/* anonymous */
	decode(&s, &d);

	assert_int_equal(d.nmap, 5);
	const uint64_t starts[] = { 0x5000, 0x9000, 0x1000, 0x7000, 0xb000 };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(d.map[i].id, i + 1);
		assert_int_equal(d.map[i].start, starts[i]);
		assert_int_equal(d.map[i].limit, starts[i] + 0x1000);
		assert_int_equal(d.map[i].offset, starts[i] >> 4);
	}
	assert_str(&d, d.map[0].filename, "/usr/bin/app");
	assert_str(&d, d.map[0].build_id, "bb");
	assert_int_equal(d.map[1].filename, d.map[0].filename);
	assert_str(&d, d.map[2].filename, "/lib/libc.so.6");
	assert_int_equal(d.map[3].build_id, d.map[2].build_id);
	assert_int_equal(d.map[4].filename, 0);	/* "" is index 0, left out */
	assert_int_equal(d.map[4].build_id, 0);

	assert_str(&d, 0, "");
	for (size_t i = 0; i < d.nstr; i++)
		for (size_t j = i + 1; j < d.nstr; j++)
			assert_false(d.strlen[i] == d.strlen[j] &&
				     memcmp(d.str[i], d.str[j], d.strlen[i]) == 0);
	assert_true(d.ncomment >= 1);
	assert_str(&d, (int64_t)d.comment[0], "modmap: pid 4242 (linux) /usr/bin/app");
	assert_int_equal(d.nsample, 5);
	assert_int_equal(d.nlocation, 5);
	assert_locations_inside(&d);
	assert_true(d.time_nanos == UINT64_C(1795650644174128562));
	buf_free(&d.raw);
	snapshot_free(&s);
}

/* No main executable known: the OS's order; no exe: no trailing path. */
static void test_os_order_without_main(void **state)
{
	(void)state;
	struct snapshot s;
	struct decoded d;
	snapshot_init(&s);
	s.pid = 7;
	s.os = "windows";
	add_mapping(&s, 0x9000, "C:\\b.dll", "", 0);
	add_mapping(&s, 0x1000, "C:\\a.dll", "", 0);
	decode(&s, &d);
	assert_int_equal(d.nmap, 2);
	assert_int_equal(d.map[0].start, 0x9000);
	assert_int_equal(d.map[1].start, 0x1000);
	assert_locations_inside(&d);
	assert_str(&d, (int64_t)d.comment[0], "modmap: pid 7 (windows)");
	buf_free(&d.raw);
	snapshot_free(&s);
}

/* An empty map still makes a valid profile: "" and the sample type. */
static void test_empty(void **state)
{
	(void)state;
	struct snapshot s;
	struct decoded d;
	snapshot_init(&s);
	s.pid = 1;
	s.os = "linux";
	decode(&s, &d);
	assert_int_equal(d.nmap, 0);
	assert_int_equal(d.nsample, 0);
	assert_str(&d, 0, "");
	buf_free(&d.raw);
	snapshot_free(&s);
}

static void test_several_refused(void **state)
{
	(void)state;
	struct snapshot s[2];
	struct buf b = { 0 };
	struct errmsg err;
	snapshot_init(&s[0]);
	snapshot_init(&s[1]);
	s[0].os = s[1].os = "linux";
	assert_int_equal(emit_pprof(&b, s, 2, &err), -1);
	assert_non_null(strstr(err.text, "one process"));
	assert_int_equal(b.len, 0);
	assert_int_equal(emit_pprof(&b, s, 0, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_main_first),
		cmocka_unit_test(test_os_order_without_main),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_several_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
