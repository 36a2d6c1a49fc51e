/*
 * os/linux.c - the Linux backend: a process's mappings from the
 * PROCMAP_QUERY ioctl (Linux 6.11+, os/linux_query.c) or from the text of
 * /proc/PID/maps (here), and each module's build ID, read from files
 * resolved inside the target's own root (os/linux_files.c). Here: the
 * target pinned by its /proc directory, the process's life, the read from
 * end to end and the backend object. os/linux_target.h lists the rest.
 *
 * Both sources produce the same records: names are normalised the same way
 * (the kernel's "\012" escape and " (deleted)" suffix resolved against the
 * file where its device and inode allow), and the gate area ([vsyscall]),
 * which /proc/PID/maps lists but the ioctl cannot, is added to the ioctl's.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "checked_open.h"
#include "escape.h"
#include "os/linux_target.h"
#include "os/os.h"

/*
 * fstatat that never asks a file system's server (AT_STATX_DONT_SYNC: FUSE
 * and NFS answer from what they have): for the target's root and exe,
 * which may sit on a server that never answers. Fills dev, ino and mode.
 */
static int stat_nosync(int dir, const char *name, struct stat *st)
{
	struct statx x;
	if (statx(dir, name, (*name ? 0 : AT_EMPTY_PATH) | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_INO, &x) < 0)
		return -1;
	memset(st, 0, sizeof *st);
	st->st_dev = makedev(x.stx_dev_major, x.stx_dev_minor);
	st->st_ino = x.stx_ino;
	st->st_mode = x.stx_mode;
	return 0;
}

/*
 * PROCFS/PID/NAME (NAME "": the process's directory) in out[PROC_PATH]:
 * the one place a path of the target's /proc is made, so --procfs reaches
 * every file (the rest are opened relative to the directory it names).
 */
const char *proc_path(const struct target *t, const char *name, char out[PROC_PATH])
{
	snprintf(out, PROC_PATH, "%s/%llu%s%s", t->procfs, (unsigned long long)t->pid,
		 *name ? "/" : "", name);
	return out;
}

static const char *errno_reason(int e)
{
	switch (e) {
	case ENOENT:
	case ESRCH:
		return "no such process";
	case EACCES:
	case EPERM:
		return "permission denied";
	default:
		return strerror(e);
	}
}

/*
 * Opens name in dir, a /proc/PID directory (or below it). Under a procfs
 * the caller gave (checked), where a user may have mounted another file
 * system over a PID directory or a file of its own proc mount: nothing
 * mounted on the way (RESOLVE_NO_XDEV) and procfs (fstatfs); for the
 * kernel's links (root, exe, map_files/...) the link itself is checked,
 * then followed. Unchecked, a plain openat: no cost on the host's /proc.
 */
int proc_openat(int checked, int dir, const char *name, int flags)
{
	if (!checked)
		return openat(dir, name, flags | O_CLOEXEC);
	struct errmsg why;
	if (strcmp(name, "root") == 0 || strcmp(name, "exe") == 0 ||
	    strncmp(name, "map_files/", 10) == 0) {
		static const struct open_rules link_rules = { .same_mount = 1, .procfs = 1 };
		int l = checked_openat(dir, name, O_PATH | O_NOFOLLOW, &link_rules, NULL, &why);
		if (l < 0)
			return -1;
		close(l);
		return openat(dir, name, flags | O_CLOEXEC);
	}
	static const struct open_rules rules = { .no_symlinks = 1, .same_mount = 1, .procfs = 1 };
	return checked_openat(dir, name, flags, &rules, NULL, &why);
}

/*
 * The process's /proc directory, O_PATH; under a procfs the caller gave,
 * only procfs's own, reached without a mount or a link (err, if not NULL,
 * then says why not).
 */
