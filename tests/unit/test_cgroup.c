/*
 * test_cgroup.c - a process's cgroup and container ID from the text the
 * kernel writes, on the path shapes the container runtimes make.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cgroup.h"
#include "os/linux.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *pick(const char *text)
{
	static char out[512];
	const char *p;
	size_t n;
	if (cgroup_path(text, strlen(text), &p, &n) < 0)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

static void test_path_prefers_v2_then_systemd_then_first(void **state)
{
	(void)state;
	assert_string_equal(pick("0::/user.slice/a.scope\n"), "/user.slice/a.scope");
	/* Hybrid: v1 lines first, the unified one last. */
	assert_string_equal(pick("12:cpu,cpuacct:/x\n1:name=systemd:/sys\n0::/uni\n"), "/uni");
	assert_string_equal(pick("12:cpu,cpuacct:/x\n1:name=systemd:/sys:tem\n"), "/sys:tem");
	assert_string_equal(pick("4:memory:/m\n3:pids:/p"), "/m");
	assert_null(pick(""));
	assert_null(pick("garbage\nno colons here\n"));
	/* A "0::" line must be exactly that: 10:: is a v1 hierarchy. */
	assert_string_equal(pick("10::/ten\n0::/zero\n"), "/zero");
}

static const char *cid(const char *path)
{
	static char out[CONTAINER_ID_LEN + 1];
	return cgroup_container_id(path, strlen(path), out) == 0 ? out : NULL;
}

static void test_container_ids_of_every_runtime(void **state)
{
	(void)state;
	static const char *const named[] = {
		"/system.slice/docker-" ID ".scope",
		"/docker/" ID,
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
		"cri-containerd-" ID ".scope",
		"/kubepods.slice/kubepods-pod2.slice/crio-" ID ".scope",
		"/machine.slice/libpod-" ID ".scope",
		"/kubepods/burstable/pod3c1e/" ID,
		"/kubepods/besteffort/pod3c1e/" ID "/",
		"/system.slice/docker-" ID ".scope/init.scope",	/* systemd inside */
	};
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		const char *got = cid(named[i]);
		assert_non_null(got);
		assert_string_equal(got, ID);
	}
	static const char *const none[] = {
		"/", "", "/user.slice/user-1000.slice/session-2.scope",
		"/system.slice/docker.service",
		"/kubepods.slice/crio-conmon-" ID ".scope",	/* CRI-O's monitor */
		"/docker/" ID "0",				/* 65 digits */
		"/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"/system.slice/docker-" ID ".scop",
		"/system.slice/docker-" ID,
	};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		assert_null(cid(none[i]));
}

static void test_innermost_id_wins(void **state)
{
	(void)state;
	const char *path = "/docker/" ID "/docker/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
	assert_string_equal(cid(path),
			    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
}

static void test_ns_pid_is_the_last_of_nspid(void **state)
{
	(void)state;
	static const char one[] = "Name:\tsleep\nPid:\t42\nNSpid:\t42\nNSpgid:\t42\n";
	static const char nested[] = "Name:\tsleep\nNSpid:\t4242\t17\t1\nNSpgid:\t1\n";
	static const char none[] = "Name:\tsleep\nPid:\t42\n";
	static const char cut[] = "Name:\tx\nNSpid:\t";
	assert_int_equal(status_ns_pid(one, sizeof one - 1), 42);
	assert_int_equal(status_ns_pid(nested, sizeof nested - 1), 1);
	assert_int_equal(status_ns_pid(none, sizeof none - 1), 0);
	assert_int_equal(status_ns_pid(cut, sizeof cut - 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_prefers_v2_then_systemd_then_first),
		cmocka_unit_test(test_container_ids_of_every_runtime),
		cmocka_unit_test(test_innermost_id_wins),
		cmocka_unit_test(test_ns_pid_is_the_last_of_nspid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
