/*
 * libFuzzer target: UTF-16 <-> WTF-8 (platform.c) and the JSON writer's
 * WTF-8 strings. Every UTF-16 string must come back unchanged through
 * WTF-8; any bytes must decode without overrunning and re-encode to bytes
 * that decode to the same units; JSON output must be ASCII, and a Linux
 * string (json_put_string, surrogateescape) must decode back to its bytes,
 * which checks the writer's run-at-a-time scanning against a decoder
 * written here from the JSON grammar.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "format/emit.h"
#include "platform.h"

static unsigned hex4(const unsigned char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			abort();
		v = v << 4 | (unsigned)d;
	}
	return v;
}

static size_t put_utf8(unsigned char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (unsigned char)(0xc0 | c >> 6);
		o[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (unsigned char)(0xe0 | c >> 12);
		o[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | c >> 18);
	o[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

/* Decodes the JSON string literal p[0..n) (quotes included) into out;
 * \udc80..\udcff alone is a raw byte (surrogateescape). Returns the
 * length; aborts on anything the writer must not produce. */
static size_t json_decode(const unsigned char *p, size_t n, unsigned char *out)
{
	size_t o = 0, i = 1;
	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		abort();
	while (i < n - 1) {
		unsigned char c = p[i];
		if (c == '"' || c < 0x20 || c > 0x7e)
			abort();
		if (c != '\\') {
			out[o++] = c;
			i++;
			continue;
		}
		if (i + 1 >= n - 1)
			abort();
		c = p[i + 1];
		if (c == '"' || c == '\\') {
			out[o++] = c;
			i += 2;
		} else if (c == 'n' || c == 't' || c == 'r') {
			out[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : '\r';
			i += 2;
		} else if (c == 'u' && i + 6 <= n - 1) {
			uint32_t u = hex4(p + i + 2);
			i += 6;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (i + 6 > n - 1 || p[i] != '\\' || p[i + 1] != 'u')
					abort();
				uint32_t lo = hex4(p + i + 2);
				if (lo < 0xdc00 || lo > 0xdfff)
					abort();
				i += 6;
				o += put_utf8(out + o, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
			} else if (u >= 0xdc80 && u <= 0xdcff) {
				out[o++] = (unsigned char)(u - 0xdc00);
			} else if (u >= 0xd800 && u <= 0xdfff) {
				abort();
			} else {
				o += put_utf8(out + o, u);
			}
		} else {
			abort();
		}
	}
	return o;
}

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

	json_put_string(&b, (const char *)data, size);
	if (!b.oom) {
		unsigned char *back = malloc(size + 4);
		if (!back)
			abort();
		if (json_decode(b.p, b.len, back) != size || memcmp(back, data, size) != 0)
			abort();
		free(back);
	}
	buf_free(&b);
	return 0;
}
