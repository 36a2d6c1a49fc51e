/*
 * jit.h - symbols of code compiled at run time, as runtimes describe it for
 * Linux perf: the perf map (/tmp/perf-PID.map) and jitdump files
 * (jit-PID.dump). See docs/jit.md.
 *
 * A jit_table gathers symbols in the order the runtime wrote them (a
 * symbol's index is its order); once finished it answers "which symbol
 * holds this address" as perf does: the latest record covering the address
 * wins. The readers are pure functions
 * over bytes (the jitdump one reads through a callback, so the file is never
 * held whole); both are bounded: at most JIT_SYMBOLS_MAX symbols,
 * JIT_LINES_MAX lines, names of at most JIT_NAME_MAX bytes, and
 * JIT_STRINGS_MAX bytes of names in all. What is past a bound is dropped
 * and counted in jit_table.dropped, never an error.
 *
 * Portable C: no OS headers (the Windows build compiles this too).
 */
#ifndef MODMAP_JIT_H
#define MODMAP_JIT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snapshot.h"

#define JIT_SYMBOLS_MAX ((size_t)1 << 20)
#define JIT_LINES_MAX ((size_t)1 << 22)
#define JIT_NAME_MAX 1024
#define JIT_STRINGS_MAX ((size_t)64 << 20)

enum jit_source {
	JIT_PERF_MAP = 1,
	JIT_JITDUMP = 2,
};

/* "perf-map" or "jitdump". */
const char *jit_source_name(int source);

struct jit_sym {
	uint64_t start, size;
	uint32_t name, name_len;	/* in jit_table.str */
	uint32_t line, nline;		/* its lines: jit_table.line[line..line+nline) */
	uint64_t code_index;		/* jitdump: the runtime's key for the code */
	uint8_t source;			/* enum jit_source */
	uint8_t live;			/* finished: holds at least one address */
	uint8_t moved;			/* a MOVE: named at jit_finish from code_index */
};

/* Where in the source an address of compiled code comes from. */
struct jit_line {
	uint64_t addr;
	uint32_t lineno;
	uint32_t file, file_len;	/* in jit_table.str */
};

/* A range of addresses and the symbol that owns it, once finished. */
struct jit_seg {
	uint64_t start, end;
	uint32_t sym;
};

struct jit_table {
	struct jit_sym *sym;
	size_t n, cap;
	struct jit_line *line;
	size_t nline, line_cap;
	struct buf str;
	size_t dropped;			/* records past a bound, or with no room */
	struct jit_seg *seg;		/* finished: sorted, disjoint */
	size_t nseg;
	uint32_t *live;			/* finished: the live symbols by start */
	size_t nlive;
	/* A DEBUG_INFO record waiting for the LOAD of its code. */
	uint64_t pending_addr;
	size_t pending_line, pending_n;
	int oom;
};

void jit_table_init(struct jit_table *t);
void jit_table_free(struct jit_table *t);

/*
 * Adds a symbol of [start, start+size) named name (len bytes, cut to
 * JIT_NAME_MAX at a UTF-8 character boundary). Returns its index, or -1 when it was dropped (empty or
 * overflowing range, a bound reached, or out of memory: then t->oom).
 */
long jit_add(struct jit_table *t, uint64_t start, uint64_t size, const char *name, size_t len,
	     int source);
/* Adds a line to symbol i's (lines must be added right after it). */
int jit_add_line(struct jit_table *t, size_t i, uint64_t addr, uint32_t lineno,
		 const char *file, size_t len);

/*
 * Makes the table searchable: who owns each address, which symbols still
 * own any (live), lines sorted. 0, or -1 when memory runs out.
 */
int jit_finish(struct jit_table *t);
/* The symbol owning addr, or NULL (after jit_finish). */
const struct jit_sym *jit_lookup(const struct jit_table *t, uint64_t addr);
/* The line of sym that addr is in: the last at or below it, or NULL. */
const struct jit_line *jit_line_at(const struct jit_table *t, const struct jit_sym *sym,
				   uint64_t addr);
static inline const char *jit_str(const struct jit_table *t, uint32_t off)
{
	return t->str.p ? (const char *)t->str.p + off : "";
}

/*
 * One line of a perf map: "START SIZE NAME", START and SIZE hex with or
 * without 0x, separated by spaces or tabs; NAME is the rest (may hold
 * spaces; a trailing \r is not part of it). 1 with the fields set (name
 * borrows from line), 0 when the line is not one.
 */
int perfmap_parse_line(const char *line, size_t len, uint64_t *start, uint64_t *size,
		       const char **name, size_t *name_len);
/* Every line of a perf map (the last may lack its newline) into t. */
void perfmap_parse(struct jit_table *t, const char *p, size_t len);

/* jitdump's file header. */
#define JITDUMP_MAGIC 0x4A695444u
#define JITDUMP_HEADER_SIZE 40
enum jitdump_record_id {
	JIT_CODE_LOAD = 0,
	JIT_CODE_MOVE = 1,
	JIT_CODE_DEBUG_INFO = 2,
	JIT_CODE_CLOSE = 3,
	JIT_CODE_UNWINDING_INFO = 4,
};
#define JITDUMP_RECORD_HEADER_SIZE 16

struct jitdump_header {
	int swap;		/* written in the other byte order */
	uint32_t version, total_size, elf_mach, pid;
	uint64_t timestamp, flags;
};
/* The file header at p: 0, or -1 with *why when it is not a jitdump. */
int jitdump_parse_header(const unsigned char *p, size_t len, struct jitdump_header *h,
			 const char **why);

/*
 * One record, given its first avail bytes (at most its total_size): the
 * record header is read from p. LOAD adds a symbol, MOVE a symbol at the
 * new address named as the latest at the old one, DEBUG_INFO lines for the
 * LOAD of its code that follows; others are skipped. Returns 1 to go on, 0
 * at JIT_CODE_CLOSE, -1 when the record is malformed (it is skipped; the
 * framing is the caller's).
 */
int jitdump_parse_record(struct jit_table *t, const struct jitdump_header *h,
			 const unsigned char *p, size_t avail);

/*
 * Reads a whole jitdump through read_at (bytes at offset off into buf, at
 * most cap; returns how many, 0 at the end, -1 on error): records one after
 * another as their headers say, each read up to a bounded prefix (longer
 * ones are skipped past), stopping at the end, at a record that is shorter
 * than its header or runs past the end, or at JIT_CODE_CLOSE. Returns 0,
 * or -1 with *why when the file is not a jitdump or cannot be read.
 */
typedef long (*jitdump_read_fn)(void *ctx, uint64_t off, void *buf, size_t cap);
int jitdump_read(struct jit_table *t, jitdump_read_fn read_at, void *ctx, const char **why);
/* The same over bytes in memory. */
int jitdump_parse(struct jit_table *t, const unsigned char *p, size_t len, const char **why);

#endif
