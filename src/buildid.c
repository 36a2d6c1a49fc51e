/*
 * buildid.c - ELF build-id and Go build-ID notes, Go's time format for
 * path+mtime IDs, and the per-run identity cache. Portable C: no I/O but
 * through struct bytesrc, so every reader here runs on bytes in a test or a
 * fuzzer exactly as on a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buildid.h"

/* ELF constants (System V gABI). */
enum {
	EI_CLASS = 4,
	EI_DATA = 5,
	ELFCLASS32 = 1,
	ELFCLASS64 = 2,
	ELFDATA2LSB = 1,
	ELFDATA2MSB = 2,
	PT_NOTE = 4,
	SHT_NOTE = 7,
	NT_GNU_BUILD_ID = 3,
	NT_GO_BUILD_ID = 4,	/* Go's linker: name "Go", type 4 */
};

/* Bounds on what a hostile file can make us read. */
#define NOTES_READ_MAX (64 * 1024)	/* bytes of one note segment/section */
#define NOTE_AREAS_MAX 64		/* note segments or sections looked at */
#define HEADERS_READ_MAX (64 * 1024)	/* bytes of a program or section header table */

static int src_read(const struct bytesrc *src, uint64_t off, void *buf, size_t len)
{
	if (off > src->size || len > src->size - off)
		return -1;
	if (!src->read) {
		memcpy(buf, src->mem + off, len);
		return 0;
	}
	return src->read(src->ctx, off, buf, len);
}

static uint64_t get_u(const unsigned char *p, size_t n, int be)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
	return v;
}

