/*
 * checked_open.h - the one way modmap opens or creates a file it was not
 * made sure of: a path resolved once, relative to a directory descriptor,
 * under rules that are data (SPEC "Trust", docs/security.md), and a
 * descriptor back with what was checked. Everything after works on the
 * descriptor, never on the path again.
 *
 * The rules say what a caller trusts, one flag each:
 *   - a target's perf map: { .in_root, .no_symlinks, .same_mount,
 *     .regular, .not_procfs, .owner }, owner_uid the process's user;
 *   - a PID directory under --procfs and the files in it: { .no_symlinks,
 *     .same_mount, .procfs };
 *   - an output path (-o, collect's DIR): checked_walk with
 *     .trusted_links, then checked_entry_* on what sits at the end.
 *
 * Implemented for Linux (lib/os/posix_open.c: openat2, fstatfs); the
 * Windows build has no such attacker (no symbolic links a user plants in
 * a shared directory for another to follow) and does not use it.
 */
#ifndef MODMAP_CHECKED_OPEN_H
#define MODMAP_CHECKED_OPEN_H

#include <stdint.h>

#include "snapshot.h"	/* struct errmsg */

struct open_rules {
	unsigned in_root : 1;		/* dirfd is a root the path may not leave */
	unsigned no_symlinks : 1;	/* no symbolic link anywhere on the path */
	unsigned same_mount : 1;	/* no mount crossed below dirfd (a bind
					 * mount over the file included) */
	unsigned regular : 1;		/* a regular file, checked before it is
					 * opened for reading */
	unsigned not_procfs : 1;	/* not on procfs or sysfs */
	unsigned procfs : 1;		/* on procfs, and nothing else */
	unsigned owner : 1;		/* owned by owner_uid or by root */
	unsigned trusted_links : 1;	/* checked_walk: follow a symbolic link
					 * only when the caller or root owns it */
	uint32_t owner_uid;
};

/* What was checked of the file opened. */
struct open_info {
	uint32_t uid;		/* its owner */
	uint32_t mode;		/* st_mode: type and permission bits */
	uint64_t size;
	uint64_t dev, ino;
	long fs_type;		/* statfs f_type, where a rule asked for it */
};

/*
 * Opens path relative to dirfd under r, with flags (O_RDONLY, O_PATH,
 * O_DIRECTORY, ...; O_CLOEXEC, O_NOCTTY and, for a regular file, O_NONBLOCK
 * are added). A file that must be regular is first reached with O_PATH and
 * only then opened, so a FIFO or device is never opened. Returns the
 * descriptor and fills info (may be NULL), or -1 with errno set and err
 * saying why in words, without the path (the caller names it).
 */
int checked_openat(int dirfd, const char *path, int flags, const struct open_rules *r,
		   struct open_info *info, struct errmsg *err);

/*
 * Walks path (absolute, or relative to the working directory) one
 * component at a time, following a symbolic link only when r allows it
 * (trusted_links: owned by the caller or root; a link on procfs at the end,
 * /dev/stdout's /proc/self/fd/1, is left to the kernel and reported in
 * *magic), and with mkdirs set making missing directories on the way
 * (mode 0755). The last component is followed when it is a trusted link.
 * Returns an O_PATH descriptor of the last directory and, in *name
 * (malloc'ed), the last component, or -1 with err naming path and the
 * reason.
 */
int checked_walk(const char *path, const struct open_rules *r, int mkdirs, char **name,
		 int *magic, struct errmsg *err);

/*
 * Whether a directory, as fstat saw it (owner uid, mode), may be written
 * into by someone other than the caller and root: owned by another user,
 * or group- or world-writable without the sticky bit.
 */
int checked_dir_is_shared(uint32_t uid, uint32_t mode);

/* Is it a sticky directory others may write (as /tmp)? */
int checked_dir_is_sticky_shared(uint32_t mode);

/* The caller's effective user. */
uint32_t checked_euid(void);

#endif
