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

/* A surrogate code point in its 3-byte form (ED A0..BF xx): how WTF-8
 * writes an unpaired UTF-16 surrogate. Returns the surrogate, or 0. */
static uint32_t wtf8_surrogate(const unsigned char *s, size_t len)
{
	if (len < 3 || s[0] != 0xed || s[1] < 0xa0 || s[1] > 0xbf || (s[2] & 0xc0) != 0x80)
		return 0;
	return 0xd000u | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3fu);
}

static void put_string(struct buf *b, const char *str, size_t len, int wtf8)
{
	const unsigned char *s = (const unsigned char *)str;
	buf_putc(b, '"');
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t n = utf8_decode(s + i, len - i, &c);
		if (n == 0 && wtf8 && (c = wtf8_surrogate(s + i, len - i)) != 0) {
			put_u16(b, c);	/* the original UTF-16 unit */
			i += 3;
			continue;
		}
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
 * Each field on its own line, indented; keys are plain ASCII. Strings of a
 * Windows snapshot are WTF-8 (UTF-16 made 8-bit), Linux's are raw bytes.
 */
static void put_fields(struct buf *b, const struct snapshot *s, const struct field *f, size_t n,
		       const char *indent)
{
	int wtf8 = strcmp(s->os, "windows") == 0;
	for (size_t i = 0; i < n; i++) {
		buf_puts(b, i ? ",\n" : "\n");
		buf_puts(b, indent);
		buf_putc(b, '"');
		buf_puts(b, f[i].key);
		buf_puts(b, "\": ");
		put_value(b, &f[i], wtf8);
	}
}

static void put_snapshot(struct buf *b, const struct snapshot *s)
{
	struct snapshot_fields sf;
	struct mapping_fields mf;
	snapshot_fields(&sf, s);
	buf_putc(b, '{');
	put_fields(b, s, sf.f, sf.n, "  ");
	buf_puts(b, ",\n  \"mappings\": [");
	for (size_t i = 0; i < s->n; i++) {
		mapping_fields(&mf, s, &s->map[i]);
		buf_puts(b, i ? ",\n    {" : "\n    {");
		put_fields(b, s, mf.f, mf.n, "      ");
		buf_puts(b, "\n    }");
	}
	buf_puts(b, s->n ? "\n  ]" : "]");
	if (s->jit) {
		struct jit_fields jf;
		buf_puts(b, ",\n  \"jit\": [");
		for (size_t i = 0; i < s->jit->nlive; i++) {
			jit_fields(&jf, s->jit, &s->jit->sym[s->jit->live[i]]);
			buf_puts(b, i ? ",\n    {" : "\n    {");
			put_fields(b, s, jf.f, jf.n, "      ");
			buf_puts(b, "\n    }");
		}
		buf_puts(b, s->jit->nlive ? "\n  ]" : "]");
	}
	buf_puts(b, "\n}");
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
