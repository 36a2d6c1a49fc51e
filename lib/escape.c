/*
 * escape.c - escaping what a target controls for people and line parsers
 * (escape.h). Pure: no I/O.
 */
#include <string.h>

#include "escape.h"
#include "utf8.h"

void escape_put(struct buf *b, const char *str, size_t len, int windows)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)str;
	for (size_t i = 0; i < len;) {
		/* Printable ASCII (but '\\' outside Windows) passes: copy the run. */
		size_t j = i;
		while (j < len && p[j] >= 0x20 && p[j] < 0x7f && (p[j] != '\\' || windows))
			j++;
		buf_put(b, p + i, j - i);
		if (j == len)
			break;
		i = j;
		uint32_t c;
		size_t n = utf8_decode(p + i, len - i, &c);
		if (n == 0) {
			const char e[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };
			buf_put(b, e, 4);
			i++;
			continue;
		}
		if (c == '\\' && !windows) {
			buf_put(b, "\\\\", 2);
		} else if (c == '\n') {
			buf_put(b, "\\n", 2);
		} else if (c == '\t') {
			buf_put(b, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			const char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
			buf_put(b, e, 4);
		} else if ((c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029) {
			/* C1; line breaks to some */
			const char e[6] = { '\\', 'u', hex[c >> 12], hex[c >> 8 & 15], hex[c >> 4 & 15],
					    hex[c & 15] };
			buf_put(b, e, 6);
		} else {
			buf_put(b, p + i, n);
		}
		i += n;
	}
}
