/*
 * Unit tests for os/posix_open.c: each rule of checked_openat refuses what
 * it names and lets the rest through, against real files, FIFOs and
 * procfs; checked_walk follows the caller's own links. (The attacks by
 * another user are tests/e2e/test_trust_files.py.)
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "checked_open.h"

static char dir[64];
static int dfd = -1;
static int no_openat2;	/* Linux before 5.6, or valgrind 3.19, which lacks the call */

/*
 * Without openat2 every open is refused with its reason: that is what the
 * rules promise there, so that is what a test checks instead.
 */
static int refused_for_no_openat2(void)
{
	if (!no_openat2)
		return 0;
	static const struct open_rules r = { .regular = 1 };
	struct errmsg err;
	assert_int_equal(checked_openat(dfd, "file", O_RDONLY, &r, NULL, &err), -1);
	assert_string_equal(err.text, "the kernel has no openat2 (Linux 5.6) to open it safely");
	return 1;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_checked_open.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	int probe = (int)syscall(SYS_openat2, dfd, ".", &how, sizeof how);
	no_openat2 = probe < 0 && errno == ENOSYS;
	if (probe >= 0)
		close(probe);
	int fd = openat(dfd, "file", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, "data\n", 5) != 5)
		return -1;
	close(fd);
	if (mkfifoat(dfd, "fifo", 0600) < 0 || symlinkat("file", dfd, "link") < 0 ||
	    mkdirat(dfd, "sub", 0755) < 0 || symlinkat("../file", dfd, "sub/up") < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	static const char *names[] = { "sub/up", "file", "fifo", "link", "new" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlinkat(dfd, names[i], 0);
	unlinkat(dfd, "sub", AT_REMOVEDIR);
	close(dfd);
	rmdir(dir);
	return 0;
}

static void test_regular_file_opens_with_what_was_checked(void **state)
{
	(void)state;
	if (refused_for_no_openat2())
		return;
	static const struct open_rules r = { .regular = 1, .not_procfs = 1 };
	struct open_info info;
	struct errmsg err;
	int fd = checked_openat(dfd, "file", O_RDONLY, &r, &info, &err);
	assert_true(fd >= 0);
	char buf[8];
	assert_int_equal(read(fd, buf, sizeof buf), 5);
	assert_int_equal(info.size, 5);
	assert_int_equal(info.uid, geteuid());
	assert_true(S_ISREG(info.mode));
	close(fd);
}

static void test_fifo_is_refused_without_being_opened(void **state)
{
	(void)state;
	if (refused_for_no_openat2())
		return;
	/* Opened for reading, a FIFO would be opened (non-blocking): the rule
	 * must refuse it before. */
	static const struct open_rules r = { .regular = 1 };
	struct errmsg err;
	int fd = checked_openat(dfd, "fifo", O_RDONLY, &r, NULL, &err);
	assert_int_equal(fd, -1);
	assert_string_equal(err.text, "not a regular file");
}

static void test_no_symlinks_anywhere(void **state)
{
	(void)state;
	if (refused_for_no_openat2())
		return;
	static const struct open_rules r = { .no_symlinks = 1, .regular = 1 };
	static const struct open_rules any = { .regular = 1 };
	struct errmsg err;
	assert_int_equal(checked_openat(dfd, "link", O_RDONLY, &r, NULL, &err), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(checked_openat(dfd, "sub/up", O_RDONLY, &r, NULL, &err), -1);
	int fd = checked_openat(dfd, "link", O_RDONLY, &any, NULL, &err);
	assert_true(fd >= 0);
	close(fd);
}

static void test_procfs_and_not_procfs(void **state)
{
	(void)state;
	if (refused_for_no_openat2())
		return;
	static const struct open_rules on = { .procfs = 1 };
	static const struct open_rules off = { .not_procfs = 1 };
	struct errmsg err;
	int fd = checked_openat(AT_FDCWD, "/proc/self/status", O_RDONLY, &on, NULL, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(checked_openat(AT_FDCWD, "/proc/self/status", O_RDONLY, &off, NULL, &err),
			 -1);
	assert_string_equal(err.text, "on procfs or sysfs");
	assert_int_equal(checked_openat(dfd, "file", O_RDONLY, &on, NULL, &err), -1);
	assert_string_equal(err.text, "not on the proc filesystem");
	fd = checked_openat(dfd, "file", O_RDONLY, &off, NULL, &err);
	assert_true(fd >= 0);
	close(fd);
}

static void test_owner(void **state)
{
	(void)state;
	if (refused_for_no_openat2())
		return;
	struct open_rules r = { .owner = 1, .owner_uid = (uint32_t)geteuid() };
	struct errmsg err;
	int fd = checked_openat(dfd, "file", O_RDONLY, &r, NULL, &err);
	assert_true(fd >= 0);
	close(fd);
	/* Owned by someone who is neither the one asked for nor root. */
	if (geteuid() == 0)
		assert_int_equal(fchownat(dfd, "file", 12345, (gid_t)-1, 0), 0);
	r.owner_uid = geteuid() == 0 ? 54321 : (uint32_t)geteuid() + 1;
	assert_int_equal(checked_openat(dfd, "file", O_RDONLY, &r, NULL, &err), -1);
	assert_string_equal(err.text, "owned by another user");
	if (geteuid() == 0)
		assert_int_equal(fchownat(dfd, "file", 0, (gid_t)-1, 0), 0);
}

static void test_walk_follows_the_callers_links(void **state)
{
	(void)state;
	static const struct open_rules r = { .trusted_links = 1 };
	char path[128], *name;
	int magic;
	struct errmsg err;
	snprintf(path, sizeof path, "%s/sub/up", dir);
	int d = checked_walk(path, &r, 0, &name, &magic, &err);
	assert_true(d >= 0);
	assert_string_equal(name, "file");	/* through sub/up -> ../file */
	assert_int_equal(magic, 0);
	struct stat a, b;
	assert_int_equal(fstat(d, &a), 0);
	assert_int_equal(fstat(dfd, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	free(name);
	close(d);
	/* A new name at the end is the caller's to make. */
	snprintf(path, sizeof path, "%s/new", dir);
	d = checked_walk(path, &r, 0, &name, &magic, &err);
	assert_true(d >= 0);
	assert_string_equal(name, "new");
	free(name);
	close(d);
	/* /proc/self/fd/N is the kernel's to open. */
	d = checked_walk("/proc/self/fd/0", &r, 0, &name, &magic, &err);
	assert_true(d >= 0);
	assert_int_equal(magic, 1);
	free(name);
	close(d);
}

static void test_walk_refuses_another_users_link(void **state)
{
	(void)state;
	static const struct open_rules r = { .trusted_links = 1 };
	char path[128], *name = NULL;
	int magic;
	struct errmsg err;
	if (geteuid() != 0) {
		/* Only root can give a link to someone else; the e2e tests
		 * (test_trust_files.py) run as root in CI. */
		snprintf(path, sizeof path, "%s/link", dir);
		int d = checked_walk(path, &r, 0, &name, &magic, &err);
		assert_true(d >= 0);
		free(name);
		close(d);
		return;
	}
	assert_int_equal(fchownat(dfd, "sub/up", 12345, 12345, AT_SYMLINK_NOFOLLOW), 0);
	snprintf(path, sizeof path, "%s/sub/up", dir);
	assert_int_equal(checked_walk(path, &r, 0, &name, &magic, &err), -1);
	assert_non_null(strstr(err.text, "owned by another user (uid 12345)"));
	assert_null(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file_opens_with_what_was_checked),
		cmocka_unit_test(test_fifo_is_refused_without_being_opened),
		cmocka_unit_test(test_no_symlinks_anywhere),
		cmocka_unit_test(test_procfs_and_not_procfs),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_walk_follows_the_callers_links),
		cmocka_unit_test(test_walk_refuses_another_users_link),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
