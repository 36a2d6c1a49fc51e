/*
 * test_platform.c - the portable parts of platform.c: UTF-16 <-> WTF-8,
 * which must round-trip any UTF-16 string (unpaired surrogates included),
 * the path conversion built on it, and how such a string comes out of the
 * JSON writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "format/emit.h"
#include "platform.h"

/* a, e-acute, a CJK character, U+1F600 as a pair, then a trail surrogate
 * before a lead one (two unpaired units) and a lead one at the end. */
static const uint16_t units[] = { 'a', 0xe9, 0x6a21, 0xd83d, 0xde00, 0xdc00, 0xd800, 'b', 0xdbff };
static const char wtf8[] = "a\xc3\xa9\xe6\xa8\xa1\xf0\x9f\x98\x80\xed\xb0\x80\xed\xa0\x80"
			   "b\xed\xaf\xbf";
#define NUNITS (sizeof units / sizeof units[0])

static void test_utf16_to_wtf8(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(wtf8_from_utf16(NULL, 0, units, NUNITS), sizeof wtf8 - 1);
	assert_int_equal(wtf8_from_utf16(out, sizeof out, units, NUNITS), sizeof wtf8 - 1);
	assert_memory_equal(out, wtf8, sizeof wtf8);
	/* A short buffer: cut, still terminated, full length returned. */
	assert_int_equal(wtf8_from_utf16(out, 4, units, NUNITS), sizeof wtf8 - 1);
	assert_int_equal(strlen(out), 3);
	assert_int_equal(wtf8_from_utf16(out, sizeof out, units, 0), 0);
	assert_string_equal(out, "");
}

static void test_wtf8_round_trip(void **state)
{
	(void)state;
	uint16_t back[32];
	size_t n = utf16_from_wtf8(back, 32, wtf8, sizeof wtf8 - 1);
	assert_int_equal(n, NUNITS);
	assert_memory_equal(back, units, sizeof units);
	assert_int_equal(back[n], 0);
	assert_int_equal(utf16_from_wtf8(NULL, 0, wtf8, sizeof wtf8 - 1), NUNITS);
}

static void test_wtf8_rejects_what_utf16_cannot_be(void **state)
{
	(void)state;
	uint16_t back[8];
	assert_true(utf16_from_wtf8(back, 8, "\xff", 1) == (size_t)-1);
	assert_true(utf16_from_wtf8(back, 8, "\xc0\x80", 2) == (size_t)-1);	/* overlong */
	assert_true(utf16_from_wtf8(back, 8, "\xe6\xa8", 2) == (size_t)-1);	/* cut */
	assert_true(utf16_from_wtf8(back, 8, "\xf4\x90\x80\x80", 4) == (size_t)-1);
}

/* What every file name goes through on Windows, reading and writing: an
 * unpaired surrogate stays that unit (MultiByteToWideChar(CP_UTF8) would
 * make it U+FFFD, another file). Wine 8 cannot create a file with such a
 * name, so this is tested here rather than under Wine. */
static void test_path_utf16(void **state)
{
	(void)state;
	static const uint16_t want[] = { 'C', ':', '\\', 0xd800, 0xe9, '.', 'p', 'b', 0 };
	const char *path = "C:\\\xed\xa0\x80\xc3\xa9.pb";
	uint16_t w[16];
	struct errmsg err = { .text = "" };
	assert_int_equal(platform_path_utf16(path, w, 16, &err), 0);
	assert_memory_equal(w, want, sizeof want);
	/* Exactly room for the name and its NUL, then one unit less. */
	assert_int_equal(platform_path_utf16(path, w, 9, &err), 0);
	assert_memory_equal(w, want, sizeof want);
	assert_int_equal(platform_path_utf16(path, w, 8, &err), -1);
	assert_string_equal(err.text, "C:\\\xed\xa0\x80\xc3\xa9.pb: not a valid path or too long");
	assert_int_equal(platform_path_utf16("a\xff", w, 16, &err), -1);
	assert_string_equal(err.text, "a\xff: not a valid path or too long");
}

static char *json(void (*put)(struct buf *, const char *, size_t), const char *s, size_t n)
{
	static char text[256];
	struct buf b = { 0 };
	put(&b, s, n);
	assert_false(b.oom);
	assert_true(b.len < sizeof text);
	memcpy(text, b.p, b.len);
	text[b.len] = '\0';
	buf_free(&b);
	return text;
}

static void test_json_of_windows_strings(void **state)
{
	(void)state;
	/* Each unpaired surrogate is the escape of its own unit, so a JSON
	 * reader gets the UTF-16 string back. */
	assert_string_equal(json(json_put_wtf8, wtf8, sizeof wtf8 - 1),
			    "\"a\\u00e9\\u6a21\\ud83d\\ude00\\udc00\\ud800b\\udbff\"");
	/* Bytes that are not WTF-8 still survive, as surrogateescape. */
	assert_string_equal(json(json_put_wtf8, "C:\\\xff", 4), "\"C:\\\\\\udcff\"");
	/* Linux strings keep surrogateescape for the same bytes. */
	assert_string_equal(json(json_put_string, "\xed\xa0\x80", 3),
			    "\"\\udced\\udca0\\udc80\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf16_to_wtf8),
		cmocka_unit_test(test_wtf8_round_trip),
		cmocka_unit_test(test_wtf8_rejects_what_utf16_cannot_be),
		cmocka_unit_test(test_path_utf16),
		cmocka_unit_test(test_json_of_windows_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
