/*
 * libFuzzer target: the TZif reader and Go's zone look-up (lib/gotime.c).
 * Input starting "TZif" is a zoneinfo file; any other input is a footer
 * rule, wrapped in a minimal TZif v2 so the POSIX TZ parser is reached
 * directly. Each zone that loads is looked up and formatted at instants
 * from the input and at the ends of int64, where Go's arithmetic wraps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gotime.h"

static const unsigned char block[] = {
	'T', 'Z', 'i', 'f', '2', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4,
	0, 0, 0x0e, 0x10, 0, 0, 'L', 'M', 'T', 0,
};

static void probe(const struct gotz *z, int64_t sec)
{
	char out[96 + GOTZ_NAME_MAX], name[GOTZ_NAME_MAX + 1];
	long off;
	int dst;
	size_t n = gotime_format_local(z, sec, 123456789, out, sizeof out);
	if (n >= sizeof out || (n && strlen(out) != n))
		abort();
	if (gotz_lookup(z, sec, &off, &dst, name, sizeof name) == 0 && strlen(name) > GOTZ_NAME_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *p = NULL;
	const unsigned char *in = data;
	size_t len = size;
	if (size < 4 || memcmp(data, "TZif", 4) != 0) {
		len = 2 * sizeof block + size + 2;
		if (!(p = malloc(len)))
			return 0;
		memcpy(p, block, sizeof block);
		memcpy(p + sizeof block, block, sizeof block);
		p[2 * sizeof block] = '\n';
		memcpy(p + 2 * sizeof block + 1, data, size);
		p[len - 1] = '\n';
		in = p;
	}
	struct gotz *z;
	if (gotz_parse(in, len, &z) == 0) {
		static const int64_t fixed[] = { INT64_MIN, INT64_MIN + 1, -1, 0, 1700000000,
						 4118083200, INT64_MAX - 86400, INT64_MAX };
		for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
			probe(z, fixed[i]);
		for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
			uint64_t v;
			memcpy(&v, data + size - 8 - i, 8);
			probe(z, (int64_t)v);
		}
		gotz_free(z);
	}
	free(p);
	return 0;
}
