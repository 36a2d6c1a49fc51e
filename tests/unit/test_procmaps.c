/* Unit tests for the /proc/PID/maps line parser and unescaper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot.h"
#include "os/linux.h"

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

/* /proc/PID/stat as Linux 6.x writes it (52 fields); comm may hold anything. */
#define STAT_TAIL " S 1 2 3 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 2 0 987654 1000 200 " \
		  "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0"

static void test_stat_fields(void **state)
{
	(void)state;
	struct proc_stat st;
	const char *t = "1234 (sleep)" STAT_TAIL;
	assert_int_equal(proc_stat_parse(t, strlen(t), &st), 0);
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.flags, 4194560);
	assert_int_equal(st.start_time, 987654);

	/* comm with spaces, parentheses and a fake tail of its own */
	t = "1234 (a) Z 9 9 9 0 -1 7 (b)" STAT_TAIL;
	assert_int_equal(proc_stat_parse(t, strlen(t), &st), 0);
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.start_time, 987654);
}

static void test_stat_malformed(void **state)
{
	(void)state;
	struct proc_stat st;
	const char *bad[] = {
		"", "1234 sleep S 1", "1234 (sleep)", "1234 (sleep) ", "1234 (sleep) S",
		"1234 (sleep) S 1 2 3 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 2 0",
		"1234 (sleep) S 1 2 3 0 -1 x 100 0 0 0 5 6 0 0 20 0 2 0 987654",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(proc_stat_parse(bad[i], strlen(bad[i]), &st), -1);
	/* the length is respected: the start time is cut short */
	const char *t = "1234 (sleep)" STAT_TAIL;
	const char *at = strstr(t, "987654");
	assert_int_equal(proc_stat_parse(t, (size_t)(at - t) + 3, &st), 0);
	assert_int_equal(st.start_time, 987);
	assert_int_equal(proc_stat_parse(t, (size_t)(at - t), &st), -1);
}

/* A PID reused between two reads is another life: its start time differs. */
static void test_same_life(void **state)
{
	(void)state;
	struct proc_stat born = { 'S', 0, 987654 }, now = born;
	assert_true(proc_stat_same_live(&born, &now));
	now.state = 'R';
	assert_true(proc_stat_same_live(&born, &now));
	now.start_time = 987655;	/* the PID went to a new process */
	assert_false(proc_stat_same_live(&born, &now));
	now = born;
	now.state = 'Z';	/* exited: its address space is gone */
	assert_false(proc_stat_same_live(&born, &now));
	now.state = 'X';
	assert_false(proc_stat_same_live(&born, &now));
}

/* Lines as the kernel writes them (proc(5)), optional fields and all. */
static void test_mountinfo(void **state)
{
	(void)state;
	static const char text[] =
		"22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
		"35 22 0:32 / /tmp rw,nosuid shared:14 master:3 - tmpfs tmpfs rw\n"
		"612 35 0:61 / /tmp/mnt rw,nosuid,nodev - fuse.fusestall fusestall rw\n"
		"not a mountinfo line\n"
		"4294967999 22 0:70 /export /net rw - nfs4 srv:/export rw\n"
		"700 22 0:71 / /v rw - virtiofs tag rw";	/* no newline at the end */
	struct mount_dev d[8];
	size_t n = mountinfo_devices(text, strlen(text), NULL, 0);
	assert_int_equal(n, 5);
	assert_int_equal(mountinfo_devices(text, strlen(text), d, 8), 5);
	assert_int_equal(d[0].id, 22);
	assert_int_equal(d[0].major, 259);
	assert_int_equal(d[0].minor, 2);
	assert_false(d[0].untrusted);
	assert_int_equal(d[1].id, 35);
	assert_false(d[1].untrusted);
	assert_int_equal(d[2].id, 612);
	assert_int_equal(d[2].minor, 61);
	assert_true(d[2].untrusted);
	assert_int_equal(d[3].id, 4294967999u);
	assert_true(d[3].untrusted);
	assert_true(d[4].untrusted);
	assert_false(mount_id_untrusted(d, n, 35));
	assert_true(mount_id_untrusted(d, n, 612));
	assert_true(mount_id_untrusted(d, n, 9999));	/* not listed: detached */
	assert_false(mount_dev_untrusted(d, n, 0, 32));
	assert_true(mount_dev_untrusted(d, n, 0, 61));
	assert_true(mount_dev_untrusted(d, n, 0, 99));	/* anonymous, not listed */
	assert_false(mount_dev_untrusted(d, n, 8, 1));	/* a disk */
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
		cmocka_unit_test(test_stat_fields),
		cmocka_unit_test(test_stat_malformed),
		cmocka_unit_test(test_same_life),
		cmocka_unit_test(test_mountinfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
