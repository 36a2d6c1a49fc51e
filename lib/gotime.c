/*
 * gotime.c - Go's time rules (see gotime.h): the String() format with Go's
 * calendar arithmetic, the Unix Local zone (which file, the TZif reader,
 * the look-up with its POSIX TZ footer rule) and the Windows Local zone.
 * Read from Go 1.19's src/time (format.go, time.go, zoneinfo.go,
 * zoneinfo_read.go, zoneinfo_unix.go, zoneinfo_windows.go) for the facts;
 * all arithmetic Go does in wrapping 64-bit integers is done here in
 * uint64_t, so extreme instants print as Go prints them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gotime.h"

/* ---- the format ---------------------------------------------------------- */

enum {
	SECS_PER_DAY = 86400,
	DAYS_400Y = 365 * 400 + 97,
	DAYS_100Y = 365 * 100 + 24,
	DAYS_4Y = 365 * 4 + 1,
};
#define ABS_ZERO_YEAR (-292277022399LL)	/* Go's absoluteZeroYear */
/* Go's unixToInternal + internalToAbsolute: Unix seconds to its absolute time. */
#define UNIX_TO_ABS 9223372028715321600ULL


/* The last of n ascending transition times at or before sec (when[0] <= sec). */
static size_t tx_last(const int64_t *when, size_t n, int64_t sec)
{
	size_t lo = 0, hi = n;
	while (hi - lo > 1) {
		size_t m = lo + (hi - lo) / 2;
		if (sec < when[m])
			hi = m;
		else
			lo = m;
	}
	return lo;
}

static const int days_before[13] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334,
				      365 };

static int is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* Go's absDate: year and day of the year (0-based) of an absolute time. */
static int64_t abs_date(uint64_t abs, int *yday)
{
	uint64_t d = abs / SECS_PER_DAY;
	uint64_t n = d / DAYS_400Y;
	uint64_t y = 400 * n;
	d -= DAYS_400Y * n;
	n = d / DAYS_100Y;
	n -= n >> 2;
	y += 100 * n;
	d -= DAYS_100Y * n;
	n = d / DAYS_4Y;
	y += 4 * n;
	d -= DAYS_4Y * n;
	n = d / 365;
	n -= n >> 2;
	y += n;
	d -= 365 * n;
	*yday = (int)d;
	return (int64_t)y + ABS_ZERO_YEAR;
}

/* Go's absolute time of a Unix instant shifted by offset, wrapping as Go does. */
static uint64_t unix_abs(int64_t sec, long offset)
{
	return (uint64_t)sec + (uint64_t)(int64_t)offset + UNIX_TO_ABS;
}

/* Go's date and clock of an absolute time (absDate with full, absClock). */
static void abs_civil(uint64_t abs, struct gotime_civil *c)
{
	int yday;
	c->year = abs_date(abs, &yday);
	int day = yday, month;
	if (is_leap(c->year) && day >= 31 + 29 - 1) {
		if (day == 31 + 29 - 1) {
			month = 2;
			day = 29;
			goto dated;
		}
		day--;	/* after the leap day: pretend it was not there */
	}
	month = day / 31;
	if (day >= days_before[month + 1])
		month++;
	day = day - days_before[month] + 1;
	month++;
dated:
	c->month = month;
	c->day = day;
	int clock = (int)(abs % SECS_PER_DAY);
	c->hour = clock / 3600;
	c->min = clock / 60 % 60;
	c->sec = clock % 60;
}

void gotime_utc(int64_t sec, struct gotime_civil *out)
{
	abs_civil(unix_abs(sec, 0), out);
}

