/*
 * Unit tests for collect.c: the file name a layout keys on, and the copy
 * of this very process's files, with its build-ID check and size bound
 * (the e2e tests cover the layouts against pprof, GDB and elfutils).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buildid.h"
#include "collect.h"
#include "snapshot.h"

static void test_basename(void **state)
{
	(void)state;
	size_t n;
	const char *b = collect_basename("/usr/lib/libc.so.6", 0, &n);
	assert_string_equal(b, "libc.so.6");
	assert_int_equal(n, 9);
	assert_string_equal(collect_basename("C:\\w\\fix.dll", 1, &n), "fix.dll");
	assert_string_equal(collect_basename("C:/w/fix.dll", 1, &n), "fix.dll");
	/* A backslash is part of a Linux name. */
	assert_string_equal(collect_basename("/a/b\\c.so", 0, &n), "b\\c.so");
	assert_string_equal(collect_basename("plain", 0, &n), "plain");
	assert_null(collect_basename("", 0, &n));
	assert_null(collect_basename("/a/", 0, &n));
	assert_null(collect_basename("/a/.", 0, &n));
	assert_null(collect_basename("/a/..", 0, &n));
	assert_null(collect_basename("C:\\w\\..", 1, &n));
}

struct lines {
	char text[16][1024];
	int n;
};

static void record(void *ctx, const char *line)
{
	struct lines *l = ctx;
	if (l->n < 16)
		snprintf(l->text[l->n++], sizeof l->text[0], "%s", line);
}

/* This process, read as collect reads it. */
static void read_self(struct snapshot *s)
{
	struct read_opts o = { .bid = BID_NATIVE, .set = MAPPINGS_EXEC };
	struct errmsg err;
	snapshot_init(s);
	assert_int_equal(snapshot_read(s, (uint64_t)getpid(), &o, &err), READ_OK);
}

static struct mapping *main_mapping(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		if ((s->map[i].flags & MAPF_MAIN) && s->map[i].bid_kind == BIDK_GNU)
			return &s->map[i];
	fail_msg("the test program has no GNU build ID");
	return NULL;
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static const char *own_name(const struct snapshot *s, const struct mapping *m)
{
	size_t n;
	return collect_basename(snapshot_str(s, m->file), 0, &n);
}

static void test_copy_and_present(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_collect.XXXXXX", path[4096];
	struct snapshot s;
	struct errmsg err;
	assert_non_null(mkdtemp(dir));
	read_self(&s);
	struct mapping *m = main_mapping(&s);
	const char *id = snapshot_str(&s, m->build_id);

	struct collect c = { .dir = dir };
	assert_int_equal(collect_snapshot(&c, &s, &err), 0);
	assert_int_equal(c.st.skipped, 0);
	assert_true(c.st.copied >= 2);	/* this program and libc at least */
	snprintf(path, sizeof path, "%s/%s/%s", dir, id, own_name(&s, m));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	snprintf(path, sizeof path, "%s/.build-id/%.2s/%s", dir, id, id + 2);
	assert_int_equal(stat(path, &st), 0);
	uint64_t copied = c.st.copied;
	collect_free(&c);

	struct collect again = { .dir = dir };
	assert_int_equal(collect_snapshot(&again, &s, &err), 0);
	assert_int_equal(again.st.copied, 0);
	assert_int_equal(again.st.present, copied);
	collect_free(&again);
	snapshot_free(&s);
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A file whose contents do not carry the mapping's ID is not published. */
static void test_build_id_checked(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_collect.XXXXXX", path[4096];
	static const char other[] = "00112233445566778899aabbccddeeff00112233";
	struct snapshot s;
	struct errmsg err;
	struct lines l = { .n = 0 };
	assert_non_null(mkdtemp(dir));
	read_self(&s);
	struct mapping *m = main_mapping(&s);
	char real[2 * BUILDID_MAX + 1];
	snprintf(real, sizeof real, "%s", snapshot_str(&s, m->build_id));
	assert_int_equal(snapshot_set(&s, &m->build_id, other), 0);

	struct collect c = { .dir = dir, .skipped = record, .ctx = &l };
	assert_int_equal(collect_snapshot(&c, &s, &err), 0);
	assert_int_equal(c.st.skipped, 1);
	assert_int_equal(c.st.nreasons, 1);
	assert_string_equal(c.st.reason[0], "contents have another build ID");
	assert_int_equal(l.n, 1);
	char want[512];
	snprintf(want, sizeof want, ": contents have another build ID: the file has %s, the mapping %s",
		 real, other);
	assert_non_null(strstr(l.text[0], want));
	snprintf(path, sizeof path, "%s/%s", dir, other);
	assert_int_equal(entries(path), -1);	/* no copy, no temporary file, no directory */
	snprintf(path, sizeof path, "%s/.build-id/%.2s", dir, other);
	assert_int_equal(entries(path), -1);
	collect_free(&c);
	snapshot_free(&s);
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_size_bound(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_collect.XXXXXX";
	struct snapshot s;
	struct errmsg err;
	assert_non_null(mkdtemp(dir));
	read_self(&s);
	struct collect c = { .dir = dir, .max_file_size = 100 };
	assert_int_equal(collect_snapshot(&c, &s, &err), 0);
	assert_int_equal(c.st.copied, 0);
	assert_true(c.st.skipped >= 2);
	assert_int_equal(c.st.nreasons, 1);
	assert_string_equal(c.st.reason[0], "larger than the size limit");
	assert_int_equal(entries(dir), 0);
	collect_free(&c);
	snapshot_free(&s);
	assert_int_equal(rmdir(dir), 0);
}

/* The public call, as a profiler embedding libmodmap would make it. */
static void test_public_api(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_collect.XXXXXX", sub[64];
	struct modmap_options o = { .build_id = MODMAP_BUILD_ID_NATIVE };
	struct modmap_snapshot *s;
	struct modmap_error err;
	struct modmap_collect_stats st;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof sub, "%s/a/b", dir);	/* made with its parents */
	assert_int_equal(modmap_snapshot_read((uint64_t)getpid(), &o, &s, &err), 0);
	assert_int_equal(modmap_collect(s, sub, 0, NULL, NULL, &st, &err), 0);
	assert_true(st.copied >= 2 && st.bytes > 0 && st.skipped == 0);
	assert_int_equal(modmap_collect(s, sub, 0, NULL, NULL, &st, &err), 0);
	assert_true(st.copied == 0 && st.present >= 2);
	assert_int_equal(modmap_collect(s, "", 0, NULL, NULL, &st, &err), -1);
	modmap_snapshot_free(s);
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basename),
		cmocka_unit_test(test_copy_and_present),
		cmocka_unit_test(test_build_id_checked),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_public_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
