/*
 * os/linux.c - the Linux backend: a process's mappings from the
 * PROCMAP_QUERY ioctl (Linux 6.11+) or from the text of /proc/PID/maps, and
 * each module's build ID, read from files resolved inside the target's own
 * root. Its pure parsers of /proc text are in os/linux_proc.c.
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
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buildid.h"
#include "cgroup.h"
#include "checked_open.h"
#include "jit.h"
#include "elfhdr.h"
#include "escape.h"
#include "htlhash.h"
#include "os/linux.h"
#include "os/os.h"
#include "region.h"
#include "snapshot.h"

/*
 * PROCMAP_QUERY, from include/uapi/linux/fs.h of Linux 6.11. Debian 12's
 * headers predate it, so it is declared here.
 */
struct procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};

enum {
	PROCMAP_QUERY_VMA_READABLE = 0x01,
	PROCMAP_QUERY_VMA_WRITABLE = 0x02,
	PROCMAP_QUERY_VMA_EXECUTABLE = 0x04,
	PROCMAP_QUERY_VMA_SHARED = 0x08,
	PROCMAP_QUERY_COVERING_OR_NEXT_VMA = 0x10,
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)

#define PF_EXITING 0x00000004	/* include/linux/sched.h */
#define PF_KTHREAD 0x00200000
#define NAME_MAX_BYTES (64 * 1024)	/* bound on the ioctl's name buffer */
/* A path under the procfs root: DIR/PID/NAME, DIR at most PROCFS_MAX bytes. */
#define PROCFS_MAX 1024
#define PROC_PATH (PROCFS_MAX + 96)
#define PROC_SUPER_MAGIC_ 0x9fa0	/* linux/magic.h PROC_SUPER_MAGIC */

/* ---- the target ------------------------------------------------------ */

/* A file's mapping at offset 0, where its ELF header and notes sit. */
struct file_base {
	uint64_t start, limit, inode;
	uint32_t dev_major, dev_minor;
};

/*
 * What one snapshot needs to know about the process it reads. Everything is
 * read relative to the process's /proc directory held open, so a PID reused
 * while it is read cannot lend another process's files.
 */
struct target {
	uint64_t pid;
	const char *procfs;	/* where its /proc is: "/proc", or --procfs DIR */
	int proc;		/* /proc/PID, O_PATH: pins this life of the process */
	int task;		/* where its maps, mem, exe, root are read: proc, or
				 * /proc/PID/task/TID of a live thread when the
				 * leader is a zombie */
	int maps;		/* the maps file, for the ioctl and the text */
	int mem;		/* /proc/PID/mem; -1 not yet opened, -2 refused */
	int root;		/* /proc/PID/root, O_PATH; -1 if it did not open */
	int same_root;		/* the target's root is ours */
	int checked;		/* under a procfs given by the caller: every file
				 * taken from it is checked to be procfs's own */
	struct snapshot *s;
	const struct read_opts *o;
	char *scratch;		/* names being normalised */
	size_t scratch_cap;
	struct file_base *bases;	/* offset-0 file mappings seen so far, by address */
	size_t nbases, bases_cap;
	int bases_all;		/* bases holds every one of the process, not only those read */
	struct region_reader rr;	/* the shared part: records and build IDs */
	struct gotz *zone;	/* Go's Local when there is no cache */
	struct mount_dev *mounts;	/* its mount namespace's devices, read once */
	size_t nmounts;
	int mounts_read;	/* 1 read (or tried): mounts is what there is */
	int shm_known, shm_found;	/* the kernel's shared-memory device: */
	uint32_t shm_major, shm_minor;	/* memfd files are on it (is_shm_dev) */
	uint64_t deadline;	/* CLOCK_MONOTONIC ns: untrusted reads end by then */
	uint32_t timed_out;	/* the file whose read ran out of time; 0 none */
};

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
static const char *proc_path(const struct target *t, const char *name, char out[PROC_PATH])
{
	snprintf(out, PROC_PATH, "%s/%llu%s%s", t->procfs, (unsigned long long)t->pid,
		 *name ? "/" : "", name);
	return out;
}

/*
 * What reading the mappings (source_maps, source_query, read_maps) returns
 * besides 0 and -1 (err set): no PROCMAP_QUERY in this kernel (the text is
 * read instead), or no address space (the caller says why).
 */
enum { MAPS_NO_QUERY = -2, MAPS_NO_MM = -3 };

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
static int proc_openat(int checked, int dir, const char *name, int flags)
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

/* Opens path inside the target's root without leaving it. O_PATH: a FIFO
 * or a device at the path is neither opened nor waited on. */
