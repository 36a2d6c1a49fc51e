/*
 * os/linux.h - the pure parts of the Linux backend (os/linux_proc.c), exposed for unit tests
 * and the fuzzer: parsing one line of /proc/PID/maps and undoing the
 * kernel's escapes. No I/O.
 */
#ifndef MODMAP_PROCMAPS_H
#define MODMAP_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>

/* One line of /proc/PID/maps, as the kernel wrote it. */
struct maps_line {
	uint64_t start, limit, offset, inode;
	uint32_t dev_major, dev_minor;
	uint32_t prot;		/* PERM_* */
	const char *name;	/* points into the line; escapes not undone */
	size_t name_len;	/* 0: no name */
};

/*
 * Parses "start-limit perms offset major:minor inode [name]" (no newline).
 * Returns 0, or -1 when the line is not in that form.
 */
int maps_parse_line(const char *line, size_t len, struct maps_line *out);

/*
 * The kernel escapes '\n' in a mapped path as the four characters "\012"
 * and nothing else, so a name holding a literal backslash-0-1-2 looks the
 * same. Writes name with every "\012" turned into '\n' to out (at least
 * len bytes) and returns the new length.
 */
size_t maps_unescape(const char *name, size_t len, char *out);

/* What modmap reads of /proc/PID/stat (or /proc/PID/task/TID/stat). */
struct proc_stat {
	char state;		/* field 3: R, S, D, Z, X, ... */
	unsigned long flags;	/* field 9: PF_* */
	uint64_t start_time;	/* field 22: clock ticks after boot; a PID's one life */
};

/*
 * Parses the text of a stat file (len bytes, not NUL-terminated). comm
 * (field 2) may hold spaces and parentheses: the fields resume after the
 * last ')'. Returns 0, or -1 when the text is not in that form.
 */
int proc_stat_parse(const char *text, size_t len, struct proc_stat *out);

/*
 * Is after the same life of the process as before: readable, the same
 * start time, and not yet exited (a zombie's address space is gone)?
 */
int proc_stat_same_live(const struct proc_stat *before, const struct proc_stat *after);

/* " (deleted)": what d_path() appends to the path of an unlinked file. */
#define DELETED_SUFFIX " (deleted)"

/*
 * The PID in the innermost PID namespace: the last number of the "NSpid:"
 * line of /proc/PID/status text, or 0 when there is none (kernels before
 * 4.1).
 */
uint64_t status_ns_pid(const char *text, size_t len);

/* A decimal number at *p (before end), *p moved past it: 0, or -1 on no
 * digits or overflow. */
int proc_parse_dec(const char **p, const char *end, uint64_t *out);

/* A mount in /proc/PID/mountinfo: its ID (system-wide, as a descriptor's
 * mnt_id in /proc/self/fdinfo says), its device, and whether its file
 * system's server may stall a reader (FUSE, network file systems). */
struct mount_dev {
	uint32_t major, minor;
	int untrusted;
	uint64_t id;
};

/*
 * The devices the text of a mountinfo file names, into out (up to cap);
 * returns how many there are, which may exceed cap (then call again with
 * room for all).
 */
size_t mountinfo_devices(const char *text, size_t len, struct mount_dev *out, size_t cap);

/*
 * Is a file on device major:minor on a file system whose server may never
 * answer, as d (n devices of the process's mounts) says? A device no mount
 * lists is untrusted when anonymous (major 0): a detached mount's.
 */
int mount_dev_untrusted(const struct mount_dev *d, size_t n, uint32_t major, uint32_t minor);
/*
 * Is the mount with this ID one whose server may never answer, as d says?
 * A mount the process's mountinfo does not list (one detached since) is.
 */
int mount_id_untrusted(const struct mount_dev *d, size_t n, uint64_t id);

#endif