void hex_encode(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = "0123456789abcdef"[p[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int elf_find_note(const unsigned char *p, size_t len, size_t align, int be,
		  const char *name, size_t namesz, uint32_t type,
		  const unsigned char **desc, size_t *desclen)
{
	size_t off = 0;

	while (len - off >= 12) {
		uint64_t nsz = get_u(p + off, 4, be);
		uint64_t dsz = get_u(p + off + 4, 4, be);
		uint32_t ntype = (uint32_t)get_u(p + off + 8, 4, be);
		size_t name_off = off + 12;
		if (nsz > len - name_off)
			return -1;
		size_t desc_off = name_off + align_up((size_t)nsz, align);
		if (desc_off > len || dsz > len - desc_off)
			return -1;
		if (nsz == namesz && ntype == type && memcmp(p + name_off, name, namesz) == 0) {
			*desc = p + desc_off;
			*desclen = (size_t)dsz;
			return 0;
		}
		size_t next = desc_off + align_up((size_t)dsz, align);
		if (next > len)
			return -1;
		off = next;
	}
	return -1;
}

/* Looks for both notes in one note area; fills what it has not found yet. */
static void scan_notes(const struct bytesrc *src, uint64_t off, uint64_t size,
		       uint64_t align, int be, struct identity *id, unsigned char *scratch)
{
	if (off > src->size)
		return;
	if (size > src->size - off)
		size = src->size - off;
	if (size > NOTES_READ_MAX)
		size = NOTES_READ_MAX;
	if (size < 12 || src_read(src, off, scratch, (size_t)size) < 0)
		return;
	size_t a = align == 8 ? 8 : 4;
	const unsigned char *d;
	size_t n;
	if (!id->gnu[0] &&
	    elf_find_note(scratch, (size_t)size, a, be, "GNU", 4, NT_GNU_BUILD_ID, &d, &n) == 0 &&
	    n > 0 && n <= BUILDID_MAX)
		hex_encode(id->gnu, d, n);
	if (!id->go[0] &&
	    elf_find_note(scratch, (size_t)size, a, be, "Go\0", 4, NT_GO_BUILD_ID, &d, &n) == 0 &&
	    n > 0 && n <= GOBUILDID_MAX) {
		/* A Go build ID is printable text; anything else is not one. */
		for (size_t i = 0; i < n; i++)
			if (d[i] < 0x21 || d[i] > 0x7e)
				return;
		memcpy(id->go, d, n);
		id->go[n] = '\0';
	}
}

/*
 * Reads up to count entries of entsize bytes at off into table (at most
 * HEADERS_READ_MAX bytes, and no further than the file goes). Returns how
 * many entries it read.
 */
static size_t read_table(const struct bytesrc *src, uint64_t off, uint64_t count,
			 size_t entsize, unsigned char *table)
{
	uint64_t fit = HEADERS_READ_MAX / entsize;
	if (count > fit)
		count = fit;
	if (off > src->size)
		return 0;
	uint64_t avail = (src->size - off) / entsize;
	if (count > avail)
		count = avail;
	if (count == 0 || src_read(src, off, table, (size_t)count * entsize) < 0)
		return 0;
	return (size_t)count;
}

int elf_identity(const struct bytesrc *src, struct identity *id)
{
	unsigned char eh[64];
	memset(id, 0, sizeof *id);

	if (src->size < 52 || src_read(src, 0, eh, src->size < 64 ? 52 : 64) < 0 ||
	    memcmp(eh, "\177ELF", 4) != 0) {
		id->error = "not an ELF file";
		return -1;
	}
	int is64 = eh[EI_CLASS] == ELFCLASS64;
	int be = eh[EI_DATA] == ELFDATA2MSB;
	if ((!is64 && eh[EI_CLASS] != ELFCLASS32) ||
	    (!be && eh[EI_DATA] != ELFDATA2LSB) || (is64 && src->size < 64)) {
		id->error = "unsupported ELF class or byte order";
		return -1;
	}

	uint64_t phoff = is64 ? get_u(eh + 32, 8, be) : get_u(eh + 28, 4, be);
	uint64_t shoff = is64 ? get_u(eh + 40, 8, be) : get_u(eh + 32, 4, be);
	size_t phentsize = (size_t)get_u(eh + (is64 ? 54 : 42), 2, be);
	size_t phnum = (size_t)get_u(eh + (is64 ? 56 : 44), 2, be);
	size_t shentsize = (size_t)get_u(eh + (is64 ? 58 : 46), 2, be);
	uint64_t shnum = get_u(eh + (is64 ? 60 : 48), 2, be);
	size_t phmin = is64 ? 56 : 32, shmin = is64 ? 64 : 40;

	unsigned char *scratch = malloc(NOTES_READ_MAX);
	unsigned char *table = malloc(HEADERS_READ_MAX);
	if (!scratch || !table) {
		free(scratch);
		free(table);
		id->error = "out of memory";
		return -1;
	}
	unsigned areas = 0;
	size_t n;

	/* Program headers first: they are what a loader (and the kernel) sees.
	 * The table is read in one go, as far as HEADERS_READ_MAX. */
	if (phentsize >= phmin && phentsize <= 256 &&
	    (n = read_table(src, phoff, phnum, phentsize, table)) > 0) {
		for (size_t i = 0; i < n && areas < NOTE_AREAS_MAX; i++) {
			const unsigned char *h = table + i * phentsize;
			if (get_u(h, 4, be) != PT_NOTE)
				continue;
			uint64_t off = is64 ? get_u(h + 8, 8, be) : get_u(h + 4, 4, be);
			uint64_t sz = is64 ? get_u(h + 32, 8, be) : get_u(h + 16, 4, be);
			uint64_t al = is64 ? get_u(h + 48, 8, be) : get_u(h + 28, 4, be);
			areas++;
			scan_notes(src, off, sz, al, be, id, scratch);
			if (id->gnu[0] && id->go[0])
				break;
		}
	}

	/* Then sections, for a GNU note that no PT_NOTE covers. */
	if (!id->gnu[0] && shoff && shentsize >= shmin && shentsize <= 256) {
		if (shnum == 0 && src_read(src, shoff, table, shmin) == 0)
			shnum = is64 ? get_u(table + 32, 8, be) : get_u(table + 20, 4, be);
		n = read_table(src, shoff, shnum, shentsize, table);
		for (size_t i = 0; i < n && areas < NOTE_AREAS_MAX; i++) {
			const unsigned char *h = table + i * shentsize;
			if (get_u(h + 4, 4, be) != SHT_NOTE)
				continue;
			uint64_t off = is64 ? get_u(h + 24, 8, be) : get_u(h + 16, 4, be);
			uint64_t sz = is64 ? get_u(h + 32, 8, be) : get_u(h + 20, 4, be);
			uint64_t al = is64 ? get_u(h + 48, 8, be) : get_u(h + 32, 4, be);
			areas++;
			scan_notes(src, off, sz, al, be, id, scratch);
			if (id->gnu[0] && id->go[0])
				break;
		}
	}
	free(table);
	free(scratch);
	if (!id->gnu[0] && !id->go[0])
		id->error = "no build-id note";
	return 0;
}

size_t gotime_format(char *out, size_t cap, int64_t sec, long nsec, long gmtoff,
		     const char *zone)
{
	/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
	int64_t local = sec + gmtoff;
	int64_t days = local / 86400, rem = local % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;

	char frac[11] = "";
	if (nsec > 0 && nsec < 1000000000L) {
		/* Go's .999999999: nine digits, trailing zeros dropped. */
		snprintf(frac, sizeof frac, ".%09ld", nsec);
		size_t n = strlen(frac);
		while (frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	long off = gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	/* Go pads the year to four digits, after a minus sign when negative. */
	char year[24];
	if (y < 0)
		snprintf(year, sizeof year, "-%04lld", (long long)-y);
	else
		snprintf(year, sizeof year, "%04lld", (long long)y);
	int n = snprintf(out, cap, "%s-%02d-%02d %02d:%02d:%02d%s %c%02ld%02ld %s", year,
			 (int)m, (int)d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
			 frac, sign, off / 60, off % 60, zone);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* The identity cache: open addressing, linear probing, grown at half full. */
struct bid_entry {
	uint64_t dev, ino;
	int64_t sec;
	long nsec;
	int used;
	struct identity id;
};

struct bid_cache {
	struct bid_entry *e;
	size_t n, cap;
};

struct bid_cache *bid_cache_new(void)
{
	return calloc(1, sizeof(struct bid_cache));
}

void bid_cache_free(struct bid_cache *c)
{
	if (c)
		free(c->e);
	free(c);
}

static size_t bid_hash(uint64_t dev, uint64_t ino, int64_t sec, long nsec)
{
	uint64_t h = dev * 0x9e3779b97f4a7c15ULL;
	h ^= ino + 0x7f4a7c159e3779b9ULL + (h << 6) + (h >> 2);
	h ^= (uint64_t)sec * 0xbf58476d1ce4e5b9ULL + (uint64_t)nsec;
	h ^= h >> 31;
	return (size_t)h;
}

static struct bid_entry *bid_slot(struct bid_entry *e, size_t cap, uint64_t dev, uint64_t ino,
				  int64_t sec, long nsec)
{
	size_t i = bid_hash(dev, ino, sec, nsec) & (cap - 1);
	while (e[i].used && !(e[i].dev == dev && e[i].ino == ino && e[i].sec == sec &&
			      e[i].nsec == nsec))
		i = (i + 1) & (cap - 1);
	return &e[i];
}

const struct identity *bid_cache_get(struct bid_cache *c, uint64_t dev, uint64_t ino,
				     int64_t sec, long nsec)
{
	if (!c || !c->cap)
		return NULL;
	struct bid_entry *s = bid_slot(c->e, c->cap, dev, ino, sec, nsec);
	return s->used ? &s->id : NULL;
}

const struct identity *bid_cache_put(struct bid_cache *c, uint64_t dev, uint64_t ino,
				     int64_t sec, long nsec, const struct identity *id)
{
	if (!c)
		return NULL;
	if (2 * (c->n + 1) > c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct bid_entry *e = calloc(cap, sizeof *e);
		if (!e)
			return NULL;
		for (size_t i = 0; i < c->cap; i++)
			if (c->e[i].used)
				*bid_slot(e, cap, c->e[i].dev, c->e[i].ino, c->e[i].sec,
					  c->e[i].nsec) = c->e[i];
		free(c->e);
		c->e = e;
		c->cap = cap;
	}
	struct bid_entry *s = bid_slot(c->e, c->cap, dev, ino, sec, nsec);
	if (!s->used)
		c->n++;
	*s = (struct bid_entry){ dev, ino, sec, nsec, 1, *id };
	return &s->id;
}

int pe_identity(const struct bytesrc *src, struct identity *id)
{
	/* Stub: the PE reader lands with the build-ID work (issue 3). */
	(void)src;
	memset(id, 0, sizeof *id);
	id->error = "PE files are not read yet";
	return -1;
}
