/*
 * modmap.h - libmodmap, the public interface: read a process's module map
 * (every mapping, with the build ID of the file behind it) from the
 * operating system, and write it as text, JSON, CBOR or pprof.
 *
 * C99 and C++; includes only the C standard library; every name is
 * modmap_ or MODMAP_. Thread-safe: the library keeps no process-wide
 * state, so two threads may read two processes at once (each with its own
 * objects). docs/library.md is the guide, with a complete example.
 *
 * Errors: a call that can fail returns 0, or -1 with *err filled (when err
 * is not NULL): one line naming the PID or file and the reason, and a
 * MODMAP_ERR_* code.
 *
 * ABI (docs/library.md, "The ABI"): every struct the caller allocates and
 * the library reads or fills (options, mapping, lookup answer, stats,
 * event) travels with its size as the caller's header had it, as the
 * kernel's openat2 how.size does. The calls below are macros over *_sz
 * functions that pass sizeof, so they keep their source form. The library
 * reads and writes only that many bytes: options it reads beyond them are
 * zero (the defaults), fields it fills beyond them are left out, and bytes
 * of the caller's it does not know are zeroed (out) or must be zero (in).
 * New fields are only ever added at the end. struct modmap_error never
 * changes.
 */
#ifndef MODMAP_PUBLIC_H
#define MODMAP_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define MODMAP_API
#elif defined(__GNUC__)
#define MODMAP_API __attribute__((visibility("default")))
#else
#define MODMAP_API
#endif

#define MODMAP_VERSION_STRING "0.3.0"

/* What kind of failure, for a caller that acts on it. */
enum {
	MODMAP_ERR_OTHER = 1,
	MODMAP_ERR_NO_PROCESS,		/* no such process, or it exited while read */
	MODMAP_ERR_PERMISSION,		/* the caller may not read it */
	MODMAP_ERR_UNSUPPORTED,		/* this kernel or build cannot do it */
	MODMAP_ERR_TOO_LARGE,		/* an input over the size limit */
	MODMAP_ERR_BAD_INPUT,		/* a file that is not what it should be */
	MODMAP_ERR_NO_MEMORY
};

struct modmap_error {
	char message[512];		/* one line: PID or file, and the reason */
	int code;			/* MODMAP_ERR_* */
};

/*
 * Where writers put their bytes: called with each piece in order; returns
 * 0, or -1 with err filled (the write then stops and fails with it).
 */
typedef int modmap_sink(void *ctx, const void *p, size_t len, struct modmap_error *err);

/* modmap_options.build_id */
enum {
	MODMAP_BUILD_ID_AUTO = 0,	/* GNU note (ELF) or path+mtime */
	MODMAP_BUILD_ID_NATIVE,		/* GNU, Go, PDB, PE image key, else path+mtime */
	MODMAP_BUILD_ID_MTIME,		/* path+mtime, as Go writes on Windows */
	MODMAP_BUILD_ID_NONE,
	MODMAP_BUILD_ID_HTLHASH		/* the OpenTelemetry file ID, "htlhash" (SHA-256
					   of the first and last 4096 bytes and the length) */
};

/* modmap_options.mappings */
enum {
	MODMAP_MAPPINGS_EXEC = 0,	/* executable, named mappings: what pprof wants */
	MODMAP_MAPPINGS_ALL
};

/* modmap_options.source (Linux) */
enum {
	MODMAP_SOURCE_AUTO = 0,		/* PROCMAP_QUERY where the kernel has it */
	MODMAP_SOURCE_QUERY,
	MODMAP_SOURCE_MAPS		/* the text of /proc/PID/maps */
};

