/* libFuzzer target: the PT_LOAD reader (elf_read_loads) and the vaddr
 * arithmetic, on bytes in memory and through a read callback. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfhdr.h"

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
	static struct elf_load a[ELF_LOADS_MAX], b[ELF_LOADS_MAX];
	size_t na, nb;
	const char *wa = NULL, *wb = NULL;
	struct bytesrc mem = bytesrc_mem(data, size);
	struct bytesrc cb = { read_cb, &mem, NULL, size };
	int ra = elf_read_loads(&mem, a, ELF_LOADS_MAX, &na, &wa);
	int rb = elf_read_loads(&cb, b, ELF_LOADS_MAX, &nb, &wb);
	if (ra != rb || na != nb || memcmp(a, b, na * sizeof *a) != 0)
		abort();
	if ((ra == 0) != (wa == NULL) || (ra < 0 && na != 0) || na > ELF_LOADS_MAX)
		abort();
	for (size_t i = 0; i < na; i++) {
		uint64_t v, probe[] = { a[i].offset, a[i].offset + a[i].filesz - 1,
					a[i].offset + a[i].filesz };
		for (size_t k = 0; k < 3; k++) {
			if (elf_vaddr_of_offset(a, na, probe[k], &v) != 0)
				continue;
			/* The answer comes from a load that holds the offset. */
			size_t j = 0;
			while (j < na && !(probe[k] >= a[j].offset &&
					   probe[k] - a[j].offset < a[j].filesz))
				j++;
			if (j == na || v != a[j].vaddr + (probe[k] - a[j].offset))
				abort();
		}
	}
	return 0;
}
