/*
 * gotime.h - Go's time rules, so a path+mtime build ID is byte for byte
 * what Go's runtime/pprof writes: path + os.Stat(path).ModTime().String().
 *
 * Three parts, as Go's time package has them:
 * - the format, "2006-01-02 15:04:05.999999999 -0700 MST", with Go's own
 *   calendar arithmetic, so every int64 second prints as Go prints it
 *   (years up to 292277026596, wrap-around included);
 * - the Unix Local zone: which zoneinfo file Go's initLocal loads for a TZ
 *   value, a TZif reader (a pure function over bytes, as Go 1.19's
 *   LoadLocationFromTZData reads it) and Go's look-up of an instant,
 *   including the POSIX TZ footer rule for instants past the last
 *   transition. A zone is an object loaded once and only read after, so
 *   no setenv("TZ"), tzset() or localtime_r: no process-wide state;
 * - the Windows Local zone: Go's model of GetTimeZoneInformation (one
 *   year's rules assumed in every year) and its zone-name table.
 * Portable C; the one I/O is gotz_load_local's reading of a zoneinfo file.
 */
#ifndef MODMAP_GOTIME_H
#define MODMAP_GOTIME_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

/* The longest zone abbreviation printed; a longer one is not formatted. */
#define GOTZ_NAME_MAX 128

/*
 * Go's time.Time.String() of sec/nsec (Unix seconds, 0 <= nsec < 1e9)
 * in a zone whose offset (seconds east of UTC) and abbreviation zone are
 * given; an empty zone prints as "-0700". Returns the length written, or
 * 0 when out (cap bytes) is too small (96 + strlen(zone) always suffices).
 */
size_t gotime_format(char *out, size_t cap, int64_t sec, long nsec, long gmtoff,
		     const char *zone);

/* A calendar date and clock, as Go's absDate and absClock give them. */
struct gotime_civil {
	int64_t year;
	int month, day, hour, min, sec;
};

/*
 * The UTC date and clock of Unix second sec, by Go's arithmetic: no
 * gmtime_r, which makes glibc load the TZ zone file (and block on a FIFO).
 */
void gotime_utc(int64_t sec, struct gotime_civil *out);

/* ---- the Unix Local zone ------------------------------------------------ */

/* A loaded zone; read-only once made, so threads may share it. */
struct gotz;

/*
 * Reads TZif data (versions 1, 2 and 3, as Go 1.19 does: the 64-bit block
 * when there is one, the footer rule after it) into *out. Returns 0; -1
 * for data Go refuses (Go then falls back as for a missing file); -2 when
 * memory ran out. Every count is checked against len.
 */
int gotz_parse(const unsigned char *p, size_t len, struct gotz **out);

/* Go's UTC (what Local is when no file loads); NULL when memory ran out. */
struct gotz *gotz_utc(void);
void gotz_free(struct gotz *z);

/*
 * Go's Location.lookup: the offset, abbreviation and daylight-saving flag
 * in force at sec. name gets at most cap bytes. Returns 0, or -1 when the
 * abbreviation does not fit (name is then truncated).
 */
int gotz_lookup(const struct gotz *z, int64_t sec, long *offset, int *isdst, char *name,
		size_t cap);

/*
 * Go's time.Time.String() of sec/nsec in zone z. Returns the length
 * written, or 0 when it cannot be (an abbreviation longer than
 * GOTZ_NAME_MAX, or out too small: 96 + GOTZ_NAME_MAX bytes suffice).
 */
size_t gotime_format_local(const struct gotz *z, int64_t sec, long nsec, char *out,
			   size_t cap);

/*
 * The zoneinfo files Go's initLocal tries for the value tz of TZ (NULL
 * when unset), in order; the first that loads is Local, and none means
 * UTC. Calls try(path, ctx) on each until one returns nonzero; returns
 * that value, or 0 for UTC. Pure: the caller's try does the I/O.
 */
int gotz_each_candidate(const char *tz, int (*try)(const char *path, void *ctx), void *ctx);

/*
 * The zone Go makes Local for the value tz of TZ (getenv("TZ") read by the
 * caller; NULL when unset): reads and parses each candidate file (a
 * regular file of at most 10 MiB, Go's limit) until one loads; UTC when
 * none does. NULL only when memory ran out (err says so).
 */
struct gotz *gotz_load_local(const char *tz, struct errmsg *err);

/*
 * As a TZ value: ":/path" of the file gotz_load_local would load (as
 * loadable(path) says), or "UTC0". Kept for tests and diagnostics.
 */
void gotz_resolve(const char *tz, int (*loadable)(const char *path), char *out, size_t cap);

/* ---- the Windows Local zone --------------------------------------------- */

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