/* Zeroed: the defaults. */
struct modmap_options {
	int build_id;			/* MODMAP_BUILD_ID_* */
	int mappings;			/* MODMAP_MAPPINGS_* */
	int source;			/* MODMAP_SOURCE_* */
	const char *procfs;		/* NULL: "/proc" (Linux) */
	struct modmap_cache *cache;	/* NULL: none shared between reads */
	int jit;			/* also the JIT symbols (perf map, jitdump) and
					   [jit] regions holding them (docs/jit.md) */
	int read_fuse;			/* Linux: also read files on FUSE and network
					   file systems for build IDs, each in a child
					   process (docs/security.md) */
	uint64_t timeout_ms;		/* with read_fuse: the most one process's reads
					   of such files may take; 0: 5000 */
};

/* modmap_mapping.perms */
enum {
	MODMAP_PERM_READ = 1,
	MODMAP_PERM_WRITE = 2,
	MODMAP_PERM_EXEC = 4,
	MODMAP_PERM_SHARED = 8
};

/* One mapping. The strings are valid while the snapshot lives. */
struct modmap_mapping {
	uint64_t start, limit, offset;	/* [start, limit), file offset of start */
	const char *file;		/* path or [vdso]; "" when nameless */
	const char *build_id;		/* "" when none */
	const char *build_id_kind;	/* "gnu", "go", "pdb", "pe-image",
					   "path-mtime", "path", "none" */
	int is_main;			/* part of the main executable */
	/* More than SPEC's minimum: */
	int perms;			/* MODMAP_PERM_* */
	int deleted;			/* the file was unlinked after it was mapped */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
};

struct modmap_snapshot;			/* opaque: one process's map */

/*
 * Reads process pid. opts may be NULL (the defaults). On success *out is
 * a snapshot the caller frees with modmap_snapshot_free. A process that
 * is gone, a kernel thread or a zombie (no memory map to read) fails with
 * MODMAP_ERR_NO_PROCESS.
 */
#define modmap_snapshot_read(pid, opts, out, err) \
	modmap_snapshot_read_sz((pid), (opts), sizeof(struct modmap_options), (out), (err))
MODMAP_API int modmap_snapshot_read_sz(uint64_t pid, const struct modmap_options *opts,
				       size_t opts_size, struct modmap_snapshot **out,
				       struct modmap_error *err);
MODMAP_API size_t modmap_snapshot_count(const struct modmap_snapshot *s);
/* Fills *out with mapping i (0 <= i < count); -1 when i is out of range. */
#define modmap_snapshot_mapping(s, i, out) \
	modmap_snapshot_mapping_sz((s), (i), (out), sizeof(struct modmap_mapping))
MODMAP_API int modmap_snapshot_mapping_sz(const struct modmap_snapshot *s, size_t i,
					  struct modmap_mapping *out, size_t out_size);
MODMAP_API void modmap_snapshot_free(struct modmap_snapshot *s);

/* The process it holds, "linux" or "windows", its main executable ("" if
 * unknown), and the capture time in Unix nanoseconds. */
MODMAP_API uint64_t modmap_snapshot_pid(const struct modmap_snapshot *s);
MODMAP_API const char *modmap_snapshot_os(const struct modmap_snapshot *s);
MODMAP_API const char *modmap_snapshot_exe(const struct modmap_snapshot *s);
MODMAP_API uint64_t modmap_snapshot_time(const struct modmap_snapshot *s);
/* Which process (SPEC "Process identity"): the kernel's short name; its PID
 * in its own PID namespace; its cgroup path; the container ID in that path
 * ("" when none). Windows: the exe's name, the PID, "", "". */
MODMAP_API const char *modmap_snapshot_comm(const struct modmap_snapshot *s);
MODMAP_API uint64_t modmap_snapshot_ns_pid(const struct modmap_snapshot *s);
MODMAP_API const char *modmap_snapshot_cgroup(const struct modmap_snapshot *s);
MODMAP_API const char *modmap_snapshot_container_id(const struct modmap_snapshot *s);

/*
 * The index of the mapping that holds addr (start <= addr < limit), or -1.
 * A binary search; the innermost where mappings nest.
 */
MODMAP_API long long modmap_snapshot_find(const struct modmap_snapshot *s, uint64_t addr);

