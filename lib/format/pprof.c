/*
 * format/pprof.c - one process's mapping table as a gzip-compressed
 * perftools.profiles.Profile (google/pprof's proto/profile.proto), the form
 * pprof and `modmap attach` read. It holds no measurement: no functions, no
 * lines, the has_* flags false.
 *
 * pprof's tools hide what no sample refers to: `go tool pprof` refuses a
 * profile without a sample type ("profile has no samples"), and merges
 * every profile it opens, which keeps only the first mapping and those
 * that samples reach. So each mapping gets one location (its start
 * address) and one sample of value 1, of sample type "mappings"/"count":
 * the profile counts mappings, and every tool lists all of them.
 * docs/formats.md says the same for readers.
 *
 * With --jit, each live JIT symbol is a Function (its name) and a Location
 * at its start with one Line, reached by one sample of 1 that carries the
 * symbol's size and source as labels (jit_size, jit_source), in the order
 * the runtime wrote them: what `modmap attach --snapshot` reads back.
 */
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "format/emit.h"
#include "wire/gz.h"
#include "jit.h"
#include "wire/pbwire.h"
#include "wire/profile.h"

/* The sample and period type: what the one-per-mapping samples count. */
#define PPROF_SAMPLE_TYPE "mappings"
#define PPROF_SAMPLE_UNIT "count"

/*
 * The profile's string table: each distinct string once, index 0 the
 * empty string. Strings are borrowed (the snapshot's arena, literals) and
 * found again through an open-addressing hash of their indices.
 */
struct strtab {
	const char **str;
	size_t *len;
	size_t n, cap;
	uint32_t *slot;		/* string index + 1; 0 is an empty slot */
	size_t nslot;		/* a power of two, kept over twice n */
	int oom;
};

static uint64_t str_hash(const char *s, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);	/* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
	return h;
}

static int strtab_grow(struct strtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	const char **str = realloc(t->str, cap * sizeof *str);
	if (!str)
		return -1;
	t->str = str;
	size_t *len = realloc(t->len, cap * sizeof *len);
	if (!len)
		return -1;
	t->len = len;
	t->cap = cap;

	size_t nslot = cap * 4;
	uint32_t *slot = calloc(nslot, sizeof *slot);
	if (!slot)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = str_hash(t->str[i], t->len[i]) & (nslot - 1);
		while (slot[j])
			j = (j + 1) & (nslot - 1);
		slot[j] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = nslot;
	return 0;
}

/* The index of s in the table, added if new; 0 after running out of memory. */
static int64_t strtab_index(struct strtab *t, const char *s, size_t len)
{
	if (t->oom)
		return 0;
	if (t->n == t->cap && (t->n >= UINT32_MAX / 8 || strtab_grow(t) < 0)) {
		t->oom = 1;
		return 0;
	}
	size_t j = str_hash(s, len) & (t->nslot - 1);
	for (; t->slot[j]; j = (j + 1) & (t->nslot - 1)) {
		size_t i = t->slot[j] - 1;
		if (t->len[i] == len && memcmp(t->str[i], s, len) == 0)
			return (int64_t)i;
	}
	t->str[t->n] = s;
	t->len[t->n] = len;
	t->slot[j] = (uint32_t)++t->n;
	return (int64_t)(t->n - 1);
}

static int64_t strtab_str(struct strtab *t, const char *s)
{
	return strtab_index(t, s, strlen(s));
}

static void strtab_free(struct strtab *t)
{
	free(t->str);
	free(t->len);
	free(t->slot);
	memset(t, 0, sizeof *t);
}

/* A ValueType message {type, unit} as field `field`. */
static void put_value_type(struct buf *b, uint32_t field, int64_t type, int64_t unit)
{
	pb_put_key(b, field, PB_LEN);
	pb_put_varint(b, 2 + pb_varint_len((uint64_t)type) + pb_varint_len((uint64_t)unit));
	pb_put_uint(b, VALUE_TYPE_TYPE, (uint64_t)type);
	pb_put_uint(b, VALUE_TYPE_UNIT, (uint64_t)unit);
}

