/*
 * gozone.c - Go's Windows local-time model (see gozone.h): the zone table,
 * the capital-letters fallback, the transitions Go derives from one year's
 * rules, and the look-up of an instant. Portable; no OS calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gozone.h"

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
		size_t lo = 0, hi = z->ntx;
		while (hi - lo > 1) {
			size_t m = lo + (hi - lo) / 2;
			if (sec < z->when[m])
				hi = m;
			else
				lo = m;
		}
		zi = z->index[lo];
	}
	*offset = z->offset[zi];
	if (z->abbr[zi][0]) {
		snprintf(zone, cap, "%s", z->abbr[zi]);
	} else {
		long m = *offset / 60;
		snprintf(zone, cap, "%c%02ld%02ld", m < 0 ? '-' : '+', labs(m) / 60, labs(m) % 60);
	}
}
