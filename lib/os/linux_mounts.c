/*
 * os/linux_mounts.c - which of a target's files may stall a reader (a
 * FUSE or network file system, from its mountinfo and the host's FUSE
 * connections, never from the file system itself), and reading the
 * identity of such a file in a grandchild that runs out of time without
 * holding this process.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "os/linux_target.h"

static uint64_t monotonic_nanos(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Reads the identity of an untrusted file (MAPF_UNTRUSTED_FS) in a
 * grandchild, which a stalled server can hold forever without holding this
 * process: its reader sleeps where no signal ends it, so no thread could
 * be abandoned (a process cannot exit while one is stuck). The child in
 * between exits at once, so the grandchild is never this process's zombie;
 * it is sent SIGKILL when out of time, and dies once the read returns.
 */
int be_untrusted_identity(void *be, const struct mapping *m, struct identity *id)
{
	struct target *t = be;
	memset(id, 0, sizeof *id);
	if (!t->o || !t->o->read_fuse || t->timed_out)
		return -1;
	uint64_t now = monotonic_nanos();
	if (!t->deadline)
		t->deadline = now + (t->o->timeout_ms ? t->o->timeout_ms : 5000) * 1000000u;
	if (now >= t->deadline) {
		t->timed_out = m->file;
		return -1;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t c = fork();
	if (c == 0) {
		pid_t g = fork();
		if (g != 0) {
			int32_t gp = (int32_t)g;
			_exit(write(p[1], &gp, sizeof gp) == (ssize_t)sizeof gp ? 0 : 1);
		}
		struct mapping copy = *m;
		struct region_file f;
		const char *why = NULL;
		int impostor;
		struct identity r;
		memset(&r, 0, sizeof r);
		copy.flags &= ~(uint32_t)MAPF_UNTRUSTED_FS;
		if (be_open_file(t, &copy, &f, &why, &impostor) == 0) {
			be_read_identity(t, &f, &r);
			be_close_file(t, &f);
		} else {
			r.error = why ? why : "cannot open the file";
		}
		/* r.error is static text: the same address in the parent */
		_exit(write(p[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
	}
	close(p[1]);
	int32_t g = 0;
	int got = 0;
	if (c > 0) {
		waitpid(c, NULL, 0);
		got = read(p[0], &g, sizeof g) == (ssize_t)sizeof g && g > 0;
	}
	int rc = -1;
	while (got) {
		now = monotonic_nanos();
		int ms = now >= t->deadline ? 0 : (int)((t->deadline - now + 999999) / 1000000);
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		int r = poll(&pf, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0 && read(p[0], id, sizeof *id) == (ssize_t)sizeof *id) {
			rc = id->gnu[0] || id->go[0] ? 0 : -1;
			waitpid(g, NULL, WNOHANG);
		} else if (r == 0) {
			t->timed_out = m->file;
			kill(g, SIGKILL);
		}
		break;
	}
	close(p[0]);
	return rc;
}

/*
 * Is the file on device major:minor served by a server that may never
 * answer (mount_dev_untrusted)? Decided from the process's mountinfo, read
 * once per snapshot and never from the file system itself (its statfs
 * would ask the server too).
 */
static void read_mounts(struct target *t)
{
	if (!t->mounts_read) {
		t->mounts_read = 1;
		int fd = proc_openat(t->checked, t->task, "mountinfo", O_RDONLY);
		char *text;
		size_t len;
		if (fd >= 0 && read_all(fd, &text, &len) == 0) {
			size_t n = mountinfo_devices(text, len, NULL, 0);
			if ((t->mounts = malloc((n ? n : 1) * sizeof *t->mounts)))
				t->nmounts = mountinfo_devices(text, len, t->mounts, n);
			free(text);
		}
		if (fd >= 0)
			close(fd);
	}
}

/*
 * Is major:minor the kernel's own shared-memory mount, which no mountinfo
 * lists (memfd_create, SysV shm, shared anonymous memory)? Asked of a
 * memfd of our own: the mount is one for the whole system.
 */
static int is_shm_dev(struct target *t, uint32_t major, uint32_t minor)
{
	if (!t->shm_known) {
		t->shm_known = 1;
		int fd = (int)syscall(SYS_memfd_create, "modmap-probe", 1u /* MFD_CLOEXEC */);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0) {
			t->shm_major = major(st.st_dev);
			t->shm_minor = minor(st.st_dev);
			t->shm_found = 1;
		}
		if (fd >= 0)
			close(fd);
	}
	return t->shm_found && major == t->shm_major && minor == t->shm_minor;
}

int file_untrusted(struct target *t, uint32_t major, uint32_t minor)
{
	read_mounts(t);
	return mount_dev_untrusted(t->mounts, t->nmounts, major, minor) &&
	       !is_shm_dev(t, major, minor);
}

/* The ID of the mount fd is on, from /proc/self/fdinfo: the VFS's own
 * record, for which no file system is asked. 0 when it cannot be read. */
static uint64_t fd_mount_id(int fd)
{
	char path[48], buf[512];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 0;
	ssize_t n = read(f, buf, sizeof buf - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *p = strstr(buf, "\nmnt_id:");
	if (!p)
		return 0;
	for (p += 8; *p == ' ' || *p == '\t'; p++)
		;
	uint64_t id;
	return proc_parse_dec(&p, buf + n, &id) == 0 ? id : 0;
}

int fd_untrusted(struct target *t, int fd)
{
	read_mounts(t);
	uint64_t id = fd_mount_id(fd);
	return !id || mount_id_untrusted(t->mounts, t->nmounts, id);
}

int root_untrusted(struct target *t)
{
	if (!t->root_checked) {
		t->root_checked = 1;
		t->root_untrusted = t->root >= 0 && fd_untrusted(t, t->root);
	}
	return t->root_untrusted;
}

/*
 * Might a file of the process be on a server that never answers? Its
 * mounts list one, or a FUSE connection lives on the host (fusectl, where
 * mounted, lists those detached by a lazy unmount too, which no mountinfo
 * shows).
 */
static int any_untrusted_mount(struct target *t)
{
	read_mounts(t);
	for (size_t i = 0; i < t->nmounts; i++)
		if (t->mounts[i].untrusted)
			return 1;
	DIR *d = opendir("/sys/fs/fuse/connections");
	int any = 0;
	struct dirent *e;
	while (d && !any && (e = readdir(d)))
		any = e->d_name[0] != '.';
	if (d)
		closedir(d);
	return any;
}

/* Asked once a process: every mapped file's opening asks it. */
int untrusted_mounts(struct target *t)
{
	if (!t->risky_checked) {
		t->risky_checked = 1;
		t->risky = any_untrusted_mount(t);
	}
	return t->risky;
}