/* Location id: at addr, in mapping id, with no lines. */
static void put_location(struct buf *b, uint64_t id, uint64_t addr)
{
	/* one-byte keys (fields 1..3), each followed by its varint */
	size_t len = 1 + pb_varint_len(id) + 1 + pb_varint_len(id);
	if (addr)
		len += 1 + pb_varint_len(addr);
	pb_put_key(b, PROFILE_LOCATION, PB_LEN);
	pb_put_varint(b, len);
	pb_put_uint(b, LOCATION_ID, id);
	pb_put_uint(b, LOCATION_MAPPING_ID, id);
	if (addr)
		pb_put_uint(b, LOCATION_ADDRESS, addr);
}

/* Sample: location_id [id], value [1], both packed. */
static void put_sample(struct buf *b, uint64_t id)
{
	const uint64_t one = 1;
	/* each packed field: a one-byte key, a one-byte length, the varints */
	size_t len = (2 + pb_varint_len(id)) + (2 + pb_varint_len(one));
	pb_put_key(b, PROFILE_SAMPLE, PB_LEN);
	pb_put_varint(b, len);
	pb_put_packed(b, SAMPLE_LOCATION_ID, &id, 1);
	pb_put_packed(b, SAMPLE_VALUE, &one, 1);
}

/* The id of the mapping of pm[0..n) holding addr, or 0. */
static uint64_t mapping_at(const struct pprof_mapping *pm, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (addr >= pm[i].start && addr < pm[i].limit)
			return pm[i].id;
	return 0;
}

/* Labels of the JIT samples; docs/formats.md. */
#define JIT_LABEL_SIZE "jit_size"
#define JIT_LABEL_SOURCE "jit_source"

enum { LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3, LABEL_NUM_UNIT = 4 };
enum { FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4 };
enum { LINE_FUNCTION_ID = 1, LINE_LINE = 2 };

/* The strings of the JIT part, indexed before anything is written. */
struct jit_strs {
	int64_t size, bytes, source[3];
	int64_t *name, *file;	/* per symbol */
};

static void put_jit_samples(struct buf *pb, const struct jit_table *j, uint64_t first_loc,
			    const struct jit_strs *js, struct buf *tmp)
{
	for (size_t i = 0, k = 0; i < j->n; i++) {
		const struct jit_sym *sym = &j->sym[i];
		if (!sym->live)
			continue;
		const uint64_t loc = first_loc + k++, one = 1;
		struct buf lab = { 0 };
		tmp->len = 0;
		pb_put_packed(tmp, SAMPLE_LOCATION_ID, &loc, 1);
		pb_put_packed(tmp, SAMPLE_VALUE, &one, 1);
		pb_put_uint(&lab, LABEL_KEY, (uint64_t)js->size);
		pb_put_uint(&lab, LABEL_NUM, sym->size);
		pb_put_uint(&lab, LABEL_NUM_UNIT, (uint64_t)js->bytes);
		pb_put_bytes(tmp, SAMPLE_LABEL, lab.p, lab.len);
		lab.len = 0;
		pb_put_uint(&lab, LABEL_KEY, (uint64_t)js->source[0]);
		pb_put_uint(&lab, LABEL_STR, (uint64_t)js->source[sym->source == JIT_JITDUMP ? 2 : 1]);
		pb_put_bytes(tmp, SAMPLE_LABEL, lab.p, lab.len);
		tmp->oom |= lab.oom;
		buf_free(&lab);
		pb_put_bytes(pb, PROFILE_SAMPLE, tmp->p, tmp->len);
	}
}

