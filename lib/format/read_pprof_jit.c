/*
 * format/read_pprof_jit.c - the JIT symbols a pprof snapshot holds (`modmap --jit
 * --format pprof`, see format/pprof.c), read back into a jit_table for
 * `attach --jit --snapshot`. Each is a sample labelled jit_size (and
 * jit_source) whose location has the symbol's start address and one line
 * naming it. What does not fit these shapes, or lies past the bounds, is
 * left out.
 *
 * The profile is never held whole: a first pass hands over the samples,
 * locations and functions (pprof_jit_reader_field), which are kept as
 * numbers; a second the strings they name, and only those
 * (pprof_jit_reader_wants, pprof_jit_reader_string). The snapshot
 * reader (read_pprof.c) drives both passes; pprof_jit_from_profile drives
 * them over bytes held in memory.
 */
#include <stdlib.h>
#include <string.h>

#include "format/read.h"
#include "jit.h"
#include "wire/pbwire.h"
#include "wire/profile.h"

/* Bounds on what is kept from one snapshot; a real one is far below. */
#define KEEP_MAX ((size_t)1 << 21)

struct jstr {
	const unsigned char *p;
	size_t len;
};

struct jfn {
	uint64_t id, name, file;
};

struct jloc {
	uint64_t id, address, fn, line;
};

struct jsample {
	uint64_t loc, size, size_key, source_key, source;
};

/* A string some symbol needs: its index, and where its bytes went in strs. */
struct jneed {
	uint64_t index;
	size_t off, len;
	int got;
};

struct pprof_jit_reader {
	struct jneed *need;	/* sorted by index, no two alike */
	size_t nneed, need_cap, kneed;
	struct buf strs;
	struct jfn *fn;
	size_t nfn, fn_cap;
	struct jloc *loc;
	size_t nloc, loc_cap;
	struct jsample *smp;
	size_t nsmp, smp_cap;
	int oom;
};

/* Room for one more element of sz bytes in *p; NULL past KEEP_MAX or out of memory. */
static void *more(void *pp, size_t *n, size_t *cap, size_t sz, int *oom)
{
	void **p = pp;
	if (*n >= KEEP_MAX)
		return NULL;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *q = realloc(*p, ncap * sz);
		if (!q) {
			*oom = 1;
			return NULL;
		}
		*p = q;
		*cap = ncap;
	}
	return (char *)*p + (*n)++ * sz;
}

/* Each message's fields; a malformed one is left out. */
static int read_label(const unsigned char *p, size_t len, uint64_t *key, uint64_t *str,
		      uint64_t *num)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why;
	int rc;
	*key = *str = *num = 0;
	while ((rc = pb_next(&r, &f, &why)) > 0) {
		if (f.type != PB_VARINT)
			continue;
		if (f.number == 1)
			*key = f.value;
		else if (f.number == 2)
			*str = f.value;
		else if (f.number == 3)
			*num = f.value;
	}
	return rc;
}

static void read_sample(struct pprof_jit_reader *j, const unsigned char *p, size_t len)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why;
	struct jsample s = { 0 };
	int labelled = 0;
	while (pb_next(&r, &f, &why) > 0) {
		if (f.number == SAMPLE_LOCATION_ID && !s.loc) {
			if (f.type == PB_VARINT) {
				s.loc = f.value;
			} else if (f.type == PB_LEN) {
				const unsigned char *q = f.data;
				if (pb_get_varint(&q, f.data + f.len, &s.loc, &why) < 0)
					return;
			}
		} else if (f.number == SAMPLE_LABEL && f.type == PB_LEN) {
			uint64_t key, str, num;
			if (read_label(f.data, f.len, &key, &str, &num) < 0)
				return;
			if (str) {
				s.source_key = key;
				s.source = str;
			} else {
				s.size_key = key;
				s.size = num;
				labelled = 1;
			}
		}
	}
	struct jsample *d = labelled ? more(&j->smp, &j->nsmp, &j->smp_cap, sizeof *d, &j->oom)
				     : NULL;
	if (d)
		*d = s;
}

