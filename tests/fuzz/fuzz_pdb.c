/* libFuzzer target: the PDB reader (pdb_identity: MSF superblock, the
 * stream directory through its block list, the PDB information stream),
 * in memory and through a callback. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buildid.h"

static int read_cb(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct bytesrc *mem = ctx;
	if (off > mem->size || len > mem->size - off)
		abort();	/* the reader must bound every read itself */
	memcpy(buf, mem->mem + off, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ga[33], gb[33];
	uint32_t aa, ab;
	const char *ea, *eb;
	struct bytesrc mem = bytesrc_mem(data, size);
	struct bytesrc cb = { read_cb, &mem, NULL, size };
	int ra = pdb_identity(&mem, ga, &aa, &ea);
	int rb = pdb_identity(&cb, gb, &ab, &eb);
	if (ra != rb || strcmp(ga, gb) != 0 || aa != ab)
		abort();
	if (ra == 0 ? (strlen(ga) != 32 || ea) : (ga[0] || !ea))
		abort();
	return 0;
}
