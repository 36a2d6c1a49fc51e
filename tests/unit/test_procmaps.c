/* Unit tests for the /proc/PID/maps line parser and unescaper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot.h"
#include "procmaps.h"

static struct maps_line parse_ok(const char *line)
{
	struct maps_line ml;
	assert_int_equal(maps_parse_line(line, strlen(line), &ml), 0);
	return ml;
}

static void assert_name(const struct maps_line *ml, const char *want)
{
	assert_int_equal(ml->name_len, strlen(want));
	assert_memory_equal(ml->name, want, ml->name_len);
}

static void test_file_line(void **state)
{
	(void)state;
	struct maps_line ml = parse_ok("55d0c8a02000-55d0c8a28000 r-xp 00002000 fd:01 1835"
				       "                       /usr/bin/cat");
	assert_int_equal(ml.start, 0x55d0c8a02000ULL);
	assert_int_equal(ml.limit, 0x55d0c8a28000ULL);
	assert_int_equal(ml.offset, 0x2000);
	assert_int_equal(ml.dev_major, 0xfd);
	assert_int_equal(ml.dev_minor, 1);
	assert_int_equal(ml.inode, 1835);
	assert_int_equal(ml.prot, PERM_R | PERM_X);
	assert_name(&ml, "/usr/bin/cat");
}

static void test_spaces_in_path_are_kept(void **state)
{
	(void)state;
	struct maps_line ml = parse_ok("7f00-7f10 r--s 00000000 00:05 9   /tmp/a  b /c ");
	assert_int_equal(ml.prot, PERM_R | PERM_SHARED);
	assert_name(&ml, "/tmp/a  b /c ");
}

static void test_no_name(void **state)
{
	(void)state;
	struct maps_line ml = parse_ok("7f1536a73000-7f1536a74000 rwxp 00000000 00:00 0 ");
	assert_int_equal(ml.prot, PERM_R | PERM_W | PERM_X);
	assert_int_equal(ml.name_len, 0);
	ml = parse_ok("7f1536a73000-7f1536a74000 rwxp 00000000 00:00 0");
	assert_int_equal(ml.name_len, 0);
}

static void test_special_names(void **state)
{
	(void)state;
	struct maps_line ml = parse_ok("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
				       "                  [vsyscall]");
	assert_int_equal(ml.start, 0xffffffffff600000ULL);
	assert_int_equal(ml.prot, PERM_X);
	assert_name(&ml, "[vsyscall]");
	ml = parse_ok("7f00-7f10 rw-p 00000000 00:00 0   [anon:my region]");
	assert_name(&ml, "[anon:my region]");
	ml = parse_ok("7f00-7f10 r-xp 00000000 00:01 1025   /memfd:jit (deleted)");
	assert_name(&ml, "/memfd:jit (deleted)");
	/* Large device numbers print as more hex digits. */
	ml = parse_ok("7f00-7f10 r-xp 00000000 103:0a 5 /x");
	assert_int_equal(ml.dev_major, 0x103);
	assert_int_equal(ml.dev_minor, 10);
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"7f00",
		"7f00-",
		"7f00-7f10",
		"7f00-7f10 r-x",
		"7f00-7f10 r-xq 0 00:00 0",
		"7f00-7f10 rxwp 0 00:00 0",
		"7f00-7f10 r-xp zz 00:00 0",
		"7f00-7f10 r-xp 0 0000 0",
		"7f00-7f10 r-xp 0 00:00 x",
		"7f10-7f00 r-xp 0 00:00 0",	/* limit before start */
		"7f00-7f10 r-xp 0 00:00 0x",	/* junk glued to the inode */
		"11111111111111111-7f10 r-xp 0 00:00 0",	/* 17 hex digits */
		"7f00-7f10 r-xp 0 00:00 99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct maps_line ml;
		if (maps_parse_line(bad[i], strlen(bad[i]), &ml) != -1)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
}

static void test_length_is_respected(void **state)
{
	(void)state;
	/* The parser must not read past len, even without a NUL. */
	const char line[] = "7f00-7f10 r-xp 00000000 00:00 0   /lib/x.so";
	struct maps_line ml;
	assert_int_equal(maps_parse_line(line, strlen(line) - 5, &ml), 0);
	assert_name(&ml, "/lib");
	assert_int_equal(maps_parse_line(line, 12, &ml), -1);
}

static void test_unescape(void **state)
{
	(void)state;
	char out[64];
	const char *in = "/tmp/a\\012b\\012\\01";
	size_t n = maps_unescape(in, strlen(in), out);
	assert_int_equal(n, strlen("/tmp/a\nb\n\\01"));
	assert_memory_equal(out, "/tmp/a\nb\n\\01", n);
	n = maps_unescape("plain", 5, out);
	assert_memory_equal(out, "plain", n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_line),
		cmocka_unit_test(test_spaces_in_path_are_kept),
		cmocka_unit_test(test_no_name),
		cmocka_unit_test(test_special_names),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_length_is_respected),
		cmocka_unit_test(test_unescape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
