/*
 * elfphdr.h - an ELF file's loadable segments (PT_LOAD program headers),
 * and the link-time virtual address of a byte of the file: the address
 * addr2line and llvm-symbolizer take. Pure functions over a byte source.
 */
#ifndef MODMAP_ELFPHDR_H
#define MODMAP_ELFPHDR_H

#include <stddef.h>
#include <stdint.h>

#include "buildid.h"

/* PT_LOAD entries of one file kept at most; a file with more gets none. */
#define ELF_LOADS_MAX 256

struct elf_load {
	uint64_t offset;	/* p_offset: where the segment's bytes are in the file */
	uint64_t vaddr;		/* p_vaddr: where the linker put them */
	uint64_t filesz;	/* p_filesz */
};

/*
 * Reads the ELF header and program headers (32- or 64-bit, either byte
 * order) from src, and fills out[0..*n) with the PT_LOAD entries, in the
 * file's order; cap is at least ELF_LOADS_MAX. Returns 0, or -1 with *why
 * (static text) when src is not ELF or its headers are malformed: a table
 * past the end, an entry size that is not the class's, more than
 * ELF_LOADS_MAX loads, a segment whose offset plus size overflows.
 */
int elf_read_loads(const struct bytesrc *src, struct elf_load *out, size_t cap, size_t *n,
		   const char **why);

/*
 * The virtual address of file offset off: p_vaddr + (off - p_offset) of
 * the first load whose file bytes [p_offset, p_offset + p_filesz) hold
 * off. Returns 0, or -1 when no load holds it.
 */
int elf_vaddr_of_offset(const struct elf_load *l, size_t n, uint64_t off, uint64_t *vaddr);

#endif
