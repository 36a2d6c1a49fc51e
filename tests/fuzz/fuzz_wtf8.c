/*
 * libFuzzer target: UTF-16 <-> WTF-8 (platform.c) and the JSON writer's
 * WTF-8 strings. Every UTF-16 string must come back unchanged through
 * WTF-8; any bytes must decode without overrunning and re-encode to bytes
 * that decode to the same units; JSON output must be ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "emit.h"
#include "platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The input as UTF-16 units. */
	size_t nw = size / 2;
	uint16_t *w = malloc((nw + 1) * sizeof *w);
	char *s = malloc(3 * nw + 1);
	uint16_t *back = malloc((nw + 1) * sizeof *back);
	if (!w || !s || !back)
		abort();
	for (size_t i = 0; i < nw; i++)
		w[i] = (uint16_t)(data[2 * i] | data[2 * i + 1] << 8);
	size_t len = wtf8_from_utf16(s, 3 * nw + 1, w, nw);
	if (len > 3 * nw || s[len] != 0)
		abort();
	if (utf16_from_wtf8(back, nw + 1, s, len) != nw || memcmp(back, w, nw * sizeof *w) != 0)
		abort();
	free(w);
	free(s);
	free(back);

	/* The input as bytes. */
	size_t n = utf16_from_wtf8(NULL, 0, (const char *)data, size);
	if (n != (size_t)-1) {
		uint16_t *u = malloc((n + 1) * sizeof *u), *u2 = malloc((n + 1) * sizeof *u2);
		char *t = malloc(3 * n + 1);
		if (!u || !u2 || !t)
			abort();
		if (utf16_from_wtf8(u, n + 1, (const char *)data, size) != n)
			abort();
		size_t tl = wtf8_from_utf16(t, 3 * n + 1, u, n);
		if (utf16_from_wtf8(u2, n + 1, t, tl) != n || memcmp(u, u2, n * sizeof *u) != 0)
			abort();
		free(u);
		free(u2);
		free(t);
	}

	struct buf b = { 0 };
	json_put_wtf8(&b, (const char *)data, size);
	for (size_t i = 0; !b.oom && i < b.len; i++)
		if (b.p[i] < 0x20 || b.p[i] > 0x7e)
			abort();
	buf_free(&b);
	return 0;
}
