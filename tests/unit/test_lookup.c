/*
 * Unit tests for lookup's pure parts: the ELF header decoder (elfhdr.c)
 * against <elf.h>'s own structs on this very program and on hand-made
 * headers, the PT_LOAD reader on hand-made headers of both classes and
 * byte orders, the vaddr arithmetic,
 * the address-line parser, and answers over a snapshot (rva for PE).
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "elfhdr.h"
#include "lookup.h"

static void put(unsigned char *p, uint64_t v, size_t n, int be)
{
	for (size_t i = 0; i < n; i++)
		p[be ? n - 1 - i : i] = (unsigned char)(v >> (8 * i));
}

/*
 * An ELF header and phnum program headers at phoff: each given as
 * (type, offset, vaddr, filesz). Returns the image size.
 */
struct ph {
	uint32_t type;
	uint64_t offset, vaddr, filesz;
};

static size_t make_elf(unsigned char *img, size_t cap, int c64, int be, uint64_t phoff,
		       const struct ph *ph, size_t phnum)
{
	size_t ent = c64 ? 56 : 32;
	memset(img, 0, cap);
	memcpy(img, "\177ELF", 4);
	img[4] = c64 ? 2 : 1;
	img[5] = be ? 2 : 1;
	img[6] = 1;
	if (c64) {
		put(img + 32, phoff, 8, be);
		put(img + 54, ent, 2, be);
		put(img + 56, phnum, 2, be);
	} else {
		put(img + 28, phoff, 4, be);
		put(img + 42, ent, 2, be);
		put(img + 44, phnum, 2, be);
	}
	for (size_t i = 0; i < phnum; i++) {
		unsigned char *p = img + phoff + i * ent;
		put(p, ph[i].type, 4, be);
		if (c64) {
			put(p + 8, ph[i].offset, 8, be);
			put(p + 16, ph[i].vaddr, 8, be);
			put(p + 24, ph[i].vaddr, 8, be);
			put(p + 32, ph[i].filesz, 8, be);
			put(p + 40, ph[i].filesz, 8, be);
		} else {
			put(p + 4, ph[i].offset, 4, be);
			put(p + 8, ph[i].vaddr, 4, be);
			put(p + 12, ph[i].vaddr, 4, be);
			put(p + 16, ph[i].filesz, 4, be);
			put(p + 20, ph[i].filesz, 4, be);
		}
	}
	return phoff + phnum * ent;
}

/* The layout of a library linked at 0x100000 (lookuplib.so's). */
static const struct ph LIB[] = {
	{ 6, 0x40, 0x100040, 0x120 },		/* PT_PHDR: not a load */
	{ 1, 0x0, 0x100000, 0x428 },
	{ 1, 0x1000, 0x101000, 0x109 },
	{ 1, 0x2000, 0x102000, 0x98 },
	{ 1, 0x2e68, 0x103e68, 0x1a0 },
};

static void test_loads_every_class_and_order(void **state)
{
	(void)state;
	unsigned char img[1024];
	for (int c64 = 0; c64 < 2; c64++) {
		for (int be = 0; be < 2; be++) {
			size_t len = make_elf(img, sizeof img, c64, be, 0x40, LIB, 5);
			struct bytesrc src = bytesrc_mem(img, len);
			struct elf_load l[ELF_LOADS_MAX];
			size_t n;
			const char *why = NULL;
			assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), 0);
			assert_int_equal(n, 4);
			assert_int_equal(l[1].offset, 0x1000);
			assert_int_equal(l[1].vaddr, 0x101000);
			assert_int_equal(l[1].filesz, 0x109);
			uint64_t v;
			/* The marker at file offset 0x10f9 is at 0x1010f9. */
			assert_int_equal(elf_vaddr_of_offset(l, n, 0x10f9, &v), 0);
			assert_int_equal(v, 0x1010f9);
			assert_int_equal(elf_vaddr_of_offset(l, n, 0x1000, &v), 0);
			assert_int_equal(v, 0x101000);
			assert_int_equal(elf_vaddr_of_offset(l, n, 0x1108, &v), 0);
			assert_int_equal(v, 0x101108);
			/* One past a segment's file bytes, and between segments. */
			assert_int_equal(elf_vaddr_of_offset(l, n, 0x1109, &v), -1);
			assert_int_equal(elf_vaddr_of_offset(l, n, 0x2e67, &v), -1);
			assert_int_equal(elf_vaddr_of_offset(l, n, 0x2e68, &v), 0);
			assert_int_equal(v, 0x103e68);
		}
	}
}

