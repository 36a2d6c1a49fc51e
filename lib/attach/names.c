/*
 * names.c - the functions, strings and lines attach --symbolize adds
 * to a profile (docs/symbolize.md): gathered in the plan, one location's
 * frames at a time, each function and string once; written after the
 * profile's own (strings after its last string, functions with ids above
 * its largest), and each location's lines handed back in the order they
 * were gathered, as the second pass meets the same locations again.
 *
 * Memory goes with what was found: the distinct names and files, and
 * three numbers per frame of each named location.
 */
#include <stdlib.h>
#include <string.h>

#include "attach/attach.h"
#include "wire/pbwire.h"
#include "wire/profile.h"
#include "symbolize.h"

enum {
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
	FUNCTION_START_LINE = 5,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	LINE_COLUMN = 3,
};

struct nfunc {
	uint32_t name, sys, file;	/* string ranks + 1; 0: none */
	uint32_t start_line;
};

struct names_table {
	struct buf bytes;		/* every string's bytes, one after another */
	size_t *str_off;		/* per string rank: where its bytes begin */
	size_t nstr, str_cap;
	uint32_t *str_hash;		/* open addressing: rank + 1, 0 empty */
	size_t str_slots;
	struct nfunc *fn;
	size_t nfn, fn_cap;
	uint32_t *fn_hash;
	size_t fn_slots;
	uint32_t *queue;		/* per location: n, then n x (fn rank, line, column) */
	size_t nq, q_cap, q_pos;
	int oom;
};

struct names_table *names_table_new(void)
{
	return calloc(1, sizeof(struct names_table));
}

void names_table_free(struct names_table *t)
{
	if (!t)
		return;
	buf_free(&t->bytes);
	free(t->str_off);
	free(t->str_hash);
	free(t->fn);
	free(t->fn_hash);
	free(t->queue);
	free(t);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

static size_t str_len(const struct names_table *t, size_t rank)
{
	size_t end = rank + 1 < t->nstr ? t->str_off[rank + 1] : t->bytes.len;
	return end - t->str_off[rank];
}

/* A table of slots twice the entries at least; rehashes by calling back. */
static int grow_slots(uint32_t **slots, size_t *nslots, size_t entries)
{
	if (entries * 2 < *nslots)
		return 0;
	size_t n = *nslots ? *nslots * 2 : 256;
	uint32_t *s = calloc(n, sizeof *s);
	if (!s)
		return -1;
	free(*slots);
	*slots = s;
	*nslots = n;
	return 1;
}

static void str_place(struct names_table *t, uint32_t rank)
{
	uint64_t h = fnv(0xcbf29ce484222325ULL, t->bytes.p + t->str_off[rank], str_len(t, rank));
	size_t mask = t->str_slots - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask)
		if (!t->str_hash[i]) {
			t->str_hash[i] = rank + 1;
			return;
		}
}

/* The string's rank + 1, added if new; 0 for NULL; UINT32_MAX when memory ran out. */
static uint32_t str_intern(struct names_table *t, const char *s)
{
	if (!s)
		return 0;
	size_t n = strlen(s);
	int g = grow_slots(&t->str_hash, &t->str_slots, t->nstr + 1);
	if (g < 0)
		return UINT32_MAX;
	if (g > 0)
		for (uint32_t r = 0; r < t->nstr; r++)
			str_place(t, r);
	uint64_t h = fnv(0xcbf29ce484222325ULL, s, n);
	size_t mask = t->str_slots - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint32_t r = t->str_hash[i];
		if (!r)
			break;
		if (str_len(t, r - 1) == n && memcmp(t->bytes.p + t->str_off[r - 1], s, n) == 0)
			return r;
	}
	if (t->nstr == t->str_cap) {
		size_t cap = t->str_cap ? 2 * t->str_cap : 256;
		size_t *v = realloc(t->str_off, cap * sizeof *v);
		if (!v)
			return UINT32_MAX;
		t->str_off = v;
		t->str_cap = cap;
	}
	if (t->nstr >= UINT32_MAX - 1)
		return UINT32_MAX;
	t->str_off[t->nstr] = t->bytes.len;
	buf_put(&t->bytes, s, n);
	if (t->bytes.oom)
		return UINT32_MAX;
	str_place(t, (uint32_t)t->nstr);
	return (uint32_t)++t->nstr;
}

static uint64_t fn_hashof(const struct nfunc *f)
{
	return fnv(0xcbf29ce484222325ULL, f, sizeof *f);
}

static void fn_place(struct names_table *t, uint32_t rank)
{
	size_t mask = t->fn_slots - 1;
	for (size_t i = (size_t)fn_hashof(&t->fn[rank]) & mask;; i = (i + 1) & mask)
		if (!t->fn_hash[i]) {
			t->fn_hash[i] = rank + 1;
			return;
		}
}

