/*
 * snapshot.h - the types every part of the library shares: one mapping
 * record, one snapshot of a process, the options a backend reads with, and
 * the calls that reach the OS backend (os/os.h) through snapshot.c.
 *
 * Nothing here includes an OS header.
 */
#ifndef MODMAP_SNAPSHOT_H
#define MODMAP_SNAPSHOT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "modmap.h"	/* the public interface, which this implements */

#define MODMAP_VERSION MODMAP_VERSION_STRING

/* Permission bits of a mapping (struct mapping.prot). */
enum {
	PERM_R = MODMAP_PERM_READ,
	PERM_W = MODMAP_PERM_WRITE,
	PERM_X = MODMAP_PERM_EXEC,
	PERM_SHARED = MODMAP_PERM_SHARED,
};

/* struct mapping.flags */
enum {
	MAPF_DELETED = 1,	/* the mapped file was unlinked after it was mapped */
	MAPF_FILE = 2,		/* backed by a file (has device and inode) */
	MAPF_MAIN = 4,		/* part of the process's main executable */
	MAPF_UNTRUSTED_FS = 8,	/* on FUSE or a network file system whose server
				   may never answer: neither the file nor its
				   pages in the process are read (unless asked) */
};

/* Why a MAPF_UNTRUSTED_FS mapping's file was not read. */
#define MAPF_UNTRUSTED_WHY "on a FUSE or network file system, whose server may never answer: not read"

/* What struct mapping.build_id is. */
enum bid_kind {
	BIDK_NONE = 0,		/* no ID: mode none, or nothing to identify */
	BIDK_GNU,		/* ELF NT_GNU_BUILD_ID note, lowercase hex */
	BIDK_GO,		/* Go build ID (.note.go.buildid) */
	BIDK_PDB,		/* PE CodeView: GUID (32 hex) then age (hex) */
	BIDK_PE_IMAGE,		/* PE TimeDateStamp %08X then SizeOfImage %x */
	BIDK_PATH_MTIME,	/* path followed by Go's time.Time.String() */
	BIDK_PATH,		/* path alone: the file could not be stat'ed */
	BIDK_HTLHASH,		/* OpenTelemetry file ID: SHA-256 of head, tail, length */
};

/*
 * One mapping record. Strings are offsets into the owning snapshot's arena;
 * offset 0 is always the empty string, so a zeroed record is valid.
 */
struct mapping {
	uint64_t start;		/* first address */
	uint64_t limit;		/* one past the last address */
	uint64_t offset;	/* file offset of start */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	uint32_t prot;		/* PERM_* */
	uint32_t flags;		/* MAPF_* */
	uint32_t file;		/* path or name ([vdso], [anon:x]); "" for none */
	uint32_t build_id;	/* the chosen ID, as text */
	uint32_t go_build_id;	/* Go build ID when the file has one */
	uint32_t pdb_file;	/* PE: PDB path from the CodeView record */
	uint32_t pdb_sig;	/* PE: CodeView GUID and age, as symbol servers key PDBs */
	uint32_t pe_image;	/* PE: TimeDateStamp %08X and SizeOfImage %x */
	uint32_t bid_error;	/* why no ID came from the file's contents */
	enum bid_kind bid_kind;
};

/*
 * One process's module map. It owns its records and every string in one
 * arena: snapshot_free() releases all of it.
 */
struct snapshot {
	uint64_t pid;
	const char *os;		/* "linux" or "windows" (static) */
	uint64_t time_nanos;	/* capture time, Unix nanoseconds */
	uint32_t exe;		/* path of the main executable, "" if unknown */
	/* Which process, for agents that see many (SPEC "Process identity"). */
	uint32_t comm;		/* the kernel's short name; Windows: the exe's base name */
	uint64_t ns_pid;	/* its PID in its own PID namespace; pid outside one */
	uint64_t start_time;	/* Linux: clock ticks after boot when it started, a
				   PID's one life (watch tells reuse by it); 0 unknown */
	uint32_t cgroup;	/* its cgroup (v2) path, "" if unknown */
	uint32_t container_id;	/* 64 hex from the cgroup path, "" if none */
	int saved;		/* read back from a saved file: permissions, device,
				   inode and deletion are not known */
	uint32_t procfs;	/* Linux: the --procfs it was read through, "" for /proc */
	struct mapping *map;
	size_t n, cap;
	char *arena;
	size_t used, size;
	struct jit_table *jit;	/* --jit: the JIT symbols (jit.h), else NULL */
};

void snapshot_init(struct snapshot *s);
void snapshot_free(struct snapshot *s);
/* A new zeroed record at the end, or NULL when memory runs out. */
struct mapping *snapshot_add(struct snapshot *s);
/*
 * Copies len bytes (plus a terminating NUL) into the arena. Returns the
 * offset, or 0 for an empty string; on allocation failure returns
 * UINT32_MAX and leaves the snapshot as it was.
 */