/* What modmap_lookup answers for one address (docs/lookup.md). */
struct modmap_lookup {
	uint64_t address;		/* the address asked about */
	long long mapping;		/* the mapping holding it, as modmap_snapshot_find
					   gives; -1: none (the rest is zero) */
	uint64_t file_offset;		/* address - start + offset: the byte's place in the file */
	int has_elf_vaddr;		/* an ELF file whose program headers were read */
	uint64_t elf_vaddr;		/* the link-time address: what addr2line -e FILE takes */
	int has_rva;			/* a PE module (a Windows process) */
	uint64_t rva;			/* address minus the module's base */
};

/*
 * Which mapping holds addr, and the address to hand a symbolizer. The
 * first call reads nothing; each mapping's ELF program headers are read on
 * the first address that needs them (from the file, opened as for build
 * IDs, else from the process's memory) and kept with the snapshot: so s is
 * not const, and two threads must not look up in one snapshot at once.
 * Returns 0 (also for an address no mapping holds), or -1 when memory runs out.
 */
#define modmap_lookup(s, addr, out, err) \
	modmap_lookup_sz((s), (addr), (out), sizeof(struct modmap_lookup), (err))
MODMAP_API int modmap_lookup_sz(struct modmap_snapshot *s, uint64_t addr,
				struct modmap_lookup *out, size_t out_size,
				struct modmap_error *err);

/*
 * A snapshot saved as pprof (written with MODMAP_FORMAT_PPROF) or CBOR, at
 * path ("-": standard input), read whole: at most max_size bytes, also
 * decompressed (0: 4 GiB; MODMAP_ERR_TOO_LARGE past it). Its process is
 * not read again: modmap_lookup takes program headers only from the files
 * at the mappings' paths that still carry their build IDs.
 */
MODMAP_API int modmap_snapshot_load(const char *path, uint64_t max_size,
				    struct modmap_snapshot **out, struct modmap_error *err);
/* An address as `modmap lookup` takes it: hexadecimal, with or without
 * 0x, blanks around; 0, or -1 when text[0..len) is none. */
MODMAP_API int modmap_parse_address(const char *text, size_t len, uint64_t *addr);
/*
 * An answer of modmap_lookup as `modmap lookup` writes it, without a
 * newline: MODMAP_FORMAT_TEXT one line, MODMAP_FORMAT_JSON one object.
 * Each mapping's part is rendered once and kept with s (not const).
 */
#define modmap_lookup_write(format, s, answer, sink, ctx, err)                                 \
	modmap_lookup_write_sz((format), (s), (answer), sizeof(struct modmap_lookup), (sink), \
			       (ctx), (err))
MODMAP_API int modmap_lookup_write_sz(int format, struct modmap_snapshot *s,
				      const struct modmap_lookup *answer, size_t answer_size,
				      modmap_sink *sink, void *ctx, struct modmap_error *err);

/*
 * A build-ID cache, shared by the reads given it (modmap_options.cache):
 * each file's ID is computed once. Holds no file descriptors. Not for two
 * threads at once: give each thread its own.
 */
struct modmap_cache;
MODMAP_API struct modmap_cache *modmap_cache_new(void);
MODMAP_API void modmap_cache_free(struct modmap_cache *c);

/* Output formats, as the modmap command writes them (docs/formats.md). */
enum {
	MODMAP_FORMAT_TEXT = 0,
	MODMAP_FORMAT_JSON,
	MODMAP_FORMAT_CBOR,		/* needs a build with libcbor */
	MODMAP_FORMAT_PPROF,		/* one snapshot only; gzip-compressed */
	MODMAP_FORMAT_JSONL		/* one JSON object a line */
};

/*
 * Writes n snapshots in a format into a malloc'ed buffer (*out, *len),
 * which the caller frees with free(). as_array: JSON/CBOR as an array even
 * for one snapshot.
 */
MODMAP_API int modmap_write(int format, const struct modmap_snapshot *const *snaps, size_t n,
			    int as_array, void **out, size_t *len, struct modmap_error *err);