/* The function's rank + 1, added if new; 0 when memory ran out. */
static uint32_t fn_intern(struct names_table *t, const struct nfunc *f)
{
	int g = grow_slots(&t->fn_hash, &t->fn_slots, t->nfn + 1);
	if (g < 0)
		return 0;
	if (g > 0)
		for (uint32_t r = 0; r < t->nfn; r++)
			fn_place(t, r);
	size_t mask = t->fn_slots - 1;
	for (size_t i = (size_t)fn_hashof(f) & mask;; i = (i + 1) & mask) {
		uint32_t r = t->fn_hash[i];
		if (!r)
			break;
		if (memcmp(&t->fn[r - 1], f, sizeof *f) == 0)
			return r;
	}
	if (t->nfn == t->fn_cap) {
		size_t cap = t->fn_cap ? 2 * t->fn_cap : 256;
		struct nfunc *v = realloc(t->fn, cap * sizeof *v);
		if (!v)
			return 0;
		t->fn = v;
		t->fn_cap = cap;
	}
	if (t->nfn >= UINT32_MAX - 1)
		return 0;
	t->fn[t->nfn] = *f;
	fn_place(t, (uint32_t)t->nfn);
	return (uint32_t)++t->nfn;
}

static int queue_put(struct names_table *t, uint32_t v)
{
	if (t->nq == t->q_cap) {
		size_t cap = t->q_cap ? 2 * t->q_cap : 1024;
		uint32_t *q = realloc(t->queue, cap * sizeof *q);
		if (!q)
			return -1;
		t->queue = q;
		t->q_cap = cap;
	}
	t->queue[t->nq++] = v;
	return 0;
}

int names_table_add(struct names_table *t, const struct sym_frame *f, size_t n)
{
	if (queue_put(t, (uint32_t)n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct nfunc fn;
		memset(&fn, 0, sizeof fn);	/* compared and hashed whole */
		fn.name = str_intern(t, f[i].function ? f[i].function : f[i].system_name);
		fn.sys = str_intern(t, f[i].system_name ? f[i].system_name : f[i].function);
		fn.file = str_intern(t, f[i].file);
		fn.start_line = f[i].start_line;
		if (fn.name == UINT32_MAX || fn.sys == UINT32_MAX || fn.file == UINT32_MAX)
			return -1;
		uint32_t r = fn_intern(t, &fn);
		if (!r || queue_put(t, r) < 0 || queue_put(t, f[i].line) < 0 ||
		    queue_put(t, f[i].column) < 0)
			return -1;
	}
	return 0;
}

size_t names_table_strings(const struct names_table *t)
{
	return t->nstr;
}

size_t names_table_functions(const struct names_table *t)
{
	return t->nfn;
}

int names_table_next_lines(struct names_table *t, uint64_t fn_base, struct buf *out)
{
	struct buf line = { 0 };
	if (t->q_pos >= t->nq)
		return -1;
	uint32_t n = t->queue[t->q_pos++];
	if (n > (t->nq - t->q_pos) / 3)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		const uint32_t *e = &t->queue[t->q_pos];
		t->q_pos += 3;
		line.len = 0;
		pb_put_uint(&line, LINE_FUNCTION_ID, fn_base + e[0]);
		if (e[1])
			pb_put_int(&line, LINE_LINE, e[1]);
		if (e[2])
			pb_put_int(&line, LINE_COLUMN, e[2]);
		pb_put_bytes(out, LOCATION_LINE, line.p, line.len);
	}
	out->oom |= line.oom;
	buf_free(&line);
	return (int)n;
}

void names_table_put_strings(const struct names_table *t, struct buf *out)
{
	for (size_t r = 0; r < t->nstr; r++)
		pb_put_bytes(out, PROFILE_STRING_TABLE, t->bytes.p + t->str_off[r], str_len(t, r));
}

void names_table_put_functions(const struct names_table *t, uint64_t str_base, uint64_t fn_base,
			       struct buf *out)
{
	struct buf fn = { 0 };
	for (size_t r = 0; r < t->nfn; r++) {
		const struct nfunc *f = &t->fn[r];
		fn.len = 0;
		pb_put_uint(&fn, FUNCTION_ID, fn_base + r + 1);
		pb_put_uint(&fn, FUNCTION_NAME, f->name ? str_base + f->name - 1 : 0);
		pb_put_uint(&fn, FUNCTION_SYSTEM_NAME, f->sys ? str_base + f->sys - 1 : 0);
		if (f->file)
			pb_put_uint(&fn, FUNCTION_FILENAME, str_base + f->file - 1);
		if (f->start_line)
			pb_put_int(&fn, FUNCTION_START_LINE, f->start_line);
		pb_put_bytes(out, PROFILE_FUNCTION, fn.p, fn.len);
	}
	out->oom |= fn.oom;
	buf_free(&fn);
}
