/*
 * test_pbwire.c - the protobuf wire writer and reader: varint edge cases,
 * round trips, and every way the reader refuses malformed bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire/pbwire.h"

static void check_varint(uint64_t v, const unsigned char *want, size_t n)
{
	struct buf b = { 0 };
	pb_put_varint(&b, v);
	assert_false(b.oom);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.p, want, n);
	assert_int_equal(pb_varint_len(v), n);

	const unsigned char *p = b.p;
	uint64_t got = 1234;
	const char *why = NULL;
	assert_int_equal(pb_get_varint(&p, b.p + b.len, &got, &why), 0);
	assert_true(got == v);
	assert_ptr_equal(p, b.p + b.len);
	buf_free(&b);
}

static void test_varint_edges(void **state)
{
	(void)state;
	check_varint(0, (const unsigned char *)"\x00", 1);
	check_varint(1, (const unsigned char *)"\x01", 1);
	check_varint(127, (const unsigned char *)"\x7f", 1);
	check_varint(128, (const unsigned char *)"\x80\x01", 2);
	check_varint(300, (const unsigned char *)"\xac\x02", 2);
	check_varint(16383, (const unsigned char *)"\xff\x7f", 2);
	check_varint(16384, (const unsigned char *)"\x80\x80\x01", 3);
	check_varint(UINT32_MAX, (const unsigned char *)"\xff\xff\xff\xff\x0f", 5);
	check_varint(UINT64_C(1) << 63,
		     (const unsigned char *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 10);
	check_varint(UINT64_MAX,
		     (const unsigned char *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
}

/* A negative int64 is written as its two's complement: ten bytes. */
static void test_negative_int(void **state)
{
	(void)state;
	struct buf b = { 0 };
	pb_put_int(&b, 1, -1);
	assert_int_equal(b.len, 11);
	struct pb_reader r = pb_reader(b.p, b.len);
	struct pb_field f;
	const char *why = NULL;
	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal((int64_t)f.value, -1);
	buf_free(&b);
}

/* A non-minimal varint (padding 0x80 bytes) is still valid protobuf. */
static void test_varint_padded(void **state)
{
	(void)state;
	const unsigned char in[] = { 0x81, 0x80, 0x80, 0x00 };
	const unsigned char *p = in;
	uint64_t v;
	const char *why = NULL;
	assert_int_equal(pb_get_varint(&p, in + sizeof in, &v, &why), 0);
	assert_int_equal(v, 1);
	assert_ptr_equal(p, in + sizeof in);
}

static void expect_varint_error(const unsigned char *in, size_t n, const char *msg)
{
	const unsigned char *p = in;
	uint64_t v = 0;
	const char *why = NULL;
	assert_int_equal(pb_get_varint(&p, in + n, &v, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, msg);
	assert_ptr_equal(p, in);	/* nothing consumed on error */
}

static void test_varint_errors(void **state)
{
	(void)state;
	const unsigned char empty[1] = { 0 };
	expect_varint_error(empty, 0, "truncated varint");
	expect_varint_error((const unsigned char *)"\x80", 1, "truncated varint");
	expect_varint_error((const unsigned char *)"\xff\xff\xff", 3, "truncated varint");
	/* eleven bytes, every one with its continuation bit */
	expect_varint_error((const unsigned char *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
			    11, "varint longer than 10 bytes");
	expect_varint_error((const unsigned char *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80",
			    10, "varint longer than 10 bytes");
	/* a tenth byte above 1 sets bits past 64 */
	expect_varint_error((const unsigned char *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
			    10, "varint overflows 64 bits");
}

/* Writes one field of each kind, then reads them back in order. */
static void test_round_trip(void **state)
{
	(void)state;
	struct buf b = { 0 };
	const uint64_t packed[] = { 1, 300, UINT64_MAX };
	pb_put_uint(&b, 1, 0);
	pb_put_uint(&b, 15, 150);
	pb_put_uint(&b, 16, 7);		/* two-byte key */
	pb_put_string(&b, 6, "hello");
	pb_put_bytes(&b, 6, "", 0);
	pb_put_packed(&b, 2, packed, 3);
	pb_put_uint(&b, 0x1fffffff, 9);	/* the largest field number */
	assert_false(b.oom);

	struct pb_reader r = pb_reader(b.p, b.len);
	struct pb_field f;
	const char *why = NULL;

	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.number, 1);
	assert_int_equal(f.type, PB_VARINT);
	assert_int_equal(f.value, 0);
	assert_ptr_equal(f.raw, b.p);
	assert_int_equal(f.raw_len, 2);

	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.number, 15);
	assert_int_equal(f.value, 150);

	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.number, 16);
	assert_int_equal(f.raw_len, 3);
	assert_int_equal(f.value, 7);

	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.number, 6);
	assert_int_equal(f.type, PB_LEN);
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.data, "hello", 5);

	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.type, PB_LEN);
	assert_int_equal(f.len, 0);

	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.number, 2);
	assert_int_equal(f.len, 1 + 2 + 10);
	const unsigned char *p = f.data, *end = f.data + f.len;
	for (int i = 0; i < 3; i++) {
		uint64_t v;
		assert_int_equal(pb_get_varint(&p, end, &v, &why), 0);
		assert_true(v == packed[i]);
	}
	assert_ptr_equal(p, end);

	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.number, 0x1fffffff);
	assert_int_equal(f.value, 9);

	assert_int_equal(pb_next(&r, &f, &why), 0);
	assert_int_equal(pb_next(&r, &f, &why), 0);	/* the end stays the end */
	buf_free(&b);
}

