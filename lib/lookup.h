/*
 * lookup.h - which mapping of a snapshot holds an address, and the address
 * to hand a symbolizer for it (SPEC.md, "lookup"): the file offset, the
 * ELF virtual address (from the PT_LOAD segment holding that offset), or
 * for PE modules the RVA. The program headers are read once per mapping,
 * on the first address that needs them.
 */
#ifndef MODMAP_LOOKUP_H
#define MODMAP_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snapshot.h"

/* One answer. */
struct lookup_answer {
	uint64_t address;
	long long index;	/* the mapping in the snapshot; -1: none holds address */
	uint64_t file_offset;	/* address - start + offset */
	int has_elf_vaddr;	/* an ELF file whose program headers could be read */
	uint64_t elf_vaddr;
	int has_rva;		/* a PE module (a Windows snapshot, or a Windows path) */
	uint64_t rva;		/* address - start: a PE module's record begins at its base */
	/* Set by a caller that symbolizes (symbolize.h): the frames,
	 * innermost first, borrowed until the answer is written. */
	int symbolized;
	const struct sym_frame *symbols;
	size_t nsymbols;
	const char *jit_source;	/* the frame is a JIT symbol's: "perf-map", "jitdump" */
};

struct lookup;
struct sym_frame;

/*
 * A lookup over s, which it borrows (s must outlive it). pid: s was read
 * live from that process (with every mapping, so a module's first mapping
 * is there to read headers from memory); 0: s is a saved snapshot, whose
 * files are read from this machine's paths and used only where they still
 * carry the mapping's build ID. Returns NULL (err set) when memory runs out.
 */
struct lookup *lookup_new(const struct snapshot *s, uint64_t pid, struct errmsg *err);
void lookup_address(struct lookup *l, uint64_t addr, struct lookup_answer *a);
void lookup_free(struct lookup *l);

/*
 * Parses one line of input as an address: hexadecimal, with or without
 * 0x/0X, surrounded by blanks (spaces, tabs, a CR) at most. Returns 0, or
 * -1 when the line is anything else (empty, other characters, over 64 bits).
 */
int lookup_parse_address(const char *line, size_t len, uint64_t *addr);

/*
 * Does a path name a Windows file (a drive letter, or \\)? Then the module
 * is PE, and rva applies.
 */
int lookup_path_is_windows(const char *path);

/*
 * What stays the same in every answer about one mapping (its keys in JSON,
 * its build ID and file in text), rendered once per mapping: a million
 * answers cost a few numbers each. Start from a zeroed one, with one
 * format only; lookup_emit_free releases it.
 */
struct lookup_emit {
	size_t n;		/* mappings of the snapshot (0: not set up) */
	size_t *off, *len;	/* per mapping: its part in parts; len 0: not yet */
	struct buf parts;
	int failed;		/* memory ran out: render every time */
};
void lookup_emit_free(struct lookup_emit *c);
/* For the writers: mapping i's part, rendered once by render. */
void lookup_emit_part(struct buf *b, const struct snapshot *s, size_t i, struct lookup_emit *c,
		      void (*render)(struct buf *, const struct snapshot *, const struct mapping *));

/* The answer as one JSON object, or one text line, without a newline. */
void emit_lookup_json(struct buf *b, const struct snapshot *s, const struct lookup_answer *a,
		      struct lookup_emit *c);
void emit_lookup_text(struct buf *b, const struct snapshot *s, const struct lookup_answer *a,
		      struct lookup_emit *c);

#endif