/*
 * modmap_write through a sink instead of into a buffer: for a stream of
 * processes (MODMAP_FORMAT_TEXT, _JSONL), call it once per snapshot as
 * each is read, and only one is ever held.
 */
MODMAP_API int modmap_write_to(int format, const struct modmap_snapshot *const *snaps, size_t n,
			       int as_array, modmap_sink *sink, void *ctx,
			       struct modmap_error *err);
/* Can this build write format? (MODMAP_FORMAT_CBOR needs libcbor.) */
MODMAP_API int modmap_format_supported(int format);

/*
 * A file written piece by piece and atomically, as modmap_attach writes
 * its output: into a temporary file in the same directory, renamed over
 * path by modmap_output_commit; modmap_output_abort removes it and leaves
 * path untouched. A path that is no regular file (/dev/null, a FIFO) is
 * written in place. A NULL path is standard output (binary mode on
 * Windows), written as it comes. Both end calls free the output; err
 * names the path (or standard output) and the reason. modmap_output_write
 * is a modmap_sink (ctx: the output).
 */
struct modmap_output;
MODMAP_API int modmap_output_open(const char *path, struct modmap_output **out,
				  struct modmap_error *err);
MODMAP_API int modmap_output_write(void *output, const void *p, size_t len,
				   struct modmap_error *err);
/* What was written so far reaches its reader now (standard output's buffer). */
MODMAP_API int modmap_output_flush(struct modmap_output *o, struct modmap_error *err);
MODMAP_API int modmap_output_commit(struct modmap_output *o, struct modmap_error *err);
MODMAP_API void modmap_output_abort(struct modmap_output *o);
/*
 * The temporary file o writes, for a program that removes it should a
 * signal end it: its name in the directory descriptor *dir (POSIX:
 * unlinkat(*dir, name, 0), async-signal-safe, removes it), valid until o
 * is committed or aborted; NULL when there is none (standard output, a
 * path written in place, Windows). The library installs no signal
 * handler. modmap_attach tells its own output's through
 * modmap_attach_options.temp_file.
 */
MODMAP_API const char *modmap_output_temp(const struct modmap_output *o, int *dir);
/* Told of a temporary file: (user, dir, name) once it exists, as
 * modmap_output_temp names it; (user, -1, NULL) once it is renamed over its
 * target or removed. */
typedef void modmap_temp_fn(void *user, int dir, const char *name);

/* The caller's own PID. */
MODMAP_API uint64_t modmap_self_pid(void);
/*
 * The PID of every process on the system (Linux: in opts->procfs,
 * default /proc), ascending, in *pids, which the caller frees with free().
 */
#define modmap_list_pids(opts, pids, n, err) \
	modmap_list_pids_sz((opts), sizeof(struct modmap_options), (pids), (n), (err))
MODMAP_API int modmap_list_pids_sz(const struct modmap_options *opts, size_t opts_size,
				   uint64_t **pids, size_t *n, struct modmap_error *err);
/*
 * Is dir a proc filesystem processes can be read through
 * (modmap_options.procfs)? 0, or -1 with err naming dir and the reason
 * (MODMAP_ERR_BAD_INPUT when it is none; MODMAP_ERR_UNSUPPORTED off Linux).
 */
MODMAP_API int modmap_check_procfs(const char *dir, struct modmap_error *err);

/*
 * Progress of long work, for a program that shows it (the modmap command
 * draws one line on a terminal). The library never draws: it calls the
 * progress function of an options struct below (attach, collector,
 * symbolizer), on the thread doing the work, at most once per 256 KiB of
 * the profile read, file or module, and once at the end of each of
 * attach's passes; p and its strings live only during the call. A program
 * reading many processes (`modmap --all`) counts them itself:
 * modmap_list_pids gives how many.
 *
 * The library fills p->size bytes of it: a field beyond them (a library
 * older than the header) is not there; read it only when
 * offsetof(struct modmap_progress, field) + sizeof field <= p->size. New
 * fields are only ever added at the end.
 */