static void test_fixed_width(void **state)
{
	(void)state;
	const unsigned char in[] = {
		0x09, 1, 2, 3, 4, 5, 6, 7, 8,	/* field 1, fixed64 */
		0x15, 0xff, 0xff, 0xff, 0x7f,	/* field 2, fixed32 */
	};
	struct pb_reader r = pb_reader(in, sizeof in);
	struct pb_field f;
	const char *why = NULL;
	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.type, PB_FIXED64);
	assert_true(f.value == UINT64_C(0x0807060504030201));
	assert_int_equal(f.raw_len, 9);
	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.type, PB_FIXED32);
	assert_int_equal(f.value, 0x7fffffff);
	assert_int_equal(pb_next(&r, &f, &why), 0);
}

static void expect_next_error(const unsigned char *in, size_t n, const char *msg)
{
	struct pb_reader r = pb_reader(in, n);
	struct pb_field f;
	const char *why = NULL;
	assert_int_equal(pb_next(&r, &f, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, msg);
}

static void test_reader_errors(void **state)
{
	(void)state;
	/* key itself truncated */
	expect_next_error((const unsigned char *)"\x88", 1, "truncated varint");
	/* varint field with its value missing or cut short */
	expect_next_error((const unsigned char *)"\x08", 1, "truncated varint");
	expect_next_error((const unsigned char *)"\x08\xff", 2, "truncated varint");
	expect_next_error((const unsigned char *)"\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00",
			  12, "varint longer than 10 bytes");
	/* length-delimited: length missing, past the end, absurdly large */
	expect_next_error((const unsigned char *)"\x32", 1, "truncated varint");
	expect_next_error((const unsigned char *)"\x32\x05" "abcd", 6, "length past the end");
	expect_next_error((const unsigned char *)"\x32\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
			  11, "length past the end");
	/* fixed-width fields cut short */
	expect_next_error((const unsigned char *)"\x09\x01\x02\x03\x04\x05\x06\x07", 8,
			  "truncated fixed-width field");
	expect_next_error((const unsigned char *)"\x0d\x01\x02\x03", 4,
			  "truncated fixed-width field");
	/* field number 0, and one past 2^29-1 */
	expect_next_error((const unsigned char *)"\x00\x01", 2, "invalid field number");
	expect_next_error((const unsigned char *)"\x02\x00", 2, "invalid field number");
	expect_next_error((const unsigned char *)"\x80\x80\x80\x80\x20\x00", 6,
			  "invalid field number");
	/* groups (3, 4) and the unassigned wire types 6 and 7 */
	expect_next_error((const unsigned char *)"\x0b", 1, "unsupported wire type");
	expect_next_error((const unsigned char *)"\x0c", 1, "unsupported wire type");
	expect_next_error((const unsigned char *)"\x0e\x00", 2, "unsupported wire type");
	expect_next_error((const unsigned char *)"\x0f\x00", 2, "unsupported wire type");
}

/* A good field followed by a bad one: the first is still read. */
static void test_error_after_good_field(void **state)
{
	(void)state;
	const unsigned char in[] = { 0x08, 0x01, 0x12, 0x03, 'a' };
	struct pb_reader r = pb_reader(in, sizeof in);
	struct pb_field f;
	const char *why = NULL;
	assert_int_equal(pb_next(&r, &f, &why), 1);
	assert_int_equal(f.value, 1);
	assert_int_equal(pb_next(&r, &f, &why), -1);
	assert_string_equal(why, "length past the end");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_edges),
		cmocka_unit_test(test_negative_int),
		cmocka_unit_test(test_varint_padded),
		cmocka_unit_test(test_varint_errors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fixed_width),
		cmocka_unit_test(test_reader_errors),
		cmocka_unit_test(test_error_after_good_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
