/*
 * format/read.h - reading saved snapshots back: `modmap --format pprof`
 * (read_pprof.c, its JIT symbols read_pprof_jit.c) and `--format cbor`
 * (read_cbor.c), for `lookup --snapshot` and `attach --snapshot`.
 */
#ifndef MODMAP_FORMAT_READ_H
#define MODMAP_FORMAT_READ_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snapshot.h"

/* Default bound on a saved snapshot, also decompressed: 4 GiB. */
#define SNAPSHOT_MAX_SIZE ((uint64_t)4 << 30)

/*
 * Fills s (initialised by the caller) from a snapshot saved as pprof or
 * CBOR at path ("-": standard input), decompressed when it is gzip, up to
 * max bytes (0: SNAPSHOT_MAX_SIZE); s owns copies of the strings. A pprof
 * one is read as a stream, twice, so that memory goes with its mapping
 * table, not its size (a gzip bomb, a profile with samples); a CBOR one
 * whole. err names the file and the reason; s may then hold some records.
 */
int snapshot_read_saved(const char *path, uint64_t max, struct snapshot *s,
			struct errmsg *err);
/* The same, with its JIT symbols (a snapshot saved with --jit) in s->jit. */
int snapshot_read_saved_jit(const char *path, uint64_t max, int jit, struct snapshot *s,
			    struct errmsg *err);

/*
 * A pprof snapshot's mapping table (any pprof profile's), read in two
 * passes over its decompressed bytes, each fed in pieces of any size:
 *
 *   r = pprof_reader_new(s, jr, err);
 *   pprof_reader_scan(r, ...) for every piece, then pprof_reader_collect
 *   for every piece of the same bytes again; pprof_reader_finish;
 *   pprof_reader_free(r) in any case.
 *
 * The first pass decodes the mappings and checks the framing; the second
 * keeps only the strings the mappings name, each once in s however many
 * name it. finish adds the mappings to s (initialised, empty), the first
 * as the main executable's (pprof's order). With jr, the first pass's
 * samples, locations and functions and the strings they name go to it.
 */
struct pprof_reader;
struct pprof_jit_reader;
struct pprof_reader *pprof_reader_new(struct snapshot *s, struct pprof_jit_reader *jr,
				      struct errmsg *err);
int pprof_reader_scan(struct pprof_reader *r, const void *p, size_t len, struct errmsg *err);
int pprof_reader_collect(struct pprof_reader *r, const void *p, size_t len, struct errmsg *err);
int pprof_reader_finish(struct pprof_reader *r, struct errmsg *err);
void pprof_reader_free(struct pprof_reader *r);

/* The same over decompressed bytes in memory. */
int snapshot_read_pprof(const unsigned char *p, size_t len, struct snapshot *s,
			struct errmsg *err);

/*
 * Does p look like CBOR rather than protobuf? (A map or array first, or
 * the self-describe tag: no pprof profile starts so.)
 */
int snapshot_is_cbor(const unsigned char *p, size_t len);

/*
 * Fills s (initialised by the caller) with the records of a snapshot that
 * `modmap --format cbor` wrote (one process). Fails with err saying why,
 * also in builds without libcbor; s may then hold some records, which the
 * caller frees.
 */
int snapshot_read_cbor(const unsigned char *p, size_t len, struct snapshot *s,
		       struct errmsg *err);

/*
 * The JIT symbols of a pprof snapshot written with --jit (decompressed
 * bytes) into t (initialised by the caller), finished. Fails only on bytes
 * that are not protobuf, or memory; a profile without them leaves t empty.
 */
struct jit_table;
int pprof_jit_from_profile(const unsigned char *p, size_t len, struct jit_table *t,
			   struct errmsg *err);

/*
 * The same, as a stream (read_pprof_jit.c): the snapshot reader hands the
 * first pass's samples, locations and functions to pprof_jit_reader_field;
 * pprof_jit_reader_plan lists the strings they name; the second pass hands
 * those over (pprof_jit_reader_wants, pprof_jit_reader_string);
 * pprof_jit_reader_finish fills t (initialised by the caller). What is
 * kept is bounded, as pprof_jit_from_profile's is.
 */
struct pprof_jit_reader *pprof_jit_reader_new(void);
void pprof_jit_reader_free(struct pprof_jit_reader *j);
void pprof_jit_reader_field(struct pprof_jit_reader *j, uint64_t number,
			    const unsigned char *p, size_t len);
int pprof_jit_reader_plan(struct pprof_jit_reader *j, struct errmsg *err);
int pprof_jit_reader_wants(const struct pprof_jit_reader *j, uint64_t index);
int pprof_jit_reader_string(struct pprof_jit_reader *j, uint64_t index,
			    const unsigned char *p, size_t len, struct errmsg *err);
int pprof_jit_reader_finish(struct pprof_jit_reader *j, struct jit_table *t,
			    struct errmsg *err);

#endif