static void test_malformed_headers(void **state)
{
	(void)state;
	unsigned char img[1024];
	struct elf_load l[ELF_LOADS_MAX];
	size_t n;
	const char *why;
	size_t len = make_elf(img, sizeof img, 1, 0, 0x40, LIB, 5);
	struct bytesrc src;

	src = bytesrc_mem(img, len - 1);	/* the table cut short */
	assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), -1);
	assert_string_equal(why, "program headers past the end");
	assert_int_equal(n, 0);

	src = bytesrc_mem(img, 20);
	assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), -1);

	unsigned char bad[1024];
	memcpy(bad, img, len);
	put(bad + 54, 40, 2, 0);	/* entry size not the class's */
	src = bytesrc_mem(bad, len);
	assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), -1);

	memcpy(bad, img, len);
	put(bad + 32, UINT64_MAX - 8, 8, 0);	/* phoff wraps */
	src = bytesrc_mem(bad, len);
	assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), -1);

	memcpy(bad, img, len);
	put(bad + 0x40 + 56 + 32, UINT64_MAX, 8, 0);	/* filesz overflows */
	src = bytesrc_mem(bad, len);
	assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), -1);
	assert_string_equal(why, "a segment's size overflows");

	memcpy(bad, img, len);
	bad[4] = 3;
	src = bytesrc_mem(bad, len);
	assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), -1);

	src = bytesrc_mem("MZ\x90\x00", 4);
	assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), -1);
	assert_string_equal(why, "not an ELF file");
}

static void test_too_many_loads(void **state)
{
	(void)state;
	static unsigned char img[64 + 300 * 56];
	static struct ph ph[300];
	for (size_t i = 0; i < 300; i++)
		ph[i] = (struct ph){ 1, i * 0x1000, i * 0x1000, 0x10 };
	struct elf_load l[ELF_LOADS_MAX];
	size_t n;
	const char *why;
	size_t len = make_elf(img, sizeof img, 1, 0, 64, ph, ELF_LOADS_MAX);
	struct bytesrc src = bytesrc_mem(img, len);
	assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), 0);
	assert_int_equal(n, ELF_LOADS_MAX);
	len = make_elf(img, sizeof img, 1, 0, 64, ph, 300);
	src = bytesrc_mem(img, len);
	assert_int_equal(elf_read_loads(&src, l, ELF_LOADS_MAX, &n, &why), -1);
	assert_int_equal(n, 0);
}

