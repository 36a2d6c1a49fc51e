/*
 * os/os.h - the backend seam: everything the library asks of an operating
 * system about processes, as one object. Each OS defines os_backend in its
 * own file (os/linux.c, os/windows.c, os/none.c), and the Makefile's OS
 * picks which one is linked: a port is that file and one Makefile line.
 *
 * A call an OS cannot answer is NULL; the library's own entry points
 * (snapshot_read, snapshot_list_pids, ... in snapshot.c) then fail with
 * ERR_UNSUPPORTED, so no backend writes stubs. Each call has the contract
 * of the entry point of the same name in snapshot.h or region.h.
 *
 * How a backend turns what the OS lists into records (struct region,
 * struct backend_ops, region_add) is region.h; how files are written and
 * read is platform.h, over os/io_os.h.
 */
#ifndef MODMAP_OS_OS_H
#define MODMAP_OS_OS_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

struct elf_load;

struct os_backend {
	/* struct snapshot.os of what it reads: "linux", "windows" (static). */
	const char *name;
	/* snapshot_read: pid's module map into s. */
	enum read_status (*read)(struct snapshot *s, uint64_t pid, const struct read_opts *o,
				 struct errmsg *err);
	/* snapshot_list_pids: every PID, ascending, malloc'ed. */
	int (*list_pids)(const char *procfs, uint64_t **pids, size_t *n, struct errmsg *err);
	/* snapshot_self_pid: the caller's own PID. */
	uint64_t (*self_pid)(void);
	/* snapshot_open_mapped: the file mapped at m, for its bytes. */
	int (*open_mapped)(const struct snapshot *s, const struct mapping *m, uint64_t *size,
			   const char **why);
	/* module_loads: the PT_LOAD segments of an ELF module. */
	int (*module_loads)(uint64_t pid, const struct snapshot *s, size_t i, struct elf_load *out,
			    size_t cap, size_t *n, struct errmsg *err);
	/* snapshot_check_procfs: is dir a proc filesystem to read through? */
	int (*check_procfs)(const char *dir, struct errmsg *err);
};

/* The one backend of this build. */
extern const struct os_backend os_backend;

#endif
