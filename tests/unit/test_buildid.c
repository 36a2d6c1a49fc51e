/*
 * test_buildid.c - the identity readers of src/buildid.c on hand-made ELF
 * and PE images (both ELF classes and byte orders, 4- and 8-byte aligned
 * notes, notes only sections cover, PE32 and PE32+), on hostile ones
 * (truncated, sizes past the end, huge counts), and the pure helpers: the
 * mode's choice, Go's time format and zone rule, the cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>	/* mallinfo2: glibc's count of bytes in use */

#include "buildid.h"

static void put(unsigned char *p, size_t n, uint64_t v, int be)
{
	for (size_t i = 0; i < n; i++)
		p[be ? n - 1 - i : i] = (unsigned char)(v >> (8 * i));
}

static size_t up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/* ---- ELF images ------------------------------------------------------ */

struct elf_spec {
	int is64, be;
	size_t align;		/* of the note area: 4 or 8 */
	int in_phdr;		/* a PT_NOTE covers the notes */
	int in_shdr;		/* an SHT_NOTE section covers them */
	const unsigned char *gnu;
	size_t gnulen;
	const char *go;
};

/* Writes one note at area + *off; returns the descriptor's offset. */
static size_t add_note(unsigned char *area, size_t *off, size_t align, int be, const char *name,
		       size_t namesz, uint32_t type, const void *desc, size_t descsz)
{
	put(area + *off, 4, namesz, be);
	put(area + *off + 4, 4, descsz, be);
	put(area + *off + 8, 4, type, be);
	memcpy(area + *off + 12, name, namesz);
	size_t d = up(*off + 12 + namesz, align);
	memcpy(area + d, desc, descsz);
	*off = up(d + descsz, align);
	return d;
}

#define NOTES_AT 0x100
#define SHDRS_AT 0x400

/* Builds an ELF image into buf (zeroed, 0x600 bytes); returns its size. */
static size_t make_elf(unsigned char *buf, const struct elf_spec *s)
{
	int be = s->be, w = s->is64 ? 8 : 4;
	memset(buf, 0, 0x600);
	memcpy(buf, "\177ELF", 4);
	buf[4] = s->is64 ? 2 : 1;
	buf[5] = be ? 2 : 1;
	buf[6] = 1;
	size_t ehsize = s->is64 ? 64 : 52, phsize = s->is64 ? 56 : 32, shsize = s->is64 ? 64 : 40;
	put(buf + 16, 2, 3, be);	/* ET_DYN */
	/* e_phoff, e_shoff, then the sizes and counts. */
	put(buf + (s->is64 ? 32 : 28), (size_t)w, s->in_phdr ? ehsize : 0, be);
	put(buf + (s->is64 ? 40 : 32), (size_t)w, s->in_shdr ? SHDRS_AT : 0, be);
	size_t f = s->is64 ? 52 : 40;
	put(buf + f, 2, ehsize, be);
	put(buf + f + 2, 2, phsize, be);
	put(buf + f + 4, 2, s->in_phdr ? 1 : 0, be);
	put(buf + f + 6, 2, shsize, be);
	put(buf + f + 8, 2, s->in_shdr ? 2 : 0, be);

	size_t len = 0;
	unsigned char *area = buf + NOTES_AT;
	static const unsigned char prop[16] = { 1, 2, 3, 4 };
	/* A note of another owner first, as real files have. */
	add_note(area, &len, s->align, be, "GNU", 4, 5, prop, s->align == 8 ? 16 : 12);
	if (s->gnu)
		add_note(area, &len, s->align, be, "GNU", 4, 3, s->gnu, s->gnulen);
	if (s->go)
		add_note(area, &len, s->align, be, "Go\0", 4, 4, s->go, strlen(s->go));

	if (s->in_phdr) {
		unsigned char *ph = buf + ehsize;
		put(ph, 4, 4, be);	/* PT_NOTE */
		if (s->is64) {
			put(ph + 8, 8, NOTES_AT, be);
			put(ph + 32, 8, len, be);
			put(ph + 48, 8, s->align, be);
		} else {
			put(ph + 4, 4, NOTES_AT, be);
			put(ph + 16, 4, len, be);
			put(ph + 28, 4, s->align, be);
		}
	}
	if (s->in_shdr) {
		unsigned char *sh = buf + SHDRS_AT + shsize;	/* after the null section */
		put(sh + 4, 4, 7, be);	/* SHT_NOTE */
		if (s->is64) {
			put(sh + 24, 8, NOTES_AT, be);
			put(sh + 32, 8, len, be);
			put(sh + 48, 8, s->align, be);
		} else {
			put(sh + 16, 4, NOTES_AT, be);
			put(sh + 20, 4, len, be);
			put(sh + 32, 4, s->align, be);
		}
	}
	return SHDRS_AT + 3 * shsize;
}

