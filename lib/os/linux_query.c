/*
 * os/linux_query.c - the PROCMAP_QUERY source (Linux 6.11+): a process's
 * mappings one ioctl at a time, each file's build ID from the kernel where
 * its pages are safe to read, and the gate area ([vsyscall]) that the
 * maps text lists but the ioctl cannot. Its records go through add_record
 * exactly as the text's do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "os/linux_target.h"

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
int query_all_bases(struct target *t)
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

/* What source_query carries from one ioctl to the next. */
struct query_walk {
	struct target *t;
	char *name;		/* where the kernel writes a mapping's name */
	size_t cap;
	unsigned char bid[BUILDID_MAX];
	char hex[2 * BUILDID_MAX + 1];
	uint64_t addr;		/* the next ioctl asks at or after this */
	int lazy_id;		/* IDs asked for only at a new file's start */
	int ask_id;		/* the next ioctl asks for the ID */
	int has_wide;		/* a mapping above 4 GiB seen (add_gate_area) */
	struct {
		int valid;
		uint32_t major, minor;
		uint64_t inode;
		int has_id;	/* then hex holds it */
	} last;			/* the file of the record before */
};

enum { QUERY_AGAIN = 1 };

/*
 * After a failed ioctl (errno): QUERY_AGAIN to ask once more (EINTR, a
 * bigger name buffer), 0 at the end of the mappings, or what source_query
 * returns.
 */
static int query_failed(struct query_walk *w, struct errmsg *err)
{
	struct target *t = w->t;
	if (errno == EINTR)
		return QUERY_AGAIN;
	if (errno == ENOENT)
		return 0;	/* no mapping at or after addr */
	if (errno == ENAMETOOLONG && w->cap < NAME_MAX_BYTES) {
		char *bigger = realloc(w->name, w->cap * 4);
		if (!bigger) {
			err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)t->pid);
			return -1;
		}
		memset(bigger + w->cap, 0, w->cap * 3);
		w->name = bigger;
		w->cap *= 4;
		return QUERY_AGAIN;
	}
	if (errno == ENAMETOOLONG && t->o->source == SOURCE_AUTO) {
		/* A path past PATH_MAX, which the ioctl never
		 * returns but the text does: start again there. */
		t->s->n = 0;
		t->s->exe = 0;
		t->rr.have_prev = 0;
		t->nbases = 0;
		return MAPS_NO_QUERY;
	}
	if (errno == ENOTTY && w->addr == 0 && t->s->n == 0)
		return MAPS_NO_QUERY;
	if (errno == ESRCH)
		return MAPS_NO_MM;	/* the caller says why */
	char path[PROC_PATH];
	err_sete(err, errno, "pid %llu: PROCMAP_QUERY on %s: %s", (unsigned long long)t->pid,
		proc_path(t, "maps", path), strerror(errno));
	return -1;
}

static uint32_t query_prot(uint64_t vma_flags)
{
	uint32_t prot = 0;
	if (vma_flags & PROCMAP_QUERY_VMA_READABLE)
		prot |= PERM_R;
	if (vma_flags & PROCMAP_QUERY_VMA_WRITABLE)
		prot |= PERM_W;
	if (vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE)
		prot |= PERM_X;
	if (vma_flags & PROCMAP_QUERY_VMA_SHARED)
		prot |= PERM_SHARED;
	return prot;
}

static void query_remember(struct query_walk *w, const struct procmap_query *q, int has_id)
{
	w->last.valid = 1;
	w->last.major = q->dev_major;
	w->last.minor = q->dev_minor;
	w->last.inode = q->inode;
	w->last.has_id = has_id;
}

/*
 * The kernel's build ID for the record q (NULL: none), by the policy
 * source_query describes. Returns 1 when q must be asked for again, at its
 * start, with its ID; else 0.
 */