static int open_in_root(struct target *t, const char *path)
{
	if (t->root >= 0) {
		struct open_how how = {
			.flags = O_PATH | O_CLOEXEC,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		int fd = (int)syscall(SYS_openat2, t->root, path, &how, sizeof how);
		if (fd >= 0 || errno != ENOSYS)
			return fd;
	}
	/* Without openat2 only a target sharing our root is safe to follow. */
	if (!t->same_root) {
		errno = EXDEV;
		return -1;
	}
	return open(path, O_PATH | O_CLOEXEC);
}

static int same_file(const struct stat *st, const struct mapping *m)
{
	return S_ISREG(st->st_mode) && st->st_ino == m->inode &&
	       major(st->st_dev) == m->dev_major && minor(st->st_dev) == m->dev_minor;
}

/*
 * Opens path as the file mapped by m. /proc/PID/maps gives a path relative
 * to the reader's root when the target's root lies inside it (a chroot in
 * our mount namespace), and relative to the target's own root otherwise (a
 * container): so the target's root is tried first, then ours. Only a
 * regular file with the mapping's device and inode is accepted, so a path
 * that leads anywhere else, by a symlink or by a file put there since,
 * yields nothing. Returns an O_PATH fd and its stat in st, or -1 with
 * *impostor set when something else sits at the path and errno from the
 * first failed open otherwise.
 */
static int open_as_mapped(struct target *t, const char *path, const struct mapping *m,
			  struct stat *st, int *impostor)
{
	int err = 0;
	*impostor = 0;
	for (int i = 0; i < (t->same_root ? 1 : 2); i++) {
		int fd = i == 0 ? open_in_root(t, path) : open(path, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			if (!err)
				err = errno;
			continue;
		}
		if (fstat(fd, st) == 0 && same_file(st, m))
			return fd;
		*impostor = 1;
		close(fd);
	}
	errno = err;
	return -1;
}

/* Does path name the mapped file itself? */
static int path_is_mapped_file(struct target *t, const char *path, const struct mapping *m)
{
	struct stat st;
	int impostor;
	int fd = open_as_mapped(t, path, m, &st, &impostor);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* map_files/START-END, relative to t->proc: the mapped file itself, by its range. */
static const char *map_files_path(const struct mapping *m, char out[PROC_PATH])
{
	snprintf(out, PROC_PATH, "map_files/%llx-%llx", (unsigned long long)m->start,
		 (unsigned long long)m->limit);
	return out;
}

static int ensure_scratch(struct target *t, size_t n)
{
	if (t->scratch && t->scratch_cap >= n)
		return 0;
	char *p = realloc(t->scratch, n);
	if (!p)
		return -1;
	t->scratch = p;
	t->scratch_cap = n;
	return 0;
}

/*
 * Sets m->file and MAPF_DELETED from a name as a source gave it: raw from
 * the ioctl, or with the kernel's "\012" escapes from the maps text
 * (escaped != 0). Returns 0, or -1 when memory runs out.
 */
static int set_name(void *be, struct mapping *m, const struct region *reg)
{
	struct target *t = be;
	const char *name = reg->name;
	size_t len = reg->name_len;
	int escaped = reg->name_escaped;
	if (ensure_scratch(t, len + 1) < 0)
		return -1;
	char *n = t->scratch;
	size_t nlen = len;
	memcpy(n, name, len);
	n[len] = '\0';

	if (escaped && memmem(name, len, "\\012", 4)) {
		/* Either a newline the kernel escaped or a literal "\012".
		 * map_files' link holds the raw name; otherwise the file
		 * decides; otherwise the escape is what the kernel wrote. */
		char link[PROC_PATH];
		char raw[PATH_MAX + sizeof DELETED_SUFFIX];
		ssize_t r = readlinkat(t->proc, map_files_path(m, link), raw, sizeof raw);
		if (r > 0 && (size_t)r <= len && (size_t)r < sizeof raw) {
			memcpy(n, raw, (size_t)r);
			nlen = (size_t)r;
		} else if (!((m->flags & MAPF_FILE) && path_is_mapped_file(t, n, m))) {
			nlen = maps_unescape(name, len, n);
		}
		n[nlen] = '\0';
	}

	size_t sl = sizeof DELETED_SUFFIX - 1;
	if ((m->flags & MAPF_FILE) && nlen > sl && memcmp(n + nlen - sl, DELETED_SUFFIX, sl) == 0 &&
	    !path_is_mapped_file(t, n, m)) {
		nlen -= sl;
		n[nlen] = '\0';
		m->flags |= MAPF_DELETED;
	}
	/* A file's segments come one after another: share the name. */
	if (t->s->n >= 2) {
		uint32_t prev = t->s->map[t->s->n - 2].file;
		const char *ps = snapshot_str(t->s, prev);
		if (prev && strlen(ps) == nlen && memcmp(ps, n, nlen) == 0) {
			m->file = prev;
			return 0;
		}
	}
	/* n is t->scratch, which snapshot_read frees: not a leak. */
	uint32_t off = snapshot_intern(t->s, n, nlen);	/* NOLINT(clang-analyzer-unix.Malloc) */
	if (off == UINT32_MAX)
		return -1;
	m->file = off;
	return 0;
}

/* ---- build IDs ------------------------------------------------------- */

struct fdsrc {
	int fd;
};

static int fd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct fdsrc *f = ctx;
	unsigned char *p = buf;
	while (len) {
		ssize_t r = pread(f->fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

/*
 * Opens the mapped file of m for its identity: the path inside the target's
 * root when it is still the mapped file, else /proc/PID/map_files (which
 * needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE). Returns an O_PATH fd and
 * its stat, or -1 with *why set and *impostor telling whether something
 * else (another file, a FIFO, a device) sits at the path: then even the
 * path's mtime is not the mapped file's.
 */
static int open_mapped(struct target *t, const struct mapping *m, struct stat *st,
		       const char **why, int *impostor)
{
	*why = NULL;
	*impostor = 0;
	if (m->flags & MAPF_UNTRUSTED_FS) {
		*why = MAPF_UNTRUSTED_WHY;
		errno = EAGAIN;
		return -1;
	}
	if (!(m->flags & MAPF_DELETED)) {
		int fd = open_as_mapped(t, snapshot_str(t->s, m->file), m, st, impostor);
		if (fd >= 0)
			return fd;
		if (*impostor)
			*why = S_ISREG(st->st_mode) ? "file at the path is not the mapped file"
						    : "not a regular file";
		else
			*why = errno == EXDEV ? "cannot resolve inside the process's root"
					      : "cannot open the file";
	}
	char link[PROC_PATH];
	int fd = proc_openat(t->checked, t->proc, map_files_path(m, link), O_PATH);
	if (fd >= 0) {
		if (fstat(fd, st) == 0 && same_file(st, m)) {
			*impostor = 0;
			return fd;
		}
		close(fd);
	}
	if (!*why)
		*why = (errno == EPERM || errno == EACCES)
			       ? "file deleted; map_files needs CAP_SYS_ADMIN"
			       : "file deleted";
	return -1;
}


/* Size of modmap's own vDSO image: its section headers end it. */
static uint64_t own_vdso_size(const struct elf_ehdr *eh)
{
	return eh->shoff + (uint64_t)eh->shnum * eh->shentsize;
}

/* The ELF header of the target's executable: 0, or -1 when it cannot be
 * read or is no ELF. */
static int exe_header(const struct target *t, struct elf_ehdr *eh)
{
	int fd = proc_openat(t->checked, t->task, "exe", O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	struct fdsrc f = { fd };
	struct bytesrc src = { fd_read, &f, NULL, 0 };
	int is_elf;
	const char *why;
	int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	src.size = ok ? (uint64_t)st.st_size : 0;
	ok = ok && elf_ehdr_read(&src, eh, &is_elf, &why) == 0;
	close(fd);
	return ok ? 0 : -1;
}

/* Is the target's executable of the same ELF class and machine as our
 * vDSO (an i386 or x32 process on x86-64 has another vDSO)? */
static int same_abi(struct target *t, const struct elf_ehdr *own)
{
	struct elf_ehdr exe;
	return exe_header(t, &exe) == 0 && exe.is64 == own->is64 && exe.be == own->be &&
	       exe.machine == own->machine;
}

/* ---- the target's memory --------------------------------------------- */

/* The bytes of a mapping, read from the target as a file's are from the file. */
struct memsrc {
	struct target *t;
	uint64_t base;		/* the address of byte 0 */
};

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct memsrc *ms = ctx;
	struct target *t = ms->t;
	if (t->mem == -1) {
		t->mem = proc_openat(t->checked, t->task, "mem", O_RDONLY);
		if (t->mem < 0)
			t->mem = -2;	/* refused: not asked again */
	}
	if (t->mem < 0 || ms->base + off < ms->base || ms->base + off > INT64_MAX - len)
		return -1;
	struct fdsrc f = { t->mem };
	return fd_read(&f, ms->base + off, buf, len);
}

/* The region [start, limit) of the target's memory as a byte source. */
static struct bytesrc target_memory(struct memsrc *ms, struct target *t, uint64_t start,
				    uint64_t limit)
{
	*ms = (struct memsrc){ t, start };
	struct bytesrc src = { mem_read, ms, NULL, limit - start };
	return src;
}

/* Remembers a file's mapping at offset 0 (r, from the maps, in address order). */
static int note_base(struct target *t, const struct maps_line *r)
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
static const struct file_base *find_base(const struct target *t, const struct mapping *m)
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

static int query_all_bases(struct target *t);

/*
 * The identity of m's file read from the target's memory, for when the
 * file itself cannot be opened (deleted or replaced, and map_files refused
 * without CAP_SYS_ADMIN): the ELF header, program headers and notes sit in
 * its first mapping, as eu-unstrip -n -p finds them. /proc/PID/mem needs
 * the ptrace rights a user has over their own processes. 0, or -1.
 */
static int be_memory_identity(void *be, const struct mapping *m, struct identity *id)
{
	struct target *t = be;
	const struct file_base *b = find_base(t, m);
	memset(id, 0, sizeof *id);
	if (!b && !t->bases_all && query_all_bases(t) == 0)
		b = find_base(t, m);
	if (!b) {
		id->error = "no mapping of the file's start";
		return -1;
	}
	struct memsrc ms;
	struct bytesrc src = target_memory(&ms, t, b->start, b->limit);
	return elf_identity(&src, id);
}

/*
 * The vDSO has no file. Its image is read from the target itself through
 * /proc/PID/mem where modmap may (that needs ptrace attach rights, more
 * than reading maps); else modmap's own vDSO stands in when it must be the
 * same image: one kernel, the same ABI, the same size.
 */
static int vdso_identity(struct target *t, const struct mapping *m, struct identity *id)
{
	uint64_t size = m->limit - m->start;
	struct memsrc ms;
	struct bytesrc src = target_memory(&ms, t, m->start, m->limit);
	unsigned char magic[4];
	if (src.read(src.ctx, 0, magic, sizeof magic) == 0)
		return elf_identity(&src, id);

	/* The vDSO is at least a page: its whole file header is there. */
	const unsigned char *ehdr = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	struct elf_ehdr eh;
	int is_elf;
	const char *why;
	memset(id, 0, sizeof *id);
	if (!ehdr || elf_ehdr_parse(ehdr, ELF_EHDR64, &eh, &is_elf, &why) < 0) {
		id->error = "no vDSO in modmap to compare";
		return -1;
	}
	uint64_t own = own_vdso_size(&eh);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t rounded = (own + (uint64_t)page - 1) & ~((uint64_t)page - 1);
	if (rounded != size || !same_abi(t, &eh)) {
		id->error = "vDSO differs from modmap's";
		return -1;
	}
	struct bytesrc own_src = bytesrc_mem(ehdr, (size_t)own);
	return elf_identity(&own_src, id);
}

/* ---- the backend's answers to region.c ------------------------------- */

static int be_open_file(void *be, const struct mapping *m, struct region_file *f,
			const char **why, int *impostor)
{
	struct stat st;
	int fd = open_mapped(be, m, &st, why, impostor);
	if (fd < 0)
		return -1;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->mtime_sec = st.st_mtim.tv_sec;
	f->mtime_nsec = st.st_mtim.tv_nsec;
	f->size = (uint64_t)st.st_size;
	f->h = (void *)(intptr_t)fd;
	return 0;
}

static int be_hash_file(void *be, struct region_file *f, char *out, const char **why)
{
	(void)be;
	char self[PROC_PATH];
	snprintf(self, sizeof self, "/proc/self/fd/%d", (int)(intptr_t)f->h);
	int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		*why = "cannot read the file";
		return -1;
	}
	struct fdsrc src_fd = { fd };
	struct bytesrc src = { fd_read, &src_fd, NULL, f->size };
	int rc = htlhash(&src, out, why);
	close(fd);
	return rc;
}

static void be_read_identity(void *be, struct region_file *f, struct identity *id)
{
	(void)be;
	/* The O_PATH descriptor reopened for reading: still the checked file. */
	char self[PROC_PATH];
	snprintf(self, sizeof self, "/proc/self/fd/%d", (int)(intptr_t)f->h);
	int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		id->error = "cannot read the file";
		return;
	}
	struct fdsrc src_fd = { fd };
	struct bytesrc src = { fd_read, &src_fd, NULL, f->size };
	file_identity(&src, id);
	close(fd);
}

static void be_close_file(void *be, struct region_file *f)
{
	(void)be;
	close((int)(intptr_t)f->h);
}

/* The mapped file's own mtime; a path that does not open has none. */
static int be_stat_mtime(void *be, const struct mapping *m, const struct region_file *f,
			 int64_t *sec, long *nsec, char *why, size_t cap)
{
	(void)be;
	(void)m;
	(void)why;
	(void)cap;
	if (!f)
		return -1;
	*sec = f->mtime_sec;
	*nsec = f->mtime_nsec;
	return 0;
}

static int be_local_zone(void *be, int64_t sec, long *gmtoff, char *abbr, size_t cap)
{
	struct target *t = be;
	struct errmsg err;
	const struct gotz *z = bid_local_zone(t->o->cache, &t->zone, &err);
	int isdst;
	if (!z)
		return -1;
	return gotz_lookup(z, sec, gmtoff, &isdst, abbr, cap) < 0 ? 1 : 0;
}

static int be_special_identity(void *be, const struct mapping *m, struct identity *id)
{
	struct target *t = be;
	if (strcmp(snapshot_str(t->s, m->file), "[vdso]") != 0)
		return -1;
	return vdso_identity(t, m, id);
}

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
static int be_untrusted_identity(void *be, const struct mapping *m, struct identity *id)
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

static const struct backend_ops linux_ops = {
	.untrusted_identity = be_untrusted_identity,
	.set_name = set_name,
	.open_file = be_open_file,
	.read_identity = be_read_identity,
	.hash_file = be_hash_file,
	.close_file = be_close_file,
	.stat_mtime = be_stat_mtime,
	.local_zone = be_local_zone,
	.special_identity = be_special_identity,
	.memory_identity = be_memory_identity,
	.open_modes = 1u << BID_AUTO | 1u << BID_NATIVE | 1u << BID_MTIME,
};

/*
 * The same opening for a whole file's bytes (collect): the checked O_PATH
 * descriptor reopened for reading, so what is read is the mapped file.
 */
/*
 * A target for reading one more thing of a process after its snapshot
 * (collect's files, lookup's headers): /proc/PID held open, its root.
 * target_close releases it.
 */
static int live_thread(struct target *t);
static int read_stat(int checked, int dir, struct proc_stat *st);

static void target_reopen(struct target *t, const struct snapshot *s)
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

static void target_close(struct target *t)
{
	free(t->mounts);
	if (t->mem >= 0)
		close(t->mem);
	if (t->root >= 0)
		close(t->root);
	if (t->task >= 0 && t->task != t->proc)
		close(t->task);
	if (t->proc >= 0)
		close(t->proc);
}

static int linux_open_mapped(const struct snapshot *s, const struct mapping *m, uint64_t *size,
			     const char **why)
{
	char path[PROC_PATH];
	struct target t;
	struct stat st;
	int impostor;

	target_reopen(&t, s);
	int pfd = open_mapped(&t, m, &st, why, &impostor);
	target_close(&t);
	if (pfd < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/self/fd/%d", pfd);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(pfd);
	if (fd < 0) {
		*why = "cannot read the file";
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* One line of the maps text or one answer of the ioctl, as a region. */
static int file_untrusted(struct target *t, uint32_t major, uint32_t minor);
static int untrusted_mounts(struct target *t);

static int add_record(struct target *t, const struct maps_line *ml, int escaped,
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

static int read_all(int fd, char **out, size_t *outlen)
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

static int file_untrusted(struct target *t, uint32_t major, uint32_t minor)
{
	read_mounts(t);
	return mount_dev_untrusted(t->mounts, t->nmounts, major, minor) &&
	       !is_shm_dev(t, major, minor);
}

/*
 * Might a file of the process be on a server that never answers? Its
 * mounts list one, or a FUSE connection lives on the host (fusectl, where
 * mounted, lists those detached by a lazy unmount too, which no mountinfo
 * shows).
 */
static int untrusted_mounts(struct target *t)
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

#if defined(__x86_64__)
/*
 * The x86-64 gate area: a fixed page /proc/PID/maps lists after the VMAs
 * for 64-bit processes when the kernel has vsyscall, but that is no VMA, so
 * PROCMAP_QUERY never returns it. A process is 64-bit, not compat (i386,
 * x32), when its executable is ELFCLASS64, which is what the kernel went by
 * at exec; where that cannot be read, wide (a mapping above 4 GiB) decides.
 * modmap's own maps say whether the kernel has the page, with which
 * permissions.
 */
static int add_gate_area(struct target *t, int wide)
{
	static const uint64_t gate = 0xffffffffff600000ULL;
	struct elf_ehdr eh;
	if (exe_header(t, &eh) == 0 ? !eh.is64 : !wide)
		return 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char *text;
	size_t len;
	int rc = read_all(fd, &text, &len);
	close(fd);
	if (rc < 0)
		return 0;
	const char *tail = memmem(text, len, "ffffffffff600000-", 17);
	rc = 0;
	if (tail) {
		struct maps_line ml;
		const char *nl = memchr(tail, '\n', len - (size_t)(tail - text));
		size_t ll = nl ? (size_t)(nl - tail) : len - (size_t)(tail - text);
		if (maps_parse_line(tail, ll, &ml) == 0 && ml.start == gate)
			rc = add_record(t, &ml, 0, NULL);
	}
	free(text);
	return rc;
}
#else
static int add_gate_area(struct target *t, int wide)
{
	(void)t;
	(void)wide;
	return 0;
}
#endif

/*
 * Remembers every file's offset-0 mapping, asking the ioctl for all
 * mappings where the snapshot asked it for the executable ones only.
 * 0, or -1 (then no more is known than before).
 */
static int query_all_bases(struct target *t)
{
	uint64_t addr = 0;
	t->bases_all = 1;	/* asked once, whatever the outcome */
	for (;;) {
		struct procmap_query q = {
			.size = sizeof q,
			.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
			.query_addr = addr,
		};
		if (ioctl(t->maps, PROCMAP_QUERY, &q) < 0) {
			if (errno == EINTR)
				continue;
			return errno == ENOENT ? 0 : -1;
		}
		struct maps_line ml = {
			.start = q.vma_start,
			.limit = q.vma_end,
			.offset = q.vma_offset,
			.inode = q.inode,
			.dev_major = q.dev_major,
			.dev_minor = q.dev_minor,
		};
		if (note_base(t, &ml) < 0)
			return -1;
		if (q.vma_end <= addr)
			return 0;
		addr = q.vma_end;
	}
}

/*
 * Returns 0, -1 with err set, MAPS_NO_QUERY when the caller should read the text
 * instead (a kernel without PROCMAP_QUERY, ENOTTY; or, for the default
 * source, a path longer than the ioctl can return), or MAPS_NO_MM when the process
 * has no address space (ESRCH: a kernel thread, a zombie, or one that
 * exited).
 */
static int source_query(struct target *t, int fd, struct errmsg *err)
{
	/* Zeroed once: the kernel fills them, and tools like valgrind that do
	 * not know this ioctl would otherwise see the bytes as uninitialised. */
	size_t cap = 4096;
	char *name = calloc(1, cap);
	unsigned char bid[BUILDID_MAX] = { 0 };
	char hex[2 * BUILDID_MAX + 1];
	uint64_t addr = 0;
	int rc = 0;
	int has_wide = 0;
	int want_id = t->o->bid == BID_AUTO || t->o->bid == BID_NATIVE;
	/*
	 * Reading the build ID is two thirds of the ioctl's cost (the kernel
	 * parses the note anew for every mapping). With every mapping asked
	 * for, most records are anonymous or a further segment of the file
	 * before: records come without the ID, and a record of another file
	 * is asked for again, at its start, with it.
	 */
	/*
	 * The kernel reads the note from the file's pages, and a page of a
	 * file whose server stalls (FUSE) never comes: the ioctl would sleep
	 * for good. Where the process has such file systems mounted (or the
	 * host any FUSE connection), every record comes first without the ID,
	 * and a new file is asked for again, at its start, with it, once its
	 * device is known to be safe to read (file_untrusted). Consecutive
	 * records of one file (most, with every mapping asked for) share that
	 * one ask. Elsewhere each record comes with its ID in one ioctl.
	 */
	int lazy_id = want_id && (t->o->set == MAPPINGS_ALL || untrusted_mounts(t));
	int ask_id = want_id && !lazy_id;
	struct {
		int valid;
		uint32_t major, minor;
		uint64_t inode;
		int has_id;	/* then hex holds it */
	} last = { 0 };

	if (!name) {
		err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)t->pid);
		return -1;
	}
	t->bases_all = t->o->set != MAPPINGS_EXEC;
	for (;;) {
		struct procmap_query q = {
			.size = sizeof q,
			.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA |
				       (t->o->set == MAPPINGS_EXEC ? PROCMAP_QUERY_VMA_EXECUTABLE : 0),
			.query_addr = addr,
			.vma_name_size = (uint32_t)cap,
			.vma_name_addr = (uintptr_t)name,
		};
		/* The kernel refuses an address without a size and vice versa. */
		if (ask_id) {
			q.build_id_size = sizeof bid;
			q.build_id_addr = (uintptr_t)bid;
		}
		if (ioctl(fd, PROCMAP_QUERY, &q) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOENT)
				break;	/* no mapping at or after addr */
			if (errno == ENAMETOOLONG && cap < NAME_MAX_BYTES) {
				char *bigger = realloc(name, cap * 4);
				if (!bigger) {
					err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory",
						(unsigned long long)t->pid);
					rc = -1;
					break;
				}
				memset(bigger + cap, 0, cap * 3);
				name = bigger;
				cap *= 4;
				continue;
			}
			if (errno == ENAMETOOLONG && t->o->source == SOURCE_AUTO) {
				/* A path past PATH_MAX, which the ioctl never
				 * returns but the text does: start again there. */
				t->s->n = 0;
				t->s->exe = 0;
				t->rr.have_prev = 0;
				t->nbases = 0;
				rc = MAPS_NO_QUERY;
				break;
			}
			if (errno == ENOTTY && addr == 0 && t->s->n == 0) {
				rc = MAPS_NO_QUERY;
				break;
			}
			if (errno == ESRCH) {
				rc = MAPS_NO_MM;	/* the caller says why */
				break;
			}
			char path[PROC_PATH];
			err_sete(err, errno, "pid %llu: PROCMAP_QUERY on %s: %s", (unsigned long long)t->pid,
				proc_path(t, "maps", path), strerror(errno));
			rc = -1;
			break;
		}
		uint32_t prot = 0;
		if (q.vma_flags & PROCMAP_QUERY_VMA_READABLE)
			prot |= PERM_R;
		if (q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE)
			prot |= PERM_W;
		if (q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE)
			prot |= PERM_X;
		if (q.vma_flags & PROCMAP_QUERY_VMA_SHARED)
			prot |= PERM_SHARED;
		size_t nl = q.vma_name_size ? q.vma_name_size - 1 : 0;
		const char *kid = NULL;
		if (lazy_id && !ask_id && q.inode != 0) {
			if (!(last.valid && last.inode == q.inode && last.major == q.dev_major &&
			      last.minor == q.dev_minor)) {
				if (file_untrusted(t, q.dev_major, q.dev_minor)) {
					/* not read: its records go without the kernel's ID */
					last.valid = 1;
					last.major = q.dev_major;
					last.minor = q.dev_minor;
					last.inode = q.inode;
					last.has_id = 0;
				} else {
					ask_id = 1;	/* another file: again, with its ID */
					addr = q.vma_start;
					continue;
				}
			}
			kid = last.has_id ? hex : NULL;
		} else if (ask_id) {
			last.valid = 1;
			last.major = q.dev_major;
			last.minor = q.dev_minor;
			last.inode = q.inode;
			last.has_id = q.build_id_size > 0 && q.build_id_size <= sizeof bid;
			if (last.has_id) {
				hex_encode(hex, bid, q.build_id_size);
				kid = hex;
			}
			ask_id = !lazy_id;
		}
		if (q.vma_end > 0x100000000ULL)
			has_wide = 1;
		struct maps_line ml = {
			.start = q.vma_start,
			.limit = q.vma_end,
			.offset = q.vma_offset,
			.prot = prot,
			.dev_major = q.dev_major,
			.dev_minor = q.dev_minor,
			.inode = q.inode,
			.name = name,
			.name_len = nl,
		};
		if (add_record(t, &ml, 0, kid) < 0) {
			err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)t->pid);
			rc = -1;
			break;
		}
		if (q.vma_end <= addr)
			break;	/* a kernel that does not advance would loop */
		addr = q.vma_end;
	}
	free(name);
	if (rc == 0 && add_gate_area(t, has_wide) < 0) {
		err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)t->pid);
		rc = -1;
	}
	return rc;
}

