/*
 * elfhdr.h - the one decoder of ELF headers (System V gABI): the file
 * header, program headers and section headers, 32- or 64-bit, either byte
 * order; and what lookup needs from them, an ELF file's loadable segments
 * (PT_LOAD) and the link-time virtual address of a byte of the file, the
 * address addr2line and llvm-symbolizer take. Pure functions over bytes or
 * a byte source; buildid.c (notes), lookup.c and the OS backends (the
 * vDSO, the target's executable) all decode through here. symbolize.c
 * reads DWARF through libdw, which has its own.
 */
#ifndef MODMAP_ELFHDR_H
#define MODMAP_ELFHDR_H

#include <stddef.h>
#include <stdint.h>

#include "bytesrc.h"

enum {
	ELF_EHDR32 = 52,	/* bytes of the file header, by class */
	ELF_EHDR64 = 64,
	ELF_PHDR32 = 32,	/* bytes of a program header we decode */
	ELF_PHDR64 = 56,
	ELF_SHDR32 = 40,	/* bytes of a section header we decode */
	ELF_SHDR64 = 64,
	ELF_PT_LOAD = 1,
	ELF_PT_NOTE = 4,
	ELF_SHT_NOTE = 7,
	ELF_PN_XNUM = 0xffff,	/* e_phnum escape: the count is section 0's sh_info */
};

/* The fields of an ELF file header modmap uses, decoded. */
struct elf_ehdr {
	int is64;		/* ELFCLASS64 (else ELFCLASS32) */
	int be;			/* ELFDATA2MSB (else ELFDATA2LSB) */
	uint16_t type, machine;	/* e_type, e_machine */
	uint64_t phoff, shoff;
	uint16_t phentsize, phnum;	/* as the header says (phnum may be ELF_PN_XNUM) */
	uint16_t shentsize, shnum;
	size_t size;		/* bytes of the header: ELF_EHDR32 or ELF_EHDR64 */
};

/* One program header, decoded. */
struct elf_phdr {
	uint32_t type;
	uint64_t offset, vaddr, filesz, align;
};

/* One section header, decoded (sh_size and sh_info of section 0 carry
 * the counts too large for the file header). */
struct elf_shdr {
	uint32_t type, info;
	uint64_t offset, size, align;
};

/*
 * Decodes the file header in the len bytes at p. Returns 0; or -1 with
 * *why (static text) and *is_elf telling whether the magic was there:
 * "not an ELF file", "unsupported ELF class or byte order", "truncated
 * ELF header".
 */
int elf_ehdr_parse(const unsigned char *p, size_t len, struct elf_ehdr *h, int *is_elf,
		   const char **why);

/* Reads and decodes the file header of src, as elf_ehdr_parse. */
int elf_ehdr_read(const struct bytesrc *src, struct elf_ehdr *h, int *is_elf, const char **why);

/* Bytes of a program or section header entry the class needs at least. */
static inline size_t elf_phdr_size(const struct elf_ehdr *h)
{
	return h->is64 ? ELF_PHDR64 : ELF_PHDR32;
}
static inline size_t elf_shdr_size(const struct elf_ehdr *h)
{
	return h->is64 ? ELF_SHDR64 : ELF_SHDR32;
}

/* The p_type (sh_type) of the entry at p: read before decoding the rest,
 * which most entries a reader skips do not need. */
static inline uint32_t elf_phdr_type(const struct elf_ehdr *h, const unsigned char *p)
{
	return (uint32_t)get_u(p, 4, h->be);
}
static inline uint32_t elf_shdr_type(const struct elf_ehdr *h, const unsigned char *p)
{
	return (uint32_t)get_u(p + 4, 4, h->be);
}

/* Decode the entry at p, which holds at least elf_phdr_size (elf_shdr_size) bytes. */
void elf_phdr_parse(const struct elf_ehdr *h, const unsigned char *p, struct elf_phdr *out);
void elf_shdr_parse(const struct elf_ehdr *h, const unsigned char *p, struct elf_shdr *out);

/* PT_LOAD entries of one file kept at most; a file with more gets none. */
#define ELF_LOADS_MAX 256

struct elf_load {
	uint64_t offset;	/* p_offset: where the segment's bytes are in the file */
	uint64_t vaddr;		/* p_vaddr: where the linker put them */
	uint64_t filesz;	/* p_filesz */
};

/*
 * Reads the ELF header and program headers from src, and fills
 * out[0..*n) with the PT_LOAD entries, in the file's order; cap is at
 * least ELF_LOADS_MAX. Returns 0, or -1 with *why (static text) when src
 * is not ELF or its headers are malformed: a table past the end, an entry
 * size that is not the class's, more than ELF_LOADS_MAX loads, a segment
 * whose offset plus size overflows.
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
