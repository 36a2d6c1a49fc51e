/* libFuzzer target: lookup's address-line parser, against a slow reference
 * that applies the rules one at a time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

static int reference(const char *p, size_t len, uint64_t *out)
{
	size_t i = 0, end = len;
	while (i < end && blank(p[i]))
		i++;
	while (end > i && (blank(p[end - 1]) || p[end - 1] == '\r'))
		end--;
	if (end - i >= 2 && p[i] == '0' && (p[i + 1] | 0x20) == 'x')
		i += 2;
	if (i == end)
		return -1;
	while (i < end - 1 && p[i] == '0')
		i++;	/* leading zeros do not count toward 16 digits */
	if (end - i > 16)
		return -1;
	uint64_t v = 0;
	for (; i < end; i++) {
		const char *digits = "0123456789abcdef";
		char c = p[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		const char *d = c ? strchr(digits, c) : NULL;
		if (!d)
			return -1;
		v = v * 16 + (uint64_t)(d - digits);
	}
	*out = v;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t a = 0, b = 0;
	int ra = lookup_parse_address((const char *)data, size, &a);
	int rb = reference((const char *)data, size, &b);
	if (ra != rb || (ra == 0 && a != b))
		abort();
	return 0;
}
