/*
 * format/json.c - the JSON document: one object per process, an array of them
 * for several. ASCII only, so it survives any console code page; addresses
 * are "0x..." strings, since readers that use doubles round 64-bit values.
 * docs/formats.md lists every key.
 */
#include <stdio.h>
#include <string.h>

#include "format/emit.h"
#include "jit.h"
#include "lookup.h"
#include "symbolize.h"
#include "utf8.h"

static void put_u16(struct buf *b, uint32_t u)
{
	static const char hex[] = "0123456789abcdef";
	const char e[6] = { '\\', 'u', hex[u >> 12 & 15], hex[u >> 8 & 15], hex[u >> 4 & 15],
			    hex[u & 15] };
	buf_put(b, e, sizeof e);
}

/* Printable ASCII that a JSON string holds as it is: 1 in this table,
 * which the run scan below reads a byte at a time. */
#define P16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char json_plain[256] = {
	[0x20] = 1, 1, 0 /* '"' */, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x30] = P16, P16,
	[0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 /* '\\' */, 1, 1, 1,
	[0x60] = P16,
	[0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 /* DEL */,
};
#undef P16

/*
 * The end of the run of plain characters from i: eight bytes at a time
 * while none of them needs an escape (no byte below 0x20, at or above
 * 0x7f, '"' or '\\'), then byte by byte.
 */
static size_t plain_run(const unsigned char *s, size_t i, size_t len)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	for (; len - i >= 8; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
		/* Exact "is any byte flagged" tests (a borrow or carry can
		 * only spread from a byte that is itself flagged): below 0x20,
		 * at or above 0x7f (x + 1 reaches 0x80, or the high bit is
		 * set already), equal to '"' or '\\' (a zero byte in x ^ c). */
		uint64_t t = ((x - ones * 0x20) & ~x) | (x + ones) | x | ((quote - ones) & ~quote) |
			     ((bslash - ones) & ~bslash);
		if (t & high)
			break;
	}
	while (i < len && json_plain[s[i]])
		i++;
	return i;
}

