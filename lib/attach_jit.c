/*
 * attach_jit.c - the JIT symbols a pprof snapshot holds (`modmap --jit
 * --format pprof`, see emit_pprof.c), read back into a jit_table for
 * `attach --jit --snapshot`. Each is a sample labelled jit_size (and
 * jit_source) whose location has the symbol's start address and one line
 * naming it. A pure function over the decompressed bytes; what does not fit
 * these shapes, or lies past the bounds, is left out.
 */
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "jit.h"
#include "pbwire.h"
#include "pprof.h"

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

struct jread {
	struct jstr *str;
	size_t nstr, str_cap;
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

static void read_sample(struct jread *j, const unsigned char *p, size_t len)
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

static void read_location(struct jread *j, const unsigned char *p, size_t len)
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

static void read_function(struct jread *j, const unsigned char *p, size_t len)
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

static const struct jstr *str_at(const struct jread *j, uint64_t i)
{
	return i < j->nstr ? &j->str[i] : NULL;
}

static int str_is(const struct jread *j, uint64_t i, const char *s)
{
	const struct jstr *x = str_at(j, i);
	return x && x->len == strlen(s) && memcmp(x->p, s, x->len) == 0;
}

int attach_jit_from_profile(const unsigned char *p, size_t len, struct jit_table *t,
			    struct errmsg *err)
{
	struct jread j = { 0 };
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why = NULL;
	int rc;
	while ((rc = pb_next(&r, &f, &why)) > 0) {
		if (f.type != PB_LEN)
			continue;
		switch (f.number) {
		case PROFILE_STRING_TABLE: {
			struct jstr *s = more(&j.str, &j.nstr, &j.str_cap, sizeof *s, &j.oom);
			if (s)
				*s = (struct jstr){ f.data, f.len };
			break;
		}
		case PROFILE_SAMPLE:
			read_sample(&j, f.data, f.len);
			break;
		case PROFILE_LOCATION:
			read_location(&j, f.data, f.len);
			break;
		case PROFILE_FUNCTION:
			read_function(&j, f.data, f.len);
			break;
		default:
			break;
		}
	}
	if (rc < 0 || j.oom) {
		if (j.oom)
			err_setc(err, ERR_NO_MEMORY, "out of memory");
		else
			err_set(err, "not a valid pprof profile: %s", why);
		rc = -1;
		goto done;
	}
	qsort(j.fn, j.nfn, sizeof *j.fn, by_id);
	qsort(j.loc, j.nloc, sizeof *j.loc, by_id);
	for (size_t i = 0; i < j.nsmp; i++) {
		const struct jsample *s = &j.smp[i];
		if (!str_is(&j, s->size_key, "jit_size"))
			continue;
		const struct jloc *l = find_id(j.loc, j.nloc, sizeof *j.loc, s->loc);
		const struct jfn *fn = l ? find_id(j.fn, j.nfn, sizeof *j.fn, l->fn) : NULL;
		const struct jstr *name = fn ? str_at(&j, fn->name) : NULL;
		if (!name) {
			t->dropped++;
			continue;
		}
		int source = str_is(&j, s->source_key, "jit_source") &&
					     str_is(&j, s->source, jit_source_name(JIT_JITDUMP))
				     ? JIT_JITDUMP
				     : JIT_PERF_MAP;
		long k = jit_add(t, l->address, s->size, (const char *)name->p, name->len, source);
		const struct jstr *file = str_at(&j, fn->file);
		if (k >= 0 && (l->line || (file && file->len)))
			jit_add_line(t, (size_t)k, l->address, (uint32_t)l->line,
				     file ? (const char *)file->p : "", file ? file->len : 0);
	}
	rc = 0;
	if (jit_finish(t) < 0) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		rc = -1;
	}
done:
	free(j.str);
	free(j.fn);
	free(j.loc);
	free(j.smp);
	return rc;
}