static const unsigned char sha1[20] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6,
					7, 8, 9, 10, 11, 12, 13, 14, 15, 0xff };
static const char sha1_hex[] = "deadbeef0102030405060708090a0b0c0d0e0fff";
static const char go_id[] = "abcDEF-_/ghi/jkl/mno";

static void check_elf(int is64, int be, size_t align, int in_phdr, int in_shdr)
{
	unsigned char buf[0x600];
	struct elf_spec s = { is64, be, align, in_phdr, in_shdr, sha1, sizeof sha1, go_id };
	size_t n = make_elf(buf, &s);
	struct bytesrc src = bytesrc_mem(buf, n);
	struct identity id;
	assert_int_equal(elf_identity(&src, &id), 0);
	assert_string_equal(id.gnu, sha1_hex);
	assert_string_equal(id.go, go_id);
	assert_null(id.error);
	assert_int_equal(id.malformed, 0);
	assert_int_equal(file_identity(&src, &id), 0);
	assert_string_equal(id.gnu, sha1_hex);
}

static void test_elf_classes_and_orders(void **state)
{
	(void)state;
	for (int is64 = 0; is64 < 2; is64++)
		for (int be = 0; be < 2; be++)
			for (size_t align = 4; align <= 8; align += 4) {
				check_elf(is64, be, align, 1, 1);
				check_elf(is64, be, align, 1, 0);
				check_elf(is64, be, align, 0, 1);
			}
}

static void test_note_alignment(void **state)
{
	(void)state;
	/* With 8-byte alignment the descriptor after "GNU\0" is at 16. */
	unsigned char area[64] = { 0 };
	size_t len = 0;
	size_t d = add_note(area, &len, 8, 0, "GNU", 4, 3, sha1, 20);
	assert_int_equal(d, 16);
	const unsigned char *desc;
	size_t dl;
	assert_int_equal(elf_find_note(area, len, 8, 0, "GNU", 4, 3, &desc, &dl), 1);
	assert_ptr_equal(desc, area + 16);
	assert_int_equal(dl, 20);
	/* The same bytes read with 4-byte alignment find the descriptor at 16
	 * too (12 + 4 is aligned both ways), but an odd name length differs. */
	memset(area, 0, sizeof area);
	len = 0;
	d = add_note(area, &len, 8, 0, "Go\0\0\0", 5, 4, "xy", 2);
	assert_int_equal(d, 24);
	assert_int_equal(elf_find_note(area, len, 8, 0, "Go\0\0\0", 5, 4, &desc, &dl), 1);
	assert_ptr_equal(desc, area + 24);
	/* Not there: 0; a size past the end: -1. */
	assert_int_equal(elf_find_note(area, len, 8, 0, "GNU", 4, 3, &desc, &dl), 0);
	put(area + 4, 4, 0xfffffff0u, 0);
	assert_int_equal(elf_find_note(area, len, 8, 0, "Go\0\0\0", 5, 4, &desc, &dl), -1);
	assert_int_equal(elf_find_note(area, 11, 4, 0, "GNU", 4, 3, &desc, &dl), -1);
	assert_int_equal(elf_find_note(area, 0, 4, 0, "GNU", 4, 3, &desc, &dl), 0);
}

static void test_elf_no_notes(void **state)
{
	(void)state;
	unsigned char buf[0x600];
	struct elf_spec s = { 1, 0, 4, 1, 1, NULL, 0, NULL };
	size_t n = make_elf(buf, &s);
	struct bytesrc src = bytesrc_mem(buf, n);
	struct identity id;
	assert_int_equal(elf_identity(&src, &id), 0);
	assert_string_equal(id.gnu, "");
	assert_string_equal(id.go, "");
	assert_string_equal(id.error, "no build-id note");
	assert_int_equal(id.malformed, 0);
}

#define expect_malformed(buf, n) expect_malformed_at(buf, n, __LINE__)

static void expect_malformed_at(const unsigned char *buf, size_t n, int line)
{
	struct bytesrc src = bytesrc_mem(buf, n);
	struct identity id;
	int r = file_identity(&src, &id);
	if (r != -1)
		print_error("line %d: not malformed (%s)\n", line, id.error ? id.error : "-");
	assert_int_equal(r, -1);
	assert_int_equal(id.malformed, 1);
	assert_non_null(id.error);
	const char *text;
	assert_int_equal(identity_choose(BID_AUTO, &id, &text), BIDK_NONE);
	assert_int_equal(identity_choose(BID_NATIVE, &id, &text), BIDK_NONE);
	assert_int_equal(identity_choose(BID_MTIME, &id, &text), BIDK_PATH_MTIME);
}

