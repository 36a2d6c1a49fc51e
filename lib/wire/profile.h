/*
 * wire/profile.h - field numbers of google/pprof's proto/profile.proto
 * (perftools.profiles), and the encoder of one Mapping message, which the
 * pprof writer and attach share.
 */
#ifndef MODMAP_PPROF_H
#define MODMAP_PPROF_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snapshot.h"

enum pprof_profile_field {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_DROP_FRAMES = 7,
	PROFILE_KEEP_FRAMES = 8,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	PROFILE_DOC_URL = 15,
};

enum pprof_mapping_field {
	MAPPING_ID = 1,
	MAPPING_MEMORY_START = 2,
	MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4,
	MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	MAPPING_HAS_INLINE_FRAMES = 10,
};

enum pprof_value_type_field {
	VALUE_TYPE_TYPE = 1,
	VALUE_TYPE_UNIT = 2,
};

enum pprof_sample_field {
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
};

enum pprof_location_field {
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,
	LOCATION_IS_FOLDED = 5,
};

/* has_* flags of a Mapping, as bits. */
enum {
	PPROF_HAS_FUNCTIONS = 1,
	PPROF_HAS_FILENAMES = 2,
	PPROF_HAS_LINE_NUMBERS = 4,
	PPROF_HAS_INLINE_FRAMES = 8,
};

/* One mapping as pprof holds it: strings are string-table indices. */
struct pprof_mapping {
	uint64_t id, start, limit, offset;
	int64_t filename, build_id;
	unsigned has;		/* PPROF_HAS_* */
};

/* Appends field PROFILE_MAPPING holding m (zero fields omitted). */
void pprof_put_mapping(struct buf *b, const struct pprof_mapping *m);

/*
 * The order of s's records in a pprof mapping table: the main executable's
 * (MAPF_MAIN) first, then the others, each group in the OS's order. Fills
 * order[0..s->n) with record indices.
 */
void pprof_main_first(const struct snapshot *s, size_t *order);

#endif
