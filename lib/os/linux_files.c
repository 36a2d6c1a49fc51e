/*
 * os/linux_files.c - a target's mapped files and memory: each file opened
 * inside the target's own root (or through map_files), checked to be the
 * mapped file, and read for its build ID; the vDSO and deleted files read
 * from the target's memory; names normalised against the files; the
 * backend's answers to region.c; a module's program headers for lookup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "htlhash.h"
#include "os/linux_target.h"

/* Opens path inside the target's root without leaving it. O_PATH: a FIFO
 * or a device at the path is neither opened nor waited on. A root on a
 * FUSE or network mount is not walked (its server may never answer). */
static int open_in_root(struct target *t, const char *path)
{
	if (t->root >= 0 && root_untrusted(t)) {
		errno = EXDEV;
		return -1;
	}
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

/* The mapped file through /proc/PID/map_files (CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE): the kernel's own link to it, no path walked. */
static int open_map_file(struct target *t, const struct mapping *m, struct stat *st)
{
	char link[PROC_PATH];
	int fd = proc_openat(t->checked, t->proc, map_files_path(m, link), O_PATH);
	if (fd >= 0) {
		if (fstat(fd, st) == 0 && same_file(st, m))
			return fd;
		close(fd);
	}
	return -1;
}

/*
 * Opens the mapped file of m for its identity: the path inside the target's
 * root when it is still the mapped file, else /proc/PID/map_files (which
 * needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE). Where the process has a
 * FUSE or network mount, map_files comes first: a path crossing such a
 * mount (its /tmp, say) to a file elsewhere would ask that server at the
 * crossing. Returns an O_PATH fd and its stat, or -1 with *why set and
 * *impostor telling whether something else (another file, a FIFO, a
 * device) sits at the path: then even the path's mtime is not the mapped
 * file's.
 */
int open_mapped(struct target *t, const struct mapping *m, struct stat *st,
		const char **why, int *impostor)
{
	*why = NULL;
	*impostor = 0;
	if (m->flags & MAPF_UNTRUSTED_FS) {
		*why = MAPF_UNTRUSTED_WHY;
		errno = EAGAIN;
		return -1;
	}
	int risky = untrusted_mounts(t);
	int fd = risky ? open_map_file(t, m, st) : -1;
	if (fd >= 0)
		return fd;
	if (!(m->flags & MAPF_DELETED)) {
		fd = open_as_mapped(t, snapshot_str(t->s, m->file), m, st, impostor);
		if (fd >= 0)
			return fd;
		if (*impostor)
			*why = S_ISREG(st->st_mode) ? "file at the path is not the mapped file"
						    : "not a regular file";
		else
			*why = errno == EXDEV ? "cannot resolve inside the process's root"
					      : "cannot open the file";
	}
	if (!risky && (fd = open_map_file(t, m, st)) >= 0) {
		*impostor = 0;
		return fd;
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
int exe_header(const struct target *t, struct elf_ehdr *eh)
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

int be_open_file(void *be, const struct mapping *m, struct region_file *f,
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

void be_read_identity(void *be, struct region_file *f, struct identity *id)
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

void be_close_file(void *be, struct region_file *f)
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

const struct backend_ops linux_ops = {
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
int linux_open_mapped(const struct snapshot *s, const struct mapping *m, uint64_t *size,
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

int linux_module_loads(uint64_t pid, const struct snapshot *s, size_t i, struct elf_load *out,
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