static void test_elf_hostile(void **state)
{
	(void)state;
	unsigned char buf[0x600];
	struct elf_spec s = { 1, 0, 8, 1, 1, sha1, sizeof sha1, NULL };
	size_t n = make_elf(buf, &s);

	/* Truncated headers. */
	for (size_t cut = 4; cut < 64; cut += 7) {
		struct bytesrc src = bytesrc_mem(buf, cut);
		struct identity id;
		assert_int_equal(file_identity(&src, &id), -1);
		assert_string_equal(id.error, "truncated ELF header");
	}
	/* A file cut inside its notes. */
	expect_malformed(buf, NOTES_AT + 20);

	/* The build-id note's descriptor size past the end of its area. */
	unsigned char bad[0x600];
	memcpy(bad, buf, sizeof bad);
	put(bad + NOTES_AT + 32 + 4, 4, 0x7fffffff, 0);
	expect_malformed(bad, n);

	/* A PT_NOTE whose size runs past the end of the file, and no sections. */
	s.in_shdr = 0;
	n = make_elf(bad, &s);
	put(bad + 64 + 32, 8, UINT64_MAX - 8, 0);
	expect_malformed(bad, n);
	put(bad + 64 + 8, 8, UINT64_MAX, 0);	/* and an offset that wraps */
	expect_malformed(bad, n);

	/* Huge counts: every header past the end, bounded all the same. */
	n = make_elf(bad, &s);
	put(bad + 56, 2, 0xfffe, 0);
	put(bad + 64, 4, 1, 0);	/* PT_LOAD: the real note is not in header 0 */
	expect_malformed(bad, n);
	s.in_shdr = 1;
	n = make_elf(bad, &s);
	put(bad + 64, 4, 1, 0);
	put(bad + 60, 2, 0, 0);	/* e_shnum 0: the count is section 0's size */
	put(bad + SHDRS_AT + 32, 8, UINT64_MAX, 0);
	struct bytesrc src = bytesrc_mem(bad, n);
	struct identity id;
	/* The real note section is still found among the bounded count. */
	assert_int_equal(file_identity(&src, &id), 0);
	assert_string_equal(id.gnu, sha1_hex);
	/* A header table offset that wraps around. */
	put(bad + 40, 8, UINT64_MAX - 10, 0);
	expect_malformed(bad, n);

	/* An empty build-id and a Go ID that is not text. */
	s = (struct elf_spec){ 0, 1, 4, 1, 0, sha1, 0, "bad\001id" };
	n = make_elf(bad, &s);
	expect_malformed(bad, n);
}

/* ---- PE images ------------------------------------------------------- */

struct pe_spec {
	int plus;		/* PE32+ */
	int codeview;		/* 1 RSDS, 2 NB10, 0 none */
	int by_rva;		/* debug entry gives only the RVA of its record */
	const char *pdb;
};

#define PE_LFANEW 0x40
#define PE_SECT_RAW 0x200
#define PE_SECT_VA 0x3000

static const unsigned char guid[16] = { 0x32, 0x5f, 0x48, 0xd0, 0xb9, 0xe9, 0x47, 0xc3,
					0x14, 0x44, 0x61, 0x24, 0x56, 0x43, 0x25, 0xde };

static size_t make_pe(unsigned char *buf, const struct pe_spec *s)
{
	memset(buf, 0, 0x400);
	memcpy(buf, "MZ", 2);
	put(buf + 0x3c, 4, PE_LFANEW, 0);
	unsigned char *pe = buf + PE_LFANEW;
	memcpy(pe, "PE\0\0", 4);
	size_t optsize = s->plus ? 240 : 224;
	put(pe + 4, 2, s->plus ? 0x8664 : 0x14c, 0);
	put(pe + 6, 2, 1, 0);			/* one section */
	put(pe + 8, 4, 0x6b07749a, 0);		/* TimeDateStamp */
	put(pe + 20, 2, optsize, 0);
	unsigned char *opt = pe + 24;
	put(opt, 2, s->plus ? 0x20b : 0x10b, 0);
	put(opt + 56, 4, 0x23000, 0);		/* SizeOfImage */
	put(opt + 60, 4, 0x200, 0);		/* SizeOfHeaders */
	size_t dirs = s->plus ? 108 : 92;
	put(opt + dirs, 4, 16, 0);
	put(opt + dirs + 4 + 6 * 8, 4, PE_SECT_VA, 0);
	put(opt + dirs + 4 + 6 * 8 + 4, 4, 2 * 28, 0);
	unsigned char *sh = opt + optsize;
	memcpy(sh, ".buildid", 8);
	put(sh + 8, 4, 0x100, 0);
	put(sh + 12, 4, PE_SECT_VA, 0);
	put(sh + 16, 4, 0x200, 0);
	put(sh + 20, 4, PE_SECT_RAW, 0);

	/* Two debug entries: a non-CodeView one first. */
	unsigned char *dbg = buf + PE_SECT_RAW;
	put(dbg + 12, 4, 4, 0);		/* IMAGE_DEBUG_TYPE_MISC */
	dbg += 28;
	size_t rec = PE_SECT_RAW + 0x40;
	size_t plen = s->pdb ? strlen(s->pdb) + 1 : 1;
	put(dbg + 12, 4, s->codeview ? 2 : 4, 0);
	if (s->codeview == 1) {
		memcpy(buf + rec, "RSDS", 4);
		memcpy(buf + rec + 4, guid, 16);
		put(buf + rec + 20, 4, 0x1a, 0);
		if (s->pdb)
			memcpy(buf + rec + 24, s->pdb, plen);
		put(dbg + 16, 4, 24 + plen, 0);
	} else if (s->codeview == 2) {
		memcpy(buf + rec, "NB10", 4);
		put(buf + rec + 8, 4, 0x3a2b1c0d, 0);
		put(buf + rec + 12, 4, 3, 0);
		if (s->pdb)
			memcpy(buf + rec + 16, s->pdb, plen);
		put(dbg + 16, 4, 16 + plen, 0);
	}
	put(dbg + 20, 4, PE_SECT_VA + 0x40, 0);
	put(dbg + 24, 4, s->by_rva ? 0 : rec, 0);
	return 0x400;
}

