/*
 * emit.h - one writer per output format. Each takes the whole list of
 * snapshots and appends its document to a buffer; none does I/O. They
 * return 0, or -1 with err set (a format that cannot hold the input, or
 * memory that ran out).
 */
#ifndef MODMAP_EMIT_H
#define MODMAP_EMIT_H

#include <stddef.h>

#include "buf.h"
#include "snapshot.h"

/*
 * The keys and values of the JSON and CBOR documents, listed once so the
 * two stay the same document: each writer walks these lists and renders
 * each kind its own way. docs/formats.md describes every key.
 */
enum field_kind {
	FIELD_ADDR,	/* address or offset: "0x..." in JSON, unsigned in CBOR */
	FIELD_UINT,	/* a number in both */
	FIELD_STR,	/* bytes, usually UTF-8 but not always (Linux paths) */
	FIELD_BOOL,
	FIELD_TIME,	/* Unix nanoseconds, as an RFC 3339 string in both */
};

struct field {
	const char *key;
	size_t key_len;		/* strlen(key), known when the list is made */
	enum field_kind kind;
	uint64_t u;		/* FIELD_ADDR, FIELD_UINT, FIELD_BOOL, FIELD_TIME */
	const char *s;		/* FIELD_STR: NUL-terminated */
};

#define MAPPING_FIELDS_MAX 20

/* A mapping's fields in document order; optional ones only when set. */
struct mapping_fields {
	struct field f[MAPPING_FIELDS_MAX];
	size_t n;
	char perms[5];		/* storage the fields point into */
	char dev[24];
};
void mapping_fields(struct mapping_fields *out, const struct snapshot *s,
		    const struct mapping *m);

/* A JIT symbol's fields (the "jit" array, with --jit): start, size, name, source. */
struct jit_sym;
struct jit_table;
struct jit_fields {
	struct field f[4];
	size_t n;
};
void jit_fields(struct jit_fields *out, const struct jit_table *t, const struct jit_sym *sym);

/*
 * A process's fields before its "mappings" array: pid, os, exe, time, and
 * which process it is: comm, ns_pid, cgroup, container_id.
 */
struct snapshot_fields {
	struct field f[8];
	size_t n;
};
void snapshot_fields(struct snapshot_fields *out, const struct snapshot *s);

/* RFC 3339 in UTC with nanoseconds: "2026-11-25T23:40:00.123456789Z". */
#define FORMAT_TIME_SIZE 48
void format_time(uint64_t nanos, char out[FORMAT_TIME_SIZE]);

/* One output format (formats.c): the registry the command and the API pick from. */
struct format {
	const char *name;	/* "text", "json", "cbor", "pprof", "jsonl" */
	int binary;		/* never written to a terminal */
	int multi;		/* holds several processes (pprof holds one) */
	int stream;		/* process after process: each written as soon as read */
	int (*write)(struct buf *b, const struct snapshot *s, size_t n, int as_array,
		     struct errmsg *err);
	int (*supported)(void);	/* in this build (cbor needs libcbor) */
};
/* Every format, ending with a NULL name; index i is MODMAP_FORMAT_* i. */
extern const struct format formats[];
const struct format *format_find(const char *name);

int emit_text(struct buf *b, const struct snapshot *s, size_t n, struct errmsg *err);
/*
 * JSON Lines: each process's object on one line, so a stream of them can
 * be written one process at a time.
 */
int emit_jsonl(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	       struct errmsg *err);
/*
 * One line of `modmap watch`: {"event":EVENT,"time":...,"pid":PID, then
 * the keys of mapping m of s exactly as the snapshot's JSON has them}
 * and a newline; m (and s) NULL for an event about the process ("exit").
 */
int emit_json_event(struct buf *b, const char *event, uint64_t time_nanos, uint64_t pid,
		    const struct snapshot *s, const struct mapping *m, struct errmsg *err);

/* as_array: a JSON array even for one process (--all, several --pid). */
int emit_json(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	      struct errmsg *err);

/*
 * A gzip-compressed pprof profile holding the mapping table of one process
 * (n must be 1), main executable first; see format/pprof.c for its samples.
 */
int emit_pprof(struct buf *b, const struct snapshot *s, size_t n, struct errmsg *err);

/*
 * The JSON document in CBOR (format/cbor.c says how strings that are not
 * UTF-8 are kept). In a build without libcbor it fails with CBOR_MISSING;
 * emit_cbor_supported() lets main.c refuse before reading anything.
 */
int emit_cbor(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	      struct errmsg *err);
int emit_cbor_supported(void);
#define CBOR_MISSING "this build of modmap has no CBOR support (built without libcbor)"

/*
 * A JSON string literal of len bytes: ASCII only, every non-ASCII character
 * as \uXXXX (surrogate pairs above U+FFFF), and every byte that is not part
 * of valid UTF-8 as \udc80..\udcff, Python's surrogateescape, so any Linux
 * path survives. The pure part of the JSON writer, exposed for tests.
 */
void json_put_string(struct buf *b, const char *s, size_t len);

/*
 * The same for a Windows string, which is WTF-8 (see wtf8_from_utf16):
 * an unpaired surrogate's 3-byte form is written as the \udXXX escape of
 * that UTF-16 unit, so a JSON reader gets the original UTF-16 back. Bytes
 * that are not WTF-8 still get surrogateescape.
 */
void json_put_wtf8(struct buf *b, const char *s, size_t len);


#endif
