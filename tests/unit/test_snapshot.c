/* Unit tests for the snapshot's record array and string arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot.h"

static void test_empty_string_is_offset_zero(void **state)
{
	(void)state;
	struct snapshot s;
	snapshot_init(&s);
	assert_string_equal(snapshot_str(&s, 0), "");
	assert_int_equal(snapshot_intern(&s, "x", 0), 0);
	uint32_t a = snapshot_intern_str(&s, "abc");
	assert_true(a > 0);
	assert_string_equal(snapshot_str(&s, 0), "");
	assert_string_equal(snapshot_str(&s, a), "abc");
	snapshot_free(&s);
}

static void test_strings_survive_growth(void **state)
{
	(void)state;
	struct snapshot s;
	snapshot_init(&s);
	uint32_t off[2000];
	char tmp[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(tmp, sizeof tmp, "/lib/%d.so", i);
		off[i] = snapshot_intern_str(&s, tmp);
		struct mapping *m = snapshot_add(&s);
		assert_non_null(m);
		m->file = off[i];
		m->start = (uint64_t)i;
	}
	assert_int_equal(s.n, 2000);
	for (int i = 0; i < 2000; i++) {
		snprintf(tmp, sizeof tmp, "/lib/%d.so", i);
		assert_string_equal(snapshot_str(&s, s.map[i].file), tmp);
		assert_int_equal(s.map[i].start, i);
		assert_int_equal(s.map[i].build_id, 0);
	}
	snapshot_free(&s);
}

static void test_intern_after_survives_a_moving_arena(void **state)
{
	(void)state;
	struct snapshot s;
	snapshot_init(&s);
	uint32_t path = snapshot_intern_str(&s, "/usr/lib/libfoo.so");
	/* Fill the arena to the brim so the next string must move it. */
	char big[4096];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	while (s.size - s.used > sizeof big)
		snapshot_intern_str(&s, big);
	uint32_t id = snapshot_intern_after(&s, path, "2026-11-25 23:43:42.5 +0000 UTC");
	assert_int_not_equal(id, UINT32_MAX);
	assert_string_equal(snapshot_str(&s, id), "/usr/lib/libfoo.so2026-11-25 23:43:42.5 +0000 UTC");
	assert_string_equal(snapshot_str(&s, path), "/usr/lib/libfoo.so");
	assert_int_equal(snapshot_intern_after(&s, 0, ""), 0);
	uint32_t f = 0;
	assert_int_equal(snapshot_set(&s, &f, "abc"), 0);
	assert_string_equal(snapshot_str(&s, f), "abc");
	snapshot_free(&s);
}

static void test_perm_string(void **state)
{
	(void)state;
	char p[5];
	perm_string(PERM_R | PERM_X, p);
	assert_string_equal(p, "r-xp");
	perm_string(PERM_R | PERM_W | PERM_SHARED, p);
	assert_string_equal(p, "rw-s");
	perm_string(0, p);
	assert_string_equal(p, "---p");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_string_is_offset_zero),
		cmocka_unit_test(test_strings_survive_growth),
		cmocka_unit_test(test_intern_after_survives_a_moving_arena),
		cmocka_unit_test(test_perm_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