static void put_string(struct buf *b, const char *str, size_t len, int wtf8)
{
	const unsigned char *s = (const unsigned char *)str;
	buf_putc(b, '"');
	for (size_t i = 0; i < len;) {
		/* A run of characters that need no escape, copied at once. */
		size_t j = plain_run(s, i, len);
		buf_put(b, s + i, j - i);
		if (j == len)
			break;
		i = j;
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
			const char e[2] = { '\\', (char)c };
			buf_put(b, e, 2);
		} else if (c == '\n') {
			buf_put(b, "\\n", 2);
		} else if (c == '\t') {
			buf_put(b, "\\t", 2);
		} else if (c == '\r') {
			buf_put(b, "\\r", 2);
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
		buf_dec(b, f->u);
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
static void put_fields(struct buf *b, const struct field *f, size_t n, const char *indent,
		       int wtf8)
{
	/* What goes before each key, as one piece: ",\n", the indent and
	 * the key's quote (sep + 1 for the first key, without the comma). */
	char sep[16];
	size_t il = indent ? strlen(indent) : 0;
	size_t sl = 0;
	sep[sl++] = ',';
	if (indent) {
		sep[sl++] = '\n';
		memcpy(sep + sl, indent, il); /* NOLINT(bugprone-not-null-terminated-result): no C string */
		sl += il;
	}
	sep[sl++] = '"';
	const char *colon = indent ? "\": " : "\":";
	size_t cl = indent ? 3 : 2;
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_put(b, sep, sl);
		else if (indent)
			buf_put(b, sep + 1, sl - 1);
		else
			buf_putc(b, '"');
		buf_put(b, f[i].key, f[i].key_len);
		buf_put(b, colon, cl);
		put_value(b, &f[i], wtf8);
	}
}

/* One process's object, pretty or (compact) on one line. */
static void put_snapshot(struct buf *b, const struct snapshot *s, int compact)
{
	struct snapshot_fields sf;
	struct mapping_fields mf;
	int wtf8 = strcmp(s->os, "windows") == 0;
	snapshot_fields(&sf, s);
	buf_putc(b, '{');
	put_fields(b, sf.f, sf.n, compact ? NULL : "  ", wtf8);
	buf_puts(b, compact ? ",\"mappings\":[" : ",\n  \"mappings\": [");
	for (size_t i = 0; i < s->n; i++) {
		mapping_fields(&mf, s, &s->map[i]);
		if (compact) {
			buf_puts(b, i ? ",{" : "{");
			put_fields(b, mf.f, mf.n, NULL, wtf8);
			buf_putc(b, '}');
		} else {
			buf_puts(b, i ? ",\n    {" : "\n    {");
			put_fields(b, mf.f, mf.n, "      ", wtf8);
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
				put_fields(b, jf.f, jf.n, NULL, wtf8);
				buf_putc(b, '}');
			} else {
				buf_puts(b, i ? ",\n    {" : "\n    {");
				put_fields(b, jf.f, jf.n, "      ", wtf8);
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
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	return 0;
}

int emit_json(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	      struct errmsg *err)
{
	/* A record takes 300-400 bytes: room for all at once spares the
	 * buffer's copies as it doubles. Untouched pages cost nothing. */
	size_t records = 0;
	for (size_t i = 0; i < n; i++)
		records += s[i].n;
	if (records < SIZE_MAX / 1024)
		buf_reserve(b, 512 * records + 4096);
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
		err_setc(err, ERR_NO_MEMORY, "out of memory");
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

/* `, "symbols": [...]`: lookup --symbolize's frames, absent values left out. */
static void put_symbols(struct buf *b, const struct sym_frame *f, size_t n)
{
	buf_puts(b, ", \"symbols\": [");
	for (size_t i = 0; i < n; i++) {
		const char *sep = "";
		buf_puts(b, i ? ", {" : "{");
		const char *keys[3] = { "function", "system_name", "file" };
		const char *vals[3] = { f[i].function, f[i].system_name, f[i].file };
		for (int k = 0; k < 3; k++) {
			if (!vals[k])
				continue;
			buf_puts(b, sep);
			buf_putc(b, '"');
			buf_puts(b, keys[k]);
			buf_puts(b, "\": ");
			put_string(b, vals[k], strlen(vals[k]), 0);
			sep = ", ";
		}
		const char *nkeys[3] = { "line", "column", "start_line" };
		uint32_t nvals[3] = { f[i].line, f[i].column, f[i].start_line };
		for (int k = 0; k < 3; k++) {
			if (!nvals[k])
				continue;
			buf_puts(b, sep);
			buf_putc(b, '"');
			buf_puts(b, nkeys[k]);
			buf_puts(b, "\": ");
			buf_dec(b, nvals[k]);
			sep = ", ";
		}
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
}

static void put_answer_symbols(struct buf *b, const struct lookup_answer *a)
{
	if (a->jit_source) {
		buf_puts(b, ", \"jit\": ");
		put_string(b, a->jit_source, strlen(a->jit_source), 0);
	}
	if (a->symbolized)
		put_symbols(b, a->symbols, a->nsymbols);
}

void emit_lookup_json(struct buf *b, const struct snapshot *s, const struct lookup_answer *a,
		      struct lookup_emit *c)
{
	buf_puts(b, "{\"address\": \"");
	buf_hex(b, a->address);
	if (a->index < 0) {
		buf_puts(b, "\", \"mapped\": false");
		put_answer_symbols(b, a);
		buf_putc(b, '}');
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
	put_answer_symbols(b, a);
	buf_putc(b, '}');
}

int emit_json_event(struct buf *b, const char *event, uint64_t time_nanos, uint64_t pid,
		    const struct snapshot *s, const struct mapping *m, struct errmsg *err)
{
	struct field head[3] = {
		{ "event", 5, FIELD_STR, 0, event },
		{ "time", 4, FIELD_TIME, time_nanos, NULL },
		{ "pid", 3, FIELD_UINT, pid, NULL },
	};
	int wtf8 = s && strcmp(s->os, "windows") == 0;
	buf_putc(b, '{');
	put_fields(b, head, 3, NULL, wtf8);
	if (m) {
		struct mapping_fields mf;
		mapping_fields(&mf, s, m);
		buf_putc(b, ',');
		put_fields(b, mf.f, mf.n, NULL, wtf8);
	}
	buf_puts(b, "}\n");
	if (b->oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	return 0;
}
