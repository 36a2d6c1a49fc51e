/* Unit tests for the output buffer's number writers, against printf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

/* Values at every digit-count boundary, in hex and in decimal. */
static uint64_t value(int i)
{
	static const uint64_t extra[] = { 0, 1, 9, 10, 15, 16, 99, 100, 255, 256,
					  0x7fffffffffffffffULL, 0x8000000000000000ULL,
					  UINT64_MAX, 18446744073709551ULL, 1000000000000000000ULL };
	int n = (int)(sizeof extra / sizeof extra[0]);
	if (i < n)
		return extra[i];
	i -= n;
	uint64_t p = (uint64_t)1 << (i / 2);	/* powers of two and one below */
	return i % 2 ? p - 1 : p;
}
#define VALUES (15 + 128)

static void test_hex_dec_as_printf(void **state)
{
	(void)state;
	for (int i = 0; i < VALUES; i++) {
		uint64_t v = value(i);
		char want[128];
		struct buf b = { 0 };
		buf_putc(&b, '<');
		buf_hex(&b, v);
		buf_putc(&b, '|');
		buf_dec(&b, v);
		buf_putc(&b, '|');
		buf_hexw(&b, v, 2);
		buf_putc(&b, '|');
		buf_hexw(&b, v, 8);
		buf_putc(&b, '\0');
		assert_false(b.oom);
		snprintf(want, sizeof want, "<0x%llx|%llu|%02llx|%08llx", (unsigned long long)v,
			 (unsigned long long)v, (unsigned long long)v, (unsigned long long)v);
		assert_string_equal((char *)b.p, want);
		buf_free(&b);
	}
}

/* The inline writers grow the buffer at every size, and fill repeats. */
static void test_growth_keeps_every_byte(void **state)
{
	(void)state;
	struct buf b = { 0 };
	size_t want = 0;
	for (size_t n = 0; n < 3000; n++) {
		buf_putc(&b, (int)(n & 0x7f));
		buf_fill(&b, 'x', n % 17);
		buf_put(&b, "abcdefghij", n % 11);
		want += 1 + n % 17 + n % 11;
	}
	assert_false(b.oom);
	assert_int_equal(b.len, want);
	size_t at = 0;
	for (size_t n = 0; n < 3000; n++) {
		assert_int_equal(b.p[at], n & 0x7f);
		at++;
		for (size_t k = 0; k < n % 17; k++)
			assert_int_equal(b.p[at++], 'x');
		assert_memory_equal(b.p + at, "abcdefghij", n % 11);
		at += n % 11;
	}
	buf_free(&b);
}

/* After a failed allocation nothing more is written, even what would fit. */
static void test_oom_is_sticky(void **state)
{
	(void)state;
	struct buf b = { 0 };
	buf_puts(&b, "abc");
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);
	assert_true(b.oom);
	buf_putc(&b, 'd');
	buf_put(&b, "ef", 2);
	buf_hex(&b, 1);
	buf_dec(&b, 1);
	buf_fill(&b, ' ', 3);
	assert_int_equal(b.len, 3);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_dec_as_printf),
		cmocka_unit_test(test_growth_keeps_every_byte),
		cmocka_unit_test(test_oom_is_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
