/*
 * elfhdr.c - ELF headers (elfhdr.h). Every offset and count from the file
 * is checked before use; the program header table is read in one bounded
 * read (at most 65535 entries of 56 bytes).
 */
#include <stdlib.h>
#include <string.h>

#include "elfhdr.h"

/* e_ident (System V gABI). */
enum {
	EI_CLASS = 4,
	EI_DATA = 5,
	EI_NIDENT = 16,
	ELFCLASS32 = 1,
	ELFCLASS64 = 2,
	ELFDATA2LSB = 1,
	ELFDATA2MSB = 2,
};

int elf_ehdr_parse(const unsigned char *p, size_t len, struct elf_ehdr *h, int *is_elf,
		   const char **why)
{
	memset(h, 0, sizeof *h);
	*is_elf = len >= 4 && memcmp(p, "\177ELF", 4) == 0;
	if (!*is_elf) {
		*why = "not an ELF file";
		return -1;
	}
	if (len < EI_NIDENT) {
		*why = "truncated ELF header";
		return -1;
	}
	h->is64 = p[EI_CLASS] == ELFCLASS64;
	h->be = p[EI_DATA] == ELFDATA2MSB;
	if ((!h->is64 && p[EI_CLASS] != ELFCLASS32) || (!h->be && p[EI_DATA] != ELFDATA2LSB)) {
		*why = "unsupported ELF class or byte order";
		return -1;
	}
	h->size = h->is64 ? ELF_EHDR64 : ELF_EHDR32;
	if (len < h->size) {
		*why = "truncated ELF header";
		return -1;
	}
	int be = h->be;
	h->type = (uint16_t)get_u(p + 16, 2, be);
	h->machine = (uint16_t)get_u(p + 18, 2, be);
	if (h->is64) {
		h->phoff = get_u(p + 32, 8, be);
		h->shoff = get_u(p + 40, 8, be);
	} else {
		h->phoff = get_u(p + 28, 4, be);
		h->shoff = get_u(p + 32, 4, be);
	}
	const unsigned char *q = p + (h->is64 ? 54 : 42);	/* e_phentsize .. e_shnum */
	h->phentsize = (uint16_t)get_u(q, 2, be);
	h->phnum = (uint16_t)get_u(q + 2, 2, be);
	h->shentsize = (uint16_t)get_u(q + 4, 2, be);
	h->shnum = (uint16_t)get_u(q + 6, 2, be);
	return 0;
}

int elf_ehdr_read(const struct bytesrc *src, struct elf_ehdr *h, int *is_elf, const char **why)
{
	unsigned char b[ELF_EHDR64];
	size_t len = src->size < sizeof b ? (size_t)src->size : sizeof b;
	if (len >= 4 && bytesrc_read(src, 0, b, len) < 0)
		len = 0;	/* unreadable: no magic either */
	return elf_ehdr_parse(b, len, h, is_elf, why);
}

void elf_phdr_parse(const struct elf_ehdr *h, const unsigned char *p, struct elf_phdr *out)
{
	int be = h->be;
	out->type = (uint32_t)get_u(p, 4, be);
	if (h->is64) {
		out->offset = get_u(p + 8, 8, be);
		out->vaddr = get_u(p + 16, 8, be);
		out->filesz = get_u(p + 32, 8, be);
		out->align = get_u(p + 48, 8, be);
	} else {
		out->offset = get_u(p + 4, 4, be);
		out->vaddr = get_u(p + 8, 4, be);
		out->filesz = get_u(p + 16, 4, be);
		out->align = get_u(p + 28, 4, be);
	}
}

void elf_shdr_parse(const struct elf_ehdr *h, const unsigned char *p, struct elf_shdr *out)
{
	int be = h->be;
	out->type = (uint32_t)get_u(p + 4, 4, be);
	if (h->is64) {
		out->offset = get_u(p + 24, 8, be);
		out->size = get_u(p + 32, 8, be);
		out->info = (uint32_t)get_u(p + 44, 4, be);
		out->align = get_u(p + 48, 8, be);
	} else {
		out->offset = get_u(p + 16, 4, be);
		out->size = get_u(p + 20, 4, be);
		out->info = (uint32_t)get_u(p + 28, 4, be);
		out->align = get_u(p + 32, 4, be);
	}
}

int elf_read_loads(const struct bytesrc *src, struct elf_load *out, size_t cap, size_t *n,
		   const char **why)
{
	struct elf_ehdr eh;
	int is_elf;
	*n = 0;
	if (elf_ehdr_read(src, &eh, &is_elf, why) < 0)
		return -1;
	size_t want = elf_phdr_size(&eh);
	if (eh.phnum == 0) {
		*why = "no program headers";
		return -1;
	}
	if (eh.phnum == ELF_PN_XNUM) {
		*why = "too many program headers";
		return -1;
	}
	if (eh.phentsize != want) {
		*why = "program header size is not the class's";
		return -1;
	}
	size_t tlen = (size_t)eh.phnum * want;	/* at most 65534 * 56 */
	unsigned char *t = malloc(tlen);
	if (!t) {
		*why = "out of memory";
		return -1;
	}
	if (bytesrc_read(src, eh.phoff, t, tlen) < 0) {
		free(t);
		*why = "program headers past the end";
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < eh.phnum; i++) {
		struct elf_phdr ph;
		if (elf_phdr_type(&eh, t + i * want) != ELF_PT_LOAD)
			continue;
		elf_phdr_parse(&eh, t + i * want, &ph);
		struct elf_load l = { ph.offset, ph.vaddr, ph.filesz };
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
