/*
 * utf8.c - UTF-8, WTF-8 and UTF-16, decoded and encoded in one place
 * (utf8.h). No I/O, no allocation.
 */
#include "utf8.h"

/* One character; surrogates allowed when wtf8. */
static size_t decode(const unsigned char *s, size_t len, uint32_t *cp, int wtf8)
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
	if (c < min || c > 0x10ffff || (!wtf8 && c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	return decode(s, len, cp, 0);
}

size_t wtf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	return decode(s, len, cp, 1);
}

int utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	for (size_t i = 0, n; i < len; i += n) {
		if (s[i] < 0x80) {
			n = 1;	/* ASCII, most of every name: nothing to decode */
			continue;
		}
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0)
			return 0;
	}
	return 1;
}

size_t wtf8_from_utf16(char *out, size_t cap, const uint16_t *w, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = w[i];
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && w[i + 1] >= 0xdc00 &&
		    w[i + 1] <= 0xdfff)
			c = 0x10000 + ((c - 0xd800) << 10) + (w[++i] - 0xdc00u);
		unsigned char b[4];
		size_t k;
		if (c < 0x80) {
			b[0] = (unsigned char)c, k = 1;
		} else if (c < 0x800) {
			b[0] = (unsigned char)(0xc0 | c >> 6), k = 2;
		} else if (c < 0x10000) {
			/* An unpaired surrogate lands here too: WTF-8. */
			b[0] = (unsigned char)(0xe0 | c >> 12), k = 3;
		} else {
			b[0] = (unsigned char)(0xf0 | c >> 18), k = 4;
		}
		for (size_t j = k - 1; j > 0; j--, c >>= 6)
			b[j] = (unsigned char)(0x80 | (c & 0x3f));
		for (size_t j = 0; j < k; j++, len++)
			if (len + 1 < cap)
				out[len] = (char)b[j];
	}
	if (cap)
		out[len < cap ? len : cap - 1] = '\0';
	return len;
}

size_t utf16_from_wtf8(uint16_t *out, size_t cap, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = 0;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t k = wtf8_decode(s + i, n - i, &c);
		if (k == 0)
			return (size_t)-1;
		i += k;
		/* A surrogate's 3-byte form is WTF-8's unpaired surrogate and
		 * becomes that one unit. */
		uint16_t u[2] = { (uint16_t)c, 0 };
		size_t m = 1;
		if (c >= 0x10000) {
			u[0] = (uint16_t)(0xd800 + ((c - 0x10000) >> 10));
			u[1] = (uint16_t)(0xdc00 + ((c - 0x10000) & 0x3ff));
			m = 2;
		}
		for (size_t j = 0; j < m; j++, len++)
			if (len + 1 < cap)
				out[len] = u[j];
	}
	if (cap)
		out[len < cap ? len : cap - 1] = 0;
	return len;
}

size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	const unsigned char *p = (const unsigned char *)s;
	/* Back over continuation bytes to the lead byte of the character at
	 * the cut, at most 3: a longer run is no character to keep whole. */
	size_t cut = max;
	while (cut > 0 && max - cut < 3 && (p[cut] & 0xC0) == 0x80)
		cut--;
	return (p[cut] & 0xC0) == 0x80 ? max : cut;
}
