/*
 * symbolize.h - names for addresses: from an address inside a module to the
 * frames it stands for, innermost inlined function first (SPEC.md
 * "Symbolize", docs/symbolize.md).
 *
 * One symbolizer per run. It opens each module once (keyed by build ID),
 * from the descriptor the OS backend opened for the mapping (live), or from
 * this machine's copy of the file or a --debug-dir store (saved snapshots),
 * each checked against the mapping's build ID, and asks elfutils for the
 * symbol, the line and the inline chain. Nothing here names elfutils: the
 * interface is portable, and a build without it (SYMBOLIZE=0, Windows)
 * answers "symbolization not built".
 *
 * Not thread-safe per object; two symbolizers may run in two threads.
 */
#ifndef MODMAP_SYMBOLIZE_H
#define MODMAP_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "progress.h"
#include "snapshot.h"

/* The deepest inline chain reported for one address. */
#define SYM_FRAMES_MAX 64

/*
 * One frame. Strings are owned by the symbolizer and stay valid until the
 * next symbolizer_frames call on it (or its free); NULL where not known.
 */
struct sym_frame {
	const char *function;		/* demangled name */
	const char *system_name;	/* the name as the symbol table or DWARF linkage has it */
	const char *file;		/* source path */
	uint32_t line, column;		/* 0 where not known */
	uint32_t start_line;		/* the function's first line (DW_AT_decl_line) */
};

struct symbolizer_opts {
	/* Directories of separate debug files and collect stores, searched in
	 * order; none: /usr/lib/debug. */
	const char *const *debug_dirs;
	size_t ndebug_dirs;
	/* Called once per module whose symbols cannot (all) be found, with one
	 * line naming the file and the reason (no trailing newline); may be
	 * NULL. */
	void (*warn)(void *ctx, const char *line);
	void *ctx;
	/* told after each module is opened (or tried): how many so far */
	struct progress_to progress;
};

struct symbolizer;
struct sym_module;

/* Is symbolization built in (elfutils)? */
int symbolize_built(void);

/*
 * A new symbolizer, or NULL with err set (ERR_UNSUPPORTED: "symbolization
 * not built"; ERR_NO_MEMORY).
 */
struct symbolizer *symbolizer_new(const struct symbolizer_opts *o, struct errmsg *err);
void symbolizer_free(struct symbolizer *z);

/*
 * The module mapping i of s maps, opened once per build ID: for a live
 * snapshot, through the backend (deleted and container files included);
 * for a saved one, from its path on this machine, else from
 * DIR/.build-id/xx/rest and DIR/.build-id/xx/rest.debug of each debug
 * directory, taken only when its build ID is the mapping's. NULL when the
 * mapping maps no ELF file whose symbols can be read (warned once, unless
 * it maps no file at all).
 */
struct sym_module *symbolizer_module(struct symbolizer *z, const struct snapshot *s, size_t i);

/*
 * The ELF address of a file offset, from the PT_LOAD segment of the file
 * the module was read from that holds it (as lookup computes elf_vaddr),
 * for mappings whose own file is gone. 0, or -1 when no segment holds it.
 */
int symbolizer_vaddr(struct sym_module *mod, uint64_t file_offset, uint64_t *elf_vaddr);

/* Is the module a PE image (its addresses are RVAs)? */
int symbolizer_is_pe(const struct sym_module *mod);

/*
 * The frames at elf_vaddr (the address as the ELF file's program headers
 * place it; lookup's elf_vaddr), or for a PE module its RVA, of mod,
 * innermost first, into out[0..cap).
 * Returns how many were found: 0 when nothing names the address.
 */
size_t symbolizer_frames(struct symbolizer *z, struct sym_module *mod, uint64_t elf_vaddr,
			 struct sym_frame *out, size_t cap);

/*
 * Addresses of one snapshot s (which it borrows), read live from pid or
 * saved (pid 0): each mapping's module asked for once.
 * sym_snap_answer gives the frames of a lookup_answer over the same
 * snapshot; sym_snap_frames of an address.
 */
struct sym_snap;
struct lookup_answer;
struct sym_snap *sym_snap_new(struct symbolizer *z, const struct snapshot *s, uint64_t pid,
			      struct errmsg *err);
size_t sym_snap_answer(struct sym_snap *ss, const struct lookup_answer *a, struct sym_frame *out,
		       size_t cap);
size_t sym_snap_frames(struct sym_snap *ss, uint64_t address, struct sym_frame *out, size_t cap);
void sym_snap_free(struct sym_snap *ss);

#endif
