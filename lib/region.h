/*
 * region.h - the contract between an OS backend and the rest of the
 * library. A backend (os/linux.c on Linux, os/windows.c on Windows; a
 * FreeBSD or macOS one would be a third file) reports each region of a
 * process's address space as a struct region, and answers a few questions
 * about the file behind it through struct backend_ops. region_add() then
 * does the rest once, for every backend: which regions a snapshot keeps,
 * the record itself, and the build ID the mode asks for -- the identity
 * cache, the choice among identities, path+mtime.
 */
#ifndef MODMAP_REGION_H
#define MODMAP_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "buildid.h"
#include "snapshot.h"

/* One region as the OS describes it. */
struct region {
	uint64_t start, limit, offset;
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	uint32_t prot;		/* PERM_* */
	uint32_t flags;		/* MAPF_FILE, MAPF_MAIN (MAPF_DELETED: the backend's set_name) */
	const char *name;	/* as the OS gave it (set_name normalises it) */
	size_t name_len;
	int name_escaped;	/* with the kernel's "\012" escapes (the maps text) */
	int has_file;		/* a file stands behind it, to read or stat */
	const char *kernel_id;	/* GNU build ID as hex from the OS itself, or NULL */
	const char *note;	/* a reason to keep in bid_error from the start, or NULL */
};

/* A file opened for its identity. */
struct region_file {
	uint64_t dev, ino;	/* with the mtime, the identity cache's key */
	int64_t mtime_sec;
	long mtime_nsec;
	uint64_t size;		/* its size in bytes */
	void *h;		/* the backend's handle */
};

struct backend_ops {
	/*
	 * Sets m->file (and MAPF_DELETED) from the region's name, normalised
	 * as the OS's quirks need. 0, or -1 when memory runs out.
	 */
	int (*set_name)(void *be, struct mapping *m, const struct region *r);
	/*
	 * Opens the file mapped at m, checked to be that file. 0, or -1 with
	 * *why (static text) and *impostor set when something else sits at
	 * its path (then not even its path+mtime is the mapped file's).
	 */
	int (*open_file)(void *be, const struct mapping *m, struct region_file *f,
			 const char **why, int *impostor);
	/* Reads the identity of the open file (on a cache miss only). */
	void (*read_identity)(void *be, struct region_file *f, struct identity *id);
	/*
	 * The htlhash of the open file (htlhash.h) into out. 0, or -1 with
	 * *why (static text). NULL where the backend cannot.
	 */
	int (*hash_file)(void *be, struct region_file *f, char *out, const char **why);
	void (*close_file)(void *be, struct region_file *f);
	/*
	 * The modification time Go's os.Stat would give m's path: of f when
	 * the backend opened it (NULL otherwise). 0, or -1 with why (cap
	 * bytes) telling why it cannot be had: the ID is then the path alone.
	 */
	int (*stat_mtime)(void *be, const struct mapping *m, const struct region_file *f,
			  int64_t *sec, long *nsec, char *why, size_t cap);
	/*
	 * Go's Local zone at the instant sec: its offset east of UTC and its
	 * abbreviation (gotime.h). 0; 1 when the abbreviation does not fit in
	 * cap bytes (the ID is then the path alone, with the reason); -1 when
	 * memory runs out.
	 */
	int (*local_zone)(void *be, int64_t sec, long *gmtoff, char *abbr, size_t cap);
	/* The identity of a region with no file (the vDSO); may be NULL. 0 or -1. */
	int (*special_identity)(void *be, const struct mapping *m, struct identity *id);
	/*
	 * The identity of m's file read from the process's memory, for when
	 * open_file cannot have the file (deleted, replaced, not reachable);
	 * may be NULL. 0, or -1 with id->error set.
	 */
	int (*memory_identity)(void *be, const struct mapping *m, struct identity *id);
	/* The modes in which a file is opened: 1 << BID_AUTO, ... */
	unsigned open_modes;
};

/* The state region_add keeps over one snapshot read. Zero it, then set the first four. */
struct region_reader {
	const struct backend_ops *ops;
	void *be;
	struct snapshot *s;
	const struct read_opts *o;
	/* The previous record's file, whose identity its neighbours share. */
	int have_prev;
	struct mapping prev;
};

/*
 * Adds r to the snapshot if the mapping set keeps it, with its build ID.
 * Returns 0 (also when not kept), or -1 when memory runs out: a file that
 * cannot be read costs its ID, never the snapshot.
 */
int region_add(struct region_reader *rr, const struct region *r);

/* Does the mapping set keep a region with these permissions and this name? */
int region_kept(enum mapset set, uint32_t prot, size_t name_len);

/*
 * Opens the file mapped at m in s's process for reading its bytes, checked
 * the way open_file checks it for its build ID (inside the process's root,
 * a regular file with the mapping's device and inode, else the mapped file
 * itself through /proc/PID/map_files; on Windows the module's path, a disk
 * file). Returns a read-only file descriptor (a C runtime one on Windows)
 * with *size its length, or -1 with *why (static text) saying why not.
 * Defined by each backend; collect.c copies through it.
 */
int snapshot_open_mapped(const struct snapshot *s, const struct mapping *m, uint64_t *size,
			 const char **why);

#endif
