/*
 * format/fields.c - the document JSON and CBOR share: which keys a process
 * and a mapping have, in which order, with which values (see emit.h). No
 * rendering here; each writer renders the kinds its own way.
 */
#include <stdio.h>
#include <string.h>

#include "format/emit.h"
#include "jit.h"
#include "gotime.h"
#include "platform.h"

/* Inline, so that strlen of each literal key folds to a constant. */
static inline void add(struct field *f, size_t *n, const char *key, enum field_kind kind,
		       uint64_t u, const char *s)
{
	f[*n].key = key;
	f[*n].key_len = strlen(key);
	f[*n].kind = kind;
	f[*n].u = u;
	f[*n].s = s;
	++*n;
}

/* v as "%02x" would write it: lowercase hex, at least two digits. */
static char *put_hex2(char *p, uint32_t v)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[8];
	int n = 0;
	do {
		tmp[n++] = hex[v & 15];
		v >>= 4;
	} while (v);
	if (n < 2)
		tmp[n++] = '0';
	while (n)
		*p++ = tmp[--n];
	return p;
}

void mapping_fields(struct mapping_fields *o, const struct snapshot *s,
		    const struct mapping *m)
{
	/* Only the address of o->f: mapping_fields fills *o, reads none of it. */
	// cppcheck-suppress ctuuninitvar
	struct field *f = o->f;
	size_t n = 0;
	add(f, &n, "start", FIELD_ADDR, m->start, NULL);
	add(f, &n, "limit", FIELD_ADDR, m->limit, NULL);
	add(f, &n, "offset", FIELD_ADDR, m->offset, NULL);
	add(f, &n, "file", FIELD_STR, 0, snapshot_str(s, m->file));
	add(f, &n, "build_id", FIELD_STR, 0, snapshot_str(s, m->build_id));
	add(f, &n, "build_id_kind", FIELD_STR, 0, bid_kind_name(m->bid_kind));
	if (m->go_build_id)
		add(f, &n, "go_build_id", FIELD_STR, 0, snapshot_str(s, m->go_build_id));
	if (m->pdb_file)
		add(f, &n, "pdb_file", FIELD_STR, 0, snapshot_str(s, m->pdb_file));
	if (m->pdb_sig)
		add(f, &n, "pdb_signature", FIELD_STR, 0, snapshot_str(s, m->pdb_sig));
	if (m->pe_image)
		add(f, &n, "pe_image", FIELD_STR, 0, snapshot_str(s, m->pe_image));
	if (m->bid_error)
		add(f, &n, "build_id_error", FIELD_STR, 0, snapshot_str(s, m->bid_error));
	if (s->saved) {
		add(f, &n, "main", FIELD_BOOL, !!(m->flags & MAPF_MAIN), NULL);
		o->n = n;
		return;	/* what a saved snapshot does not hold is not made up */
	}
	perm_string(m->prot, o->perms);
	add(f, &n, "perms", FIELD_STR, 0, o->perms);
	if (m->flags & MAPF_FILE) {
		/* "%02x:%02x", without printf's cost per mapping */
		char *p = put_hex2(o->dev, m->dev_major);
		*p++ = ':';
		*put_hex2(p, m->dev_minor) = '\0';
		add(f, &n, "dev", FIELD_STR, 0, o->dev);
		add(f, &n, "inode", FIELD_UINT, m->inode, NULL);
	}
	add(f, &n, "deleted", FIELD_BOOL, !!(m->flags & MAPF_DELETED), NULL);
	add(f, &n, "main", FIELD_BOOL, !!(m->flags & MAPF_MAIN), NULL);
	o->n = n;
}

void jit_fields(struct jit_fields *o, const struct jit_table *t, const struct jit_sym *sym)
{
	size_t n = 0;
	add(o->f, &n, "start", FIELD_ADDR, sym->start, NULL);
	add(o->f, &n, "size", FIELD_UINT, sym->size, NULL);
	add(o->f, &n, "name", FIELD_STR, 0, jit_str(t, sym->name));
	add(o->f, &n, "source", FIELD_STR, 0, jit_source_name(sym->source));
	o->n = n;
}

void snapshot_fields(struct snapshot_fields *o, const struct snapshot *s)
{
	size_t n = 0;
	add(o->f, &n, "pid", FIELD_UINT, s->pid, NULL);
	add(o->f, &n, "os", FIELD_STR, 0, s->os);
	add(o->f, &n, "exe", FIELD_STR, 0, snapshot_str(s, s->exe));
	add(o->f, &n, "time", FIELD_TIME, s->time_nanos, NULL);
	add(o->f, &n, "comm", FIELD_STR, 0, snapshot_str(s, s->comm));
	add(o->f, &n, "ns_pid", FIELD_UINT, s->ns_pid, NULL);
	add(o->f, &n, "cgroup", FIELD_STR, 0, snapshot_str(s, s->cgroup));
	add(o->f, &n, "container_id", FIELD_STR, 0, snapshot_str(s, s->container_id));
	o->n = n;
}

void format_time(uint64_t nanos, char out[FORMAT_TIME_SIZE])
{
	/* Not gmtime_r/strftime: glibc's load the TZ zone (process-wide state). */
	struct gotime_civil c;
	gotime_utc((int64_t)(nanos / 1000000000ULL), &c);
	snprintf(out, FORMAT_TIME_SIZE, "%04lld-%02d-%02dT%02d:%02d:%02d.%09uZ", (long long)c.year,
		 c.month, c.day, c.hour, c.min, c.sec, (unsigned)(nanos % 1000000000ULL));
}
