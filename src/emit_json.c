/*
 * emit_json.c - the JSON document: one object per process, an array of them
 * for several. ASCII only, so it survives any console code page; addresses
 * are "0x..." strings, since readers that use doubles round 64-bit values.
 * docs/formats.md lists every key.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "emit.h"
#include "platform.h"

size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t n;
	uint32_t min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2, min = 0x80, c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, min = 0x800, c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static void put_u16(struct buf *b, uint32_t u)
{
	buf_printf(b, "\\u%04x", (unsigned)u);
}

void json_put_string(struct buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	buf_putc(b, '"');
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t n = utf8_decode(s + i, len - i, &c);
		if (n == 0) {
			put_u16(b, 0xdc00 + s[i]);	/* surrogateescape */
			i++;
			continue;
		}
		i += n;
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (int)c);
		} else if (c == '\n') {
			buf_puts(b, "\\n");
		} else if (c == '\t') {
			buf_puts(b, "\\t");
		} else if (c == '\r') {
			buf_puts(b, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			put_u16(b, c);
		} else if (c < 0x80) {
			buf_putc(b, (int)c);
		} else if (c < 0x10000) {
			put_u16(b, c);
		} else {
			c -= 0x10000;
			put_u16(b, 0xd800 + (c >> 10));
			put_u16(b, 0xdc00 + (c & 0x3ff));
		}
	}
	buf_putc(b, '"');
}

static void put_key(struct buf *b, const char *key, int *first)
{
	buf_puts(b, *first ? "\n      " : ",\n      ");
	*first = 0;
	buf_putc(b, '"');
	buf_puts(b, key);
	buf_puts(b, "\": ");
}

static void put_str_field(struct buf *b, const char *key, const char *v, int *first)
{
	put_key(b, key, first);
	json_put_string(b, v, strlen(v));
}

static void put_hex_field(struct buf *b, const char *key, uint64_t v, int *first)
{
	put_key(b, key, first);
	buf_putc(b, '"');
	buf_hex(b, v);
	buf_putc(b, '"');
}

/* RFC 3339 in UTC with nanoseconds: "2026-11-25T23:40:00.123456789Z". */
static void put_time(struct buf *b, uint64_t nanos)
{
	struct tm tm;
	char when[32];
	platform_gmtime((int64_t)(nanos / 1000000000ULL), &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(b, "\"%s.%09uZ\"", when, (unsigned)(nanos % 1000000000ULL));
}

static void put_mapping(struct buf *b, const struct snapshot *s, const struct mapping *m)
{
	int first = 1;
	char perms[5];
	buf_puts(b, "    {");
	put_hex_field(b, "start", m->start, &first);
	put_hex_field(b, "limit", m->limit, &first);
	put_hex_field(b, "offset", m->offset, &first);
	put_str_field(b, "file", snapshot_str(s, m->file), &first);
	put_str_field(b, "build_id", snapshot_str(s, m->build_id), &first);
	put_str_field(b, "build_id_kind", bid_kind_name(m->bid_kind), &first);
	if (m->go_build_id)
		put_str_field(b, "go_build_id", snapshot_str(s, m->go_build_id), &first);
	if (m->pdb_file)
		put_str_field(b, "pdb_file", snapshot_str(s, m->pdb_file), &first);
	if (m->pdb_sig)
		put_str_field(b, "pdb_signature", snapshot_str(s, m->pdb_sig), &first);
	if (m->pe_image)
		put_str_field(b, "pe_image", snapshot_str(s, m->pe_image), &first);
	if (m->bid_error)
		put_str_field(b, "build_id_error", snapshot_str(s, m->bid_error), &first);
	perm_string(m->prot, perms);
	put_str_field(b, "perms", perms, &first);
	if (m->flags & MAPF_FILE) {
		put_key(b, "dev", &first);
		buf_printf(b, "\"%02x:%02x\"", m->dev_major, m->dev_minor);
		put_key(b, "inode", &first);
		buf_printf(b, "%llu", (unsigned long long)m->inode);
	}
	put_key(b, "deleted", &first);
	buf_puts(b, m->flags & MAPF_DELETED ? "true" : "false");
	put_key(b, "main", &first);
	buf_puts(b, m->flags & MAPF_MAIN ? "true" : "false");
	buf_puts(b, "\n    }");
}

static void put_snapshot(struct buf *b, const struct snapshot *s)
{
	const char *exe = snapshot_str(s, s->exe);
	buf_printf(b, "{\n  \"pid\": %llu,\n  \"os\": ", (unsigned long long)s->pid);
	json_put_string(b, s->os, strlen(s->os));
	buf_puts(b, ",\n  \"exe\": ");
	json_put_string(b, exe, strlen(exe));
	buf_puts(b, ",\n  \"time\": ");
	put_time(b, s->time_nanos);
	buf_puts(b, ",\n  \"mappings\": [");
	for (size_t i = 0; i < s->n; i++) {
		buf_puts(b, i ? ",\n" : "\n");
		put_mapping(b, s, &s->map[i]);
	}
	buf_puts(b, s->n ? "\n  ]\n}" : "]\n}");
}

int emit_json(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	      struct errmsg *err)
{
	if (!as_array && n == 1) {
		put_snapshot(b, &s[0]);
	} else {
		buf_putc(b, '[');
		for (size_t i = 0; i < n; i++) {
			buf_puts(b, i ? ",\n" : "\n");
			put_snapshot(b, &s[i]);
		}
		buf_puts(b, "\n]");
	}
	buf_putc(b, '\n');
	if (b->oom) {
		err_set(err, "out of memory");
		return -1;
	}
	return 0;
}
