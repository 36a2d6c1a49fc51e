/* libFuzzer target: the /proc/PID/stat parser (pinning and zombie leaders). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "os/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_stat st;
	/* A copy of exactly size bytes: a read past it is the sanitizer's. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	if (proc_stat_parse(text, size, &st) == 0 && !proc_stat_same_live(&st, &st) &&
	    st.state != 'Z' && st.state != 'X' && st.state != 'x')
		abort();
	free(text);
	return 0;
}
