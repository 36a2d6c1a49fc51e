/*
 * buildid.c - what a module file says about itself: ELF build-id and Go
 * build-ID notes, the PE CodeView record and image key, which of them a
 * --build-id mode picks, and the per-run identity cache (which also keeps
 * the run's Local zone for path+mtime IDs, gotime.c). Portable C: no I/O
 * but through struct bytesrc, so every reader here runs on bytes in a
 * test or a fuzzer exactly as on a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buildid.h"
#include "elfhdr.h"

/* ELF note constants (System V gABI; headers are elfhdr.c's). */
enum {
	NT_GNU_BUILD_ID = 3,
	NT_GO_BUILD_ID = 4,	/* Go's linker: name "Go", type 4 */
	NOTE_HDR = 12,		/* namesz, descsz, type: three 4-byte words */
};

/* Bounds on what a hostile file can make us read. */
#define NOTES_READ_MAX (64 * 1024)	/* bytes of one note segment/section */
#define NOTES_TOTAL_MAX (256 * 1024)	/* bytes of all note areas together */
#define NOTE_AREAS_MAX 64		/* note segments or sections looked at */
#define TABLE_READ_MAX (256 * 1024)	/* bytes of one header table looked at */
#define HEADERS_MAX 4096		/* entries of one header table (notes come early) */
#define HDR_CHUNK 4096			/* headers are read this many bytes at a time */
#define NOTES_SMALL 512			/* a note area this small is read on the stack */

static int src_read(const struct bytesrc *src, uint64_t off, void *buf, size_t len)
{
	return bytesrc_read(src, off, buf, len);
}