size_t gotime_format(char *out, size_t cap, int64_t sec, long nsec, long gmtoff,
		     const char *zone)
{
	struct gotime_civil c;
	abs_civil(unix_abs(sec, gmtoff), &c);

	/* Go's .999999999: nine digits, trailing zeros dropped, none when zero. */
	char frac[11] = "";
	if (nsec > 0 && nsec < 1000000000L) {
		snprintf(frac, sizeof frac, ".%09ld", nsec);
		size_t n = strlen(frac);
		while (frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	/* -0700: whole minutes east, truncated toward zero as Go divides. */
	long off = gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	char numeric[32];
	if (!zone[0]) {
		snprintf(numeric, sizeof numeric, "%c%02ld%02ld", sign, off / 60, off % 60);
		zone = numeric;
	}
	/* Go pads the year to four digits, after a minus sign when negative. */
	char yr[24];
	if (c.year < 0)
		snprintf(yr, sizeof yr, "-%04llu", 0ULL - (unsigned long long)c.year);
	else
		snprintf(yr, sizeof yr, "%04lld", (long long)c.year);
	int n = snprintf(out, cap, "%s-%02d-%02d %02d:%02d:%02d%s %c%02ld%02ld %s", yr, c.month,
			 c.day, c.hour, c.min, c.sec, frac, sign, off / 60, off % 60, zone);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* ---- TZif ----------------------------------------------------------------- */

struct gotz_type {
	int32_t offset;
	unsigned char isdst;
	uint32_t name;		/* into abbr, NUL-terminated there */
};

struct gotz {
	size_t ntype, ntx;	/* ntype 0: Go's UTC */
	struct gotz_type *type;
	int64_t *when;
	unsigned char *index;
	char *abbr;		/* the abbreviations, one NUL more than the file's */
	char *extend;		/* the footer rule, NUL-terminated; NULL if none */
	size_t extend_len;
};

struct rd {
	const unsigned char *p;
	size_t len;
	int bad;
};

/* The next n bytes, or NULL (and bad set) when fewer remain: Go's dataIO.read. */
static const unsigned char *rd_take(struct rd *r, uint64_t n)
{
	if (r->bad || n > r->len) {
		r->bad = 1;
		r->len = 0;
		return NULL;
	}
	const unsigned char *p = r->p;
	r->p += n;
	r->len -= (size_t)n;
	return p;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

enum { N_UTCLOCAL, N_STDWALL, N_LEAP, N_TIME, N_ZONE, N_CHAR };

static int read_counts(struct rd *r, uint64_t n[6])
{
	const unsigned char *c = rd_take(r, 24);
	if (!c)
		return -1;
	for (int i = 0; i < 6; i++)
		n[i] = be32(c + 4 * i);
	return 0;
}

void gotz_free(struct gotz *z)
{
	if (!z)
		return;
	free(z->type);
	free(z->when);
	free(z->index);
	free(z->abbr);
	free(z->extend);
	free(z);
}

struct gotz *gotz_utc(void)
{
	return calloc(1, sizeof(struct gotz));
}

int gotz_parse(const unsigned char *p, size_t len, struct gotz **out)
{
	struct rd r = { p, len, 0 };
	*out = NULL;
	const unsigned char *h = rd_take(&r, 20);
	if (!h || memcmp(h, "TZif", 4) != 0)
		return -1;
	/* Go 1.19 knows versions 1 ("\0"), 2 and 3; it refuses 4. */
	int version = h[4] == 0 ? 1 : h[4] == '2' ? 2 : h[4] == '3' ? 3 : 0;
	if (!version)
		return -1;
	uint64_t n[6];
	if (read_counts(&r, n) < 0)
		return -1;
	size_t size = 4;
	if (version > 1) {
		/* Skip the 32-bit block and the second header; counts may differ. */
		uint64_t skip = n[N_TIME] * 5 + n[N_ZONE] * 6 + n[N_CHAR] + n[N_LEAP] * 8 +
				n[N_STDWALL] + n[N_UTCLOCAL] + 20;
		if (!rd_take(&r, skip) || read_counts(&r, n) < 0)
			return -1;
		size = 8;
	}
	const unsigned char *tx = rd_take(&r, n[N_TIME] * size);
	const unsigned char *txi = rd_take(&r, n[N_TIME]);
	const unsigned char *zd = rd_take(&r, n[N_ZONE] * 6);
	const unsigned char *ab = rd_take(&r, n[N_CHAR]);
	rd_take(&r, n[N_LEAP] * (size + 4));
	rd_take(&r, n[N_STDWALL]);
	rd_take(&r, n[N_UTCLOCAL]);
	if (r.bad || n[N_ZONE] == 0)	/* Go refuses a file with no zones */
		return -1;
	for (uint64_t i = 0; i < n[N_ZONE]; i++)
		if (zd[6 * i + 5] >= n[N_CHAR])
			return -1;
	for (uint64_t i = 0; i < n[N_TIME]; i++)
		if (txi[i] >= n[N_ZONE])
			return -1;

	struct gotz *z = calloc(1, sizeof *z);
	if (!z)
		return -2;
	z->ntype = (size_t)n[N_ZONE];
	z->ntx = n[N_TIME] ? (size_t)n[N_TIME] : 1;
	z->type = calloc(z->ntype, sizeof *z->type);
	z->when = calloc(z->ntx, sizeof *z->when);
	z->index = calloc(z->ntx, 1);
	z->abbr = malloc((size_t)n[N_CHAR] + 1);
	/* The footer: what follows, between newlines. */
	if (r.len > 2 && r.p[0] == '\n' && r.p[r.len - 1] == '\n') {
		z->extend_len = r.len - 2;
		if ((z->extend = malloc(z->extend_len + 1))) {
			memcpy(z->extend, r.p + 1, z->extend_len);
			z->extend[z->extend_len] = '\0';
		}
	}
	if (!z->type || !z->when || !z->index || !z->abbr || (z->extend_len && !z->extend)) {
		gotz_free(z);
		return -2;
	}
	memcpy(z->abbr, ab, (size_t)n[N_CHAR]);
	z->abbr[n[N_CHAR]] = '\0';
	for (size_t i = 0; i < z->ntype; i++) {
		z->type[i].offset = (int32_t)be32(zd + 6 * i);
		z->type[i].isdst = zd[6 * i + 4] != 0;
		z->type[i].name = zd[6 * i + 5];
	}
	if (n[N_TIME] == 0) {
		/* Go's fake transition covering all time (fixed zones, Etc/GMT+5). */
		z->when[0] = INT64_MIN;
		z->index[0] = 0;
	}
	for (size_t i = 0; i < (size_t)n[N_TIME]; i++) {
		z->when[i] = size == 8 ? (int64_t)be64(tx + 8 * i) : (int32_t)be32(tx + 4 * i);
		z->index[i] = txi[i];
	}
	*out = z;
	return 0;
}

/* ---- the footer rule (Go's tzset) ------------------------------------------ */

struct str {
	const char *p;
	size_t n;
};

static int str_eat(struct str *s, char c)
{
	if (s->n && s->p[0] == c) {
		s->p++;
		s->n--;
		return 1;
	}
	return 0;
}

/* Go's tzsetName: "<...>" or three or more characters up to a digit, ',', '-', '+'. */
static int tz_name(struct str *s, struct str *name)
{
	if (!s->n)
		return 0;
	if (s->p[0] == '<') {
		const char *gt = memchr(s->p, '>', s->n);
		if (!gt)
			return 0;
		name->p = s->p + 1;
		name->n = (size_t)(gt - s->p) - 1;
		s->n -= (size_t)(gt - s->p) + 1;
		s->p = gt + 1;
		return 1;
	}
	size_t i = 0;
	while (i < s->n && !(s->p[i] && strchr("0123456789,-+", s->p[i])))
		i++;
	if (i < 3 || (i == s->n && s->n < 3))
		return 0;
	name->p = s->p;
	name->n = i;
	s->p += i;
	s->n -= i;
	return 1;
}

/* Go's tzsetNum: a decimal in [min, max]. */
static int tz_num(struct str *s, long min, long max, long *out)
{
	long v = 0;
	size_t i = 0;
	for (; i < s->n && s->p[i] >= '0' && s->p[i] <= '9'; i++) {
		v = v * 10 + (s->p[i] - '0');
		if (v > max)
			return 0;
	}
	if (i == 0 || v < min)
		return 0;
	s->p += i;
	s->n -= i;
	*out = v;
	return 1;
}

/* Go's tzsetOffset: [+-]hh[:mm[:ss]], hours up to 24*7; seconds. */
static int tz_offset(struct str *s, long *out)
{
	if (!s->n)
		return 0;
	int neg = 0;
	if (!str_eat(s, '+'))
		neg = str_eat(s, '-');
	long h, m, sec;
	if (!tz_num(s, 0, 24 * 7, &h))
		return 0;
	long off = h * 3600;
	if (str_eat(s, ':')) {
		if (!tz_num(s, 0, 59, &m))
			return 0;
		off += m * 60;
		if (str_eat(s, ':')) {
			if (!tz_num(s, 0, 59, &sec))
				return 0;
			off += sec;
		}
	}
	*out = neg ? -off : off;
	return 1;
}

enum rule_kind { RULE_JULIAN, RULE_DOY, RULE_MWD };

struct rule {
	enum rule_kind kind;
	long day, week, mon, time;
};

/* Go's tzsetRule: Jn, n or Mm.w.d, then an optional /time (default 02:00). */
static int tz_rule(struct str *s, struct rule *r)
{
	memset(r, 0, sizeof *r);
	if (!s->n)
		return 0;
	if (str_eat(s, 'J')) {
		r->kind = RULE_JULIAN;
		if (!tz_num(s, 1, 365, &r->day))
			return 0;
	} else if (str_eat(s, 'M')) {
		r->kind = RULE_MWD;
		if (!tz_num(s, 1, 12, &r->mon) || !str_eat(s, '.') ||
		    !tz_num(s, 1, 5, &r->week) || !str_eat(s, '.') || !tz_num(s, 0, 6, &r->day))
			return 0;
	} else {
		r->kind = RULE_DOY;
		if (!tz_num(s, 0, 365, &r->day))
			return 0;
	}
	if (!str_eat(s, '/')) {
		r->time = 2 * 3600;
		return 1;
	}
	return tz_offset(s, &r->time);
}

static int month_days(long mon, int64_t year)
{
	if (mon == 2 && is_leap(year))
		return 29;
	return days_before[mon] - days_before[mon - 1];
}

/* Go's tzruleTime: seconds after the start of year at which r takes effect. */
static int64_t rule_time(int64_t year, const struct rule *r, long off)
{
	int64_t s = 0;
	switch (r->kind) {
	case RULE_JULIAN:
		s = (int64_t)(r->day - 1) * SECS_PER_DAY;
		if (is_leap(year) && r->day >= 60)
			s += SECS_PER_DAY;
		break;
	case RULE_DOY:
		s = (int64_t)r->day * SECS_PER_DAY;
		break;
	case RULE_MWD: {
		/* Zeller's congruence: the weekday of the month's first day. */
		int64_t m1 = (r->mon + 9) % 12 + 1;
		int64_t yy0 = r->mon <= 2 ? year - 1 : year;
		int64_t yy1 = yy0 / 100, yy2 = yy0 % 100;
		int64_t dow = ((26 * m1 - 2) / 10 + 1 + yy2 + yy2 / 4 + yy1 / 4 - 2 * yy1) % 7;
		if (dow < 0)
			dow += 7;
		int64_t d = r->day - dow;
		if (d < 0)
			d += 7;
		for (long i = 1; i < r->week; i++) {
			if (d + 7 >= month_days(r->mon, year))
				break;
			d += 7;
		}
		d += days_before[r->mon - 1];
		if (is_leap(year) && r->mon > 2)
			d++;
		s = d * SECS_PER_DAY;
		break;
	}
	}
	return s + r->time - off;
}

/*
 * Go's tzset: the zone the footer rule s gives at sec. Returns 1, or 0
 * when Go cannot parse s (the last transition's zone then stays).
 */
static int tz_footer(const char *p, size_t n, int64_t sec, struct str *name, long *offset,
		     int *isdst)
{
	struct str s = { p, n }, std, dst;
	long stdoff, dstoff;
	if (!tz_name(&s, &std) || !tz_offset(&s, &stdoff))
		return 0;
	stdoff = -stdoff;	/* POSIX counts west, Go east */
	if (!s.n || s.p[0] == ',') {
		*name = std;
		*offset = stdoff;
		*isdst = 0;
		return 1;
	}
	if (!tz_name(&s, &dst))
		return 0;
	if (!s.n || s.p[0] == ',') {
		dstoff = stdoff + 3600;
	} else {
		if (!tz_offset(&s, &dstoff))
			return 0;
		dstoff = -dstoff;
	}
	if (!s.n)
		s = (struct str){ ",M3.2.0,M11.1.0", 15 };	/* tzcode's default rules */
	if (s.p[0] != ',' && s.p[0] != ';')
		return 0;
	s.p++;
	s.n--;
	struct rule start, end;
	if (!tz_rule(&s, &start) || !str_eat(&s, ',') || !tz_rule(&s, &end) || s.n)
		return 0;

	int yday;
	int64_t year = abs_date(unix_abs(sec, 0), &yday);
	int64_t ysec = (int64_t)yday * SECS_PER_DAY + sec % SECS_PER_DAY;
	int64_t startsec = rule_time(year, &start, stdoff);
	int64_t endsec = rule_time(year, &end, dstoff);
	int std_isdst = 0, dst_isdst = 1;
	if (endsec < startsec) {
		/* Southern hemisphere: the labels swap, as Go swaps them. */
		int64_t t = startsec;
		startsec = endsec;
		endsec = t;
		struct str ts = std;
		std = dst;
		dst = ts;
		long to = stdoff;
		stdoff = dstoff;
		dstoff = to;
		std_isdst = 1;
		dst_isdst = 0;
	}
	if (ysec < startsec || ysec >= endsec) {
		*name = std;
		*offset = stdoff;
		*isdst = std_isdst;
	} else {
		*name = dst;
		*offset = dstoff;
		*isdst = dst_isdst;
	}
	return 1;
}

/* ---- the look-up (Go's Location.lookup) ------------------------------------ */

/* Go's lookupFirstZone: the zone before the first transition. */
static size_t first_zone(const struct gotz *z)
{
	int used = 0;
	for (size_t i = 0; i < z->ntx && !used; i++)
		used = z->index[i] == 0;
	if (!used)
		return 0;
	if (z->type[z->index[0]].isdst)
		for (size_t zi = z->index[0]; zi-- > 0;)
			if (!z->type[zi].isdst)
				return zi;
	for (size_t zi = 0; zi < z->ntype; zi++)
		if (!z->type[zi].isdst)
			return zi;
	return 0;
}

int gotz_lookup(const struct gotz *z, int64_t sec, long *offset, int *isdst, char *name,
		size_t cap)
{
	struct str nm;
	if (z->ntype == 0) {
		*offset = 0;
		*isdst = 0;
		nm = (struct str){ "UTC", 3 };
	} else {
		size_t zi;
		if (sec < z->when[0]) {
			zi = first_zone(z);
		} else {
			size_t lo = tx_last(z->when, z->ntx, sec);
			zi = z->index[lo];
			if (lo == z->ntx - 1 && z->extend &&
			    tz_footer(z->extend, z->extend_len, sec, &nm, offset, isdst))
				goto named;
		}
		*offset = z->type[zi].offset;
		*isdst = z->type[zi].isdst;
		nm.p = z->abbr + z->type[zi].name;
		nm.n = strlen(nm.p);
	}
named:;
	/* Go's names are strings; a NUL in a footer name ends it here. */
	const char *nul = memchr(nm.p, '\0', nm.n);
	if (nul)
		nm.n = (size_t)(nul - nm.p);
	if (!cap)
		return -1;
	size_t k = nm.n < cap - 1 ? nm.n : cap - 1;
	memcpy(name, nm.p, k);
	name[k] = '\0';
	return k == nm.n ? 0 : -1;
}

size_t gotime_format_local(const struct gotz *z, int64_t sec, long nsec, char *out, size_t cap)
{
	char name[GOTZ_NAME_MAX + 1];
	long offset;
	int isdst;
	if (gotz_lookup(z, sec, &offset, &isdst, name, sizeof name) < 0)
		return 0;
	return gotime_format(out, cap, sec, nsec, offset, name);
}

/* ---- which file (Go's initLocal on Unix) ----------------------------------- */

int gotz_each_candidate(const char *tz, int (*try)(const char *path, void *ctx), void *ctx)
{
	static const char *const sources[] = {
		"/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/", "/usr/lib/locale/TZ/",
		"/etc/zoneinfo/",
	};
	char path[4096];
	if (!tz)
		return try("/etc/localtime", ctx);
	if (tz[0] == ':')
		tz++;
	if (tz[0] == '/')
		return strlen(tz) < sizeof path ? try(tz, ctx) : 0;
	if (!tz[0] || strcmp(tz, "UTC") == 0)
		return 0;
	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
		int n = snprintf(path, sizeof path, "%s%s", sources[i], tz);
		if (n > 0 && (size_t)n < sizeof path) {
			int rc = try(path, ctx);
			if (rc)
				return rc;
		}
	}
	return 0;
}

struct resolve_ctx {
	int (*loadable)(const char *path);
	char *out;
	size_t cap;
};

static int resolve_try(const char *path, void *ctx)
{
	struct resolve_ctx *c = ctx;
	if (strlen(path) + 2 > c->cap || !c->loadable(path))
		return 0;
	snprintf(c->out, c->cap, ":%s", path);
	return 1;
}

void gotz_resolve(const char *tz, int (*loadable)(const char *path), char *out, size_t cap)
{
	struct resolve_ctx c = { loadable, out, cap };
	if (!gotz_each_candidate(tz, resolve_try, &c))
		snprintf(out, cap, "UTC0");
}

#define ZONEINFO_MAX (10 << 20)	/* Go's limit on a zoneinfo file */

struct load_ctx {
	struct gotz *z;
	int oom;
};

static int load_try(const char *path, void *ctx)
{
	struct load_ctx *c = ctx;
	struct stat st;
	/* A regular file only: a FIFO or a device would block or never end. */
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > ZONEINFO_MAX)
		return 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	unsigned char *p = malloc((size_t)st.st_size + 1);
	size_t n = p ? fread(p, 1, (size_t)st.st_size + 1, f) : 0;
	int rc = 0;
	if (!p) {
		c->oom = 1;
		rc = -1;
	} else if (!ferror(f) && n <= (size_t)st.st_size) {
		int parsed = gotz_parse(p, n, &c->z);
		if (parsed == -2) {
			c->oom = 1;
			rc = -1;
		} else {
			rc = parsed == 0;
		}
	}
	free(p);
	fclose(f);
	return rc;
}

struct gotz *gotz_load_local(const char *tz, struct errmsg *err)
{
	struct load_ctx c = { NULL, 0 };
	gotz_each_candidate(tz, load_try, &c);
	if (!c.z && !c.oom)
		c.z = gotz_utc();
	if (!c.z)
		err_setc(err, ERR_NO_MEMORY, "local time zone: out of memory");
	return c.z;
}
/* ---- the Windows Local zone (Go's zoneinfo_windows.go) ------------------------ */

#include "gozone_abbrs.h"

static int abbr_cmp(const void *key, const void *elem)
{
	return strcmp((const char *)key, ((const struct gozone_abbr *)elem)->name);
}

const struct gozone_abbr *gozone_abbr_find(const char *std_name)
{
	return bsearch(std_name, gozone_abbrs, sizeof gozone_abbrs / sizeof gozone_abbrs[0],
		       sizeof gozone_abbrs[0], abbr_cmp);
}

void gozone_caps(const char *name, char *out, size_t cap)
{
	size_t n = 0;
	for (; *name && n + 1 < cap; name++)
		if (*name >= 'A' && *name <= 'Z')
			out[n++] = *name;
	if (cap)
		out[n] = '\0';
}

/* Days from 1970-01-01 to year-month-01; month may be outside 1..12 (Go's
 * time.Date normalises it into the year). */
static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days from 1970-01-01 to year-month-01; month may be outside 1..12 (Go's
 * time.Date normalises it into the year). */
static int64_t days_from_civil(int64_t y, int64_t m)
{
	int64_t carry = floor_div(m - 1, 12);
	y += carry;
	m -= carry * 12;
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;	/* of the 1st */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in(int month, int64_t year)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (month < 1 || month > 12)
		return 31;	/* Go would index out of range; never in real zones */
	return month == 2 && leap ? 29 : dim[month - 1];
}

/*
 * Go's pseudoUnix: seconds since 1970 in local time of the rule's instant in
 * year ("the Nth weekday of the month", N 5 meaning the last one).
 */
static int64_t pseudo_unix(int64_t year, const struct gozone_date *d)
{
	int64_t t = days_from_civil(year, d->month) * 86400 + d->hour * 3600 + d->minute * 60 +
		    d->second;
	int weekday = (int)((floor_div(t, 86400) + 4) % 7);	/* 1970-01-01 was a Thursday */
	if (weekday < 0)
		weekday += 7;
	int day = 1;
	int i = d->day_of_week - weekday;
	if (i < 0)
		i += 7;
	day += i;
	int week = d->day - 1;
	if (week < 4) {
		day += week * 7;
	} else {
		day += 4 * 7;
		if (day > days_in(d->month, year))
			day -= 7;
	}
	return t + (int64_t)(day - 1) * 86400;
}

void gozone_init(struct gozone *z, const struct gozone_tzi *tzi, const char *std_abbr,
		 const char *dst_abbr, int year)
{
	memset(z, 0, sizeof *z);
	snprintf(z->abbr[0], sizeof z->abbr[0], "%s", std_abbr);
	snprintf(z->abbr[1], sizeof z->abbr[1], "%s", dst_abbr);
	if (tzi->standard_date.month <= 0) {
		/* No daylight saving; StandardBias is ignored then. */
		z->nzone = 1;
		z->offset[0] = -tzi->bias * 60;
		return;
	}
	z->nzone = 2;
	z->offset[0] = -(tzi->bias + tzi->standard_bias) * 60;
	z->offset[1] = -(tzi->bias + tzi->daylight_bias) * 60;

	const struct gozone_date *d0 = &tzi->standard_date, *d1 = &tzi->daylight_date;
	int i0 = 0, i1 = 1;
	if (d0->month > d1->month) {
		d0 = &tzi->daylight_date;
		d1 = &tzi->standard_date;
		i0 = 1;
		i1 = 0;
	}
	for (int64_t y = year - 100; y < year + 100; y++) {
		z->when[z->ntx] = pseudo_unix(y, d0) - z->offset[i1];
		z->index[z->ntx++] = (unsigned char)i0;
		z->when[z->ntx] = pseudo_unix(y, d1) - z->offset[i0];
		z->index[z->ntx++] = (unsigned char)i1;
	}
}

void gozone_lookup(const struct gozone *z, int64_t sec, long *offset, char *zone, size_t cap)
{
	int zi = 0;	/* before the first transition: the standard zone, as Go finds */
	if (z->nzone == 2 && z->ntx && sec >= z->when[0]) {
		zi = z->index[tx_last(z->when, z->ntx, sec)];
	}
	*offset = z->offset[zi];
	if (z->abbr[zi][0]) {
		snprintf(zone, cap, "%s", z->abbr[zi]);
	} else {
		long m = *offset / 60;
		snprintf(zone, cap, "%c%02ld%02ld", m < 0 ? '-' : '+', labs(m) / 60, labs(m) % 60);
	}
}