static void read_location(struct pprof_jit_reader *j, const unsigned char *p, size_t len)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why;
	struct jloc l = { 0 };
	while (pb_next(&r, &f, &why) > 0) {
		if (f.number == LOCATION_ID && f.type == PB_VARINT)
			l.id = f.value;
		else if (f.number == LOCATION_ADDRESS && f.type == PB_VARINT)
			l.address = f.value;
		else if (f.number == LOCATION_LINE && f.type == PB_LEN && !l.fn) {
			struct pb_reader lr = pb_reader(f.data, f.len);
			struct pb_field lf;
			while (pb_next(&lr, &lf, &why) > 0) {
				if (lf.type != PB_VARINT)
					continue;
				if (lf.number == 1)
					l.fn = lf.value;
				else if (lf.number == 2)
					l.line = lf.value;
			}
		}
	}
	struct jloc *d = l.fn ? more(&j->loc, &j->nloc, &j->loc_cap, sizeof *d, &j->oom) : NULL;
	if (d)
		*d = l;
}

static void read_function(struct pprof_jit_reader *j, const unsigned char *p, size_t len)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why;
	struct jfn fn = { 0 };
	while (pb_next(&r, &f, &why) > 0) {
		if (f.type != PB_VARINT)
			continue;
		if (f.number == 1)
			fn.id = f.value;
		else if (f.number == 2)
			fn.name = f.value;
		else if (f.number == 4)
			fn.file = f.value;
	}
	struct jfn *d = more(&j->fn, &j->nfn, &j->fn_cap, sizeof *d, &j->oom);
	if (d)
		*d = fn;
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The element with this id in a sorted array of sz-byte elements led by an id. */
static const void *find_id(const void *base, size_t n, size_t sz, uint64_t id)
{
	return id ? bsearch(&id, base, n, sz, by_id) : NULL;
}