static void put_jit_locations(struct buf *pb, const struct jit_table *j, uint64_t first_loc,
			      const struct pprof_mapping *pm, size_t n, struct buf *tmp)
{
	for (size_t i = 0, k = 0; i < j->n; i++) {
		const struct jit_sym *sym = &j->sym[i];
		if (!sym->live)
			continue;
		struct buf line = { 0 };
		uint64_t mid = mapping_at(pm, n, sym->start);
		tmp->len = 0;
		pb_put_uint(tmp, LOCATION_ID, first_loc + k);
		if (mid)
			pb_put_uint(tmp, LOCATION_MAPPING_ID, mid);
		pb_put_uint(tmp, LOCATION_ADDRESS, sym->start);
		pb_put_uint(&line, LINE_FUNCTION_ID, k + 1);
		if (sym->nline && j->line[sym->line].lineno)
			pb_put_int(&line, LINE_LINE, j->line[sym->line].lineno);
		pb_put_bytes(tmp, LOCATION_LINE, line.p ? line.p : (const unsigned char *)"",
			     line.len);
		tmp->oom |= line.oom;
		buf_free(&line);
		pb_put_bytes(pb, PROFILE_LOCATION, tmp->p, tmp->len);
		k++;
	}
}

static void put_jit_functions(struct buf *pb, const struct jit_table *j,
			      const struct jit_strs *js, struct buf *tmp)
{
	for (size_t i = 0, k = 0; i < j->n; i++) {
		if (!j->sym[i].live)
			continue;
		tmp->len = 0;
		pb_put_uint(tmp, FUNCTION_ID, k + 1);
		pb_put_uint(tmp, FUNCTION_NAME, (uint64_t)js->name[i]);
		pb_put_uint(tmp, FUNCTION_SYSTEM_NAME, (uint64_t)js->name[i]);
		if (js->file[i])
			pb_put_uint(tmp, FUNCTION_FILENAME, (uint64_t)js->file[i]);
		pb_put_bytes(pb, PROFILE_FUNCTION, tmp->p, tmp->len);
		k++;
	}
}

static void put_escaped(struct buf *b, const char *str, int windows)
{
	escape_put(b, str, strlen(str), windows);
}

/*
 * The profile's two comments into comment, each NUL-terminated: which
 * process and its executable, then its comm, namespace PID, container and
 * cgroup (docs/formats.md). Returns where the second begins.
 */
static size_t put_comments(struct buf *comment, const struct snapshot *s)
{
	/* The target names its executable, comm and cgroups: escaped as the
	 * text header escapes them, so one comment is one line. */
	int windows = strcmp(s->os, "windows") == 0;
	buf_printf(comment, "modmap: pid %llu (%s)", (unsigned long long)s->pid, s->os);
	if (s->exe) {
		buf_putc(comment, ' ');
		put_escaped(comment, snapshot_str(s, s->exe), windows);
	}
	buf_putc(comment, '\0');
	/* Which process, as the text header says it (docs/formats.md). */
	size_t ident_at = comment->len;
	buf_puts(comment, "modmap: comm=");
	put_escaped(comment, s->comm ? snapshot_str(s, s->comm) : "-", windows);
	buf_printf(comment, " ns_pid=%llu container_id=%s cgroup=", (unsigned long long)s->ns_pid,
		   s->container_id ? snapshot_str(s, s->container_id) : "-");
	put_escaped(comment, s->cgroup ? snapshot_str(s, s->cgroup) : "-", windows);
	buf_putc(comment, '\0');
	return ident_at;
}

/* The string indexes of the JIT symbols' labels, names and files, into js
 * (its arrays allocated here, freed by the caller): 0, or -1 out of memory. */
static int jit_strings(struct strtab *t, const struct jit_table *j, struct jit_strs *js)
{
	js->size = strtab_str(t, JIT_LABEL_SIZE);
	js->bytes = strtab_str(t, "bytes");
	js->source[0] = strtab_str(t, JIT_LABEL_SOURCE);
	js->source[1] = strtab_str(t, jit_source_name(JIT_PERF_MAP));
	js->source[2] = strtab_str(t, jit_source_name(JIT_JITDUMP));
	if (!(js->name = calloc(j->n, sizeof *js->name)) ||
	    !(js->file = calloc(j->n, sizeof *js->file)))
		return -1;
	for (size_t i = 0; i < j->n; i++) {
		const struct jit_sym *sym = &j->sym[i];
		if (!sym->live)
			continue;
		js->name[i] = strtab_index(t, jit_str(j, sym->name), sym->name_len);
		if (sym->nline) {
			const struct jit_line *l = &j->line[sym->line];
			js->file[i] = strtab_index(t, jit_str(j, l->file), l->file_len);
		}
	}
	return 0;
}