/* modmap_progress.stage */
enum {
	MODMAP_PROGRESS_ATTACH = 1,	/* modmap_attach reading the profile */
	MODMAP_PROGRESS_COLLECT,	/* modmap_collector_add keeping files */
	MODMAP_PROGRESS_SYMBOLIZE	/* a symbolizer opening modules */
};

struct modmap_progress {
	size_t size;			/* the bytes of this struct the library filled */
	int stage;			/* MODMAP_PROGRESS_* */
	int pass, passes;		/* ATTACH: pass 1 (checking the profile) or 2
					   (writing it) of 2; else 1 of 1 */
	/* ATTACH: bytes of the profile file read in this pass, as stored
	 * (compressed, if it is); COLLECT: the snapshot's mappings of files
	 * with a build ID handled so far; SYMBOLIZE: modules the symbolizer
	 * has opened (or tried to), once each. */
	uint64_t done;
	/* What done counts to; 0: not known (ATTACH: a profile from a pipe,
	 * in the first pass; SYMBOLIZE: modules are opened as addresses need
	 * them). */
	uint64_t total;
	const char *name;		/* COLLECT: the file just handled; SYMBOLIZE:
					   the module just opened; else NULL */
	/* COLLECT: the collector's counts so far, as modmap_collector_stats
	 * gives them; else zero. */
	uint64_t copied, bytes, present, skipped;
};

/* Where progress goes: user is the options' progress_user. */
typedef void modmap_progress_fn(void *user, const struct modmap_progress *p);

/*
 * Symbolization (docs/symbolize.md): names for addresses, where the
 * binaries are. One symbolizer per run (or per thread): it opens each
 * module once, keyed by build ID, and keeps it. Not built (elfutils
 * missing, the Windows build): modmap_symbolizer_new fails with
 * MODMAP_ERR_UNSUPPORTED, "symbolization not built".
 *
 * The options and frames travel with their size, as every struct here.
 */
struct modmap_symbolizer;

struct modmap_symbolize_options {
	/* Directories of separate debug files and collect stores, searched in
	 * order (.build-id/xx/rest.debug, .gnu_debuglink); none: /usr/lib/debug.
	 * debuginfod servers come from DEBUGINFOD_URLS. */
	const char *const *debug_dirs;
	size_t n_debug_dirs;
	/* Called once per module whose symbols cannot (all) be found, with one
	 * line naming the file and the reason; may be NULL. */
	void (*warn)(void *ctx, const char *line);
	void *warn_ctx;
	/* Called as modules are opened (MODMAP_PROGRESS_SYMBOLIZE), with
	 * progress_user; may be NULL. */
	modmap_progress_fn *progress;
	void *progress_user;
};

/* One frame of an address, innermost inlined function first. */
struct modmap_frame {
	const char *function;		/* demangled name; NULL where unknown */
	const char *system_name;	/* the linkage or symbol table name */
	const char *file;		/* source path; NULL where unknown */
	uint32_t line, column;		/* 0 where unknown; outer frames: the call site */
	uint32_t start_line;		/* the function's first line; 0 where unknown */
};

/* opts may be NULL (the defaults). */
#define modmap_symbolizer_new(opts, out, err) \
	modmap_symbolizer_new_sz((opts), sizeof(struct modmap_symbolize_options), (out), (err))
MODMAP_API int modmap_symbolizer_new_sz(const struct modmap_symbolize_options *opts,
					size_t opts_size, struct modmap_symbolizer **out,
					struct modmap_error *err);
MODMAP_API void modmap_symbolizer_free(struct modmap_symbolizer *z);

/*
 * The frames at addr of snapshot s (read live: its process's files are
 * opened through it, deleted ones included), innermost first, into
 * frames[0..cap); *n says how many (0 when nothing names addr, or no
 * mapping holds it). Their strings belong to z and last until its next
 * call or its free. Returns 0, or -1 when memory runs out. Like
 * modmap_lookup, it keeps per-mapping state in s: one thread at a time per
 * snapshot and per symbolizer.
 */
