/*
 * buf.h - a growable byte buffer that every writer fills. An allocation
 * failure is sticky: writes after it do nothing and buf.oom stays set, so
 * writers check once at the end instead of after every call.
 *
 * The writers are hot (a snapshot of 60,000 mappings is millions of
 * calls): the common case, room already there, is inline; only growing
 * calls buf_grow. Writers put whole runs with buf_put rather than a
 * character at a time.
 */
#ifndef MODMAP_BUF_H
#define MODMAP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"

struct buf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

void buf_free(struct buf *b);
/*
 * A sink for the streaming writers (gz, attach) that appends to the
 * struct buf ctx: 0, or -1 with err set when memory ran out.
 */
int buf_sink(void *ctx, const void *p, size_t len, struct errmsg *err);
/* The slow half of buf_reserve: grows the buffer (doubling) to hold n
 * more bytes; 0, or -1 (and sets oom). */
int buf_grow(struct buf *b, size_t n);

/* Makes room for n more bytes; returns 0, or -1 (and sets oom). */
static inline int buf_reserve(struct buf *b, size_t n)
{
	if (!b->oom && b->cap - b->len >= n)
		return 0;
	return buf_grow(b, n);
}

static inline void buf_put(struct buf *b, const void *p, size_t n)
{
	if (n == 0 || buf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static inline void buf_putc(struct buf *b, int c)
{
	if (buf_reserve(b, 1) < 0)
		return;
	b->p[b->len++] = (unsigned char)c;
}

/* n copies of byte c. */
void buf_fill(struct buf *b, int c, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...)
	MODMAP_PRINTF(2, 3);
/* "0x" followed by lowercase hex without leading zeros. */
void buf_hex(struct buf *b, uint64_t v);
/* v in decimal, as printf's %llu. */
void buf_dec(struct buf *b, uint64_t v);
/* v as lowercase hex of at least width digits, zero-padded (%0*llx). */
void buf_hexw(struct buf *b, uint64_t v, int width);

#endif