static void test_pe_codeview(void **state)
{
	(void)state;
	unsigned char buf[0x400];
	for (int plus = 0; plus < 2; plus++)
		for (int by_rva = 0; by_rva < 2; by_rva++) {
			struct pe_spec s = { plus, 1, by_rva, "C:\\build\\pefix.pdb" };
			size_t n = make_pe(buf, &s);
			struct bytesrc src = bytesrc_mem(buf, n);
			struct identity id;
			assert_int_equal(pe_identity(&src, &id), 0);
			assert_string_equal(id.pdb_sig, "D0485F32E9B9C34714446124564325DE1A");
			assert_string_equal(id.pdb_file, "C:\\build\\pefix.pdb");
			assert_string_equal(id.pe_image, "6B07749A23000");
			assert_null(id.error);
			assert_int_equal(file_identity(&src, &id), 0);
			const char *text;
			assert_int_equal(identity_choose(BID_NATIVE, &id, &text), BIDK_PDB);
			assert_string_equal(text, "D0485F32E9B9C34714446124564325DE1A");
			assert_int_equal(identity_choose(BID_AUTO, &id, &text), BIDK_PATH_MTIME);
		}
	struct pe_spec s = { 1, 2, 0, "old.pdb" };
	struct identity id;
	struct bytesrc src = bytesrc_mem(buf, make_pe(buf, &s));
	assert_int_equal(pe_identity(&src, &id), 0);
	assert_string_equal(id.pdb_sig, "3A2B1C0D3");
	assert_string_equal(id.pdb_file, "old.pdb");
}

static void test_pe_no_codeview(void **state)
{
	(void)state;
	unsigned char buf[0x400];
	struct pe_spec s = { 0, 0, 0, NULL };
	struct bytesrc src = bytesrc_mem(buf, make_pe(buf, &s));
	struct identity id;
	assert_int_equal(pe_identity(&src, &id), 0);
	assert_string_equal(id.pdb_sig, "");
	assert_string_equal(id.pe_image, "6B07749A23000");
	assert_string_equal(id.error, "no CodeView record");
	const char *text;
	assert_int_equal(identity_choose(BID_NATIVE, &id, &text), BIDK_PE_IMAGE);
	assert_string_equal(text, "6B07749A23000");

	/* No debug directory at all. */
	put(buf + PE_LFANEW + 24 + 92 + 4 + 48, 4, 0, 0);
	assert_int_equal(pe_identity(&src, &id), 0);
	assert_string_equal(id.error, "no debug directory");
	assert_string_equal(id.pe_image, "6B07749A23000");
}