/* The uncompressed Profile message of s, appended to pb. */
static int put_profile(struct buf *pb, const struct snapshot *s, struct errmsg *err)
{
	struct strtab t = { 0 };
	struct buf comment = { 0 };
	struct pprof_mapping *pm = NULL;
	size_t *order = NULL;
	int rc = -1;
	const struct jit_table *j = s->jit;
	struct jit_strs js = { 0 };
	struct buf tmp = { 0 };

	if (s->n && (!(pm = calloc(s->n, sizeof *pm)) || !(order = calloc(s->n, sizeof *order))))
		goto oom;
	pprof_main_first(s, order);

	/* Every index first, so the fields below go out in field order. */
	strtab_index(&t, "", 0);
	int64_t type = strtab_str(&t, PPROF_SAMPLE_TYPE);
	int64_t unit = strtab_str(&t, PPROF_SAMPLE_UNIT);
	for (size_t i = 0; i < s->n; i++) {
		const struct mapping *m = &s->map[order[i]];
		pm[i].id = i + 1;
		pm[i].start = m->start;
		pm[i].limit = m->limit;
		pm[i].offset = m->offset;
		pm[i].filename = strtab_str(&t, snapshot_str(s, m->file));
		pm[i].build_id = strtab_str(&t, snapshot_str(s, m->build_id));
	}
	size_t ident_at = put_comments(&comment, s);
	if (comment.oom)
		goto oom;
	int64_t note = strtab_str(&t, (const char *)comment.p);
	int64_t ident = strtab_str(&t, (const char *)comment.p + ident_at);
	int64_t why = strtab_str(&t, "modmap: a mapping table; each mapping has one sample "
				     "of 1, which measures nothing");
	if (j && j->n && jit_strings(&t, j, &js) < 0)
		goto oom;
	if (t.oom)
		goto oom;

	put_value_type(pb, PROFILE_SAMPLE_TYPE, type, unit);
	for (size_t i = 0; i < s->n; i++)
		put_sample(pb, i + 1);
	if (j)
		put_jit_samples(pb, j, s->n + 1, &js, &tmp);
	for (size_t i = 0; i < s->n; i++)
		pprof_put_mapping(pb, &pm[i]);
	for (size_t i = 0; i < s->n; i++)
		put_location(pb, i + 1, pm[i].start);
	if (j) {
		put_jit_locations(pb, j, s->n + 1, pm, s->n, &tmp);
		put_jit_functions(pb, j, &js, &tmp);
	}
	for (size_t i = 0; i < t.n; i++)
		pb_put_bytes(pb, PROFILE_STRING_TABLE, t.str[i], t.len[i]);
	if (s->time_nanos)
		pb_put_int(pb, PROFILE_TIME_NANOS, (int64_t)s->time_nanos);
	put_value_type(pb, PROFILE_PERIOD_TYPE, type, unit);
	pb_put_int(pb, PROFILE_PERIOD, 1);
	pb_put_int(pb, PROFILE_COMMENT, note);
	pb_put_int(pb, PROFILE_COMMENT, ident);
	pb_put_int(pb, PROFILE_COMMENT, why);
	if (pb->oom || tmp.oom)
		goto oom;
	rc = 0;
	goto out;
oom:
	err_setc(err, ERR_NO_MEMORY, "out of memory");
out:
	strtab_free(&t);
	buf_free(&comment);
	buf_free(&tmp);
	free(js.name);
	free(js.file);
	free(pm);
	free(order);
	return rc;
}

int emit_pprof(struct buf *b, const struct snapshot *s, size_t n, struct errmsg *err)
{
	if (n != 1) {
		err_set(err, "a pprof profile holds one process, not %llu", (unsigned long long)n);
		return -1;
	}
	struct buf pb = { 0 };
	int rc = put_profile(&pb, &s[0], err);
	if (rc == 0)
		rc = gz_compress(b, pb.p, pb.len, err);
	buf_free(&pb);
	return rc;
}
