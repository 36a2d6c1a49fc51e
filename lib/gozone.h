/*
 * gozone.h - Go's model of the Windows local time zone, so path+mtime build
 * IDs name a time exactly as Go's time.Time.String() does on Windows.
 *
 * Go reads GetTimeZoneInformation once, assumes this year's daylight-saving
 * rules held in every year, and names the zone through a fixed table of
 * English zone names (else the capital letters of the zone's name). This
 * file is that model as pure functions over the zone's fields; the Windows
 * backend fetches the fields and does the registry look-up Go does for
 * non-English names. Portable C, unit-testable anywhere.
 */
#ifndef MODMAP_GOZONE_H
#define MODMAP_GOZONE_H

#include <stddef.h>
#include <stdint.h>

/* A SYSTEMTIME as TIME_ZONE_INFORMATION uses it for a transition rule. */
struct gozone_date {
	int month, day_of_week, day, hour, minute, second;
};

/* The fields of TIME_ZONE_INFORMATION that Go reads; biases in minutes. */
struct gozone_tzi {
	long bias, standard_bias, daylight_bias;
	struct gozone_date standard_date, daylight_date;
};

#define GOZONE_ABBR_MAX 128
#define GOZONE_TX (2 * 200)	/* Go: two transitions a year, 100 years each side */

struct gozone {
	int nzone;		/* 1 (no daylight saving) or 2 */
	long offset[2];		/* seconds east of UTC: [0] standard, [1] daylight */
	char abbr[2][GOZONE_ABBR_MAX];
	size_t ntx;
	int64_t when[GOZONE_TX];	/* Unix seconds a zone starts */
	unsigned char index[GOZONE_TX];
};

/* Go's table entry for an English Windows zone name. */
struct gozone_abbr {
	const char *name, *std, *dst;
};

/* The table entry for an English standard name (UTF-8), or NULL. */
const struct gozone_abbr *gozone_abbr_find(const char *std_name);

/* Go's fallback abbreviation: the ASCII capital letters of name. */
void gozone_caps(const char *name, char *out, size_t cap);

/*
 * Builds the zone Go builds from tzi in year (the current UTC year), with
 * the abbreviations already chosen (table, registry or capitals).
 */
void gozone_init(struct gozone *z, const struct gozone_tzi *tzi, const char *std_abbr,
		 const char *dst_abbr, int year);

/*
 * The offset (seconds east of UTC) and zone text Go's String() prints for
 * the instant sec: the abbreviation, or "+hhmm" when it is empty.
 */
void gozone_lookup(const struct gozone *z, int64_t sec, long *offset, char *zone, size_t cap);

#endif
