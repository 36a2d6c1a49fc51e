/*
 * Unit tests for the address search (addrmap.c): boundaries, gaps, nesting
 * and overlap, checked against a linear scan that applies the definition
 * (innermost: latest start, then shortest, then first in the table).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "addrmap.h"

static long long linear(const struct addrmap_range *r, size_t n, uint64_t a)
{
	long long best = -1;
	for (size_t i = 0; i < n; i++) {
		if (!(r[i].start <= a && a < r[i].limit))
			continue;
		if (best < 0 || r[i].start > r[best].start ||
		    (r[i].start == r[best].start && r[i].limit < r[best].limit))
			best = (long long)i;
	}
	return best;
}

static void check_all(const struct addrmap_range *r, size_t n)
{
	struct addrmap m;
	assert_int_equal(addrmap_build(&m, r, n), 0);
	assert_true(m.n <= (n ? 2 * n - 1 : 0));
	for (size_t i = 0; i < n; i++) {
		uint64_t probe[] = { r[i].start - 1, r[i].start, r[i].start + 1, r[i].limit - 1,
				     r[i].limit, r[i].limit + 1 };
		for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++)
			assert_int_equal(addrmap_find(&m, probe[k]), linear(r, n, probe[k]));
	}
	addrmap_free(&m);
}

static void test_boundaries(void **state)
{
	(void)state;
	const struct addrmap_range r[] = {
		{ 0x3000, 0x4000 }, { 0x1000, 0x2000 }, { 0x2000, 0x3000 }, { 0x8000, 0x9000 },
	};
	struct addrmap m;
	assert_int_equal(addrmap_build(&m, r, 4), 0);
	assert_int_equal(addrmap_find(&m, 0xfff), -1);
	assert_int_equal(addrmap_find(&m, 0x1000), 1);	/* start */
	assert_int_equal(addrmap_find(&m, 0x1fff), 1);	/* limit - 1 */
	assert_int_equal(addrmap_find(&m, 0x2000), 2);	/* limit: the next one */
	assert_int_equal(addrmap_find(&m, 0x3fff), 0);
	assert_int_equal(addrmap_find(&m, 0x4000), -1);	/* limit, then a gap */
	assert_int_equal(addrmap_find(&m, 0x7fff), -1);
	assert_int_equal(addrmap_find(&m, 0x8000), 3);
	assert_int_equal(addrmap_find(&m, 0x9000), -1);
	assert_int_equal(addrmap_find(&m, UINT64_MAX), -1);
	assert_int_equal(addrmap_find(&m, 0), -1);
	addrmap_free(&m);
}

static void test_nested_innermost(void **state)
{
	(void)state;
	const struct addrmap_range r[] = {
		{ 0x10000, 0x20000 },	/* outer */
		{ 0x12000, 0x18000 },	/* middle */
		{ 0x14000, 0x15000 },	/* inner */
		{ 0x12000, 0x13000 },	/* same start as middle, shorter */
	};
	struct addrmap m;
	assert_int_equal(addrmap_build(&m, r, 4), 0);
	assert_int_equal(addrmap_find(&m, 0x11fff), 0);
	assert_int_equal(addrmap_find(&m, 0x12000), 3);
	assert_int_equal(addrmap_find(&m, 0x13000), 1);
	assert_int_equal(addrmap_find(&m, 0x14000), 2);
	assert_int_equal(addrmap_find(&m, 0x14fff), 2);
	assert_int_equal(addrmap_find(&m, 0x15000), 1);	/* back out to middle */
	assert_int_equal(addrmap_find(&m, 0x18000), 0);	/* and to outer */
	assert_int_equal(addrmap_find(&m, 0x1ffff), 0);
	assert_int_equal(addrmap_find(&m, 0x20000), -1);
	addrmap_free(&m);
	check_all(r, 4);
}

static void test_equal_ranges_first_wins(void **state)
{
	(void)state;
	const struct addrmap_range r[] = { { 0x1000, 0x2000 }, { 0x1000, 0x2000 } };
	struct addrmap m;
	assert_int_equal(addrmap_build(&m, r, 2), 0);
	assert_int_equal(addrmap_find(&m, 0x1800), 0);
	addrmap_free(&m);
}

static void test_empty_and_extreme_ranges(void **state)
{
	(void)state;
	const struct addrmap_range r[] = {
		{ 0x5000, 0x5000 },	/* empty */
		{ 0x6000, 0x5000 },	/* backwards */
		{ 0, 1 },
		{ UINT64_MAX - 1, UINT64_MAX },
	};
	struct addrmap m;
	assert_int_equal(addrmap_build(&m, r, 4), 0);
	assert_int_equal(addrmap_find(&m, 0x5000), -1);
	assert_int_equal(addrmap_find(&m, 0x5800), -1);
	assert_int_equal(addrmap_find(&m, 0), 2);
	assert_int_equal(addrmap_find(&m, 1), -1);
	assert_int_equal(addrmap_find(&m, UINT64_MAX - 1), 3);
	assert_int_equal(addrmap_find(&m, UINT64_MAX), -1);
	addrmap_free(&m);
	assert_int_equal(addrmap_build(&m, NULL, 0), 0);
	assert_int_equal(addrmap_find(&m, 0), -1);
	addrmap_free(&m);
}

/* Random overlapping tables against the definition. */
static void test_random_overlap(void **state)
{
	(void)state;
	struct addrmap_range r[40];
	srand(12345);
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(rand() % 40) + 1;
		for (size_t i = 0; i < n; i++) {
			uint64_t s = (uint64_t)(rand() % 64) * 0x100;
			r[i].start = s;
			r[i].limit = s + (uint64_t)(rand() % 32) * 0x100;
		}
		check_all(r, n);
	}
}

/* Deep nesting: every search is still one binary search. */
static void test_deep_nesting(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct addrmap_range *r = malloc(N * sizeof *r);
	assert_non_null(r);
	for (size_t i = 0; i < N; i++)
		r[i] = (struct addrmap_range){ i, 2 * N - i };
	struct addrmap m;
	assert_int_equal(addrmap_build(&m, r, N), 0);
	for (uint64_t a = 0; a < 2 * N; a++) {
		uint64_t want = a < N ? a : 2 * N - 1 - a;
		assert_int_equal(addrmap_find(&m, a), (long long)want);
	}
	assert_int_equal(addrmap_find(&m, 2 * N), -1);
	addrmap_free(&m);
	free(r);
}

/*
 * A process's own table: in address order, disjoint, often adjacent, with
 * the odd empty range; and the same with one overlap planted, which must
 * still give the innermost. Both against the definition.
 */
static void test_sorted_disjoint(void **state)
{
	(void)state;
	struct addrmap_range r[64];
	srand(777);
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(rand() % 64) + 1;
		uint64_t at = 0x1000;
		for (size_t i = 0; i < n; i++) {
			at += (uint64_t)(rand() % 3) * 0x1000;	/* adjacent, or a gap */
			r[i].start = at;
			r[i].limit = at + (uint64_t)(rand() % 4) * 0x1000;	/* maybe empty */
			at = r[i].limit;
		}
		check_all(r, n);
		if (n >= 2) {
			size_t i = (size_t)rand() % (n - 1);
			r[i].limit = r[i + 1].limit + 0x1000;	/* now holds the next */
			check_all(r, n);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_nested_innermost),
		cmocka_unit_test(test_equal_ranges_first_wins),
		cmocka_unit_test(test_empty_and_extreme_ranges),
		cmocka_unit_test(test_random_overlap),
		cmocka_unit_test(test_sorted_disjoint),
		cmocka_unit_test(test_deep_nesting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