static void test_pe_hostile(void **state)
{
	(void)state;
	unsigned char buf[0x400], bad[0x400];
	struct pe_spec s = { 1, 1, 0, "x.pdb" };
	size_t n = make_pe(buf, &s);
	struct identity id;
	const char *text;

	/* Truncated anywhere: never an ID from bytes that are not there. */
	for (size_t cut = 0; cut < n; cut += 5) {
		struct bytesrc src = bytesrc_mem(buf, cut);
		int r = file_identity(&src, &id);
		assert_true(r == 0 || id.malformed);
		assert_true(id.pdb_sig[0] == '\0' || cut >= PE_SECT_RAW + 0x40 + 24);
	}
	/* e_lfanew past the end: not PE at all. */
	memcpy(bad, buf, n);
	put(bad + 0x3c, 4, 0xfffffff0u, 0);
	struct bytesrc src = bytesrc_mem(bad, n);
	assert_int_equal(pe_identity(&src, &id), -1);
	assert_int_equal(id.malformed, 0);
	/* Debug directory at an RVA no section holds. */
	memcpy(bad, buf, n);
	put(bad + PE_LFANEW + 24 + 108 + 4 + 48, 4, 0x90000, 0);
	expect_malformed(bad, n);
	/* Huge debug directory size: bounded, and the section is too small. */
	memcpy(bad, buf, n);
	put(bad + PE_LFANEW + 24 + 108 + 4 + 48 + 4, 4, 0xffffffffu, 0);
	expect_malformed(bad, n);
	/* Record past the end of the file: the image key stays. */
	memcpy(bad, buf, n);
	put(bad + PE_SECT_RAW + 28 + 24, 4, 0xfffffff0u, 0);
	assert_int_equal(pe_identity(&src, &id), 0);
	assert_string_equal(id.pdb_sig, "");
	assert_string_equal(id.error, "CodeView record past the end of the file");
	assert_int_equal(identity_choose(BID_NATIVE, &id, &text), BIDK_PE_IMAGE);
	/* A PDB path with no NUL before the record's end. */
	memcpy(bad, buf, n);
	put(bad + PE_SECT_RAW + 28 + 16, 4, 24 + 2, 0);
	assert_int_equal(pe_identity(&src, &id), 0);
	assert_string_equal(id.pdb_file, "x.");
	/* A record too short for RSDS's header. */
	put(bad + PE_SECT_RAW + 28 + 16, 4, 10, 0);
	assert_int_equal(pe_identity(&src, &id), 0);
	assert_string_equal(id.pdb_sig, "");
	/* Unknown optional header magic, a huge section count. */
	memcpy(bad, buf, n);
	put(bad + PE_LFANEW + 24, 2, 0x107, 0);
	expect_malformed(bad, n);
	memcpy(bad, buf, n);
	put(bad + PE_LFANEW + 6, 2, 0xffff, 0);
	put(bad + PE_SECT_RAW + 28 + 24, 4, 0, 0);	/* find the record by RVA */
	assert_int_equal(pe_identity(&src, &id), 0);
	assert_string_equal(id.pdb_sig, "D0485F32E9B9C34714446124564325DE1A");
	/* Not MZ: neither format, no error. */
	memcpy(bad, buf, n);
	bad[0] = 'X';
	assert_int_equal(file_identity(&src, &id), 0);
	assert_string_equal(id.error, "not an ELF or PE file");
	assert_int_equal(identity_choose(BID_AUTO, &id, &text), BIDK_PATH_MTIME);
}

/* ---- what a reader reads --------------------------------------------- */

/* A huge "file": an image at its start, zeros after it; counts the reads. */
struct counted {
	const unsigned char *image;
	size_t len;
	unsigned calls;
	uint64_t bytes;
};

static int counted_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct counted *c = ctx;
	c->calls++;
	if (getenv("TRACE_READS"))
		fprintf(stderr, "read %llu+%zu\n", (unsigned long long)off, len);
	c->bytes += len;
	memset(buf, 0, len);
	if (off < c->len)
		memcpy(buf, c->image + off, len < c->len - off ? len : c->len - off);
	return 0;
}

/* Every header a PT_NOTE or SHT_NOTE of 64 KiB at 64 KiB, past the image. */
static int worst_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct counted *c = ctx;
	unsigned char *p = buf;
	counted_read(ctx, off, buf, len);
	if (off < c->len)
		return 0;
	for (size_t i = 0; i + 256 <= len; i += 256) {
		put(p + i, 4, 4, 0);		/* p_type PT_NOTE */
		put(p + i + 4, 4, 7, 0);	/* sh_type SHT_NOTE */
		put(p + i + 8, 8, 0x10000, 0);	/* p_offset */
		put(p + i + 24, 8, 0x10000, 0);	/* sh_offset */
		put(p + i + 32, 8, 0x10000, 0);	/* p_filesz, sh_size */
	}
	return 0;
}

