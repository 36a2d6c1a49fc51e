/*
 * elfphdr.c - PT_LOAD program headers (elfphdr.h). Every offset and count
 * from the file is checked before use; the table is read in one bounded
 * read (at most 65535 entries of 56 bytes).
 */
#include <stdlib.h>
#include <string.h>

#include "elfphdr.h"

enum {
	EHDR64 = 64,
	EHDR32 = 52,
	PHDR64 = 56,
	PHDR32 = 32,
	PT_LOAD = 1,
	PN_XNUM = 0xffff,
};

int elf_read_loads(const struct bytesrc *src, struct elf_load *out, size_t cap, size_t *n,
		   const char **why)
{
	unsigned char eh[EHDR64];
	*n = 0;
	if (bytesrc_read(src, 0, eh, EHDR32) < 0 || memcmp(eh, "\177ELF", 4) != 0) {
		*why = "not an ELF file";
		return -1;
	}
	int c64 = eh[4] == 2, be = eh[5] == 2;
	if ((eh[4] != 1 && eh[4] != 2) || (eh[5] != 1 && eh[5] != 2)) {
		*why = "unknown ELF class or byte order";
		return -1;
	}
	if (c64 && bytesrc_read(src, 0, eh, EHDR64) < 0) {
		*why = "ELF header truncated";
		return -1;
	}
	uint64_t phoff = c64 ? get_u(eh + 32, 8, be) : get_u(eh + 28, 4, be);
	uint64_t entsize = c64 ? get_u(eh + 54, 2, be) : get_u(eh + 42, 2, be);
	uint64_t phnum = c64 ? get_u(eh + 56, 2, be) : get_u(eh + 44, 2, be);
	size_t want = c64 ? PHDR64 : PHDR32;
	if (phnum == 0) {
		*why = "no program headers";
		return -1;
	}
	if (phnum == PN_XNUM) {
		*why = "too many program headers";
		return -1;
	}
	if (entsize != want) {
		*why = "program header size is not the class's";
		return -1;
	}
	size_t tlen = (size_t)phnum * want;	/* at most 65534 * 56 */
	unsigned char *t = malloc(tlen);
	if (!t) {
		*why = "out of memory";
		return -1;
	}
	if (bytesrc_read(src, phoff, t, tlen) < 0) {
		free(t);
		*why = "program headers past the end";
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < phnum; i++) {
		const unsigned char *p = t + i * want;
		if (get_u(p, 4, be) != PT_LOAD)
			continue;
		struct elf_load l;
		if (c64) {
			l.offset = get_u(p + 8, 8, be);
			l.vaddr = get_u(p + 16, 8, be);
			l.filesz = get_u(p + 32, 8, be);
		} else {
			l.offset = get_u(p + 4, 4, be);
			l.vaddr = get_u(p + 8, 4, be);
			l.filesz = get_u(p + 16, 4, be);
		}
		if (l.offset + l.filesz < l.offset || l.vaddr + l.filesz < l.vaddr) {
			*why = "a segment's size overflows";
			rc = -1;
			break;
		}
		if (*n >= cap || *n >= ELF_LOADS_MAX) {
			*why = "too many loadable segments";
			rc = -1;
			break;
		}
		out[(*n)++] = l;
	}
	free(t);
	if (rc < 0)
		*n = 0;
	return rc;
}

int elf_vaddr_of_offset(const struct elf_load *l, size_t n, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < n; i++) {
		if (off >= l[i].offset && off - l[i].offset < l[i].filesz) {
			*vaddr = l[i].vaddr + (off - l[i].offset);
			return 0;
		}
	}
	return -1;
}