static void test_parse_address(void **state)
{
	(void)state;
	uint64_t a;
	assert_int_equal(lookup_parse_address("0x7f00", 6, &a), 0);
	assert_int_equal(a, 0x7f00);
	assert_int_equal(lookup_parse_address("7F00", 4, &a), 0);
	assert_int_equal(a, 0x7f00);
	assert_int_equal(lookup_parse_address(" \t0XaBc\r", 8, &a), 0);
	assert_int_equal(a, 0xabc);
	assert_int_equal(lookup_parse_address("ffffffffffffffff", 16, &a), 0);
	assert_int_equal(a, UINT64_MAX);
	assert_int_equal(lookup_parse_address("0x0000000000000000001", 21, &a), 0);
	assert_int_equal(a, 1);
	const char *bad[] = { "", "0x", " ", "1ffffffffffffffff", "0x12 34", "g", "-1",
			      "0x-1", "12h", "0xx1", "1\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(lookup_parse_address(bad[i], strlen(bad[i]), &a), -1);
	/* Only len bytes count: a NUL or more text after them does not. */
	assert_int_equal(lookup_parse_address("12zz", 2, &a), 0);
	assert_int_equal(a, 0x12);
	assert_int_equal(lookup_parse_address("1\0" "2", 3, &a), -1);
}

static void test_windows_rva(void **state)
{
	(void)state;
	struct snapshot s;
	struct errmsg err;
	snapshot_init(&s);
	s.os = "windows";
	struct mapping *m = snapshot_add(&s);
	m->start = 0x140000000;
	m->limit = 0x140020000;
	m->file = snapshot_intern_str(&s, "C:\\fix\\winfix.exe");
	m = snapshot_add(&s);
	m->start = 0x7ff800000000;
	m->limit = 0x7ff800030000;
	m->file = snapshot_intern_str(&s, "C:\\windows\\system32\\ntdll.dll");
	struct lookup *l = lookup_new(&s, 0, &err);
	assert_non_null(l);
	struct lookup_answer a;
	lookup_address(l, 0x7ff800001234, &a);
	assert_int_equal(a.index, 1);
	assert_true(a.has_rva && !a.has_elf_vaddr);
	assert_int_equal(a.rva, 0x1234);
	lookup_address(l, 0x140000000, &a);
	assert_int_equal(a.index, 0);
	assert_int_equal(a.rva, 0);
	lookup_address(l, 0x140020000, &a);
	assert_int_equal(a.index, -1);
	assert_false(a.has_rva);
	lookup_free(l);
	snapshot_free(&s);
	assert_true(lookup_path_is_windows("c:/x"));
	assert_true(lookup_path_is_windows("\\\\server\\share\\x.dll"));
	assert_false(lookup_path_is_windows("/usr/lib/x.so"));
	assert_false(lookup_path_is_windows("C:"));
}

/* A saved snapshot whose path holds no file with the build ID: no vaddr. */
static void test_saved_without_file(void **state)
{
	(void)state;
	struct snapshot s;
	struct errmsg err;
	snapshot_init(&s);
	s.os = "linux";
	struct mapping *m = snapshot_add(&s);
	m->start = 0x1000;
	m->limit = 0x3000;
	m->offset = 0x5000;
	m->file = snapshot_intern_str(&s, "/nonexistent/lib.so");
	m->build_id = snapshot_intern_str(&s, "abcd");
	struct lookup *l = lookup_new(&s, 0, &err);
	struct lookup_answer a;
	lookup_address(l, 0x2345, &a);
	assert_int_equal(a.index, 0);
	assert_int_equal(a.file_offset, 0x6345);
	assert_false(a.has_elf_vaddr || a.has_rva);
	lookup_free(l);
	snapshot_free(&s);
}

/* Reads this test program whole (a real ELF file the compiler wrote). */
static unsigned char *read_self(size_t *len)
{
	FILE *f = fopen("/proc/self/exe", "rb");
	assert_non_null(f);
	size_t cap = 1 << 20, n = 0;
	unsigned char *p = malloc(cap);
	size_t r;
	while ((r = fread(p + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			assert_non_null(p = realloc(p, cap *= 2));
	}
	fclose(f);
	*len = n;
	return p;
}

/* Every header field the decoder gives equals what <elf.h>'s structs read. */
static void test_headers_match_elf_h(void **state)
{
	(void)state;
	size_t len;
	unsigned char *img = read_self(&len);
	struct elf_ehdr h;
	int is_elf;
	const char *why;
	Elf64_Ehdr e;
	assert_true(len >= sizeof e && img[EI_CLASS] == ELFCLASS64);
	memcpy(&e, img, sizeof e);
	assert_int_equal(elf_ehdr_parse(img, len, &h, &is_elf, &why), 0);
	assert_true(h.is64 && !h.be && is_elf);
	assert_int_equal(h.type, e.e_type);
	assert_int_equal(h.machine, e.e_machine);
	assert_int_equal(h.phoff, e.e_phoff);
	assert_int_equal(h.shoff, e.e_shoff);
	assert_int_equal(h.phentsize, e.e_phentsize);
	assert_int_equal(h.phnum, e.e_phnum);
	assert_int_equal(h.shentsize, e.e_shentsize);
	assert_int_equal(h.shnum, e.e_shnum);
	for (size_t i = 0; i < e.e_phnum; i++) {
		Elf64_Phdr p;
		struct elf_phdr d;
		memcpy(&p, img + e.e_phoff + i * sizeof p, sizeof p);
		elf_phdr_parse(&h, img + e.e_phoff + i * sizeof p, &d);
		assert_int_equal(d.type, p.p_type);
		assert_int_equal(d.offset, p.p_offset);
		assert_int_equal(d.vaddr, p.p_vaddr);
		assert_int_equal(d.filesz, p.p_filesz);
		assert_int_equal(d.align, p.p_align);
	}
	assert_true(e.e_shnum > 1 && e.e_shoff + e.e_shnum * sizeof(Elf64_Shdr) <= len);
	for (size_t i = 0; i < e.e_shnum; i++) {
		Elf64_Shdr sh;
		struct elf_shdr d;
		memcpy(&sh, img + e.e_shoff + i * sizeof sh, sizeof sh);
		elf_shdr_parse(&h, img + e.e_shoff + i * sizeof sh, &d);
		assert_int_equal(d.type, sh.sh_type);
		assert_int_equal(d.offset, sh.sh_offset);
		assert_int_equal(d.size, sh.sh_size);
		assert_int_equal(d.info, sh.sh_info);
		assert_int_equal(d.align, sh.sh_addralign);
	}
	free(img);
}

/* A 32-bit big-endian header and its entries, each field a distinct value. */
static void test_headers_32_big_endian(void **state)
{
	(void)state;
	unsigned char eh[52] = { 0x7f, 'E', 'L', 'F', ELFCLASS32, ELFDATA2MSB, 1 };
	put(eh + 16, ET_DYN, 2, 1);
	put(eh + 18, EM_PPC, 2, 1);
	put(eh + 28, 0x34, 4, 1);	/* e_phoff */
	put(eh + 32, 0x1234, 4, 1);	/* e_shoff */
	put(eh + 42, 32, 2, 1);
	put(eh + 44, 7, 2, 1);
	put(eh + 46, 40, 2, 1);
	put(eh + 48, 9, 2, 1);
	struct elf_ehdr h;
	int is_elf;
	const char *why;
	assert_int_equal(elf_ehdr_parse(eh, sizeof eh, &h, &is_elf, &why), 0);
	assert_true(!h.is64 && h.be);
	assert_int_equal(h.type, ET_DYN);
	assert_int_equal(h.machine, EM_PPC);
	assert_int_equal(h.phoff, 0x34);
	assert_int_equal(h.shoff, 0x1234);
	assert_int_equal(h.phentsize, 32);
	assert_int_equal(h.phnum, 7);
	assert_int_equal(h.shentsize, 40);
	assert_int_equal(h.shnum, 9);
	assert_int_equal(elf_ehdr_parse(eh, 51, &h, &is_elf, &why), -1);
	assert_true(is_elf);
	assert_string_equal(why, "truncated ELF header");

	unsigned char ph[32] = { 0 };
	put(ph, PT_NOTE, 4, 1);
	put(ph + 4, 0x111, 4, 1);	/* p_offset */
	put(ph + 8, 0x222, 4, 1);	/* p_vaddr */
	put(ph + 12, 0x333, 4, 1);	/* p_paddr */
	put(ph + 16, 0x444, 4, 1);	/* p_filesz */
	put(ph + 20, 0x555, 4, 1);	/* p_memsz */
	put(ph + 28, 4, 4, 1);		/* p_align */
	struct elf_phdr p;
	elf_phdr_parse(&h, ph, &p);
	assert_int_equal(p.type, PT_NOTE);
	assert_int_equal(p.offset, 0x111);
	assert_int_equal(p.vaddr, 0x222);
	assert_int_equal(p.filesz, 0x444);
	assert_int_equal(p.align, 4);

	unsigned char sh[40] = { 0 };
	put(sh + 4, SHT_NOTE, 4, 1);
	put(sh + 16, 0x666, 4, 1);	/* sh_offset */
	put(sh + 20, 0x777, 4, 1);	/* sh_size */
	put(sh + 24, 0x888, 4, 1);	/* sh_link */
	put(sh + 28, 0x999, 4, 1);	/* sh_info */
	put(sh + 32, 8, 4, 1);		/* sh_addralign */
	struct elf_shdr d;
	elf_shdr_parse(&h, sh, &d);
	assert_int_equal(d.type, SHT_NOTE);
	assert_int_equal(d.offset, 0x666);
	assert_int_equal(d.size, 0x777);
	assert_int_equal(d.info, 0x999);
	assert_int_equal(d.align, 8);

	eh[EI_CLASS] = 3;
	assert_int_equal(elf_ehdr_parse(eh, sizeof eh, &h, &is_elf, &why), -1);
	assert_string_equal(why, "unsupported ELF class or byte order");
	assert_int_equal(elf_ehdr_parse((const unsigned char *)"\177ELx", 4, &h, &is_elf, &why), -1);
	assert_false(is_elf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_match_elf_h),
		cmocka_unit_test(test_headers_32_big_endian),
		cmocka_unit_test(test_loads_every_class_and_order),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_too_many_loads),
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_windows_rva),
		cmocka_unit_test(test_saved_without_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