static void test_reads_are_bounded(void **state)
{
	(void)state;
	unsigned char elf[0x600], pe[0x400];
	struct elf_spec es = { 1, 0, 8, 1, 1, sha1, sizeof sha1, go_id };
	size_t en = make_elf(elf, &es);
	struct pe_spec ps = { 1, 1, 0, "x.pdb" };
	size_t pn = make_pe(pe, &ps);
	struct identity id;

	/* A terabyte file: only its first page is read. */
	struct counted c = { elf, en, 0, 0 };
	struct bytesrc src = { counted_read, &c, NULL, (uint64_t)1 << 40 };
	assert_int_equal(file_identity(&src, &id), 0);
	assert_string_equal(id.gnu, sha1_hex);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.bytes, 4096);

	c = (struct counted){ pe, pn, 0, 0 };
	assert_int_equal(file_identity(&src, &id), 0);
	assert_string_equal(id.pdb_sig, "D0485F32E9B9C34714446124564325DE1A");
	assert_int_equal(c.calls, 1);

	/* Notes and tables past the first page: still a few bounded reads. */
	unsigned char big[0x600];
	memcpy(big, elf, sizeof big);
	put(big + 64 + 8, 8, 0x10000000, 0);	/* PT_NOTE far into the file */
	put(big + 64 + 32, 8, (uint64_t)1 << 30, 0);	/* and a gigabyte long */
	put(big + 40, 8, (uint64_t)1 << 39, 0);	/* section headers near the end */
	put(big + 60, 2, 0xffff, 0);
	c = (struct counted){ big, sizeof big, 0, 0 };
	file_identity(&src, &id);
	/* The first page, one 64 KiB note area, 4096 section headers of 64 bytes. */
	assert_true(c.bytes <= 4096 + 64 * 1024 + 4096 * 64);
	assert_true(c.calls <= 2 + 64);

	/* The worst a file can ask for: both tables of 256-byte entries full
	 * of huge note areas. Under a megabyte all told. */
	memcpy(big, elf, sizeof big);
	put(big + 32, 8, 0x1000, 0);		/* e_phoff */
	put(big + 40, 8, 0x100000, 0);		/* e_shoff */
	put(big + 54, 2, 256, 0);		/* e_phentsize */
	put(big + 56, 2, 0xfffe, 0);		/* e_phnum */
	put(big + 58, 2, 256, 0);		/* e_shentsize */
	put(big + 60, 2, 0xfffe, 0);		/* e_shnum */
	struct counted w = { big, sizeof big, 0, 0 };
	struct bytesrc wsrc = { worst_read, &w, NULL, (uint64_t)1 << 40 };
	file_identity(&wsrc, &id);
	assert_true(w.bytes < 1024 * 1024);
}

/* ---- the mode's choice ----------------------------------------------- */

static void test_choose(void **state)
{
	(void)state;
	struct identity id;
	const char *text;
	memset(&id, 0, sizeof id);
	strcpy(id.gnu, "abcd");
	strcpy(id.go, "go/id");
	assert_int_equal(identity_choose(BID_AUTO, &id, &text), BIDK_GNU);
	assert_string_equal(text, "abcd");
	assert_int_equal(identity_choose(BID_NATIVE, &id, &text), BIDK_GNU);
	assert_int_equal(identity_choose(BID_MTIME, &id, &text), BIDK_PATH_MTIME);
	assert_null(text);
	assert_int_equal(identity_choose(BID_NONE, &id, &text), BIDK_NONE);
	id.gnu[0] = '\0';
	assert_int_equal(identity_choose(BID_AUTO, &id, &text), BIDK_PATH_MTIME);
	assert_int_equal(identity_choose(BID_NATIVE, &id, &text), BIDK_GO);
	assert_string_equal(text, "go/id");
	id.go[0] = '\0';
	assert_int_equal(identity_choose(BID_NATIVE, &id, &text), BIDK_PATH_MTIME);
}

/* ---- Go's time format and local zone --------------------------------- */

static void test_gotime_format(void **state)
{
	(void)state;
	char out[96];
	gotime_format(out, sizeof out, 1700000000, 0, 0, "UTC");
	assert_string_equal(out, "2023-11-14 22:13:20 +0000 UTC");
	gotime_format(out, sizeof out, 1700000000, 120000000, -5 * 3600, "EST");
	assert_string_equal(out, "2023-11-14 17:13:20.12 -0500 EST");
	gotime_format(out, sizeof out, 1700000000, 1, 19800, "IST");
	assert_string_equal(out, "2023-11-15 03:43:20.000000001 +0530 IST");
	gotime_format(out, sizeof out, 1700000000, 999999999, 37800, "+1030");
	assert_string_equal(out, "2023-11-15 08:43:20.999999999 +1030 +1030");
	gotime_format(out, sizeof out, 0, 0, 0, "UTC");
	assert_string_equal(out, "1970-01-01 00:00:00 +0000 UTC");
	gotime_format(out, sizeof out, -1, 500000000, 0, "UTC");
	assert_string_equal(out, "1969-12-31 23:59:59.5 +0000 UTC");
	gotime_format(out, sizeof out, 951782400, 0, 0, "UTC");	/* a leap day */
	assert_string_equal(out, "2000-02-29 00:00:00 +0000 UTC");
	gotime_format(out, sizeof out, -62135596800LL, 0, 0, "UTC");
	assert_string_equal(out, "0001-01-01 00:00:00 +0000 UTC");
	/* Offsets with seconds (LMT) print hours and minutes only. */
	gotime_format(out, sizeof out, -2208988800LL, 0, -17762, "LMT");
	assert_string_equal(out, "1899-12-31 19:03:58 -0456 LMT");
}

static const char *loadable_set;

static int fake_loadable(const char *path)
{
	return strstr(loadable_set, path) != NULL;
}