void hex_encode(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = "0123456789abcdef"[p[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* v rounded up to a (a power of two); v is at most NOTES_READ_MAX-ish. */
static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Notes are 4-byte words of header, then the name and the descriptor, each
 * padded so that what follows starts at a multiple of align counted from
 * the start of the area: with 8-byte alignment the descriptor after a
 * 4-byte name such as "GNU" starts at 16, not 20.
 */
int elf_find_note(const unsigned char *p, size_t len, size_t align, int be,
		  const char *name, size_t namesz, uint32_t type,
		  const unsigned char **desc, size_t *desclen)
{
	size_t off = 0;

	if (align != 8)
		align = 4;
	while (off < len) {
		if (len - off < NOTE_HDR)
			return -1;
		uint64_t nsz = get_u(p + off, 4, be);
		uint64_t dsz = get_u(p + off + 4, 4, be);
		uint32_t ntype = (uint32_t)get_u(p + off + 8, 4, be);
		size_t name_off = off + NOTE_HDR;
		if (nsz > len - name_off)
			return -1;
		size_t desc_off = align_up(name_off + (size_t)nsz, align);
		if (desc_off > len || dsz > len - desc_off)
			return -1;
		if (nsz == namesz && ntype == type && memcmp(p + name_off, name, namesz) == 0) {
			*desc = p + desc_off;
			*desclen = (size_t)dsz;
			return 1;
		}
		size_t next = align_up(desc_off + (size_t)dsz, align);
		/* The last note's padding may be cut off by the area's end. */
		if (next >= len)
			return 0;
		off = next;
	}
	return 0;
}

/* scan_notes's search of the size bytes at off, read into scratch. */
static const char *find_ids(const struct bytesrc *src, uint64_t off, uint64_t size,
			    uint64_t align, int be, int cut, struct identity *id,
			    unsigned char *scratch)
{
	if (src_read(src, off, scratch, (size_t)size) < 0)
		return "cannot read a note area";
	size_t a = align == 8 ? 8 : 4;
	const unsigned char *d;
	size_t n;
	const char *bad = NULL;
	int r;

	if (!id->gnu[0]) {
		r = elf_find_note(scratch, (size_t)size, a, be, "GNU", 4, NT_GNU_BUILD_ID, &d, &n);
		if (r < 0 && !cut)
			bad = "malformed note (size past the end of its area)";
		else if (r > 0 && (n == 0 || n > BUILDID_MAX))
			bad = "GNU build-id note of unusable size";
		else if (r > 0)
			hex_encode(id->gnu, d, n);
	}
	if (!id->go[0]) {
		r = elf_find_note(scratch, (size_t)size, a, be, "Go\0", 4, NT_GO_BUILD_ID, &d, &n);
		if (r < 0 && !cut) {
			bad = "malformed note (size past the end of its area)";
		} else if (r > 0) {
			int text = n > 0 && n <= GOBUILDID_MAX;
			/* A Go build ID is printable text; anything else is not one. */
			for (size_t i = 0; text && i < n; i++)
				text = d[i] >= 0x21 && d[i] <= 0x7e;
			if (text) {
				memcpy(id->go, d, n);
				id->go[n] = '\0';
			} else {
				bad = "Go build-id note is not printable text";
			}
		}
	}
	return bad;
}

/*
 * Looks for both notes in one note area; fills what it has not found yet.
 * Returns NULL, or why the area is malformed.
 */
static const char *scan_notes(const struct bytesrc *src, uint64_t off, uint64_t size,
			      uint64_t align, int be, struct identity *id, uint64_t *budget)
{
	if (size == 0)
		return NULL;
	if (off > src->size || size > src->size - off)
		return "note area past the end of the file";
	/* Build IDs come first in practice; a note cut by these bounds is not
	 * the file's fault. */
	uint64_t max = *budget < NOTES_READ_MAX ? *budget : NOTES_READ_MAX;
	int cut = size > max;
	if (cut)
		size = max;
	*budget -= size;
	if (size == 0)
		return NULL;
	/* Build-ID notes are tens of bytes: only a large area costs an
	 * allocation, of its own size. */
	unsigned char small[NOTES_SMALL];
	unsigned char *scratch = size <= sizeof small ? small : malloc((size_t)size);
	if (!scratch)
		return "out of memory";
	const char *bad = find_ids(src, off, size, align, be, cut, id, scratch);
	if (scratch != small)
		free(scratch);
	return bad;
}

/* Reads header i of a table (phdrs or shdrs) through a chunk cache. */
struct hdr_table {
	uint64_t off;		/* file offset of the table */
	size_t entsize;		/* bytes per entry, as the file says */
	size_t want;		/* bytes of each entry we use */
	uint64_t total;		/* entries in the table */
	unsigned char buf[HDR_CHUNK];
	uint64_t first, count;	/* entries held in buf */
};

static const unsigned char *hdr_get(const struct bytesrc *src, struct hdr_table *t, uint64_t i)
{
	if (t->count && i >= t->first && i < t->first + t->count)
		return t->buf + (size_t)(i - t->first) * t->entsize;
	uint64_t at = t->off + i * t->entsize;	/* i < HEADERS_MAX, entsize <= 256: no overflow */
	if (at < t->off || at > src->size || src->size - at < t->want)
		return NULL;
	uint64_t n = (src->size - at - t->want) / t->entsize + 1;
	if (n > HDR_CHUNK / t->entsize)
		n = HDR_CHUNK / t->entsize;
	if (n > t->total - i)
		n = t->total - i;	/* so a table in the first page is served from it */
	size_t len = (size_t)(n - 1) * t->entsize + t->want;
	if (src_read(src, at, t->buf, len) < 0)
		return NULL;
	t->first = i;
	t->count = n;
	return t->buf;
}

/* What elf_identity carries from one note area to the next. */
struct note_walk {
	const struct bytesrc *src;
	const struct elf_ehdr *eh;
	struct identity *id;
	struct hdr_table *tab;
	uint64_t budget;	/* note bytes still to be read (NOTES_TOTAL_MAX) */
	unsigned areas;		/* note areas looked at (NOTE_AREAS_MAX) */
	const char *bad;	/* why the file is malformed, or NULL */
};

static void hdr_table_start(struct hdr_table *t, uint64_t off, size_t entsize, size_t want,
			    uint64_t total)
{
	t->off = off;
	t->entsize = entsize;
	t->want = want;
	t->total = total;
	t->first = t->count = 0;
}

static int walk_done(const struct note_walk *w)
{
	return (w->id->gnu[0] && w->id->go[0]) || w->areas >= NOTE_AREAS_MAX;
}

static void walk_area(struct note_walk *w, uint64_t off, uint64_t size, uint64_t align)
{
	w->areas++;
	const char *b = scan_notes(w->src, off, size, align, w->eh->be, w->id, &w->budget);
	if (b)
		w->bad = b;
}

/* Program headers first: they are what a loader (and the kernel) sees. */
static void walk_phdrs(struct note_walk *w, uint64_t phnum)
{
	const struct elf_ehdr *eh = w->eh;
	hdr_table_start(w->tab, eh->phoff, eh->phentsize, elf_phdr_size(eh), phnum);
	for (uint64_t i = 0; i < phnum && !walk_done(w); i++) {
		const unsigned char *h = hdr_get(w->src, w->tab, i);
		if (!h) {
			w->bad = "program headers past the end of the file";
			return;
		}
		struct elf_phdr ph;
		if (elf_phdr_type(eh, h) != ELF_PT_NOTE)
			continue;
		elf_phdr_parse(eh, h, &ph);
		walk_area(w, ph.offset, ph.filesz, ph.align);
	}
}

/* Then sections, for a GNU note that no PT_NOTE covers (Go 1.19's -B
 * note is one). Not for a Go note alone: Go's linker always gives its
 * note a PT_NOTE, and every library without one would cost a read of
 * its section headers at the end of the file. */
static void walk_shdrs(struct note_walk *w, uint64_t shnum)
{
	const struct elf_ehdr *eh = w->eh;
	hdr_table_start(w->tab, eh->shoff, eh->shentsize, elf_shdr_size(eh), shnum);
	for (uint64_t i = 0; i < shnum && !walk_done(w); i++) {
		const unsigned char *h = hdr_get(w->src, w->tab, i);
		if (!h) {
			w->bad = "section headers past the end of the file";
			return;
		}
		struct elf_shdr sh;
		if (elf_shdr_type(eh, h) != ELF_SHT_NOTE)
			continue;
		elf_shdr_parse(eh, h, &sh);
		walk_area(w, sh.offset, sh.size, sh.align);
	}
}

/*
 * The table sizes elf_identity walks, within its bounds: counts too large
 * for their header fields live in section 0 (sh_size, sh_info).
 */
static void table_sizes(struct note_walk *w, int have_ph, int have_sh, uint64_t *phnum,
			uint64_t *shnum)
{
	const struct elf_ehdr *eh = w->eh;
	*phnum = eh->phnum;
	*shnum = eh->shnum;
	if (have_sh && (*shnum == 0 || *phnum == ELF_PN_XNUM)) {
		hdr_table_start(w->tab, eh->shoff, eh->shentsize, elf_shdr_size(eh), 1);
		const unsigned char *h = hdr_get(w->src, w->tab, 0);
		if (h) {
			struct elf_shdr s0;
			elf_shdr_parse(eh, h, &s0);
			if (*shnum == 0)
				*shnum = s0.size;
			if (*phnum == ELF_PN_XNUM)
				*phnum = s0.info;
		} else {
			w->bad = "section headers past the end of the file";
		}
	}
	if (*phnum > HEADERS_MAX)
		*phnum = HEADERS_MAX;
	if (have_ph && *phnum > TABLE_READ_MAX / eh->phentsize)
		*phnum = TABLE_READ_MAX / eh->phentsize;
	if (*shnum > HEADERS_MAX)
		*shnum = HEADERS_MAX;
	if (have_sh && *shnum > TABLE_READ_MAX / eh->shentsize)
		*shnum = TABLE_READ_MAX / eh->shentsize;
}

int elf_identity(const struct bytesrc *src, struct identity *id)
{
	struct elf_ehdr eh;
	int is_elf;
	memset(id, 0, sizeof *id);
	if (elf_ehdr_read(src, &eh, &is_elf, &id->error) < 0) {
		id->malformed = is_elf;
		return -1;
	}
	int have_sh = eh.shoff != 0 && eh.shentsize >= elf_shdr_size(&eh) && eh.shentsize <= 256;
	int have_ph = eh.phoff != 0 && eh.phnum != 0 && eh.phentsize >= elf_phdr_size(&eh) &&
		      eh.phentsize <= 256;
	struct hdr_table tab;	/* 4 KiB: the headers, read a chunk at a time */
	struct note_walk w = { src, &eh, id, &tab, NOTES_TOTAL_MAX, 0, NULL };
	uint64_t phnum, shnum;

	table_sizes(&w, have_ph, have_sh, &phnum, &shnum);
	if (have_ph)
		walk_phdrs(&w, phnum);
	if (!id->gnu[0] && have_sh)
		walk_shdrs(&w, shnum);
	if (id->gnu[0] || id->go[0])
		return 0;
	/* A file that breaks its own format gets no ID at all; one that simply
	 * has no note falls back to path+mtime. */
	if (w.bad) {
		id->malformed = 1;
		id->error = w.bad;
		return -1;
	}
	id->error = "no build-id note";
	return 0;
}

/* PE/COFF constants (Microsoft PE format specification). */
enum {
	DOS_LFANEW = 0x3c,	/* offset of the PE signature's file offset */
	COFF_HDR = 20,		/* Machine .. Characteristics */
	PE32_MAGIC = 0x10b,
	PE32P_MAGIC = 0x20b,
	OPT_SIZE_OF_IMAGE = 56,	/* same offset in PE32 and PE32+ */
	OPT_SIZE_OF_HEADERS = 60,
	PE32_NUM_DIRS = 92,	/* NumberOfRvaAndSizes */
	PE32P_NUM_DIRS = 108,
	DIR_DEBUG = 6,		/* data directory index of the debug directory */
	SECTION_HDR = 40,
	DEBUG_ENTRY = 28,	/* IMAGE_DEBUG_DIRECTORY */
	DEBUG_TYPE_CODEVIEW = 2,
	RSDS_HDR = 24,		/* "RSDS", GUID, age */
	NB10_HDR = 16,		/* "NB10", offset, signature, age */
};

#define PE_SECTIONS_MAX 1024	/* sections looked at when mapping an RVA */
#define PE_DEBUG_MAX 64		/* debug directory entries looked at */

struct pe {
	const struct bytesrc *src;
	uint64_t sections;	/* file offset of the section table */
	unsigned nsections;
	uint32_t size_of_headers;
};

/* The file offset of len bytes at rva, or -1 when no section holds them
 * all in the file. */
static int pe_rva_to_off(const struct pe *pe, uint32_t rva, uint32_t len, uint64_t *off)
{
	unsigned char sh[SECTION_HDR];
	if (rva < pe->size_of_headers && len <= pe->size_of_headers - rva) {
		*off = rva;	/* the headers are mapped as they lie in the file */
		return 0;
	}
	for (unsigned i = 0; i < pe->nsections; i++) {
		if (src_read(pe->src, pe->sections + (uint64_t)i * SECTION_HDR, sh, sizeof sh) < 0)
			return -1;
		uint32_t vsize = (uint32_t)get_u(sh + 8, 4, 0);
		uint32_t va = (uint32_t)get_u(sh + 12, 4, 0);
		uint32_t rawsize = (uint32_t)get_u(sh + 16, 4, 0);
		uint32_t rawptr = (uint32_t)get_u(sh + 20, 4, 0);
		uint32_t span = vsize ? vsize : rawsize;
		if (rva < va || rva - va >= span)
			continue;
		uint32_t in = rva - va;
		/* Past SizeOfRawData the section is zero fill, not file bytes. */
		if (in > rawsize || len > rawsize - in || len > span - in)
			return -1;
		*off = (uint64_t)rawptr + in;
		return 0;
	}
	return -1;
}

/* ---- PDB (MSF 7.0) ---------------------------------------------------- */

static const char msf_magic[32] = "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0\0";

enum {
	MSF_SUPERBLOCK = 56,	/* magic, block size, free map, blocks, dir bytes, _, map addr */
	PDB_INFO = 28,		/* version, signature, age, GUID */
	MSF_NIL_STREAM = -1,	/* a stream size meaning "no stream" */
};

/* The u32 at byte off of the stream directory, through its block list. */
static int msf_dir_u32(const struct bytesrc *src, uint32_t bs, uint64_t map, uint32_t dirbytes,
		       uint32_t nblocks, uint64_t off, uint32_t *out)
{
	unsigned char b[4];
	if (dirbytes < 4 || off > dirbytes - 4u)
		return -1;
	if (src_read(src, map + off / bs * 4, b, 4) < 0)
		return -1;
	uint32_t blk = (uint32_t)get_u(b, 4, 0);
	if (blk >= nblocks || src_read(src, (uint64_t)blk * bs + off % bs, b, 4) < 0)
		return -1;
	*out = (uint32_t)get_u(b, 4, 0);
	return 0;
}

int pdb_identity(const struct bytesrc *src, char guid[33], uint32_t *age, const char **error)
{
	unsigned char sb[MSF_SUPERBLOCK], info[PDB_INFO];
	guid[0] = '\0';
	*age = 0;
	if (src_read(src, 0, sb, sizeof sb) < 0 || memcmp(sb, msf_magic, sizeof msf_magic) != 0) {
		*error = "not a PDB (MSF 7.0) file";
		return -1;
	}
	*error = "malformed PDB";
	uint32_t bs = (uint32_t)get_u(sb + 32, 4, 0), nblocks = (uint32_t)get_u(sb + 40, 4, 0);
	uint32_t dirbytes = (uint32_t)get_u(sb + 44, 4, 0), mapblk = (uint32_t)get_u(sb + 52, 4, 0);
	if ((bs != 512 && bs != 1024 && bs != 2048 && bs != 4096) || mapblk >= nblocks ||
	    (uint64_t)(dirbytes + (uint64_t)bs - 1) / bs * 4 > bs)
		return -1;	/* the directory's block list must fit its one block */
	uint64_t map = (uint64_t)mapblk * bs;
	uint32_t nstreams, size0, size1, first;
	if (msf_dir_u32(src, bs, map, dirbytes, nblocks, 0, &nstreams) < 0 || nstreams < 2 ||
	    nstreams > dirbytes / 4 ||
	    msf_dir_u32(src, bs, map, dirbytes, nblocks, 4, &size0) < 0 ||
	    msf_dir_u32(src, bs, map, dirbytes, nblocks, 8, &size1) < 0 ||
	    size1 == (uint32_t)MSF_NIL_STREAM || size1 < PDB_INFO)
		return -1;
	uint64_t blocks0 = size0 == (uint32_t)MSF_NIL_STREAM ? 0 : ((uint64_t)size0 + bs - 1) / bs;
	uint64_t at = 4 + 4 * (uint64_t)nstreams + 4 * blocks0;
	if (at > dirbytes || msf_dir_u32(src, bs, map, dirbytes, nblocks, at, &first) < 0 ||
	    first >= nblocks || src_read(src, (uint64_t)first * bs, info, sizeof info) < 0)
		return -1;
	*age = (uint32_t)get_u(info + 8, 4, 0);
	int n = snprintf(guid, 33, "%08X%04X%04X", (unsigned)get_u(info + 12, 4, 0),
			 (unsigned)get_u(info + 16, 2, 0), (unsigned)get_u(info + 18, 2, 0));
	for (int i = 0; i < 8; i++)
		n += snprintf(guid + n, 33 - (size_t)n, "%02X", info[20 + i]);
	*error = NULL;
	return 0;
}

/* Fills pdb_sig and pdb_file from one CodeView record at off (size bytes). */
static const char *pe_codeview(const struct pe *pe, uint64_t off, uint32_t size,
			       struct identity *id)
{
	unsigned char rec[RSDS_HDR + PDBFILE_MAX + 1];
	size_t hdr, len = size < sizeof rec ? size : sizeof rec;
	if (len < 4 || off > pe->src->size || len > pe->src->size - off ||
	    src_read(pe->src, off, rec, len) < 0)
		return "CodeView record past the end of the file";
	if (memcmp(rec, "RSDS", 4) == 0 && len >= RSDS_HDR) {
		/* GUID as symbol servers print it: Data1, Data2, Data3 as
		 * little-endian integers, then Data4's eight bytes in order. */
		int n = snprintf(id->pdb_sig, sizeof id->pdb_sig, "%08X%04X%04X",
				 (unsigned)get_u(rec + 4, 4, 0), (unsigned)get_u(rec + 8, 2, 0),
				 (unsigned)get_u(rec + 10, 2, 0));
		for (int i = 0; i < 8; i++)
			n += snprintf(id->pdb_sig + n, sizeof id->pdb_sig - (size_t)n, "%02X",
				      rec[12 + i]);
		snprintf(id->pdb_sig + n, sizeof id->pdb_sig - (size_t)n, "%X",
			 (unsigned)get_u(rec + 20, 4, 0));
		hdr = RSDS_HDR;
	} else if (memcmp(rec, "NB10", 4) == 0 && len >= NB10_HDR) {
		/* PDB 2.0: a 32-bit signature (a timestamp) instead of a GUID. */
		snprintf(id->pdb_sig, sizeof id->pdb_sig, "%08X%X",
			 (unsigned)get_u(rec + 8, 4, 0), (unsigned)get_u(rec + 12, 4, 0));
		hdr = NB10_HDR;
	} else {
		return "CodeView record of an unknown format";
	}
	size_t plen = 0;
	while (hdr + plen < len && rec[hdr + plen] && plen < PDBFILE_MAX)
		plen++;
	memcpy(id->pdb_file, rec + hdr, plen);
	id->pdb_file[plen] = '\0';
	return NULL;
}

/*
 * The CodeView record among the nent debug directory entries at dbg_off,
 * into id; else id->error says why there is none. A broken record costs
 * the PDB key only: the image key stays.
 */
static void pe_debug_entries(const struct pe *pe, uint64_t dbg_off, uint32_t nent,
			     struct identity *id)
{
	const struct bytesrc *src = pe->src;
	const char *bad = NULL;
	for (uint32_t i = 0; i < nent; i++) {
		unsigned char e[DEBUG_ENTRY];
		if (src_read(src, dbg_off + (uint64_t)i * DEBUG_ENTRY, e, sizeof e) < 0) {
			bad = "debug directory past the end of the file";
			break;
		}
		if (get_u(e + 12, 4, 0) != DEBUG_TYPE_CODEVIEW)
			continue;
		uint32_t size = (uint32_t)get_u(e + 16, 4, 0);
		uint32_t rva = (uint32_t)get_u(e + 20, 4, 0);
		uint64_t off = get_u(e + 24, 4, 0);
		/* PointerToRawData is the file offset; an entry that gives
		 * only the RVA is mapped through the sections. */
		if (off == 0 && (rva == 0 || pe_rva_to_off(pe, rva, size, &off) < 0)) {
			bad = "CodeView record outside the file's sections";
			continue;
		}
		if ((bad = pe_codeview(pe, off, size, id)) == NULL)
			return;
	}
	id->error = bad ? bad : "no CodeView record";
}

int pe_identity(const struct bytesrc *src, struct identity *id)
{
	unsigned char b[PE32P_NUM_DIRS + 4 + 8 * (DIR_DEBUG + 1)];
	memset(id, 0, sizeof *id);

	if (src->size < DOS_LFANEW + 4 || src_read(src, 0, b, 2) < 0 || memcmp(b, "MZ", 2) != 0 ||
	    src_read(src, DOS_LFANEW, b, 4) < 0) {
		id->error = "not a PE file";
		return -1;
	}
	uint64_t pe_off = get_u(b, 4, 0);
	if (pe_off > src->size || src->size - pe_off < 4 + COFF_HDR + 2 ||
	    src_read(src, pe_off, b, 4 + COFF_HDR) < 0 || memcmp(b, "PE\0\0", 4) != 0) {
		id->error = "not a PE file";	/* a DOS program, or NE/LE */
		return -1;
	}
	id->malformed = 1;
	unsigned nsections = (unsigned)get_u(b + 4 + 2, 2, 0);
	uint32_t stamp = (uint32_t)get_u(b + 4 + 4, 4, 0);
	size_t optsize = (size_t)get_u(b + 4 + 16, 2, 0);
	uint64_t opt = pe_off + 4 + COFF_HDR;
	size_t have = optsize < sizeof b ? optsize : sizeof b;
	if (have < OPT_SIZE_OF_HEADERS + 4 || src_read(src, opt, b, have) < 0) {
		id->error = "truncated PE optional header";
		return -1;
	}
	unsigned magic = (unsigned)get_u(b, 2, 0);
	if (magic != PE32_MAGIC && magic != PE32P_MAGIC) {
		id->error = "unknown PE optional header magic";
		return -1;
	}
	snprintf(id->pe_image, sizeof id->pe_image, "%08X%x", (unsigned)stamp,
		 (unsigned)get_u(b + OPT_SIZE_OF_IMAGE, 4, 0));
	id->malformed = 0;

	size_t ndirs_at = magic == PE32_MAGIC ? PE32_NUM_DIRS : PE32P_NUM_DIRS;
	size_t debug_at = ndirs_at + 4 + 8 * DIR_DEBUG;
	if (have < debug_at + 8 || get_u(b + ndirs_at, 4, 0) <= DIR_DEBUG) {
		id->error = "no debug directory";
		return 0;
	}
	uint32_t dbg_rva = (uint32_t)get_u(b + debug_at, 4, 0);
	uint32_t dbg_size = (uint32_t)get_u(b + debug_at + 4, 4, 0);
	if (dbg_rva == 0 || dbg_size == 0) {
		id->error = "no debug directory";
		return 0;
	}
	struct pe pe = {
		.src = src,
		.sections = opt + optsize,
		.nsections = nsections < PE_SECTIONS_MAX ? nsections : PE_SECTIONS_MAX,
		.size_of_headers = (uint32_t)get_u(b + OPT_SIZE_OF_HEADERS, 4, 0),
	};
	if (pe.size_of_headers > src->size)
		pe.size_of_headers = (uint32_t)src->size;
	uint32_t nent = dbg_size / DEBUG_ENTRY;
	if (nent > PE_DEBUG_MAX)
		nent = PE_DEBUG_MAX;
	uint64_t dbg_off;
	if (nent == 0 || pe_rva_to_off(&pe, dbg_rva, nent * DEBUG_ENTRY, &dbg_off) < 0) {
		id->error = "debug directory outside the file's sections";
		id->malformed = 1;
		return -1;
	}
	pe_debug_entries(&pe, dbg_off, nent, id);
	return 0;
}

/* The first bytes of a file: its headers and, in most files, its notes. */
#define HEAD_BYTES 4096

struct head {
	const struct bytesrc *src;
	size_t len;
	unsigned char buf[HEAD_BYTES];
};

static int head_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct head *h = ctx;
	if (off <= h->len && len <= h->len - off) {
		memcpy(buf, h->buf + off, len);
		return 0;
	}
	return src_read(h->src, off, buf, len);
}

int file_identity(const struct bytesrc *src, struct identity *id)
{
	/* One read serves the magic and the headers; a typical library then
	 * needs none more. */
	struct head h;	/* not cleared: only its first len bytes are read */
	h.src = src;
	h.len = src->size < HEAD_BYTES ? (size_t)src->size : HEAD_BYTES;
	memset(id, 0, sizeof *id);
	if (h.len && src_read(src, 0, h.buf, h.len) < 0) {
		id->error = "cannot read the file";
		return 0;
	}
	struct bytesrc hs = { head_read, &h, NULL, src->size };
	if (h.len >= 4 && memcmp(h.buf, "\177ELF", 4) == 0)
		return elf_identity(&hs, id);
	if (h.len >= 2 && memcmp(h.buf, "MZ", 2) == 0) {
		int r = pe_identity(&hs, id);
		if (r == 0 || id->malformed)
			return r;
	}
	memset(id, 0, sizeof *id);
	id->error = "not an ELF or PE file";
	return 0;
}

enum bid_kind identity_choose(enum bid_mode mode, const struct identity *id, const char **text)
{
	*text = NULL;
	if (mode == BID_NONE)
		return BIDK_NONE;
	if (mode == BID_MTIME)
		return BIDK_PATH_MTIME;
	if (id->malformed)
		return BIDK_NONE;
	if (id->gnu[0]) {
		*text = id->gnu;
		return BIDK_GNU;
	}
	if (mode == BID_NATIVE) {
		if (id->go[0]) {
			*text = id->go;
			return BIDK_GO;
		}
		if (id->pdb_sig[0]) {
			*text = id->pdb_sig;
			return BIDK_PDB;
		}
		if (id->pe_image[0]) {
			*text = id->pe_image;
			return BIDK_PE_IMAGE;
		}
	}
	return BIDK_PATH_MTIME;
}

int identity_apply(struct snapshot *s, struct mapping *m, enum bid_mode mode,
		   const struct identity *id)
{
	const char *text;
	enum bid_kind kind = identity_choose(mode, id, &text);
	int rc = 0;
	/* Only native reads every file, so only there are these there for
	 * every file, whichever source or backend made the snapshot. */
	if (mode == BID_NATIVE) {
		if (id->go[0])
			rc = snapshot_set(s, &m->go_build_id, id->go);
		if (rc == 0 && id->pdb_file[0])
			rc = snapshot_set(s, &m->pdb_file, id->pdb_file);
		if (rc == 0 && id->pdb_sig[0])
			rc = snapshot_set(s, &m->pdb_sig, id->pdb_sig);
		if (rc == 0 && id->pe_image[0])
			rc = snapshot_set(s, &m->pe_image, id->pe_image);
	}
	/* The reason matters where the contents gave no ID. */
	if (rc == 0 && id->error && (kind == BIDK_PATH_MTIME || kind == BIDK_NONE))
		rc = snapshot_set(s, &m->bid_error, id->error);
	if (rc == 0 && text) {
		rc = snapshot_set(s, &m->build_id, text);
		m->bid_kind = kind;
	}
	return rc < 0 ? -1 : (int)kind;
}

/*
 * The identity cache: open addressing, linear probing, grown at half full.
 * The table holds keys and a pointer; each identity (1.5 KiB, mostly room
 * for the longest PDB path) is allocated once and never moves, so growing
 * the table copies 40-byte slots, not identities, and a pointer handed out
 * stays valid until the cache fills: then every identity is freed and the
 * cache starts over (BID_CACHE_MAX).
 */
struct bid_entry {
	uint64_t dev, ino;
	int64_t sec;
	long nsec;
	struct identity *id;	/* NULL: a free slot */
};

struct bid_cache {
	struct bid_entry *e;
	size_t n, cap;
	struct gotz *zone;	/* Go's Local, loaded on first need */
};

const struct gotz *bid_local_zone(struct bid_cache *c, struct gotz **own, struct errmsg *err)
{
	struct gotz **slot = c ? &c->zone : own;
	if (!*slot)
		*slot = gotz_load_local(getenv("TZ"), err);
	return *slot;
}

struct bid_cache *bid_cache_new(void)
{
	return calloc(1, sizeof(struct bid_cache));
}

void bid_cache_free(struct bid_cache *c)
{
	if (c) {
		for (size_t i = 0; i < c->cap; i++)
			free(c->e[i].id);
		free(c->e);
		gotz_free(c->zone);
	}
	free(c);
}

static size_t bid_hash(uint64_t dev, uint64_t ino, int64_t sec, long nsec)
{
	uint64_t h = dev * 0x9e3779b97f4a7c15ULL;
	h ^= ino + 0x7f4a7c159e3779b9ULL + (h << 6) + (h >> 2);
	h ^= (uint64_t)sec * 0xbf58476d1ce4e5b9ULL + (uint64_t)nsec;
	h ^= h >> 31;
	return (size_t)h;
}

static struct bid_entry *bid_slot(struct bid_entry *e, size_t cap, uint64_t dev, uint64_t ino,
				  int64_t sec, long nsec)
{
	size_t i = bid_hash(dev, ino, sec, nsec) & (cap - 1);
	while (e[i].id && !(e[i].dev == dev && e[i].ino == ino && e[i].sec == sec &&
			    e[i].nsec == nsec))
		i = (i + 1) & (cap - 1);
	return &e[i];
}

const struct identity *bid_cache_get(struct bid_cache *c, uint64_t dev, uint64_t ino,
				     int64_t sec, long nsec)
{
	if (!c || !c->cap)
		return NULL;
	return bid_slot(c->e, c->cap, dev, ino, sec, nsec)->id;
}

const struct identity *bid_cache_put(struct bid_cache *c, uint64_t dev, uint64_t ino,
				     int64_t sec, long nsec, const struct identity *id)
{
	if (!c)
		return NULL;
	/* Bounded: a run over a whole host starts over rather than grow
	 * past BID_CACHE_MAX files (an entry is a few KiB). Nothing outside
	 * points at what is freed: a snapshot copies an identity's strings
	 * into its own arena (identity_apply) before the next put. */
	if (c->n >= BID_CACHE_MAX) {
		for (size_t i = 0; i < c->cap; i++)
			free(c->e[i].id);	/* forgotten, so freed */
		memset(c->e, 0, c->cap * sizeof *c->e);
		c->n = 0;
	}
	if (2 * (c->n + 1) > c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct bid_entry *e = calloc(cap, sizeof *e);
		if (!e)
			return NULL;
		for (size_t i = 0; i < c->cap; i++)
			if (c->e[i].id)
				*bid_slot(e, cap, c->e[i].dev, c->e[i].ino, c->e[i].sec,
					  c->e[i].nsec) = c->e[i];
		free(c->e);
		c->e = e;
		c->cap = cap;
	}
	struct bid_entry *s = bid_slot(c->e, c->cap, dev, ino, sec, nsec);
	if (!s->id) {
		s->id = malloc(sizeof *s->id);
		if (!s->id)
			return NULL;
		s->dev = dev;
		s->ino = ino;
		s->sec = sec;
		s->nsec = nsec;
		c->n++;
	}
	*s->id = *id;
	return s->id;
}
