/*
 * os/linux_jit.c - JIT symbols of a target (docs/jit.md): its perf map and
 * jitdump files, found inside its root and opened by the checked rules,
 * and the mappings they describe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "checked_open.h"
#include "jit.h"
#include "os/linux_target.h"

/* The perf map is read in pieces of this size; a longer line is garbage. */
#define PERFMAP_CHUNK ((size_t)1 << 20)
/* ... and no more than this much of it, whatever its size. */
#define PERFMAP_MAX ((uint64_t)1 << 30)

/* The user the process runs as: the owner of its /proc directory. */
static uint32_t target_uid(const struct target *t)
{
	struct stat st;
	return fstat(t->proc, &st) == 0 ? (uint32_t)st.st_uid : 0;
}

/*
 * Opens dir/name inside the target's root for reading, as a perf map may
 * be read (SPEC "Trust", docs/security.md): no symbolic link on the way,
 * no mount over the file, a regular file the process's user or root owns,
 * not on procfs or sysfs. -1 otherwise. Nothing on a file system whose
 * server may never answer (FUSE, network) is even looked up: the root is
 * checked before a name is looked up in it, dir before name is.
 */
static int open_jit_file(struct target *t, const char *dir, const char *name, struct stat *st)
{
	static const struct open_rules dir_rules = { .in_root = 1, .no_symlinks = 1 };
	struct open_rules rules = { .no_symlinks = 1, .same_mount = 1, .regular = 1,
				    .not_procfs = 1, .owner = 1 };
	struct open_info info;
	struct errmsg why;
	if (t->root < 0 || root_untrusted(t))
		return -1;
	rules.owner_uid = target_uid(t);
	int d = checked_openat(t->root, dir, O_PATH | O_DIRECTORY, &dir_rules, NULL, &why);
	int fd = d >= 0 && !fd_untrusted(t, d) ? checked_openat(d, name, O_RDONLY, &rules, &info, &why)
					       : -1;
	if (d >= 0)
		close(d);
	if (fd >= 0)
		st->st_size = (off_t)info.size;
	return fd;
}

/* /tmp/perf-NSPID.map inside the target's root, streamed line by line. */
static void read_perf_map(struct target *t, uint64_t ns_pid)
{
	char name[64];
	struct stat st;
	snprintf(name, sizeof name, "perf-%llu.map", (unsigned long long)ns_pid);
	int fd = open_jit_file(t, "/tmp", name, &st);
	if (fd < 0)
		return;
	char *buf = malloc(PERFMAP_CHUNK);
	size_t have = 0;
	uint64_t total = 0;
	int skipping = 0;	/* inside a line too long to hold */
	while (buf && total < PERFMAP_MAX) {
		ssize_t r = read(fd, buf + have, PERFMAP_CHUNK - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		total += (uint64_t)r;
		have += (size_t)r;
		char *start = buf;
		if (skipping) {
			char *nl = memchr(buf, '\n', have);
			if (!nl) {
				have = 0;
				continue;
			}
			start = nl + 1;
			skipping = 0;
		}
		char *last = memrchr(start, '\n', have - (size_t)(start - buf));
		if (!last) {
			if (start == buf && have == PERFMAP_CHUNK) {
				t->s->jit->dropped++;
				skipping = 1;
				have = 0;
			} else {
				have -= (size_t)(start - buf);
				memmove(buf, start, have);
			}
			continue;
		}
		perfmap_parse(t->s->jit, start, (size_t)(last + 1 - start));
		have -= (size_t)(last + 1 - buf);
		memmove(buf, last + 1, have);
	}
	if (buf && !skipping && have)
		perfmap_parse(t->s->jit, buf, have);	/* the last line, without newline */
	free(buf);
	close(fd);
}

static long fd_read_at(void *ctx, uint64_t off, void *buf, size_t cap)
{
	ssize_t r;
	do
		r = pread(*(int *)ctx, buf, cap, (off_t)off);
	while (r < 0 && errno == EINTR);
	return (long)r;
}

/* Does name end in "/jit-NSPID.dump"? */
static int is_jitdump_name(const char *name, uint64_t ns_pid)
{
	char want[48];
	int n = snprintf(want, sizeof want, "/jit-%llu.dump", (unsigned long long)ns_pid);
	size_t len = strlen(name);
	return len >= (size_t)n && strcmp(name + len - (size_t)n, want) == 0;
}

/*
 * The jitdump the runtime keeps mapped (executable, so perf records the
 * mapping): opened as the mapped file, as for build IDs.
 */
static void read_jitdump(struct target *t, uint64_t ns_pid)
{
	for (size_t i = 0; i < t->s->n; i++) {
		const struct mapping *m = &t->s->map[i];
		if (!(m->flags & MAPF_FILE) || !is_jitdump_name(snapshot_str(t->s, m->file), ns_pid))
			continue;
		struct stat st;
		const char *why;
		int impostor;
		int pfd = open_mapped(t, m, &st, &why, &impostor);
		if (pfd < 0)
			continue;
		/* As a perf map: the process's user's or root's, not procfs's. */
		struct statfs sf;
		uint32_t uid = target_uid(t);
		if ((st.st_uid != 0 && st.st_uid != uid) || fstatfs(pfd, &sf) < 0 ||
		    sf.f_type == PROC_SUPER_MAGIC_ || sf.f_type == 0x62656572 /* SYSFS_MAGIC */) {
			close(pfd);
			continue;
		}
		char self[PROC_PATH];
		snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
		int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		close(pfd);
		if (fd < 0)
			continue;
		jitdump_read(t->s->jit, fd_read_at, &fd, &why);
		close(fd);
		return;	/* one file: the same one may be mapped more than once */
	}
}

/* Does any JIT symbol lie in [start, limit)? */
static int holds_jit(const struct jit_table *j, uint64_t start, uint64_t limit)
{
	size_t lo = 0, hi = j->nseg;	/* the first segment ending above start */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (j->seg[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < j->nseg && j->seg[lo].start < limit;
}

/*
 * Nameless executable regions: those holding JIT symbols are named
 * "[jit]"; under --mappings exec the others go, as without --jit.
 */
static int jit_mappings(struct target *t)
{
	struct snapshot *s = t->s;
	uint32_t name = 0;
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct mapping m = s->map[i];
		if (m.file == 0 && !(m.flags & MAPF_FILE) && (m.prot & PERM_X)) {
			if (holds_jit(s->jit, m.start, m.limit)) {
				if (!name && (name = snapshot_intern_str(s, "[jit]")) == UINT32_MAX)
					return -1;
				m.file = name;
			} else if (t->o->set != MAPPINGS_ALL) {
				continue;
			}
		}
		s->map[k++] = m;
	}
	s->n = k;
	return 0;
}

int read_jit(struct target *t)
{
	if (!(t->s->jit = malloc(sizeof *t->s->jit)))
		return -1;
	jit_table_init(t->s->jit);
	uint64_t ns_pid = t->s->ns_pid ? t->s->ns_pid : t->pid;
	read_perf_map(t, ns_pid);
	read_jitdump(t, ns_pid);
	if (jit_finish(t->s->jit) < 0)
		return -1;
	return jit_mappings(t);
}