#define modmap_symbolize(z, s, addr, frames, cap, n, err)                                  \
	modmap_symbolize_sz((z), (s), (addr), (frames), sizeof(struct modmap_frame), (cap), (n), \
			    (err))
MODMAP_API int modmap_symbolize_sz(struct modmap_symbolizer *z, struct modmap_snapshot *s,
				   uint64_t addr, struct modmap_frame *frames, size_t frame_size,
				   size_t cap, size_t *n, struct modmap_error *err);

/*
 * modmap_lookup_write with frames under the answer (modmap_symbolize's,
 * or modmap_jit_frame's one): "symbols" in JSON, a line a frame in text;
 * jit names the JIT source ("perf-map", "jitdump") or is NULL.
 */
#define modmap_lookup_write_frames(format, s, answer, frames, n, jit, sink, ctx, err)           \
	modmap_lookup_write_frames_sz((format), (s), (answer), sizeof(struct modmap_lookup),   \
				      (frames), sizeof(struct modmap_frame), (n), (jit), (sink), \
				      (ctx), (err))
MODMAP_API int modmap_lookup_write_frames_sz(int format, struct modmap_snapshot *s,
					     const struct modmap_lookup *answer, size_t answer_size,
					     const struct modmap_frame *frames, size_t frame_size,
					     size_t n, const char *jit, modmap_sink *sink, void *ctx,
					     struct modmap_error *err);
/*
 * The JIT symbol holding addr (a snapshot read with jit, or loaded with
 * modmap_snapshot_load_jit) as one frame, its strings the snapshot's until
 * the next call; *source its file ("perf-map", "jitdump"). 1, or 0: none.
 */
#define modmap_jit_frame(s, addr, out, source) \
	modmap_jit_frame_sz((s), (addr), (out), sizeof(struct modmap_frame), (source))
MODMAP_API int modmap_jit_frame_sz(struct modmap_snapshot *s, uint64_t addr,
				   struct modmap_frame *out, size_t out_size, const char **source);
/* modmap_snapshot_load, with the JIT symbols of a snapshot saved with jit. */
MODMAP_API int modmap_snapshot_load_jit(const char *path, uint64_t max_size,
					struct modmap_snapshot **out, struct modmap_error *err);

/* What modmap_attach does (docs/attach.md). */
struct modmap_attach_options {
	uint64_t pid;			/* the profiled process, still running; or */
	const char *snapshot;		/* its map saved as pprof or CBOR ("-": standard
					   input); exactly one of the two */
	const char *profile;		/* the profile, gzip or raw ("-": standard input) */
	const char *output;		/* NULL: standard output; may be profile itself */
	uint64_t max_size;		/* bound on every input, also decompressed;
					   0: 4 GiB (MODMAP_ERR_TOO_LARGE past it) */
	const char *procfs;		/* with pid: its proc filesystem; NULL: "/proc" */
	int jit;			/* name locations in JIT code by the JIT symbols
					   of pid, or of a snapshot read with jit */
	struct modmap_cache *cache;	/* with pid; NULL: none */
	/* attach --symbolize: name every location whose module's symbols it
	 * finds (docs/symbolize.md); NULL: none. Used only during the call. */
	struct modmap_symbolizer *symbolizer;
	/* Called as the profile is read (MODMAP_PROGRESS_ATTACH), with
	 * progress_user; may be NULL. */
	modmap_progress_fn *progress;
	void *progress_user;
	/* Told of the output's temporary file, with temp_user (a program's
	 * signal handler removes it: modmap_output_temp); may be NULL. */
	modmap_temp_fn *temp_file;
	void *temp_user;
};

/* What modmap_attach did. */
struct modmap_attach_stats {
	size_t mappings;		/* the snapshot's mappings, now ids 1..mappings */
	size_t locations;		/* locations in the profile */
	size_t mapped;			/* ... now pointing at one of them */
	size_t kept;			/* old mappings kept after them */
	size_t kept_locations;		/* ... and the locations that still use them */
	size_t jit_named;		/* locations given a line from a JIT symbol */
	size_t jit_functions;		/* functions added for them */
	size_t symbolized;		/* locations given lines by opts->symbolizer */
	size_t sym_functions;		/* functions added for them */
};

