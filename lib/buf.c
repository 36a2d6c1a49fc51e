/* buf.c - the growable output buffer (see buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

int buf_grow(struct buf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (b->cap - b->len >= n)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	unsigned char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void buf_fill(struct buf *b, int c, size_t n)
{
	if (n == 0 || buf_reserve(b, n) < 0)
		return;
	memset(b->p + b->len, c, n);
	b->len += n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static const char hexdigits[] = "0123456789abcdef";

void buf_hex(struct buf *b, uint64_t v)
{
	/* Digits counted first, then written in place from the last. */
	size_t n = v ? (size_t)(67 - __builtin_clzll(v)) / 4 : 1;
	if (buf_reserve(b, n + 2) < 0)
		return;
	unsigned char *p = b->p + b->len;
	p[0] = '0';
	p[1] = 'x';
	for (size_t i = n + 1; i >= 2; i--) {
		p[i] = (unsigned char)hexdigits[v & 15];
		v >>= 4;
	}
	b->len += n + 2;
}

void buf_hexw(struct buf *b, uint64_t v, int width)
{
	char tmp[16];
	int i = (int)sizeof tmp;
	do {
		tmp[--i] = hexdigits[v & 15];
		v >>= 4;
	} while (v);
	while (i > 0 && (int)sizeof tmp - i < width)
		tmp[--i] = '0';
	buf_put(b, tmp + i, sizeof tmp - (size_t)i);
}

void buf_dec(struct buf *b, uint64_t v)
{
	char tmp[20];
	int i = (int)sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_put(b, tmp + i, sizeof tmp - (size_t)i);
}

int buf_sink(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	struct buf *b = ctx;
	buf_put(b, p, len);
	if (b->oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	return 0;
}
