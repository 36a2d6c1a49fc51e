/*
 * fuzz_pb_reader.c - libFuzzer target for the protobuf field reader
 * (pb_next, pb_get_varint): walks any bytes as a message, and every
 * length-delimited field as a nested message, checking that each field it
 * returns lies inside its input and that a walk always ends.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire/pbwire.h"

static void walk(const unsigned char *p, size_t len, int depth)
{
	struct pb_reader r = pb_reader(p, len);
	struct pb_field f;
	const char *why = NULL;
	int rc;
	while ((rc = pb_next(&r, &f, &why)) == 1) {
		if (f.raw < p || f.raw_len == 0 || f.raw_len > len ||
		    (size_t)(f.raw - p) > len - f.raw_len)
			abort();
		if (f.type == PB_LEN) {
			if (f.data < f.raw || f.data + f.len != f.raw + f.raw_len)
				abort();
			if (depth < 8)
				walk(f.data, f.len, depth + 1);
			/* the payload as packed varints, as pprof packs them */
			const unsigned char *q = f.data, *end = f.data + f.len;
			uint64_t v;
			while (q < end && pb_get_varint(&q, end, &v, &why) == 0)
				;
			if (q > end)
				abort();
		}
	}
	if (rc < 0 && !why)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk(data, size, 0);
	return 0;
}
