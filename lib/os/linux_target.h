/*
 * os/linux_target.h - what the files of the Linux backend share: the
 * target (one process being read, pinned by its /proc directory) and the
 * calls one file makes into another. Internal to lib/os/linux*.c:
 *   linux.c        the target, the process, the maps text source, the backend object
 *   linux_query.c  the PROCMAP_QUERY source
 *   linux_files.c  mapped files opened inside the target's root; build IDs
 *                  from files and from memory; names; module loads (lookup)
 *   linux_mounts.c which files may stall a reader (mountinfo, FUSE), and
 *                  reading those in a grandchild with a deadline
 *   linux_jit.c    JIT symbols: the perf map and jitdump
 *   linux_proc.c   the pure parsers of /proc text (os/linux.h)
 */
#ifndef MODMAP_LINUX_TARGET_H
#define MODMAP_LINUX_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "buildid.h"
#include "elfhdr.h"
#include "os/linux.h"
#include "region.h"
#include "snapshot.h"

#define PF_EXITING 0x00000004	/* include/linux/sched.h */
#define PF_KTHREAD 0x00200000
#define NAME_MAX_BYTES (64 * 1024)	/* bound on the ioctl's name buffer */
/* A path under the procfs root: DIR/PID/NAME, DIR at most PROCFS_MAX bytes. */
#define PROCFS_MAX 1024
#define PROC_PATH (PROCFS_MAX + 96)
#define PROC_SUPER_MAGIC_ 0x9fa0	/* linux/magic.h PROC_SUPER_MAGIC */

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
	int risky_checked;	/* 1: risky says */
	int risky;		/* untrusted_mounts' answer, asked once */
	int root_checked;	/* 1: root_untrusted says */
	int root_untrusted;	/* its root is on a FUSE or network mount */
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
 * What reading the mappings (source_maps, source_query, read_maps) returns
 * besides 0 and -1 (err set): no PROCMAP_QUERY in this kernel (the text is
 * read instead), or no address space (the caller says why).
 */
enum { MAPS_NO_QUERY = -2, MAPS_NO_MM = -3 };

/* A descriptor as a bytesrc's context (linux_files.c's fd_read). */
struct fdsrc {
	int fd;
};

/* The bytes of a mapping, read from the target as a file's are from the file. */
struct memsrc {
	struct target *t;
	uint64_t base;		/* the address of byte 0 */
};

/* linux.c */
const char *proc_path(const struct target *t, const char *name, char out[PROC_PATH]);
int proc_openat(int checked, int dir, const char *name, int flags);
int note_base(struct target *t, const struct maps_line *r);
const struct file_base *find_base(const struct target *t, const struct mapping *m);
void target_reopen(struct target *t, const struct snapshot *s);
void target_close(struct target *t);
int add_record(struct target *t, const struct maps_line *ml, int escaped,
	       const char *kernel_id);
int read_all(int fd, char **out, size_t *outlen);

/* linux_query.c */
int query_all_bases(struct target *t);
int source_query(struct target *t, int fd, struct errmsg *err);

/* linux_files.c */
extern const struct backend_ops linux_ops;
int open_mapped(struct target *t, const struct mapping *m, struct stat *st,
		const char **why, int *impostor);
int exe_header(const struct target *t, struct elf_ehdr *eh);
int be_open_file(void *be, const struct mapping *m, struct region_file *f,
		 const char **why, int *impostor);
void be_read_identity(void *be, struct region_file *f, struct identity *id);
void be_close_file(void *be, struct region_file *f);
int linux_open_mapped(const struct snapshot *s, const struct mapping *m, uint64_t *size,
		      const char **why);
int linux_module_loads(uint64_t pid, const struct snapshot *s, size_t i, struct elf_load *out,
		       size_t cap, size_t *n, struct errmsg *err);

/* linux_mounts.c */
int be_untrusted_identity(void *be, const struct mapping *m, struct identity *id);
int file_untrusted(struct target *t, uint32_t major, uint32_t minor);
int untrusted_mounts(struct target *t);
/* Is the open descriptor fd on a mount whose server may never answer (or
 * one the process's mountinfo does not list)? The kernel's own record of
 * fd's mount says, not the file system. */
int fd_untrusted(struct target *t, int fd);
/* Is the target's root such a mount (a process chrooted into one)? Then no
 * path is looked up inside it: each name would ask that server. */
int root_untrusted(struct target *t);

/* linux_jit.c */
int read_jit(struct target *t);

#endif
