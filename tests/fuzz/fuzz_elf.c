/* libFuzzer target: the ELF note reader (elf_identity, elf_find_note), on
 * bytes in memory and through a read callback, as a file is read. */
#define _POSIX_C_SOURCE 200809L	/* strnlen */
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

static void check(const struct identity *id, int r)
{
	size_t g = strnlen(id->gnu, sizeof id->gnu);
	if (g == sizeof id->gnu || g % 2 || strnlen(id->go, sizeof id->go) == sizeof id->go)
		abort();
	if (r == 0 && id->malformed)
		abort();
	if (id->malformed && (id->gnu[0] || id->go[0] || !id->error))
		abort();
	const char *text;
	enum bid_kind k = identity_choose(BID_NATIVE, id, &text);
	if ((k == BIDK_GNU || k == BIDK_GO) != (text != NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct identity a, b;
	struct bytesrc mem = bytesrc_mem(data, size);
	struct bytesrc cb = { read_cb, &mem, NULL, size };
	int ra = elf_identity(&mem, &a);
	int rb = elf_identity(&cb, &b);
	if (ra != rb || strcmp(a.gnu, b.gnu) != 0 || strcmp(a.go, b.go) != 0)
		abort();
	check(&a, ra);
	/* Through the first-page cache, in memory and from a "file". */
	ra = file_identity(&mem, &a);
	rb = file_identity(&cb, &b);
	if (ra != rb || strcmp(a.gnu, b.gnu) != 0 || strcmp(a.go, b.go) != 0)
		abort();
	check(&a, ra);

	/* The note walker alone, the input as a note area. */
	const unsigned char *desc;
	size_t dl;
	for (size_t align = 4; align <= 8; align += 4)
		for (int be = 0; be < 2; be++)
			if (elf_find_note(data, size, align, be, "GNU", 4, 3, &desc, &dl) == 1 &&
			    (desc < data || dl > size || desc + dl > data + size))
				abort();
	return 0;
}
