/*
 * test_gozone.c - Go's Windows local-time model: transitions from one
 * year's rules (first-week, Nth-week and last-week rules, both
 * hemispheres), the zone table, the capitals fallback and the offset Go
 * prints for a zone without a name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gotime.h"

static struct gozone zone;

static void expect_zone(int64_t sec, long offset, const char *name)
{
	long off;
	char z[GOZONE_ABBR_MAX];
	gozone_lookup(&zone, sec, &off, z, sizeof z);
	assert_int_equal(off, offset);
	assert_string_equal(z, name);
}

/* Go's own usPacific: second Sunday of March, first Sunday of November. */
static void test_us_pacific(void **state)
{
	(void)state;
	struct gozone_tzi tzi = { 480, 0, -60, { 11, 0, 1, 2, 0, 0 }, { 3, 0, 2, 2, 0, 0 } };
	gozone_init(&zone, &tzi, "PST", "PDT", 2026);
	expect_zone(1615716000 - 1, -8 * 3600, "PST");	/* 2021-03-14 01:59:59 PST */
	expect_zone(1615716000, -7 * 3600, "PDT");	/* 03:00 PDT */
	expect_zone(1636275600 - 1, -7 * 3600, "PDT");	/* 2021-11-07 01:59:59 PDT */
	expect_zone(1636275600, -8 * 3600, "PST");
	expect_zone(-5000000000LL, -8 * 3600, "PST");	/* before every transition */
}

/* Go's aus: first Sunday of April back, first Sunday of October forward. */
static void test_australia(void **state)
{
	(void)state;
	struct gozone_tzi tzi = { -600, 0, -60, { 4, 0, 1, 3, 0, 0 }, { 10, 0, 1, 2, 0, 0 } };
	gozone_init(&zone, &tzi, "AEST", "AEDT", 2026);
	expect_zone(1617465600 - 1, 11 * 3600, "AEDT");	/* 2021-04-04 02:59:59 AEDT */
	expect_zone(1617465600, 10 * 3600, "AEST");
	expect_zone(1633190400 - 1, 10 * 3600, "AEST");	/* 2021-10-03 01:59:59 AEST */
	expect_zone(1633190400, 11 * 3600, "AEDT");
}

/* "Week 5" is the last such weekday of the month (Central Europe). */
static void test_last_week_rule(void **state)
{
	(void)state;
	struct gozone_tzi tzi = { -60, 0, -60, { 10, 0, 5, 3, 0, 0 }, { 3, 0, 5, 2, 0, 0 } };
	gozone_init(&zone, &tzi, "CET", "CEST", 2026);
	expect_zone(1616893200 - 1, 3600, "CET");	/* 2021-03-28 01:00 UTC */
	expect_zone(1616893200, 7200, "CEST");
	expect_zone(1635642000 - 1, 7200, "CEST");	/* 2021-10-31 01:00 UTC */
	expect_zone(1635642000, 3600, "CET");
}

static void test_no_daylight_saving(void **state)
{
	(void)state;
	/* StandardBias is ignored without a StandardDate, as Go does. */
	struct gozone_tzi tzi = { -330, 99, -60, { 0 }, { 0 } };
	gozone_init(&zone, &tzi, "IST", "IST", 2026);
	expect_zone(1625402096, 19800, "IST");
	gozone_init(&zone, &tzi, "", "", 2026);
	expect_zone(1625402096, 19800, "+0530");
	struct gozone_tzi west = { 210, 0, 0, { 0 }, { 0 } };
	gozone_init(&zone, &west, "", "", 2026);
	expect_zone(0, -12600, "-0330");
}

static void test_table_and_capitals(void **state)
{
	(void)state;
	const struct gozone_abbr *a = gozone_abbr_find("Pacific Standard Time");
	assert_non_null(a);
	assert_string_equal(a->std, "PST");
	assert_string_equal(a->dst, "PDT");
	a = gozone_abbr_find("India Standard Time");
	assert_non_null(a);
	assert_string_equal(a->std, "IST");
	assert_null(gozone_abbr_find("Pacific Standard Time "));
	assert_null(gozone_abbr_find(""));

	char out[16];
	gozone_caps("Mitteleurop\xc3\xa4ische Zeit", out, sizeof out);
	assert_string_equal(out, "MZ");
	gozone_caps("no capitals", out, sizeof out);
	assert_string_equal(out, "");
	gozone_caps("ABCDEFGHIJKLMNOPQRSTUVWXYZ", out, 4);
	assert_string_equal(out, "ABC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_us_pacific),
		cmocka_unit_test(test_australia),
		cmocka_unit_test(test_last_week_rule),
		cmocka_unit_test(test_no_daylight_saving),
		cmocka_unit_test(test_table_and_capitals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
