/*
 * buf.h - a growable byte buffer that every writer fills. An allocation
 * failure is sticky: writes after it do nothing and buf.oom stays set, so
 * writers check once at the end instead of after every call.
 */
#ifndef MODMAP_BUF_H
#define MODMAP_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

struct buf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

void buf_free(struct buf *b);
/* Makes room for n more bytes; returns 0, or -1 (and sets oom). */
int buf_reserve(struct buf *b, size_t n);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, int c);
void buf_printf(struct buf *b, const char *fmt, ...)
	MODMAP_PRINTF(2, 3);
/* "0x" followed by lowercase hex without leading zeros. */
void buf_hex(struct buf *b, uint64_t v);

#endif