/* ---- the process ----------------------------------------------------- */

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

/* ---- which process: comm, namespace PID, cgroup ------------------------ */

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

/* ---- JIT symbols (docs/jit.md) ------------------------------------------ */

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
 * not on procfs or sysfs. -1 otherwise.
 */
static int open_jit_file(struct target *t, const char *dir, const char *name, struct stat *st)
{
	static const struct open_rules dir_rules = { .in_root = 1, .no_symlinks = 1 };
	struct open_rules rules = { .no_symlinks = 1, .same_mount = 1, .regular = 1,
				    .not_procfs = 1, .owner = 1 };
	struct open_info info;
	struct errmsg why;
	if (t->root < 0)
		return -1;
	rules.owner_uid = target_uid(t);
	int d = checked_openat(t->root, dir, O_PATH | O_DIRECTORY, &dir_rules, NULL, &why);
	int fd = d >= 0 ? checked_openat(d, name, O_RDONLY, &rules, &info, &why) : -1;
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

static int read_jit(struct target *t)
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

	struct proc_stat born, now;
	enum read_status st = open_target(&t, &born, err);
	int rc = st == READ_OK ? read_maps(&t, err) : 0;
	/* An address space gone while the same life goes on is an exec: the
	 * maps descriptor held the old image. Read the new one, a few times
	 * at most (a process may exec in a loop). */
	for (int again = 0; (rc == -3 || rc == -4) && again < EXEC_RETRIES && !(born.flags & PF_KTHREAD) &&
			    read_stat(t.checked, t.task, &now) == 0 && proc_stat_same_live(&born, &now) &&
			    !(now.flags & PF_EXITING);
	     again++) {
		s->n = 0;
		s->exe = 0;
		t.rr.have_prev = 0;
		t.nbases = 0;
		if (t.mem >= 0)
			close(t.mem);
		t.mem = -1;
		close(t.maps);
		t.maps = proc_openat(t.checked, t.task, "maps", O_RDONLY);
		if (t.maps < 0)
			break;	/* gone, or set-user-ID now: explained below */
		rc = read_maps(&t, err);
	}
	s->start_time = born.start_time;
	if (st == READ_OK && t.timed_out) {
		struct buf line = { 0 };
		const char *f = snapshot_str(s, t.timed_out);
		buf_printf(&line, "pid %llu: timed out after %llu ms reading ", (unsigned long long)pid,
			   (unsigned long long)(o->timeout_ms ? o->timeout_ms : 5000));
		escape_put(&line, f, strlen(f), 0);
		buf_puts(&line, " (its file system's server does not answer)");
		buf_putc(&line, '\0');
		err_set(err, "%s", line.oom ? "timed out" : (const char *)line.p);
		buf_free(&line);
		st = READ_FAILED;
		rc = -1;
	}
	if (rc == -4) {	/* the text ended early: not an exec, so an exit */
		err_set(err, "pid %llu: process exited while being read", (unsigned long long)pid);
		st = READ_SKIP;
		rc = -1;
	}
	/* A process that exited while being read leaves a partial list (the
	 * text just ends): only one still alive, in the same life, counts. */
	int alive = st == READ_OK && rc != -1 && read_stat(t.checked, t.task, &now) == 0 &&
		    proc_stat_same_live(&born, &now);
	if (st == READ_OK && rc != -1 && s->n > 0 && !alive && !(born.flags & PF_KTHREAD)) {
		err_set(err, "pid %llu: process exited while being read", (unsigned long long)pid);
		st = READ_SKIP;
	}
	if (st == READ_OK && rc == -1)
		st = READ_FAILED;
	if (st == READ_OK && (rc == MAPS_NO_MM || s->n == 0)) {
		st = explain_empty(&t, err);
		if (st == READ_OK && rc == MAPS_NO_MM) {
			err_set(err, "pid %llu: process has no address space",
				(unsigned long long)pid);
			st = READ_FAILED;
		}
	}
	if (t.mem >= 0)
		close(t.mem);
	if (t.root >= 0)
		close(t.root);
	if (t.maps >= 0)
		close(t.maps);
	if (t.task >= 0 && t.task != t.proc)
		close(t.task);
	if (t.proc >= 0)
		close(t.proc);
	free(t.scratch);
	free(t.bases);
	free(t.mounts);
	gotz_free(t.zone);
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

/* ---- program headers, for lookup ------------------------------------- */

/*
 * The module's first mapping: the nearest at or below m that maps the same
 * file (device and inode; for the vDSO, the same name) from offset 0.
 */
static const struct mapping *module_first(const struct snapshot *s, size_t i)
{
	const struct mapping *m = &s->map[i];
	const struct mapping *best = NULL;
	for (size_t j = 0; j < s->n; j++) {
		const struct mapping *c = &s->map[j];
		int same = (m->flags & MAPF_FILE)
				   ? (c->flags & MAPF_FILE) && c->inode == m->inode &&
					     c->dev_major == m->dev_major &&
					     c->dev_minor == m->dev_minor
				   : !(c->flags & MAPF_FILE) && c->file == m->file;
		if (same && c->offset == 0 && c->start <= m->start && (!best || c->start > best->start))
			best = c;
	}
	return best;
}

static int linux_module_loads(uint64_t pid, const struct snapshot *s, size_t i, struct elf_load *out,
			      size_t cap, size_t *n, struct errmsg *err)
{
	const struct mapping *m = &s->map[i];
	struct target t;
	const char *why = "no file";
	int rc = -1;

	*n = 0;
	target_reopen(&t, s);
	t.pid = pid;
	if (m->flags & MAPF_FILE) {
		struct stat st;
		int impostor;
		int pfd = open_mapped(&t, m, &st, &why, &impostor);
		if (pfd >= 0) {
			char self[PROC_PATH];
			snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
			int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			if (fd >= 0) {
				struct fdsrc f = { fd };
				struct bytesrc src = { fd_read, &f, NULL, (uint64_t)st.st_size };
				rc = elf_read_loads(&src, out, cap, n, &why);
				close(fd);
			} else {
				why = "cannot read the file";
			}
			close(pfd);
		}
	}
	/* The loader mapped the headers with the first segment: read them
	 * there, unless faulting those pages in would ask a server that may
	 * never answer. */
	const struct mapping *first =
		rc == 0 || (m->flags & MAPF_UNTRUSTED_FS) ? NULL : module_first(s, i);
	if (first) {
		struct memsrc ms;
		struct bytesrc src = target_memory(&ms, &t, first->start, first->limit);
		const char *mwhy;
		rc = elf_read_loads(&src, out, cap, n, &mwhy);
		if (rc < 0)
			why = mwhy;
	}
	target_close(&t);
	if (rc == 0)
		return 0;
	err_set(err, "pid %llu: %s: %s", (unsigned long long)pid, snapshot_str(s, m->file), why);
	return -1;
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
