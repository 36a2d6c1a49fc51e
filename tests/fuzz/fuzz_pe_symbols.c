/*
 * libFuzzer target: the PE symbol reader (pesym.c: export directory, COFF
 * symbol table and string table), in memory and through a callback that
 * aborts on any read the reader did not bound itself. Both must agree;
 * every name must be NUL-terminated inside the names and within the bound;
 * the table must be sorted, one name per address, and lookup must find
 * each symbol at its own address.
 */
#define _POSIX_C_SOURCE 200809L	/* strnlen */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pesym.h"

static int read_cb(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct bytesrc *mem = ctx;
	if (off > mem->size || len > mem->size - off)
		abort();
	memcpy(buf, mem->mem + off, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bytesrc mem = bytesrc_mem(data, size);
	struct bytesrc cb = { read_cb, &mem, NULL, size };
	struct pe_symtab a, b;
	const char *why_a, *why_b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	int ra = pe_symbols_read(&mem, &a, &why_a);
	int rb = pe_symbols_read(&cb, &b, &why_b);
	if (ra != rb || a.n != b.n || a.names_len != b.names_len)
		abort();
	if (ra == 0 && a.n && (memcmp(a.v, b.v, a.n * sizeof *a.v) != 0 ||
			       memcmp(a.names, b.names, a.names_len) != 0))
		abort();
	if (a.n > PESYM_MAX)
		abort();
	for (size_t i = 0; ra == 0 && i < a.n; i++) {
		const struct pe_sym *y = &a.v[i];
		if (y->name >= a.names_len)
			abort();
		size_t len = strnlen(a.names + y->name, a.names_len - y->name);
		if (len == a.names_len - y->name || len == 0 || len > PESYM_NAME_MAX)
			abort();
		if (i && a.v[i - 1].rva >= y->rva)
			abort();
		if (y->limit <= y->rva || pe_symtab_lookup(&a, y->rva) != y)
			abort();
	}
	pe_symtab_free(&a);
	pe_symtab_free(&b);
	return 0;
}