/*
 * Gives the pprof profile opts->profile the mapping table of a live
 * process or of a saved snapshot, and writes the result, gzip-compressed,
 * to opts->output atomically: nothing is opened for output until the
 * input proved good, and on failure no output file is left (standard
 * output may have had part of it). A snapshot without a mapping table is
 * MODMAP_ERR_UNSUPPORTED. stats may be NULL.
 */
#define modmap_attach(opts, stats, err)                                                   \
	modmap_attach_sz((opts), sizeof(struct modmap_attach_options), (stats),            \
			 sizeof(struct modmap_attach_stats), (err))
MODMAP_API int modmap_attach_sz(const struct modmap_attach_options *opts, size_t opts_size,
				struct modmap_attach_stats *stats, size_t stats_size,
				struct modmap_error *err);

/* What modmap_collect did. */
struct modmap_collect_stats {
	uint64_t copied;		/* files copied */
	uint64_t bytes;			/* ... and their bytes */
	uint64_t present;		/* files already in the directory */
	uint64_t skipped;		/* files that could not be kept */
};

/*
 * Keeps the files the mappings of s were loaded from in dir (made if
 * missing), by build ID, where symbolizers search (docs/collect.md): ELF
 * files with a GNU build ID as dir/<id>/<name> and dir/.build-id/<xx>/<rest>,
 * PE files as dir/<name>/<TimeDateStamp><SizeOfImage>/<name> (read s with
 * MODMAP_BUILD_ID_NATIVE: only then does it hold PE image keys). The
 * process must still run: its files are opened through it, deleted ones
 * too. Each copy is checked to carry the mapping's build ID before it
 * appears, atomically; one already there is not copied again (one with
 * the same build ID and other contents is named through skipped, and
 * replaced only by a file root owns). A copy's mode is its source's, at
 * most 0644; holes stay holes. dir and everything below it are made
 * without following a symbolic link another user owns, and a dir others
 * may rewrite (not sticky) is refused (docs/security.md).
 * max_file_size bounds each file (0: 1 GiB); one call writes at most
 * 4 GiB of data (the command's --max-total bounds a whole run). skipped, if not NULL, is
 * called with ctx and one line (PID, file, reason) per file not kept.
 * Returns 0 when every file was kept, 1 when some were not (stats and
 * skipped say which), -1 with err set when dir cannot be made or memory
 * runs out. stats may be NULL.
 */
#define modmap_collect(s, dir, max_file_size, skipped, ctx, stats, err)                    \
	modmap_collect_sz((s), (dir), (max_file_size), (skipped), (ctx), (stats),             \
			  sizeof(struct modmap_collect_stats), (err))
MODMAP_API int modmap_collect_sz(const struct modmap_snapshot *s, const char *dir,
				 uint64_t max_file_size,
				 void (*skipped)(void *ctx, const char *line), void *ctx,
				 struct modmap_collect_stats *stats, size_t stats_size,
				 struct modmap_error *err);

/*
 * The same over many snapshots, as `modmap collect --all` does: a file
 * several processes map is handled once, and the stats add up. Each
 * modmap_collector_add returns 0 (a file not kept only counts in the stats
 * and goes to skipped), or -1 with err set when nothing can go on (dir
 * cannot be made, memory runs out).
 */
struct modmap_collect_options {
	const char *dir;		/* made if missing */
	uint64_t max_file_size;		/* bound on each file; 0: 1 GiB */
	void (*skipped)(void *ctx, const char *line);	/* may be NULL */
	void *ctx;
	/* bound on the bytes of data (holes are not written) the collector
	 * writes in all; a file that would pass it is skipped; 0: 4 GiB */
	uint64_t max_total;
	/* Called after each file a snapshot maps is handled
	 * (MODMAP_PROGRESS_COLLECT), with progress_user; may be NULL. */
	modmap_progress_fn *progress;
	void *progress_user;
};
struct modmap_collector;
#define modmap_collector_new(opts, out, err) \
	modmap_collector_new_sz((opts), sizeof(struct modmap_collect_options), (out), (err))
