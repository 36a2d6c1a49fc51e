/*
 * attach/plan.h - what the first pass over a profile learns and the plan
 * decides (plan.c), which the second pass reads to write the new profile
 * (rewrite.c). Internal to attach/.
 */
#ifndef MODMAP_ATTACH_PLAN_H
#define MODMAP_ATTACH_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "addrmap.h"
#include "attach/attach.h"
#include "wire/split.h"

/* One mapping of the profile's own table. */
struct oldmap {
	uint64_t id, start, limit, offset;
	uint64_t filename, build_id;	/* string-table indices */
	int named;			/* bit 0: names a file, bit 1: a build ID */
	size_t body, len;		/* the Mapping message, in scan.bodies */
	unsigned has;			/* PPROF_HAS_* */
	int used;			/* some location stays with it */
	uint64_t new_id;		/* 0: dropped */
};

/* What a location is, for the plan. */
struct locref {
	uint64_t mapping_id, address;
	int has_line;
};

/* What the first pass over a profile finds. */
struct scan {
	struct oldmap *old;
	size_t nold, old_cap;
	struct buf bodies;		/* the old Mapping messages, back to back */
	size_t nstrings;
	unsigned char *full;		/* bit i: string i is not empty */
	size_t full_cap;		/* bytes */
	int str0_full;			/* string_table[0] is not "" */
	struct locref *loc;
	size_t nlocations, loc_cap;
	const char *loc_why;		/* the first bad location: why, */
	size_t loc_ordinal;		/* which, */
	uint64_t loc_at;		/* and where it begins */
	int held;			/* the current field was asked to be held */
};

/* A sort key: a value and the index, in its table, of what it belongs to. */
struct key {
	uint64_t v;
	uint32_t i;
};

struct attach_stream {
	const struct attach_mapping *snap;
	size_t n;
	attach_put_fn put;
	void *put_ctx;
	struct pb_split sp;	/* the pass under way */
	int writing;		/* sp is the second pass's (rewrite.c) */
	/* the first pass and the plan */
	struct scan sc;
	struct addrmap where;	/* which snapshot mapping holds an address */
	unsigned *has;		/* per snapshot mapping: flags carried over */
	unsigned char *has_seen;	/* ... from at least one old mapping */
	uint64_t *str;		/* per string slot: its string-table index */
	uint32_t *rep;		/* per string slot: the first slot with its bytes */
	struct key *old_by_id;
	uint64_t len1;		/* what the first pass saw: length and digest */
	uint64_t digest1;
	/* the second pass */
	int mappings_done;
	size_t strings;		/* string fields written so far */
	struct buf out;		/* output not yet handed to put */
	struct buf tmp;		/* one message being re-encoded */
	int out_failed;		/* put failed: err is put's */
	/* JIT symbols (docs/jit.md) */
	const struct jit_table *jit;
	uint32_t *jit_fn;	/* per symbol: its rank among those used, from 1; 0 unused */
	uint32_t *jit_sym;	/* per rank - 1: the symbol */
	size_t jit_used;	/* symbols some location falls in */
	size_t jit_named;	/* locations given a line */
	uint64_t fn_max;	/* the largest function id in the profile */
	uint64_t *jit_name, *jit_file;	/* per rank - 1: string indices (file 0: none) */
	/* attach --symbolize (names.c) */
	attach_names_fn names;
	void *names_ctx;
	struct names_table *nt;
	unsigned *names_has;	/* per snapshot mapping: PPROF_HAS_* found */
	uint64_t names_str;	/* the string index of the table's first string */
	size_t symbolized;
};

/*
 * The snapshot's strings by slot: slot 2i is mapping i's file, 2i+1 its
 * build ID. Returns whether it is not empty.
 */
int attach_string_slot(const struct attach_mapping *snap, uint32_t slot, const char **s,
		       size_t *n);

/*
 * Where a location goes: a snapshot mapping (*snap >= 0), or else its old
 * mapping (*old >= 0, kept only if it is not empty), or nowhere.
 */
void attach_location_place(const struct attach_stream *a, uint64_t mapping_id,
			   uint64_t address, long *snap, long *old);

/*
 * Does this location get names (attach --symbolize)? One with an address
 * in a snapshot mapping, no line, and no JIT symbol naming it: asked the
 * same way in the plan and as the second pass meets it.
 */
int attach_names_wanted(const struct attach_stream *a, uint64_t addr, int has_line, long snap);

/* A Location message's mapping_id and address, and whether it has a line. */
int attach_location_parse(const unsigned char *p, size_t len, uint64_t *mapping_id,
			  uint64_t *address, int *has_line, const char **why);

/* The second pass's error when the bytes are not the first pass's. */
int attach_changed(struct errmsg *err);

#endif
