/*
 * test_utf8.c - the one UTF-8/WTF-8 decoder: what each accepts, and that
 * the two differ exactly in surrogates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "utf8.h"

static size_t dec(int wtf8, const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	return wtf8 ? wtf8_decode(u, len, cp) : utf8_decode(u, len, cp);
}

static void test_both_take_valid_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} ok[] = {
		{ "A", 1, 0x41 },		{ "\x7f", 1, 0x7f },
		{ "\xc2\x80", 2, 0x80 },	{ "\xdf\xbf", 2, 0x7ff },
		{ "\xe0\xa0\x80", 3, 0x800 },	{ "\xed\x9f\xbf", 3, 0xd7ff },
		{ "\xee\x80\x80", 3, 0xe000 },	{ "\xef\xbf\xbf", 3, 0xffff },
		{ "\xf0\x90\x80\x80", 4, 0x10000 }, { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		for (int w = 0; w < 2; w++) {
			uint32_t cp = 0;
			assert_int_equal(dec(w, ok[i].s, ok[i].len, &cp), ok[i].len);
			assert_int_equal(cp, ok[i].cp);
			/* One byte short is no character. */
			if (ok[i].len > 1)
				assert_int_equal(dec(w, ok[i].s, ok[i].len - 1, &cp), 0);
		}
	}
}

static void test_both_refuse_what_no_utf16_string_gives(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf",	/* continuation, overlong */
		"\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf",	/* overlong 3 and 4 */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80",	/* past U+10FFFF */
		"\xff", "\xe6\x41\x41",			/* not UTF-8 at all */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint32_t cp;
		size_t len = 0;
		while (bad[i][len])
			len++;
		assert_int_equal(dec(0, bad[i], len, &cp), 0);
		assert_int_equal(dec(1, bad[i], len, &cp), 0);
	}
}

static void test_surrogates_are_wtf8_only(void **state)
{
	(void)state;
	uint32_t cp = 0;
	assert_int_equal(dec(0, "\xed\xa0\x80", 3, &cp), 0);
	assert_int_equal(dec(0, "\xed\xbf\xbf", 3, &cp), 0);
	assert_int_equal(dec(1, "\xed\xa0\x80", 3, &cp), 3);
	assert_int_equal(cp, 0xd800);
	assert_int_equal(dec(1, "\xed\xbf\xbf", 3, &cp), 3);
	assert_int_equal(cp, 0xdfff);
	assert_false(utf8_valid("a\xed\xa0\x80", 4));
	assert_true(utf8_valid("a\xc3\xa9z", 4));
	assert_true(utf8_valid("", 0));
}

/* Issue 24, defect 13: a bound never splits a character. */
static void test_cut_keeps_characters_whole(void **state)
{
	(void)state;
	assert_int_equal(utf8_cut("abc", 3, 8), 3);
	assert_int_equal(utf8_cut("abcdef", 6, 4), 4);
	assert_int_equal(utf8_cut("ab\xe2\x82\xac", 5, 3), 2);	/* inside the euro sign */
	assert_int_equal(utf8_cut("ab\xe2\x82\xac", 5, 4), 2);
	assert_int_equal(utf8_cut("ab\xe2\x82\xacz", 6, 5), 5);	/* just after it */
	assert_int_equal(utf8_cut("a\xf0\x9f\x98\x80", 5, 4), 1);
	assert_int_equal(utf8_cut("a\xc3\xa9", 3, 2), 1);
	/* not UTF-8: a run of continuation bytes is cut where the bound says */
	assert_int_equal(utf8_cut("a\x80\x80\x80\x80\x80", 6, 5), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_take_valid_utf8),
		cmocka_unit_test(test_cut_keeps_characters_whole),
		cmocka_unit_test(test_both_refuse_what_no_utf16_string_gives),
		cmocka_unit_test(test_surrogates_are_wtf8_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