static void test_gotz_resolve(void **state)
{
	(void)state;
	char out[256];
	loadable_set = "|/etc/localtime|/usr/share/zoneinfo/America/New_York|/tmp/tz|"
		       "/usr/lib/locale/TZ/Odd/Zone|";
	gotz_resolve(NULL, fake_loadable, out, sizeof out);
	assert_string_equal(out, ":/etc/localtime");
	gotz_resolve("", fake_loadable, out, sizeof out);
	assert_string_equal(out, "UTC0");
	gotz_resolve(":", fake_loadable, out, sizeof out);
	assert_string_equal(out, "UTC0");
	gotz_resolve("UTC", fake_loadable, out, sizeof out);
	assert_string_equal(out, "UTC0");
	gotz_resolve("America/New_York", fake_loadable, out, sizeof out);
	assert_string_equal(out, ":/usr/share/zoneinfo/America/New_York");
	gotz_resolve(":America/New_York", fake_loadable, out, sizeof out);
	assert_string_equal(out, ":/usr/share/zoneinfo/America/New_York");
	gotz_resolve("Odd/Zone", fake_loadable, out, sizeof out);
	assert_string_equal(out, ":/usr/lib/locale/TZ/Odd/Zone");
	gotz_resolve("/tmp/tz", fake_loadable, out, sizeof out);
	assert_string_equal(out, ":/tmp/tz");
	gotz_resolve(":/tmp/tz", fake_loadable, out, sizeof out);
	assert_string_equal(out, ":/tmp/tz");
	/* What Go cannot load is UTC, though glibc would read a rule. */
	gotz_resolve("XYZ3", fake_loadable, out, sizeof out);
	assert_string_equal(out, "UTC0");
	gotz_resolve("EST5EDT,M3.2.0,M11.1.0", fake_loadable, out, sizeof out);
	assert_string_equal(out, "UTC0");
	gotz_resolve("/nonexistent", fake_loadable, out, sizeof out);
	assert_string_equal(out, "UTC0");
	loadable_set = "";
	gotz_resolve(NULL, fake_loadable, out, sizeof out);
	assert_string_equal(out, "UTC0");
}

/* ---- the cache ------------------------------------------------------- */

static void test_cache(void **state)
{
	(void)state;
	struct bid_cache *c = bid_cache_new();
	struct identity id;
	memset(&id, 0, sizeof id);
	assert_null(bid_cache_get(c, 1, 2, 3, 4));
	for (uint64_t i = 0; i < 1000; i++) {
		snprintf(id.gnu, sizeof id.gnu, "%llx", (unsigned long long)i);
		assert_non_null(bid_cache_put(c, 8, i, 100, (long)i, &id));
	}
	for (uint64_t i = 0; i < 1000; i++) {
		char want[32];
		snprintf(want, sizeof want, "%llx", (unsigned long long)i);
		const struct identity *got = bid_cache_get(c, 8, i, 100, (long)i);
		assert_non_null(got);
		assert_string_equal(got->gnu, want);
	}
	/* Another mtime is another file. */
	assert_null(bid_cache_get(c, 8, 5, 101, 5));
	bid_cache_free(c);
	assert_null(bid_cache_get(NULL, 1, 2, 3, 4));
}

/*
 * Over ten times its bound in distinct files, the cache stays bounded: what
 * it forgets it frees (glibc's own count of bytes in use, and make
 * valgrind's leak check), and each stored identity reads back right.
 */
static void test_cache_bounded(void **state)
{
	(void)state;
	struct bid_cache *c = bid_cache_new();
	struct identity id;
	memset(&id, 0, sizeof id);
	size_t full = 0;
	for (uint64_t i = 0; i < 10 * BID_CACHE_MAX + 7; i++) {
		snprintf(id.gnu, sizeof id.gnu, "%llx", (unsigned long long)i);
		const struct identity *got = bid_cache_put(c, 9, i, 100, 0, &id);
		assert_non_null(got);
		assert_string_equal(got->gnu, id.gnu);
		if (i == BID_CACHE_MAX - 1)
			full = mallinfo2().uordblks;
	}
	size_t after = mallinfo2().uordblks;
	/* One fill is ~BID_CACHE_MAX identities; ten would be ten times.
	 * Under valgrind, whose malloc glibc does not count, the leak check
	 * is the judge. */
	if (full > 0) {
		assert_true(full > BID_CACHE_MAX * sizeof id);
		assert_true(after < full + full / 4);
	}
	/* Still a cache: the latest file is there, the first long gone. */
	assert_non_null(bid_cache_get(c, 9, 10 * BID_CACHE_MAX + 6, 100, 0));
	assert_null(bid_cache_get(c, 9, 0, 100, 0));
	bid_cache_free(c);
}

