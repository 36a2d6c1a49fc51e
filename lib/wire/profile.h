/*
 * wire/profile.h - field numbers of google/pprof's proto/profile.proto
 * (perftools.profiles), the encoder and decoder of one Mapping message,
 * and the bounds and error text that attach and the snapshot reader share.
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
 * Decodes the Mapping message p into m (unknown fields ignored). 0, or -1
 * with *why (static text) saying what is wrong.
 */
int pprof_mapping_parse(const unsigned char *p, size_t len, struct pprof_mapping *m,
			const char **why);

/*
 * The largest single Mapping, Location or string a reader holds (whole, to
 * decode or re-encode it). Real ones are far smaller; other fields are
 * never held, whatever their size.
 */
#define PPROF_MESSAGE_MAX ((uint64_t)64 << 20)

/*
 * What a reader keeps costs about 130 bytes an old mapping and 16 a
 * location, so a hostile profile of empty messages (two bytes each) could
 * make it hold far more than its own size. Real profiles stay far below
 * these: past them the profile is refused, with bounded memory.
 */
#define PPROF_MAPPINGS_MAX ((size_t)1 << 20)
#define PPROF_LOCATIONS_MAX ((size_t)1 << 24)

/*
 * Sets err to "not a valid pprof profile: WHAT ORDINAL: WHY (field at byte
 * AT)", or without WHAT when it is NULL, and returns -1.
 */
int pprof_invalid(struct errmsg *err, uint64_t at, const char *what, size_t ordinal,
		  const char *why);

/*
 * Checks that mapping ordinal's filename and build_id name strings of a
 * table of nstrings: 0, or -1 with err saying which does not.
 */
int pprof_mapping_strings_check(const struct pprof_mapping *m, size_t ordinal, size_t nstrings,
				struct errmsg *err);

/*
 * The order of s's records in a pprof mapping table: the main executable's
 * (MAPF_MAIN) first, then the others, each group in the OS's order. Fills
 * order[0..s->n) with record indices.
 */
void pprof_main_first(const struct snapshot *s, size_t *order);

#endif
