/* Unit tests for the text listing's escaping of names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format/emit.h"

/* The listing of one mapping named name; returns its last line. */
static char *listing(const char *os, const char *name, size_t len)
{
	struct snapshot s;
	snapshot_init(&s);
	s.pid = 7;
	s.os = os;
	struct mapping *m = snapshot_add(&s);
	m->start = 0x1000;
	m->limit = 0x2000;
	m->file = snapshot_intern(&s, name, len);
	struct buf b = { 0 };
	struct errmsg err;
	assert_int_equal(emit_text(&b, &s, 1, &err), 0);
	buf_putc(&b, '\0');
	snapshot_free(&s);
	char *text = (char *)b.p;
	size_t n = strlen(text);
	assert_true(n > 1 && text[n - 1] == '\n');
	text[n - 1] = '\0';
	char *last = strrchr(text, '\n');
	assert_non_null(last);
	const char *name_at = strstr(last, " -");
	assert_non_null(name_at);
	char *out = malloc(strlen(name_at) + 1);
	assert_non_null(out);
	/* " -", then padding to the build_id column's width (8) and one */
	strcpy(out, name_at + 2 + 8);
	buf_free(&b);
	return out;
}

/* What one byte amid letters becomes, written out independently of the
 * writer: itself, \\ (on Linux), \n, \t, or \xHH for controls, DEL and a
 * lone byte past 0x7f (no UTF-8). */
static void escape_byte(unsigned c, int windows, char *out)
{
	if (c == '\\' && !windows)
		strcpy(out, "\\\\");
	else if (c == '\n')
		strcpy(out, "\\n");
	else if (c == '\t')
		strcpy(out, "\\t");
	else if (c < 0x20 || c >= 0x7f)
		sprintf(out, "\\x%02x", c);
	else
		sprintf(out, "%c", c);
}

static void test_every_byte_at_every_position(void **state)
{
	(void)state;
	char in[20], want[64], esc[8];
	for (int windows = 0; windows < 2; windows++) {
		for (size_t len = 1; len <= 19; len += 6) {
			for (size_t pos = 0; pos < len; pos++) {
				for (unsigned c = 1; c < 256; c++) {
					memset(in, 'a', len);
					in[0] = '/';
					in[pos] = (char)c;
					escape_byte(c, windows, esc);
					snprintf(want, sizeof want, "%.*s%s%.*s", (int)pos, in, esc,
						 (int)(len - pos - 1), in + pos + 1);
					char *got = listing(windows ? "windows" : "linux", in, len);
					assert_string_equal(got, want);
					free(got);
				}
			}
		}
	}
}

static void test_characters_escaped_whole(void **state)
{
	(void)state;
	char *got = listing("linux", "/a\xc2\x9b" "b\xe2\x80\xa8" "c\xc3\xa9", 11);
	assert_string_equal(got, "/a\\u009bb\\u2028c\xc3\xa9");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte_at_every_position),
		cmocka_unit_test(test_characters_escaped_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
