/* Unit tests for the JSON writer: escaping, surrogateescape, the document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format/emit.h"

static char *json_of(const char *s, size_t len)
{
	struct buf b = { 0 };
	json_put_string(&b, s, len);
	buf_putc(&b, '\0');
	assert_false(b.oom);
	return (char *)b.p;
}

static void check(const char *in, size_t len, const char *want)
{
	char *got = json_of(in, len);
	assert_string_equal(got, want);
	free(got);
}

static void test_ascii_and_escapes(void **state)
{
	(void)state;
	check("/usr/bin/cat", 12, "\"/usr/bin/cat\"");
	check("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check("x\ny\tz\r", 6, "\"x\\ny\\tz\\r\"");
	check("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
	check("", 0, "\"\"");
}

static void test_embedded_nul_is_escaped(void **state)
{
	(void)state;
	check("a\0b", 3, "\"a\\u0000b\"");
}

static void test_non_ascii_as_u_escapes(void **state)
{
	(void)state;
	check("caf\xc3\xa9", 5, "\"caf\\u00e9\"");
	check("\xe2\x82\xac", 3, "\"\\u20ac\"");
	/* U+1F600 needs a surrogate pair. */
	check("\xf0\x9f\x98\x80", 4, "\"\\ud83d\\ude00\"");
	check("\xf4\x8f\xbf\xbf", 4, "\"\\udbff\\udfff\"");
}

static void test_invalid_utf8_is_surrogateescaped(void **state)
{
	(void)state;
	check("bad\xff\xfe", 5, "\"bad\\udcff\\udcfe\"");
	/* A truncated sequence: each byte escaped, then decoding resumes. */
	check("\xe2\x82" "A", 3, "\"\\udce2\\udc82A\"");
	/* Overlong forms, encoded surrogates and values past U+10FFFF are not
	 * UTF-8 (Python's strict decoder agrees). */
	check("\xc0\xaf", 2, "\"\\udcc0\\udcaf\"");
	check("\xe0\x80\xaf", 3, "\"\\udce0\\udc80\\udcaf\"");
	check("\xed\xa0\x80", 3, "\"\\udced\\udca0\\udc80\"");
	check("\xf4\x90\x80\x80", 4, "\"\\udcf4\\udc90\\udc80\\udc80\"");
	check("\x80", 1, "\"\\udc80\"");
}

/* What one byte amid ASCII letters becomes, written out independently of
 * the writer's run scanning: itself, a short escape, \u00XX, or (a lone
 * byte past 0x7f is no UTF-8) its surrogateescape. */
static void escape_byte(unsigned c, char *out)
{
	if (c == '"' || c == '\\')
		sprintf(out, "\\%c", c);
	else if (c == '\n')
		strcpy(out, "\\n");
	else if (c == '\t')
		strcpy(out, "\\t");
	else if (c == '\r')
		strcpy(out, "\\r");
	else if (c < 0x20 || c == 0x7f)
		sprintf(out, "\\u%04x", c);
	else if (c >= 0x80)
		sprintf(out, "\\udc%02x", c);
	else
		sprintf(out, "%c", c);
}

/* Every byte value at every position of strings up to three 8-byte blocks
 * long: the bulk path must stop at each byte that needs an escape. */
static void test_every_byte_at_every_position(void **state)
{
	(void)state;
	char in[25], want[64], esc[16];
	for (size_t len = 1; len <= 24; len++) {
		for (size_t pos = 0; pos < len; pos++) {
			for (unsigned c = 0; c < 256; c++) {
				memset(in, 'a', len);
				in[pos] = (char)c;
				escape_byte(c, esc);
				snprintf(want, sizeof want, "\"%.*s%s%.*s\"", (int)pos, in, esc,
					 (int)(len - pos - 1), in + pos + 1);
				check(in, len, want);
			}
		}
	}
}

/* The device as "%02x:%02x" would write it, at every digit count. */
static void test_dev_field(void **state)
{
	(void)state;
	static const uint32_t devs[] = { 0, 1, 0xf, 0x10, 0xfd, 0x100, 0x103, 0xfff, 0xfffff,
					 UINT32_MAX };
	struct snapshot s;
	snapshot_init(&s);
	struct mapping *m = snapshot_add(&s);
	m->flags = MAPF_FILE;
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		for (size_t j = 0; j < sizeof devs / sizeof devs[0]; j++) {
			struct mapping_fields mf;
			char want[32];
			m->dev_major = devs[i];
			m->dev_minor = devs[j];
			mapping_fields(&mf, &s, m);
			snprintf(want, sizeof want, "%02x:%02x", devs[i], devs[j]);
			assert_string_equal(mf.dev, want);
		}
	}
	snapshot_free(&s);
}

static void test_document(void **state)
{
	(void)state;
	struct snapshot s;
	snapshot_init(&s);
	s.pid = 42;
	s.os = "linux";
	s.time_nanos = 1764114000123456789ULL;
	struct mapping *m = snapshot_add(&s);
	m->start = 0x7fffffffffff0000ULL;
	m->limit = 0xffffffffffffffffULL;
	m->offset = 0x2000;
	m->prot = PERM_R | PERM_X;
	m->flags = MAPF_FILE | MAPF_MAIN;
	m->dev_major = 0xfd;
	m->dev_minor = 1;
	m->inode = 77;
	m->bid_kind = BIDK_GNU;
	uint32_t f = snapshot_intern_str(&s, "/bin/x");
	uint32_t b = snapshot_intern_str(&s, "abcd");
	s.map[0].file = f;
	s.map[0].build_id = b;
	s.exe = f;

	struct buf out = { 0 };
	struct errmsg err;
	assert_int_equal(emit_json(&out, &s, 1, 0, &err), 0);
	buf_putc(&out, '\0');
	const char *j = (const char *)out.p;
	assert_non_null(strstr(j, "\"pid\": 42,"));
	assert_non_null(strstr(j, "\"time\": \"2025-11-25T23:40:00.123456789Z\""));
	assert_non_null(strstr(j, "\"start\": \"0x7fffffffffff0000\""));
	assert_non_null(strstr(j, "\"limit\": \"0xffffffffffffffff\""));
	assert_non_null(strstr(j, "\"offset\": \"0x2000\""));
	assert_non_null(strstr(j, "\"build_id\": \"abcd\""));
	assert_non_null(strstr(j, "\"build_id_kind\": \"gnu\""));
	assert_non_null(strstr(j, "\"perms\": \"r-xp\""));
	assert_non_null(strstr(j, "\"dev\": \"fd:01\""));
	assert_non_null(strstr(j, "\"main\": true"));
	assert_int_equal(j[0], '{');
	buf_free(&out);

	/* As an array, even for one process. */
	assert_int_equal(emit_json(&out, &s, 1, 1, &err), 0);
	assert_int_equal(out.p[0], '[');
	buf_free(&out);
	snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_and_escapes),
		cmocka_unit_test(test_embedded_nul_is_escaped),
		cmocka_unit_test(test_non_ascii_as_u_escapes),
		cmocka_unit_test(test_invalid_utf8_is_surrogateescaped),
		cmocka_unit_test(test_every_byte_at_every_position),
		cmocka_unit_test(test_dev_field),
		cmocka_unit_test(test_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