/* ---- PDB ---------------------------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * A minimal MSF 7.0 file of 512-byte blocks: 0 the superblock, 1 the
 * block map (the directory is in block 2), 2 the directory (two streams:
 * stream 0 of size0 bytes in block 4, stream 1 of 28 bytes in block 3),
 * 3 the PDB information stream, 4 stream 0.
 */
static void make_pdb(unsigned char pdb[5 * 512], uint32_t size0)
{
	static const char magic[32] = "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0\0";
	memset(pdb, 0, 5 * 512);
	memcpy(pdb, magic, 32);
	put32(pdb + 32, 512);
	put32(pdb + 36, 1);
	put32(pdb + 40, 5);
	put32(pdb + 44, size0 && size0 != 0xFFFFFFFFu ? 20 : 16);
	put32(pdb + 52, 1);
	put32(pdb + 512, 2);
	unsigned char *dir = pdb + 2 * 512;
	put32(dir, 2);
	put32(dir + 4, size0);
	put32(dir + 8, 28);
	if (size0 && size0 != 0xFFFFFFFFu) {
		put32(dir + 12, 4);
		put32(dir + 16, 3);
	} else {
		put32(dir + 12, 3);
	}
	unsigned char *info = pdb + 3 * 512;
	put32(info, 20000404);	/* VC70 */
	put32(info + 4, 0x5f000000);
	put32(info + 8, 3);	/* age */
	static const unsigned char g[16] = { 0x99, 0x95, 0xe0, 0x74, 0x5f, 0x34, 0xb9, 0xbb,
					     0xb9, 0xe2, 0x63, 0xb1, 0xdb, 0xe5, 0x7b, 0xe3 };
	memcpy(info + 12, g, 16);
}

static void test_pdb_identity(void **state)
{
	(void)state;
	static unsigned char pdb[5 * 512];
	char g33[33];
	uint32_t age;
	const char *why;
	for (int i = 0; i < 3; i++) {
		uint32_t size0 = i == 0 ? 0 : i == 1 ? 100 : 0xFFFFFFFFu;
		make_pdb(pdb, size0);
		struct bytesrc src = bytesrc_mem(pdb, sizeof pdb);
		assert_int_equal(pdb_identity(&src, g33, &age, &why), 0);
		/* Data1-3 little-endian, Data4 in order: as llvm-pdbutil prints it. */
		assert_string_equal(g33, "74E09599345FBBB9B9E263B1DBE57BE3");
		assert_int_equal(age, 3);
	}
}

static void test_pdb_malformed(void **state)
{
	(void)state;
	static unsigned char pdb[5 * 512];
	char g33[33];
	uint32_t age;
	const char *why;
	struct bytesrc src = bytesrc_mem(pdb, sizeof pdb);
	struct {
		size_t at;
		uint32_t v;
		const char *why;
	} cases[] = {
		{ 0, 0x7263694e, "not a PDB (MSF 7.0) file" },	/* magic */
		{ 32, 500, "malformed PDB" },			/* block size */
		{ 52, 5, "malformed PDB" },			/* block map past the blocks */
		{ 44, 512 * 200, "malformed PDB" },		/* directory's list past one block */
		{ 512, 9, "malformed PDB" },			/* directory block past the end */
		{ 2 * 512, 1, "malformed PDB" },		/* one stream only */
		{ 2 * 512, 0xFFFFFFFF, "malformed PDB" },	/* streams past the directory */
		{ 2 * 512 + 8, 27, "malformed PDB" },		/* stream 1 too short */
		{ 2 * 512 + 8, 0xFFFFFFFF, "malformed PDB" },	/* stream 1 nil */
		{ 2 * 512 + 4, 512 * 64, "malformed PDB" },	/* stream 0's blocks past the directory */
		{ 2 * 512 + 12, 5, "malformed PDB" },		/* stream 1 past the blocks */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		make_pdb(pdb, 0);
		put32(pdb + cases[i].at, cases[i].v);
		assert_int_equal(pdb_identity(&src, g33, &age, &why), -1);
		assert_string_equal(why, cases[i].why);
		assert_string_equal(g33, "");
	}
	make_pdb(pdb, 0);
	for (size_t len = 0; len < 3 * 512 + 28; len += 7) {
		struct bytesrc cut = bytesrc_mem(pdb, len);
		assert_int_equal(pdb_identity(&cut, g33, &age, &why), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_classes_and_orders),
		cmocka_unit_test(test_note_alignment),
		cmocka_unit_test(test_elf_no_notes),
		cmocka_unit_test(test_elf_hostile),
		cmocka_unit_test(test_pe_codeview),
		cmocka_unit_test(test_pe_no_codeview),
		cmocka_unit_test(test_pe_hostile),
		cmocka_unit_test(test_reads_are_bounded),
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_gotime_format),
		cmocka_unit_test(test_gotz_resolve),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_bounded),
		cmocka_unit_test(test_pdb_identity),
		cmocka_unit_test(test_pdb_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