uint32_t snapshot_intern(struct snapshot *s, const char *p, size_t len);
uint32_t snapshot_intern_str(struct snapshot *s, const char *p);
/* The string at offset first followed by second (not in the arena). */
uint32_t snapshot_intern_after(struct snapshot *s, uint32_t first, const char *second);
/* Interns text and stores its offset in *field; 0, or -1 when memory runs out. */
int snapshot_set(struct snapshot *s, uint32_t *field, const char *text);
static inline const char *snapshot_str(const struct snapshot *s, uint32_t off)
{
	return s->arena ? s->arena + off : "";
}

/* "r-xp": the permissions as /proc/PID/maps writes them (out: 5 bytes). */
void perm_string(uint32_t prot, char out[5]);
/* "gnu", "go", "pdb", "pe-image", "path-mtime", "path", "htlhash" or "none". */
const char *bid_kind_name(enum bid_kind k);

enum source { SOURCE_AUTO, SOURCE_QUERY, SOURCE_MAPS };
/* BID_HTLHASH: the OpenTelemetry file ID (htlhash.h), for every file. */
enum bid_mode { BID_AUTO, BID_NATIVE, BID_MTIME, BID_NONE, BID_HTLHASH };
enum mapset { MAPPINGS_EXEC, MAPPINGS_ALL };

struct bid_cache;
struct jit_table;

struct read_opts {
	enum source source;
	enum bid_mode bid;
	enum mapset set;
	struct bid_cache *cache;	/* may be NULL: no caching */
	/*
	 * Linux: where the proc filesystem of the processes to read is mounted
	 * (a host's /proc seen from a sidecar); NULL for "/proc". Every file
	 * of the target is read through it; modmap's own /proc/self is not.
	 */
	const char *procfs;
	int jit;		/* read JIT symbols (perf map, jitdump): s->jit */
	/*
	 * Read files on FUSE and network file systems for build IDs too. Their
	 * server may never answer, and the reader then sleeps where no signal
	 * ends it: off, they give the path alone (docs/security.md).
	 */
	int read_fuse;
	/*
	 * With read_fuse: how long one process's reads of such files may take,
	 * in milliseconds (0: 5000). Each runs in a child process that is left
	 * behind when it does not answer in time; the process then fails,
	 * naming the file.
	 */
	uint64_t timeout_ms;
};

/* How a snapshot failed; main.c turns every one into exit status 1. */
enum read_status {
	READ_OK = 0,
	READ_FAILED,		/* err says why: no such process, denied, ... */
	READ_SKIP,		/* nothing to report under --all (kernel thread, gone) */
};

/*
 * The backend: fills s (already initialised) with pid's module map.
 * On failure err holds one line naming the PID and the reason, and s may
 * hold a partial list, which the caller discards.
 */
enum read_status snapshot_read(struct snapshot *s, uint64_t pid,
			       const struct read_opts *o, struct errmsg *err);

/*
 * The backend: the PT_LOAD segments (out[0..*n), cap >= ELF_LOADS_MAX) of
 * the ELF module that mapping i of s maps, s having been read from process
 * pid with every mapping. From the file, opened as for build IDs; when
 * that fails (deleted, another mount namespace, no permission), from the
 * target's memory, where the module's first mapping (the same file at
 * offset 0) holds the ELF header and program headers. Returns 0, or -1
 * with err naming the PID, the file and the reason.
 */
struct elf_load;
int module_loads(uint64_t pid, const struct snapshot *s, size_t i, struct elf_load *out,
		 size_t cap, size_t *n, struct errmsg *err);

/* The caller's own PID. */
uint64_t snapshot_self_pid(void);

/*
 * Every PID on the system (Linux: in procfs, NULL for "/proc"), ascending,
 * in a malloc'ed array the caller frees. Returns -1 and sets err on failure.
 */
int snapshot_list_pids(const char *procfs, uint64_t **pids, size_t *n, struct errmsg *err);

/*
 * Is dir a proc filesystem modmap can read processes through? 0, or -1
 * with err naming dir and the reason (ERR_BAD_INPUT when it is not a proc
 * filesystem, ERR_UNSUPPORTED off Linux).
 */
int snapshot_check_procfs(const char *dir, struct errmsg *err);

/* What the backends build that list with. Start from a zeroed one. */
struct pidlist {
	uint64_t *v;
	size_t n, cap;
	int oom;
};
void pidlist_add(struct pidlist *l, uint64_t pid);
/* Sorts the list and hands it over; -1 (list freed, err set) after OOM. */
int pidlist_finish(struct pidlist *l, uint64_t **pids, size_t *n, struct errmsg *err);

#endif