MODMAP_API int modmap_collector_new_sz(const struct modmap_collect_options *opts,
				       size_t opts_size, struct modmap_collector **out,
				       struct modmap_error *err);
MODMAP_API int modmap_collector_add(struct modmap_collector *c, const struct modmap_snapshot *s,
				    struct modmap_error *err);
#define modmap_collector_stats(c, stats) \
	modmap_collector_stats_sz((c), (stats), sizeof(struct modmap_collect_stats))
MODMAP_API void modmap_collector_stats_sz(const struct modmap_collector *c,
					  struct modmap_collect_stats *stats, size_t stats_size);
/*
 * Why files were not kept: reason i (0, 1, ...; static text such as "larger
 * than the size limit") and in *count how many files it cost; NULL past
 * the last.
 */
MODMAP_API const char *modmap_collector_reason(const struct modmap_collector *c, size_t i,
					       uint64_t *count);
MODMAP_API void modmap_collector_free(struct modmap_collector *c);
/*
 * Following one process over time (what `modmap watch` does): each poll
 * reads it again and reports the mappings loaded and unloaded since the
 * last poll, matched by start, limit, inode and offset. Build IDs are kept
 * across polls (opts->cache, or the watch's own), so a poll reads only new
 * files. Not for two threads at once.
 */
struct modmap_watch;

/* modmap_event.kind */
enum {
	MODMAP_EVENT_LOAD = 0,		/* a mapping appeared (the first poll: every one) */
	MODMAP_EVENT_UNLOAD,		/* a mapping went */
	MODMAP_EVENT_EXIT		/* the process ended; later polls give nothing */
};

struct modmap_event {
	int kind;			/* MODMAP_EVENT_* */
	uint64_t time;			/* the poll's read, Unix nanoseconds; never decreases */
	uint64_t pid;
	/* Load/unload; zeroed ("" strings) for exit. It stays the last
	 * member, so that it may grow as struct modmap_mapping grows. */
	struct modmap_mapping mapping;
};

/* Starts following pid; nothing is read until the first poll. */
#define modmap_watch_new(pid, opts, out, err) \
	modmap_watch_new_sz((pid), (opts), sizeof(struct modmap_options), (out), (err))
MODMAP_API int modmap_watch_new_sz(uint64_t pid, const struct modmap_options *opts,
				   size_t opts_size, struct modmap_watch **out,
				   struct modmap_error *err);
/*
 * Reads the process and returns how many events it gave (0: no change), or
 * -1 with err filled: the first poll of a process that does not exist or
 * cannot be read, or memory that ran out. Events (and their strings) are
 * valid until the next poll. Once the exit event was given, a poll returns
 * 0 and reads nothing.
 */
MODMAP_API long long modmap_watch_poll(struct modmap_watch *w, struct modmap_error *err);
/* Event i of the last poll; -1 when i is out of range. */
#define modmap_watch_event(w, i, out) \
	modmap_watch_event_sz((w), (i), (out), sizeof(struct modmap_event))
MODMAP_API int modmap_watch_event_sz(const struct modmap_watch *w, size_t i,
				     struct modmap_event *out, size_t out_size);
/*
 * Event i of the last poll as the line `modmap watch` writes: one JSON
 * object ({"event":"load",...}, the mapping's keys as in a snapshot's
 * JSON) and a newline, through sink.
 */
MODMAP_API int modmap_watch_write(const struct modmap_watch *w, size_t i, modmap_sink *sink,
				  void *ctx, struct modmap_error *err);
MODMAP_API void modmap_watch_free(struct modmap_watch *w);

/* The library's version, "0.3.0". */
MODMAP_API const char *modmap_version(void);

#ifdef __cplusplus
}
#endif

#endif