static int open_pid_dir(const struct target *t, struct errmsg *err)
{
	char path[PROC_PATH];
	if (!t->checked)
		return open(proc_path(t, "", path), O_PATH | O_DIRECTORY | O_CLOEXEC);
	static const struct open_rules rules = { .no_symlinks = 1, .same_mount = 1, .procfs = 1 };
	struct errmsg why;
	struct statfs sf;
	char name[24];
	snprintf(name, sizeof name, "%llu", (unsigned long long)t->pid);
	/* The caller's path to it, followed as given (/proc/PID/root/proc). */
	int top = open(t->procfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = -1;
	if (top >= 0 && (fstatfs(top, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC_)) {
		snprintf(why.text, sizeof why.text, "not on the proc filesystem");
		errno = EINVAL;
	} else if (top >= 0) {
		fd = checked_openat(top, name, O_PATH | O_DIRECTORY, &rules, NULL, &why);
	} else {
		snprintf(why.text, sizeof why.text, "%s", strerror(errno));
	}
	if (fd < 0 && errno != ENOENT && err)
		err_setc(err, ERR_BAD_INPUT, "pid %llu: %s: not the proc filesystem's own (%s)",
			 (unsigned long long)t->pid, proc_path(t, "", path), why.text);
	if (top >= 0)
		close(top);
	return fd;
}

/* Remembers a file's mapping at offset 0 (r, from the maps, in address order). */
int note_base(struct target *t, const struct maps_line *r)
{
	if (!r->inode || r->offset != 0)
		return 0;
	if (t->nbases == t->bases_cap) {
		size_t cap = t->bases_cap ? t->bases_cap * 2 : 64;
		struct file_base *b = realloc(t->bases, cap * sizeof *b);
		if (!b)
			return -1;
		t->bases = b;
		t->bases_cap = cap;
	}
	t->bases[t->nbases++] = (struct file_base){ r->start, r->limit, r->inode, r->dev_major,
						    r->dev_minor };
	return 0;
}

/*
 * Where m's file begins in memory: the nearest mapping of the same file at
 * offset 0 at or below m (a loader maps a file's start first, then the rest
 * above it). NULL if there is none.
 */
const struct file_base *find_base(const struct target *t, const struct mapping *m)
{
	const struct file_base *best = NULL;
	for (size_t i = 0; i < t->nbases; i++) {
		const struct file_base *b = &t->bases[i];
		if (b->inode == m->inode && b->dev_major == m->dev_major &&
		    b->dev_minor == m->dev_minor && b->start <= m->start &&
		    (!best || b->start > best->start))
			best = b;
	}
	return best;
}

static int live_thread(struct target *t);
static int read_stat(int checked, int dir, struct proc_stat *st);

/*
 * A target for reading one more thing of a process after its snapshot
 * (collect's files, lookup's headers): /proc/PID held open, its root.
 * target_close releases it.
 */
void target_reopen(struct target *t, const struct snapshot *s)
{
	struct stat a, b;
	struct proc_stat ps;
	*t = (struct target){
		.pid = s->pid, .procfs = s->procfs ? snapshot_str(s, s->procfs) : "/proc",
		.proc = -1, .task = -1, .maps = -1, .mem = -1, .root = -1,
		.s = (struct snapshot *)s, .checked = s->procfs != 0,
	};
	t->proc = t->task = open_pid_dir(t, NULL);
	/* A zombie leader has no root or memory: a live thread does, as when
	 * the snapshot was read (open_target). */
	if (t->proc >= 0 && read_stat(t->checked, t->proc, &ps) == 0 && ps.state == 'Z' &&
	    !(ps.flags & PF_KTHREAD))
		live_thread(t);
	t->root = t->task >= 0 ? proc_openat(t->checked, t->task, "root", O_PATH | O_DIRECTORY) : -1;
	t->same_root = t->root >= 0 && stat_nosync(t->root, "", &a) == 0 && stat("/", &b) == 0 &&
		       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void target_close(struct target *t)
{
	if (t->mem >= 0)
		close(t->mem);
	if (t->root >= 0)
		close(t->root);
	if (t->maps >= 0)
		close(t->maps);
	if (t->task >= 0 && t->task != t->proc)
		close(t->task);
	if (t->proc >= 0)
		close(t->proc);
	free(t->scratch);
	free(t->bases);
	free(t->mounts);
	gotz_free(t->zone);
}

/* One line of the maps text or one answer of the ioctl, as a region. */
int add_record(struct target *t, const struct maps_line *ml, int escaped,
	       const char *kernel_id)
{
	struct region r = {
		.start = ml->start,
		.limit = ml->limit,
		.offset = ml->offset,
		.inode = ml->inode,
		.dev_major = ml->dev_major,
		.dev_minor = ml->dev_minor,
		.prot = ml->prot,
		.flags = !ml->inode ? 0
			 : file_untrusted(t, ml->dev_major, ml->dev_minor) ? MAPF_FILE | MAPF_UNTRUSTED_FS
									    : MAPF_FILE,
		.name = ml->name,
		.name_len = ml->name_len,
		.name_escaped = escaped,
		.has_file = ml->inode != 0,
		.kernel_id = kernel_id,
	};
	if (note_base(t, ml) < 0)
		return -1;
	return region_add(&t->rr, &r);
}

int read_all(int fd, char **out, size_t *outlen)
{
	size_t cap = 64 * 1024, len = 0;
	char *p = malloc(cap);
	if (!p)
		return -1;
	for (;;) {
		if (cap - len < 4096) {
			char *q = realloc(p, cap * 2);
			if (!q) {
				free(p);
				errno = ENOMEM;
				return -1;
			}
			p = q;
			cap *= 2;
		}
		ssize_t r = read(fd, p + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(p);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*out = p;
	*outlen = len;
	return 0;
}

static int source_maps(struct target *t, int fd, struct errmsg *err)
{
	char *text;
	size_t len;
	t->bases_all = 1;	/* every line passes note_base, in address order */
	if (read_all(fd, &text, &len) < 0) {
		if (errno == ESRCH)
			return MAPS_NO_MM;	/* the address space is gone */
		char path[PROC_PATH];
		err_sete(err, errno, "pid %llu: reading %s: %s", (unsigned long long)t->pid,
			proc_path(t, "maps", path), strerror(errno));
		return -1;
	}
	/* An exec after the open leaves this descriptor on the old, released
	 * address space: its text ends early, and reads nothing from the
	 * start now. Says so, for the caller to read the new image. */
	char first;
	if (len == 0 || pread(fd, &first, 1, 0) == 0) {
		free(text);
		return len ? -4 : -3;
	}
	int rc = 0;
	for (size_t pos = 0; pos < len && rc == 0;) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		pos += ll + 1;
		struct maps_line ml;
		if (maps_parse_line(line, ll, &ml) < 0) {
			char path[PROC_PATH];
			err_set(err, "pid %llu: %s: unexpected line: %.*s", (unsigned long long)t->pid,
				proc_path(t, "maps", path), (int)(ll < 60 ? ll : 60), line);
			rc = -1;
			break;
		}
		if (add_record(t, &ml, 1, NULL) < 0) {
			err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)t->pid);
			rc = -1;
		}
	}
	free(text);
	return rc;
}

/* The stat file in the directory dir (/proc/PID or a task's); -1 if unreadable. */
static int read_stat(int checked, int dir, struct proc_stat *st)
{
	char buf[1024];
	int fd = proc_openat(checked, dir, "stat", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	if (n <= 0)
		return -1;
	return proc_stat_parse(buf, (size_t)n, st);
}

/*
 * A process whose leader has exited while other threads run: the leader is
 * a zombie with no address space, but the threads share one. Points
 * t->task at the first live thread's directory; 0, or -1 if there is none.
 */
static int live_thread(struct target *t)
{
	int fd = proc_openat(t->checked, t->proc, "task", O_RDONLY | O_DIRECTORY);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *e;
	int found = -1;
	while (found < 0 && (e = readdir(d))) {
		const char *p = e->d_name;
		uint64_t tid;
		struct proc_stat st;
		if (proc_parse_dec(&p, p + strlen(p), &tid) < 0 || *p || tid == t->pid)
			continue;
		int task = proc_openat(t->checked, dirfd(d), e->d_name, O_PATH | O_DIRECTORY);
		if (task >= 0 && read_stat(t->checked, task, &st) == 0 && st.state != 'Z' && st.state != 'X') {
			t->task = task;
			found = 0;
		} else if (task >= 0) {
			close(task);
		}
	}
	closedir(d);
	return found;
}

/*
 * Why a process gave no mappings: a kernel thread, a zombie, or gone
 * (READ_SKIP, err set); READ_OK when it is none of these.
 */
static enum read_status explain_empty(struct target *t, struct errmsg *err)
{
	struct proc_stat st;
	uint64_t pid = t->pid;
	if (read_stat(t->checked, t->proc, &st) < 0) {
		err_set(err, "pid %llu: process exited while being read", (unsigned long long)pid);
		return READ_SKIP;
	}
	if (st.flags & PF_KTHREAD) {
		err_set(err, "pid %llu: kernel thread (it has no memory map)",
			(unsigned long long)pid);
		return READ_SKIP;
	}
	if (st.state == 'Z' || st.state == 'X') {
		err_set(err, "pid %llu: process has exited (zombie)", (unsigned long long)pid);
		return READ_SKIP;
	}
	/* Exiting: its memory is released before it becomes a zombie. */
	if (st.flags & PF_EXITING) {
		err_set(err, "pid %llu: process exited while being read", (unsigned long long)pid);
		return READ_SKIP;
	}
	return READ_OK;
}

/* Marks the main executable's mappings and records its path. */
static int mark_main(struct target *t)
{
	char link[PATH_MAX];
	struct stat st;
	int have_st = stat_nosync(t->task, "exe", &st) == 0;
	ssize_t n = readlinkat(t->task, "exe", link, sizeof link - 1);
	link[n > 0 ? n : 0] = '\0';

	for (size_t i = 0; i < t->s->n; i++) {
		struct mapping *m = &t->s->map[i];
		if (!(m->flags & MAPF_FILE))
			continue;
		if (have_st ? (m->inode == st.st_ino && m->dev_major == major(st.st_dev) &&
			       m->dev_minor == minor(st.st_dev))
			    : (n > 0 && strcmp(snapshot_str(t->s, m->file), link) == 0)) {
			m->flags |= MAPF_MAIN;
			if (!t->s->exe)
				t->s->exe = m->file;	/* normalised like every name */
		}
	}
	if (!t->s->exe && n > 0) {
		t->s->exe = snapshot_intern(t->s, link, (size_t)n);
		if (t->s->exe == UINT32_MAX)
			return -1;
	}
	return 0;
}

/* Up to cap bytes of a small file of the pinned /proc/PID; its length, or -1. */
static ssize_t read_small(int checked, int procfd, const char *name, char *buf, size_t cap)
{
	int fd = proc_openat(checked, procfd, name, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len < cap) {
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	return (ssize_t)len;
}

/*
 * comm, ns_pid, cgroup and container_id, from three small files read in
 * the same pass. A process that exits meanwhile keeps what was read.
 */
static int read_process_identity(struct target *t)
{
	struct snapshot *s = t->s;
	char buf[16384];
	ssize_t n = read_small(t->checked, t->proc, "comm", buf, 64);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && (s->comm = snapshot_intern(s, buf, (size_t)n)) == UINT32_MAX)
		return -1;
	s->ns_pid = t->pid;
	n = read_small(t->checked, t->proc, "status", buf, sizeof buf);
	uint64_t ns = n > 0 ? status_ns_pid(buf, (size_t)n) : 0;
	if (ns)
		s->ns_pid = ns;
	n = read_small(t->checked, t->proc, "cgroup", buf, sizeof buf);
	const char *path;
	size_t plen;
	if (n > 0 && cgroup_path(buf, (size_t)n, &path, &plen) == 0) {
		char id[CONTAINER_ID_LEN + 1];
		if ((s->cgroup = snapshot_intern(s, path, plen)) == UINT32_MAX)
			return -1;
		if (cgroup_container_id(path, plen, id) == 0 &&
		    (s->container_id = snapshot_intern(s, id, CONTAINER_ID_LEN)) == UINT32_MAX)
			return -1;
	}
	return 0;
}

static uint64_t now_nanos(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Reads the mappings through t->maps: 0, or as source_query; -4 when the
 * text ended early (its address space went: an exec, or the end). */
static int read_maps(struct target *t, struct errmsg *err)
{
	/*
	 * auto takes the ioctl whenever the kernel has it. Measured against
	 * the text (bench/job_snapshot.sh, docs/performance.md) it is as fast
	 * or faster also without build IDs and with every mapping asked for,
	 * the cases the text might have won; the text wins only where
	 * thousands of executable mappings share one file with IDs wanted
	 * (the kernel parses the note per mapping), which cannot be known
	 * before reading.
	 */
	int rc = MAPS_NO_QUERY;
	if (t->o->source != SOURCE_MAPS) {
		rc = source_query(t, t->maps, err);
		if (rc == MAPS_NO_QUERY && t->o->source == SOURCE_QUERY) {
			err_setc(err, ERR_UNSUPPORTED,
				 "pid %llu: this kernel has no PROCMAP_QUERY (Linux 6.11+)",
				 (unsigned long long)t->pid);
			rc = -1;
		}
	}
	if (rc == MAPS_NO_QUERY)
		rc = source_maps(t, t->maps, err);
	if (rc == 0 && (mark_main(t) < 0 || read_process_identity(t) < 0 ||
			(t->o->jit && read_jit(t) < 0))) {
		err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)t->pid);
		rc = -1;
	}
	return rc;
}

/*
 * Opens what the read goes through: t->proc, pinning the process; t->task
 * (a live thread's when the leader is a zombie); t->maps; t->root. Fills
 * *born with the process's stat. READ_OK, or why not with err set.
 */
static enum read_status open_target(struct target *t, struct proc_stat *born,
				    struct errmsg *err)
{
	char path[PROC_PATH];
	unsigned long long pid = (unsigned long long)t->pid;
	t->proc = open_pid_dir(t, err);
	if (t->proc < 0 && t->checked && errno != ENOENT)
		return READ_FAILED;
	if (t->proc < 0 || read_stat(t->checked, t->proc, born) < 0) {
		err_setc(err, ERR_NO_PROCESS, "pid %llu: no such process", pid);
		return READ_SKIP;
	}
	t->task = t->proc;
	/* Else it stays the zombie, which explain_empty names. The thread's
	 * own stat is what tells later whether it still lives. */
	if (born->state == 'Z' && !(born->flags & PF_KTHREAD) && live_thread(t) == 0 &&
	    read_stat(t->checked, t->task, born) < 0) {
		err_setc(err, ERR_NO_PROCESS, "pid %llu: process exited while being read", pid);
		return READ_SKIP;
	}

	t->maps = proc_openat(t->checked, t->task, "maps", O_RDONLY);
	if (t->maps < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			err_setc(err, ERR_PERMISSION,
				 "pid %llu: permission denied (reading %s needs ptrace access)", pid,
				 proc_path(t, "maps", path));
		else
			err_setc(err, e == ENOENT ? ERR_NO_PROCESS : err_code_errno(e), "pid %llu: %s",
				 pid, errno_reason(e));
		/* Gone: under --all, one that exited after the listing. */
		return e == ENOENT || e == ESRCH ? READ_SKIP : READ_FAILED;
	}
	t->root = proc_openat(t->checked, t->task, "root", O_PATH | O_DIRECTORY);
	struct stat a, b;
	t->same_root = t->root >= 0 && stat_nosync(t->root, "", &a) == 0 && stat("/", &b) == 0 &&
		       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	return READ_OK;
}

/* How many times one read starts again after the process exec'd under it. */
enum { EXEC_RETRIES = 8 };

/*
 * An address space gone while the same life goes on is an exec: the maps
 * descriptor held the old image. Reads the new one, a few times at most
 * (a process may exec in a loop). Returns read_maps's last answer (rc
 * when there was nothing to read again).
 */
static int read_after_exec(struct target *t, const struct proc_stat *born, int rc,
			   struct errmsg *err)
{
	struct proc_stat now;
	for (int again = 0; (rc == -3 || rc == -4) && again < EXEC_RETRIES && !(born->flags & PF_KTHREAD) &&
			    read_stat(t->checked, t->task, &now) == 0 && proc_stat_same_live(born, &now) &&
			    !(now.flags & PF_EXITING);
	     again++) {
		t->s->n = 0;
		t->s->exe = 0;
		t->rr.have_prev = 0;
		t->nbases = 0;
		if (t->mem >= 0)
			close(t->mem);
		t->mem = -1;
		close(t->maps);
		t->maps = proc_openat(t->checked, t->task, "maps", O_RDONLY);
		if (t->maps < 0)
			break;	/* gone, or set-user-ID now: explained below */
		rc = read_maps(t, err);
	}
	return rc;
}

/* The error of a read that ran out of time on t->timed_out. */
static void timed_out_error(const struct target *t, struct errmsg *err)
{
	struct buf line = { 0 };
	const char *f = snapshot_str(t->s, t->timed_out);
	buf_printf(&line, "pid %llu: timed out after %llu ms reading ", (unsigned long long)t->pid,
		   (unsigned long long)(t->o->timeout_ms ? t->o->timeout_ms : 5000));
	escape_put(&line, f, strlen(f), 0);
	buf_puts(&line, " (its file system's server does not answer)");
	buf_putc(&line, '\0');
	err_set(err, "%s", line.oom ? "timed out" : (const char *)line.p);
	buf_free(&line);
}

/*
 * What a read comes to, from open_target's status st and read_maps's rc:
 * a timeout, an exit while being read (the text just ends, or the life
 * ended), or an empty or missing address space explained.
 */
static enum read_status read_outcome(struct target *t, const struct proc_stat *born,
				     enum read_status st, int rc, struct errmsg *err)
{
	const struct snapshot *s = t->s;
	unsigned long long pid = (unsigned long long)t->pid;
	struct proc_stat now;
	if (st == READ_OK && t->timed_out) {
		timed_out_error(t, err);
		st = READ_FAILED;
		rc = -1;
	}
	if (rc == -4) {	/* the text ended early: not an exec, so an exit */
		err_set(err, "pid %llu: process exited while being read", pid);
		st = READ_SKIP;
		rc = -1;
	}
	/* A process that exited while being read leaves a partial list (the
	 * text just ends): only one still alive, in the same life, counts. */
	int alive = st == READ_OK && rc != -1 && read_stat(t->checked, t->task, &now) == 0 &&
		    proc_stat_same_live(born, &now);
	if (st == READ_OK && rc != -1 && s->n > 0 && !alive && !(born->flags & PF_KTHREAD)) {
		err_set(err, "pid %llu: process exited while being read", pid);
		st = READ_SKIP;
	}
	if (st == READ_OK && rc == -1)
		st = READ_FAILED;
	if (st == READ_OK && (rc == MAPS_NO_MM || s->n == 0)) {
		st = explain_empty(t, err);
		if (st == READ_OK && rc == MAPS_NO_MM) {
			err_set(err, "pid %llu: process has no address space", pid);
			st = READ_FAILED;
		}
	}
	return st;
}

static enum read_status linux_read(struct snapshot *s, uint64_t pid, const struct read_opts *o,
				   struct errmsg *err)
{
	struct target t = {
		.pid = pid, .procfs = o->procfs ? o->procfs : "/proc",
		.proc = -1, .task = -1, .maps = -1, .mem = -1, .root = -1, .s = s, .o = o,
		.checked = o->procfs != NULL,
	};
	t.rr.ops = &linux_ops;
	t.rr.be = &t;
	t.rr.s = s;
	t.rr.o = o;

	s->pid = pid;
	s->os = "linux";
	s->time_nanos = now_nanos();
	/* Kept for what later opens the process's files (collect). */
	if (o->procfs) {
		if (snapshot_check_procfs(o->procfs, err) < 0)
			return READ_FAILED;
		if (snapshot_set(s, &s->procfs, o->procfs) < 0) {
			err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory",
				 (unsigned long long)pid);
			return READ_FAILED;
		}
	}

	struct proc_stat born = { 0 };
	enum read_status st = open_target(&t, &born, err);
	int rc = st == READ_OK ? read_maps(&t, err) : 0;
	rc = read_after_exec(&t, &born, rc, err);
	s->start_time = born.start_time;
	st = read_outcome(&t, &born, st, rc, err);
	target_close(&t);
	return st;
}

static uint64_t linux_self_pid(void)
{
	return (uint64_t)getpid();
}

static int linux_check_procfs(const char *dir, struct errmsg *err)
{
	struct statfs sf;
	if (strlen(dir) > PROCFS_MAX) {
		err_setc(err, ERR_BAD_INPUT, "%.64s...: procfs path longer than %d bytes", dir,
			 PROCFS_MAX);
		return -1;
	}
	if (statfs(dir, &sf) < 0) {
		err_setc(err, errno == EACCES ? ERR_PERMISSION : ERR_BAD_INPUT, "%s: %s", dir,
			 strerror(errno));
		return -1;
	}
	if (sf.f_type != PROC_SUPER_MAGIC_) {
		err_setc(err, ERR_BAD_INPUT, "%s: not a proc filesystem", dir);
		return -1;
	}
	return 0;
}

static int linux_list_pids(const char *procfs, uint64_t **pids, size_t *n, struct errmsg *err)
{
	if (!procfs)
		procfs = "/proc";
	else if (snapshot_check_procfs(procfs, err) < 0)
		return -1;
	DIR *d = opendir(procfs);
	if (!d) {
		err_sete(err, errno, "%s: %s", procfs, strerror(errno));
		return -1;
	}
	struct pidlist l = { 0 };
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *p = e->d_name;
		uint64_t pid;
		if (proc_parse_dec(&p, p + strlen(p), &pid) == 0 && !*p)
			pidlist_add(&l, pid);
	}
	closedir(d);
	return pidlist_finish(&l, pids, n, err);
}

const struct os_backend os_backend = {
	.name = "linux",
	.read = linux_read,
	.list_pids = linux_list_pids,
	.self_pid = linux_self_pid,
	.open_mapped = linux_open_mapped,
	.module_loads = linux_module_loads,
	.check_procfs = linux_check_procfs,
};
