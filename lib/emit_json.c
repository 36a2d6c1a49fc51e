/*
 * emit_json.c - the JSON document: one object per process, an array of them
 * for several. ASCII only, so it survives any console code page; addresses
 * are "0x..." strings, since readers that use doubles round 64-bit values.
 * docs/formats.md lists every key.
 */
#include <stdio.h>
#include <string.h>

#include "emit.h"
#include "jit.h"
#include "lookup.h"
#include "utf8.h"

static void put_u16(struct buf *b, uint32_t u)
{
	buf_printf(b, "\\u%04x", (unsigned)u);
}

static void put_string(struct buf *b, const char *str, size_t len, int wtf8)
{
	const unsigned char *s = (const unsigned char *)str;
	buf_putc(b, '"');
	for (size_t i = 0; i < len;) {
		uint32_t c;
		/* WTF-8's unpaired surrogate comes out as its own \\udXXX: the
		 * original UTF-16 unit. */
		size_t n = wtf8 ? wtf8_decode(s + i, len - i, &c) : utf8_decode(s + i, len - i, &c);
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
		} else if (c >= 0x20 && c < 0x80 && c != 0x7f) {
			buf_putc(b, (int)c);
		} else if (c < 0x10000) {
			put_u16(b, c);	/* controls, DEL, the rest of the BMP */
		} else {
			c -= 0x10000;
			put_u16(b, 0xd800 + (c >> 10));
			put_u16(b, 0xdc00 + (c & 0x3ff));
		}
	}
	buf_putc(b, '"');
}

void json_put_string(struct buf *b, const char *s, size_t len)
{
	put_string(b, s, len, 0);
}

void json_put_wtf8(struct buf *b, const char *s, size_t len)
{
	put_string(b, s, len, 1);
}

static void put_value(struct buf *b, const struct field *f, int wtf8)
{
	char when[FORMAT_TIME_SIZE];
	switch (f->kind) {
	case FIELD_ADDR:
		buf_putc(b, '"');
		buf_hex(b, f->u);
		buf_putc(b, '"');
		break;
	case FIELD_UINT:
		buf_printf(b, "%llu", (unsigned long long)f->u);
		break;
	case FIELD_STR:
		put_string(b, f->s, strlen(f->s), wtf8);
		break;
	case FIELD_BOOL:
		buf_puts(b, f->u ? "true" : "false");
		break;
	case FIELD_TIME:
		format_time(f->u, when);
		json_put_string(b, when, strlen(when));
		break;
	}
}

/*
 * Each field on its own line, indented (indent NULL: all on one line, for
 * JSON Lines); keys are plain ASCII. Strings of a Windows snapshot are
 * WTF-8 (UTF-16 made 8-bit), Linux's are raw bytes.
 */
static void put_fields(struct buf *b, const struct snapshot *s, const struct field *f, size_t n,
		       const char *indent)
{
	int wtf8 = strcmp(s->os, "windows") == 0;
	for (size_t i = 0; i < n; i++) {
		if (indent) {
			buf_puts(b, i ? ",\n" : "\n");
			buf_puts(b, indent);
		} else if (i) {
			buf_putc(b, ',');
		}
		buf_putc(b, '"');
		buf_puts(b, f[i].key);
		buf_puts(b, indent ? "\": " : "\":");
		put_value(b, &f[i], wtf8);
	}
}

/* One process's object, pretty or (compact) on one line. */
static void put_snapshot(struct buf *b, const struct snapshot *s, int compact)
{
	struct snapshot_fields sf;
	struct mapping_fields mf;
	snapshot_fields(&sf, s);
	buf_putc(b, '{');
	put_fields(b, s, sf.f, sf.n, compact ? NULL : "  ");
	buf_puts(b, compact ? ",\"mappings\":[" : ",\n  \"mappings\": [");
	for (size_t i = 0; i < s->n; i++) {
		mapping_fields(&mf, s, &s->map[i]);
		if (compact) {
			buf_puts(b, i ? ",{" : "{");
			put_fields(b, s, mf.f, mf.n, NULL);
			buf_putc(b, '}');
		} else {
			buf_puts(b, i ? ",\n    {" : "\n    {");
			put_fields(b, s, mf.f, mf.n, "      ");
			buf_puts(b, "\n    }");
		}
	}
	buf_puts(b, compact ? "]" : s->n ? "\n  ]" : "]");
	if (s->jit) {
		struct jit_fields jf;
		buf_puts(b, compact ? ",\"jit\":[" : ",\n  \"jit\": [");
		for (size_t i = 0; i < s->jit->nlive; i++) {
			jit_fields(&jf, s->jit, &s->jit->sym[s->jit->live[i]]);
			if (compact) {
				buf_puts(b, i ? ",{" : "{");
				put_fields(b, s, jf.f, jf.n, NULL);
				buf_putc(b, '}');
			} else {
				buf_puts(b, i ? ",\n    {" : "\n    {");
				put_fields(b, s, jf.f, jf.n, "      ");
				buf_puts(b, "\n    }");
			}
		}
		buf_puts(b, compact || !s->jit->nlive ? "]" : "\n  ]");
	}
	buf_puts(b, compact ? "}" : "\n}");
}

int emit_jsonl(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	       struct errmsg *err)
{
	(void)as_array;	/* one object a line, however many */
	for (size_t i = 0; i < n; i++) {
		put_snapshot(b, &s[i], 1);
		buf_putc(b, '\n');
	}
	if (b->oom) {
		err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

int emit_json(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	      struct errmsg *err)
{
	if (!as_array && n == 1) {
		put_snapshot(b, &s[0], 0);
	} else {
		buf_putc(b, '[');
		for (size_t i = 0; i < n; i++) {
			buf_puts(b, i ? ",\n" : "\n");
			put_snapshot(b, &s[i], 0);
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

/*
 * A lookup answer as one JSON object on one line: address, mapped, the
 * mapping's keys as in a snapshot, then file_offset and elf_vaddr or rva.
 */
static void lookup_json_part(struct buf *b, const struct snapshot *s, const struct mapping *m)
{
	struct mapping_fields mf;
	int wtf8 = strcmp(s->os, "windows") == 0;
	mapping_fields(&mf, s, m);
	for (size_t i = 0; i < mf.n; i++) {
		buf_puts(b, ", \"");
		buf_puts(b, mf.f[i].key);
		buf_puts(b, "\": ");
		put_value(b, &mf.f[i], wtf8);
	}
}

void emit_lookup_json(struct buf *b, const struct snapshot *s, const struct lookup_answer *a,
		      struct lookup_emit *c)
{
	buf_puts(b, "{\"address\": \"");
	buf_hex(b, a->address);
	if (a->index < 0) {
		buf_puts(b, "\", \"mapped\": false}");
		return;
	}
	buf_puts(b, "\", \"mapped\": true");
	lookup_emit_part(b, s, (size_t)a->index, c, lookup_json_part);
	buf_puts(b, ", \"file_offset\": \"");
	buf_hex(b, a->file_offset);
	buf_putc(b, '"');
	if (a->has_elf_vaddr) {
		buf_puts(b, ", \"elf_vaddr\": \"");
		buf_hex(b, a->elf_vaddr);
		buf_putc(b, '"');
	}
	if (a->has_rva) {
		buf_puts(b, ", \"rva\": \"");
		buf_hex(b, a->rva);
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}
