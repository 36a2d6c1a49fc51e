/* libFuzzer target: the /proc/PID/maps line parser and unescaper. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "os/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maps_line ml;
	if (maps_parse_line((const char *)data, size, &ml) == 0) {
		if (ml.name_len > size || (ml.name && (ml.name < (const char *)data ||
						       ml.name + ml.name_len > (const char *)data + size)))
			abort();
		if (ml.limit < ml.start)
			abort();
		char *out = malloc(ml.name_len + 1);
		if (out && maps_unescape(ml.name, ml.name_len, out) > ml.name_len)
			abort();
		free(out);
	}
	return 0;
}
