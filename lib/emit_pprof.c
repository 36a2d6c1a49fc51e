/*
 * emit_pprof.c - one process's mapping table as a gzip-compressed
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
 */
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "gz.h"
#include "pbwire.h"
#include "pprof.h"

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

/* The uncompressed Profile message of s, appended to pb. */
static int put_profile(struct buf *pb, const struct snapshot *s, struct errmsg *err)
{
	struct strtab t = { 0 };
	struct buf comment = { 0 };
	struct pprof_mapping *pm = NULL;
	size_t *order = NULL;
	int rc = -1;

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
	buf_printf(&comment, "modmap: pid %llu (%s)", (unsigned long long)s->pid, s->os);
	if (s->exe) {
		buf_putc(&comment, ' ');
		buf_puts(&comment, snapshot_str(s, s->exe));
	}
	buf_putc(&comment, '\0');
	/* Which process, as the text header says it (docs/formats.md). */
	size_t ident_at = comment.len;
	buf_printf(&comment, "modmap: comm=%s ns_pid=%llu container_id=%s cgroup=%s",
		   s->comm ? snapshot_str(s, s->comm) : "-", (unsigned long long)s->ns_pid,
		   s->container_id ? snapshot_str(s, s->container_id) : "-",
		   s->cgroup ? snapshot_str(s, s->cgroup) : "-");
	buf_putc(&comment, '\0');
	if (comment.oom)
		goto oom;
	int64_t note = strtab_str(&t, (const char *)comment.p);
	int64_t ident = strtab_str(&t, (const char *)comment.p + ident_at);
	int64_t why = strtab_str(&t, "modmap: a mapping table; each mapping has one sample "
				     "of 1, which measures nothing");
	if (t.oom)
		goto oom;

	put_value_type(pb, PROFILE_SAMPLE_TYPE, type, unit);
	for (size_t i = 0; i < s->n; i++)
		put_sample(pb, i + 1);
	for (size_t i = 0; i < s->n; i++)
		pprof_put_mapping(pb, &pm[i]);
	for (size_t i = 0; i < s->n; i++)
		put_location(pb, i + 1, pm[i].start);
	for (size_t i = 0; i < t.n; i++)
		pb_put_bytes(pb, PROFILE_STRING_TABLE, t.str[i], t.len[i]);
	if (s->time_nanos)
		pb_put_int(pb, PROFILE_TIME_NANOS, (int64_t)s->time_nanos);
	put_value_type(pb, PROFILE_PERIOD_TYPE, type, unit);
	pb_put_int(pb, PROFILE_PERIOD, 1);
	pb_put_int(pb, PROFILE_COMMENT, note);
	pb_put_int(pb, PROFILE_COMMENT, ident);
	pb_put_int(pb, PROFILE_COMMENT, why);
	if (pb->oom)
		goto oom;
	rc = 0;
	goto out;
oom:
	err_set(err, "out of memory");
out:
	strtab_free(&t);
	buf_free(&comment);
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
