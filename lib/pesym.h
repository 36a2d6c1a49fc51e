/*
 * pesym.h - function names of a PE image (EXE, DLL) from its export table
 * and its COFF symbol table (mingw and Go binaries carry one), for
 * symbolizing Windows modules without a PDB (docs/symbolize.md).
 *
 * A pure reader over a byte source: every offset, count and size from the
 * file is checked before use; at most PESYM_MAX symbols and names of at
 * most PESYM_NAME_MAX bytes are kept (more are dropped, not an error). A
 * file that lies (tables past its end, counts past any sense) yields the
 * symbols read before the lie, or none, never a crash. Fuzzed by
 * tests/fuzz/fuzz_pe_symbols.c. Portable C.
 */
#ifndef MODMAP_PESYM_H
#define MODMAP_PESYM_H

#include <stddef.h>
#include <stdint.h>

#include "buildid.h"

#define PESYM_MAX ((size_t)1 << 20)
#define PESYM_NAME_MAX 1024

struct pe_sym {
	uint32_t rva;		/* its address relative to the image base */
	uint32_t limit;		/* the end of its section (RVA) */
	uint32_t name;		/* offset of its NUL-terminated name in names */
};

struct pe_symtab {
	struct pe_sym *v;	/* sorted by rva, one name per rva */
	size_t n;
	char *names;
	size_t names_len, names_cap;
	size_t cap;
};

/*
 * Reads the exported functions and the COFF function symbols of the PE
 * image at src into t (zeroed by the caller). Returns 0 (t may be empty:
 * a PE with neither table), or -1 with *why (static text) when the file is
 * no PE image or memory runs out; t then holds nothing to use but is freed
 * by pe_symtab_free all the same.
 */
int pe_symbols_read(const struct bytesrc *src, struct pe_symtab *t, const char **why);
void pe_symtab_free(struct pe_symtab *t);

/*
 * The symbol holding rva: the last at or below it, if rva is still inside
 * that symbol's section. NULL when none.
 */
const struct pe_sym *pe_symtab_lookup(const struct pe_symtab *t, uint32_t rva);

#endif