static const struct jneed *need_find(const struct pprof_jit_reader *j, uint64_t i)
{
	size_t lo = 0, hi = j->nneed;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (j->need[mid].index < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < j->nneed && j->need[lo].index == i ? &j->need[lo] : NULL;
}

static const struct jstr *str_at(const struct pprof_jit_reader *j, uint64_t i, struct jstr *out)
{
	const struct jneed *n = need_find(j, i);
	if (i == 0) {	/* string_table[0] is "" */
		*out = (struct jstr){ (const unsigned char *)"", 0 };
		return out;
	}
	if (!n || !n->got)
		return NULL;
	*out = (struct jstr){ j->strs.p + n->off, n->len };
	return out;
}

static int str_is(const struct pprof_jit_reader *j, uint64_t i, const char *s)
{
	struct jstr b;
	const struct jstr *x = str_at(j, i, &b);
	return x && x->len == strlen(s) && memcmp(x->p, s, x->len) == 0;
}

struct pprof_jit_reader *pprof_jit_reader_new(void)
{
	return calloc(1, sizeof(struct pprof_jit_reader));
}

void pprof_jit_reader_free(struct pprof_jit_reader *j)
{
	if (!j)
		return;
	free(j->need);
	buf_free(&j->strs);
	free(j->fn);
	free(j->loc);
	free(j->smp);
	free(j);
}

void pprof_jit_reader_field(struct pprof_jit_reader *j, uint64_t number,
			     const unsigned char *p, size_t len)
{
	if (number == PROFILE_SAMPLE)
		read_sample(j, p, len);
	else if (number == PROFILE_LOCATION)
		read_location(j, p, len);
	else if (number == PROFILE_FUNCTION)
		read_function(j, p, len);
}

static void need_add(struct pprof_jit_reader *j, uint64_t i)
{
	struct jneed *n = i ? more(&j->need, &j->nneed, &j->need_cap, sizeof *n, &j->oom) : NULL;
	if (n)
		*n = (struct jneed){ i, 0, 0, 0 };
}

int pprof_jit_reader_plan(struct pprof_jit_reader *j, struct errmsg *err)
{
	if (j->oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	if (j->nfn)
		qsort(j->fn, j->nfn, sizeof *j->fn, by_id);
	if (j->nloc)
		qsort(j->loc, j->nloc, sizeof *j->loc, by_id);
	for (size_t i = 0; i < j->nsmp; i++) {
		const struct jsample *s = &j->smp[i];
		need_add(j, s->size_key);
		need_add(j, s->source_key);
		need_add(j, s->source);
		const struct jloc *l = find_id(j->loc, j->nloc, sizeof *j->loc, s->loc);
		const struct jfn *fn = l ? find_id(j->fn, j->nfn, sizeof *j->fn, l->fn) : NULL;
		if (fn) {
			need_add(j, fn->name);
			need_add(j, fn->file);
		}
	}
	if (j->oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	if (j->nneed)
		qsort(j->need, j->nneed, sizeof *j->need, by_id);
	size_t k = 0;
	for (size_t i = 0; i < j->nneed; i++)
		if (k == 0 || j->need[k - 1].index != j->need[i].index)
			j->need[k++] = j->need[i];
	j->nneed = k;
	return 0;
}

int pprof_jit_reader_wants(const struct pprof_jit_reader *j, uint64_t index)
{
	return need_find(j, index) != NULL;
}

int pprof_jit_reader_string(struct pprof_jit_reader *j, uint64_t index,
			     const unsigned char *p, size_t len, struct errmsg *err)
{
	struct jneed *n = (struct jneed *)need_find(j, index);
	if (!n)
		return 0;
	n->off = j->strs.len;
	n->len = len;
	n->got = 1;
	buf_put(&j->strs, p, len);
	if (j->strs.oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	return 0;
}

int pprof_jit_reader_finish(struct pprof_jit_reader *j, struct jit_table *t,
			     struct errmsg *err)
{
	for (size_t i = 0; i < j->nsmp; i++) {
		const struct jsample *s = &j->smp[i];
		if (!str_is(j, s->size_key, "jit_size"))
			continue;
		const struct jloc *l = find_id(j->loc, j->nloc, sizeof *j->loc, s->loc);
		const struct jfn *fn = l ? find_id(j->fn, j->nfn, sizeof *j->fn, l->fn) : NULL;
		struct jstr nb, fb;
		const struct jstr *name = fn ? str_at(j, fn->name, &nb) : NULL;
		if (!name) {
			t->dropped++;
			continue;
		}
		int source = str_is(j, s->source_key, "jit_source") &&
					     str_is(j, s->source, jit_source_name(JIT_JITDUMP))
				     ? JIT_JITDUMP
				     : JIT_PERF_MAP;
		long k = jit_add(t, l->address, s->size, (const char *)name->p, name->len, source);
		const struct jstr *file = str_at(j, fn->file, &fb);
		if (k >= 0 && (l->line || (file && file->len)))
			jit_add_line(t, (size_t)k, l->address, (uint32_t)l->line,
				     file ? (const char *)file->p : "", file ? file->len : 0);
	}
	if (jit_finish(t) < 0) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	return 0;
}

/* Both passes over a profile held in memory. */
static int pass(const unsigned char *p, size_t len, struct pprof_jit_reader *j, int second,
		struct errmsg *err)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why = NULL;
	uint64_t strings = 0;
	int rc;
	while ((rc = pb_next(&r, &f, &why)) > 0) {
		if (f.type != PB_LEN)
			continue;
		if (!second)
			pprof_jit_reader_field(j, f.number, f.data, f.len);
		else if (f.number == PROFILE_STRING_TABLE &&
			 pprof_jit_reader_string(j, strings++, f.data, f.len, err) < 0)
			return -1;
	}
	if (rc < 0) {
		err_set(err, "not a valid pprof profile: %s", why);
		return -1;
	}
	return 0;
}

int pprof_jit_from_profile(const unsigned char *p, size_t len, struct jit_table *t,
			    struct errmsg *err)
{
	struct pprof_jit_reader *j = pprof_jit_reader_new();
	int rc = -1;
	if (!j)
		err_setc(err, ERR_NO_MEMORY, "out of memory");
	else if (pass(p, len, j, 0, err) == 0 && pprof_jit_reader_plan(j, err) == 0 &&
		 pass(p, len, j, 1, err) == 0 && pprof_jit_reader_finish(j, t, err) == 0)
		rc = 0;
	pprof_jit_reader_free(j);
	return rc;
}