static int query_id(struct query_walk *w, const struct procmap_query *q, const char **kid)
{
	*kid = NULL;
	if (w->lazy_id && !w->ask_id && q->inode != 0) {
		if (!(w->last.valid && w->last.inode == q->inode && w->last.major == q->dev_major &&
		      w->last.minor == q->dev_minor)) {
			if (!file_untrusted(w->t, q->dev_major, q->dev_minor)) {
				w->ask_id = 1;	/* another file: again, with its ID */
				w->addr = q->vma_start;
				return 1;
			}
			/* not read: its records go without the kernel's ID */
			query_remember(w, q, 0);
		}
		*kid = w->last.has_id ? w->hex : NULL;
	} else if (w->ask_id) {
		int has_id = q->build_id_size > 0 && q->build_id_size <= sizeof w->bid;
		query_remember(w, q, has_id);
		if (has_id) {
			hex_encode(w->hex, w->bid, q->build_id_size);
			*kid = w->hex;
		}
		w->ask_id = !w->lazy_id;
	}
	return 0;
}

/*
 * Returns 0, -1 with err set, MAPS_NO_QUERY when the caller should read the text
 * instead (a kernel without PROCMAP_QUERY, ENOTTY; or, for the default
 * source, a path longer than the ioctl can return), or MAPS_NO_MM when the process
 * has no address space (ESRCH: a kernel thread, a zombie, or one that
 * exited).
 *
 * Reading the build ID is two thirds of the ioctl's cost (the kernel
 * parses the note anew for every mapping). With every mapping asked
 * for, most records are anonymous or a further segment of the file
 * before: records come without the ID, and a record of another file
 * is asked for again, at its start, with it.
 *
 * The kernel reads the note from the file's pages, and a page of a
 * file whose server stalls (FUSE) never comes: the ioctl would sleep
 * for good. Where the process has such file systems mounted (or the
 * host any FUSE connection), every record comes first without the ID,
 * and a new file is asked for again, at its start, with it, once its
 * device is known to be safe to read (file_untrusted). Consecutive
 * records of one file (most, with every mapping asked for) share that
 * one ask. Elsewhere each record comes with its ID in one ioctl.
 */
int source_query(struct target *t, int fd, struct errmsg *err)
{
	int want_id = t->o->bid == BID_AUTO || t->o->bid == BID_NATIVE;
	/* Zeroed once: the kernel fills them, and tools like valgrind that do
	 * not know this ioctl would otherwise see the bytes as uninitialised. */
	struct query_walk w = { .t = t, .cap = 4096 };
	w.name = calloc(1, w.cap);
	if (!w.name) {
		err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)t->pid);
		return -1;
	}
	int lazy_id = want_id && (t->o->set == MAPPINGS_ALL || untrusted_mounts(t));
	w.lazy_id = lazy_id;
	w.ask_id = want_id && !lazy_id;
	t->bases_all = t->o->set != MAPPINGS_EXEC;
	int rc = 0;
	for (;;) {
		struct procmap_query q = {
			.size = sizeof q,
			.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA |
				       (t->o->set == MAPPINGS_EXEC ? PROCMAP_QUERY_VMA_EXECUTABLE : 0),
			.query_addr = w.addr,
			.vma_name_size = (uint32_t)w.cap,
			.vma_name_addr = (uintptr_t)w.name,
		};
		/* The kernel refuses an address without a size and vice versa. */
		if (w.ask_id) {
			q.build_id_size = sizeof w.bid;
			q.build_id_addr = (uintptr_t)w.bid;
		}
		if (ioctl(fd, PROCMAP_QUERY, &q) < 0) {
			if ((rc = query_failed(&w, err)) == QUERY_AGAIN) {
				rc = 0;
				continue;
			}
			break;
		}
		const char *kid;
		if (query_id(&w, &q, &kid))
			continue;
		if (q.vma_end > 0x100000000ULL)
			w.has_wide = 1;
		struct maps_line ml = {
			.start = q.vma_start,
			.limit = q.vma_end,
			.offset = q.vma_offset,
			.prot = query_prot(q.vma_flags),
			.dev_major = q.dev_major,
			.dev_minor = q.dev_minor,
			.inode = q.inode,
			.name = w.name,
			.name_len = q.vma_name_size ? q.vma_name_size - 1 : 0,
		};
		if (add_record(t, &ml, 0, kid) < 0) {
			err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)t->pid);
			rc = -1;
			break;
		}
		if (q.vma_end <= w.addr)
			break;	/* a kernel that does not advance would loop */
		w.addr = q.vma_end;
	}
	free(w.name);
	if (rc == 0 && add_gate_area(t, w.has_wide) < 0) {
		err_setc(err, ERR_NO_MEMORY, "pid %llu: out of memory", (unsigned long long)t->pid);
		rc = -1;
	}
	return rc;
}
