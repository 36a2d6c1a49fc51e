/*
 * pesym.c - function names of a PE image from its export table and COFF
 * symbol table (see pesym.h). The layouts are Microsoft's PE/COFF
 * specification: the DOS header's e_lfanew, the COFF file header, the
 * optional header's data directories (export = 0), the section table,
 * IMAGE_EXPORT_DIRECTORY, and 18-byte COFF symbol records followed by the
 * string table.
 */
#include "pesym.h"

#include <stdlib.h>
#include <string.h>

enum {
	COFF_HEADER_SIZE = 20,
	SECTION_SIZE = 40,
	SYMBOL_SIZE = 18,
	EXPORT_DIR_SIZE = 40,
	OPT_MAGIC_PE32 = 0x10b,
	OPT_MAGIC_PE32PLUS = 0x20b,
	SYM_CLASS_EXTERNAL = 2,
	SYM_CLASS_STATIC = 3,
	SYM_DTYPE_FUNCTION = 2,
	SCN_CNT_CODE = 0x20,
	SCN_MEM_EXECUTE = 0x20000000,
	MAX_SECTIONS = 96,	/* the loader's own limit */
};

struct section {
	uint32_t va, vsize, raw_size, raw_off, flags;
};

struct pe {
	const struct bytesrc *src;
	struct section sec[MAX_SECTIONS];
	unsigned nsec;
	struct pe_symtab *t;
	int oom;
};

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int rd(const struct pe *pe, uint64_t off, void *buf, size_t len)
{
	return bytesrc_read(pe->src, off, buf, len);
}

/* The file offset of rva, with n bytes there inside its section's raw data. */
static int rva_off(const struct pe *pe, uint32_t rva, uint32_t n, uint64_t *off)
{
	for (unsigned i = 0; i < pe->nsec; i++) {
		const struct section *s = &pe->sec[i];
		uint32_t size = s->raw_size;
		if (rva >= s->va && rva - s->va < size && size - (rva - s->va) >= n) {
			*off = (uint64_t)s->raw_off + (rva - s->va);
			return 0;
		}
	}
	return -1;
}

/* The section holding rva in memory (its virtual size), or -1. */
static int rva_section(const struct pe *pe, uint32_t rva)
{
	for (unsigned i = 0; i < pe->nsec; i++) {
		const struct section *s = &pe->sec[i];
		uint32_t size = s->vsize > s->raw_size ? s->vsize : s->raw_size;
		if (rva >= s->va && rva - s->va < size)
			return (int)i;
	}
	return -1;
}

static int is_code(const struct section *s)
{
	return (s->flags & (SCN_CNT_CODE | SCN_MEM_EXECUTE)) != 0;
}

/* Adds a name at rva, if rva lies in a code section. */
static void add(struct pe *pe, uint32_t rva, const char *name, size_t len)
{
	struct pe_symtab *t = pe->t;
	int si = rva_section(pe, rva);
	if (si < 0 || !is_code(&pe->sec[si]) || len == 0 || t->n >= PESYM_MAX || pe->oom)
		return;
	if (len > PESYM_NAME_MAX)
		len = PESYM_NAME_MAX;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct pe_sym *v = realloc(t->v, cap * sizeof *v);
		if (!v) {
			pe->oom = 1;
			return;
		}
		t->v = v;
		t->cap = cap;
	}
	if (t->names_cap - t->names_len < len + 1) {
		size_t cap = t->names_cap ? t->names_cap : 4096;
		while (cap - t->names_len < len + 1)
			cap *= 2;
		char *p = realloc(t->names, cap);
		if (!p) {
			pe->oom = 1;
			return;
		}
		t->names = p;
		t->names_cap = cap;
	}
	const struct section *s = &pe->sec[si];
	uint32_t size = s->vsize > s->raw_size ? s->vsize : s->raw_size;
	struct pe_sym *y = &t->v[t->n++];
	y->rva = rva;
	y->limit = s->va + size;
	y->name = (uint32_t)t->names_len;
	memcpy(t->names + t->names_len, name, len);
	t->names[t->names_len + len] = '\0';
	t->names_len += len + 1;
}

/* A NUL-terminated name at off, up to PESYM_NAME_MAX bytes: its length, or 0. */
static size_t read_cstr(const struct pe *pe, uint64_t off, uint64_t end, char *out)
{
	size_t n = 0;
	unsigned char chunk[64];
	while (n < PESYM_NAME_MAX && off < end) {
		size_t want = sizeof chunk;
		if (end - off < want)
			want = (size_t)(end - off);
		if (rd(pe, off, chunk, want) < 0)
			return 0;
		for (size_t i = 0; i < want && n < PESYM_NAME_MAX; i++) {
			if (!chunk[i])
				return n;
			out[n++] = (char)chunk[i];
		}
		off += want;
	}
	return n;	/* cut at the bound or the end */
}

static void read_exports(struct pe *pe, uint32_t dir_rva, uint32_t dir_size)
{
	unsigned char d[EXPORT_DIR_SIZE], b[4];
	char name[PESYM_NAME_MAX];
	uint64_t off, names_off, ords_off, fns_off;
	if (!dir_rva || rva_off(pe, dir_rva, EXPORT_DIR_SIZE, &off) < 0 ||
	    rd(pe, off, d, sizeof d) < 0)
		return;
	uint32_t nfns = le32(d + 20), nnames = le32(d + 24);
	uint32_t fns = le32(d + 28), names = le32(d + 32), ords = le32(d + 36);
	if (nnames > PESYM_MAX || nfns > PESYM_MAX || nnames == 0 ||
	    rva_off(pe, names, nnames * 4, &names_off) < 0 ||
	    rva_off(pe, ords, nnames * 2, &ords_off) < 0 ||
	    rva_off(pe, fns, nfns * 4, &fns_off) < 0)
		return;
	for (uint32_t i = 0; i < nnames && !pe->oom; i++) {
		uint64_t name_off;
		if (rd(pe, ords_off + 2 * (uint64_t)i, b, 2) < 0)
			return;
		uint16_t ord = le16(b);
		if (ord >= nfns || rd(pe, fns_off + 4 * (uint64_t)ord, b, 4) < 0)
			continue;
		uint32_t rva = le32(b);
		if (rva >= dir_rva && rva - dir_rva < dir_size)
			continue;	/* a forwarder: "DLL.name", no code here */
		if (rd(pe, names_off + 4 * (uint64_t)i, b, 4) < 0 ||
		    rva_off(pe, le32(b), 1, &name_off) < 0)
			continue;
		size_t n = read_cstr(pe, name_off, pe->src->size, name);
		add(pe, rva, name, n);
	}
}

static void read_coff(struct pe *pe, uint32_t sym_off, uint32_t nsyms)
{
	unsigned char r[SYMBOL_SIZE], b[4];
	char name[PESYM_NAME_MAX];
	uint64_t size = pe->src->size;
	if (!sym_off || !nsyms || sym_off > size || nsyms > (size - sym_off) / SYMBOL_SIZE)
		return;
	uint64_t strtab = sym_off + (uint64_t)nsyms * SYMBOL_SIZE;
	uint64_t strtab_end = strtab;
	if (rd(pe, strtab, b, 4) == 0 && le32(b) >= 4 && le32(b) <= size - strtab)
		strtab_end = strtab + le32(b);
	for (uint32_t i = 0; i < nsyms && !pe->oom; i++) {
		if (rd(pe, sym_off + (uint64_t)i * SYMBOL_SIZE, r, sizeof r) < 0)
			return;
		uint32_t value = le32(r + 8);
		int16_t secno = (int16_t)le16(r + 12);
		uint16_t type = le16(r + 14);
		uint8_t class = r[16], aux = r[17];
		uint32_t skip = aux;
		if (secno >= 1 && (unsigned)secno <= pe->nsec &&
		    (class == SYM_CLASS_EXTERNAL || class == SYM_CLASS_STATIC) &&
		    ((type >> 4) == SYM_DTYPE_FUNCTION || (class == SYM_CLASS_EXTERNAL && aux == 0)) &&
		    is_code(&pe->sec[secno - 1])) {
			size_t n;
			if (le32(r) == 0) {	/* a long name, in the string table */
				uint64_t at = strtab + le32(r + 4);
				n = le32(r + 4) >= 4 && at < strtab_end
					    ? read_cstr(pe, at, strtab_end, name)
					    : 0;
			} else {
				n = 0;
				while (n < 8 && r[n])
					n++;
				memcpy(name, r, n);
			}
			uint64_t rva = (uint64_t)pe->sec[secno - 1].va + value;
			if (rva <= UINT32_MAX)
				add(pe, (uint32_t)rva, name, n);
		}
		i += skip;	/* the auxiliary records that follow it */
		if (i < skip)
			return;	/* wrapped */
	}
}

static int sym_cmp(const void *a, const void *b)
{
	const struct pe_sym *x = a, *y = b;
	if (x->rva != y->rva)
		return x->rva < y->rva ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;	/* the first read first */
}

int pe_symbols_read(const struct bytesrc *src, struct pe_symtab *t, const char **why)
{
	struct pe pe;
	unsigned char h[64], c[COFF_HEADER_SIZE], o[2], dd[8];
	memset(&pe, 0, sizeof pe);
	pe.src = src;
	pe.t = t;
	*why = "not a PE image";
	if (bytesrc_read(src, 0, h, sizeof h) < 0 || h[0] != 'M' || h[1] != 'Z')
		return -1;
	uint64_t pe_off = le32(h + 0x3c);
	if (bytesrc_read(src, pe_off, c, 4) < 0 || memcmp(c, "PE\0\0", 4) != 0 ||
	    bytesrc_read(src, pe_off + 4, c, sizeof c) < 0)
		return -1;
	uint16_t nsec = le16(c + 2), opt_size = le16(c + 16);
	uint32_t sym_off = le32(c + 8), nsyms = le32(c + 12);
	uint64_t opt = pe_off + 4 + COFF_HEADER_SIZE;
	if (opt_size < 2 || bytesrc_read(src, opt, o, 2) < 0)
		return -1;
	uint16_t magic = le16(o);
	uint32_t dirs_at = magic == OPT_MAGIC_PE32 ? 96 : magic == OPT_MAGIC_PE32PLUS ? 112 : 0;
	if (!dirs_at)
		return -1;
	uint32_t exp_rva = 0, exp_size = 0;
	unsigned char nd[4];
	if (opt_size >= dirs_at + 8 && bytesrc_read(src, opt + dirs_at - 4, nd, 4) == 0 &&
	    le32(nd) >= 1 && bytesrc_read(src, opt + dirs_at, dd, 8) == 0) {
		exp_rva = le32(dd);
		exp_size = le32(dd + 4);
	}
	pe.nsec = nsec < MAX_SECTIONS ? nsec : MAX_SECTIONS;
	for (unsigned i = 0; i < pe.nsec; i++) {
		unsigned char s[SECTION_SIZE];
		if (bytesrc_read(src, opt + opt_size + (uint64_t)i * SECTION_SIZE, s, sizeof s) < 0) {
			pe.nsec = i;
			break;
		}
		pe.sec[i] = (struct section){ le32(s + 12), le32(s + 8), le32(s + 16), le32(s + 20),
					      le32(s + 36) };
	}
	read_exports(&pe, exp_rva, exp_size);
	read_coff(&pe, sym_off, nsyms);
	if (pe.oom) {
		*why = "out of memory";
		return -1;
	}
	if (t->n) {
		qsort(t->v, t->n, sizeof *t->v, sym_cmp);
		size_t k = 1;
		for (size_t i = 1; i < t->n; i++)
			if (t->v[i].rva != t->v[k - 1].rva)
				t->v[k++] = t->v[i];
		t->n = k;
	}
	*why = NULL;
	return 0;
}

void pe_symtab_free(struct pe_symtab *t)
{
	free(t->v);
	free(t->names);
	memset(t, 0, sizeof *t);
}

const struct pe_sym *pe_symtab_lookup(const struct pe_symtab *t, uint32_t rva)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {	/* the first symbol above rva */
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].rva <= rva)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct pe_sym *s = &t->v[lo - 1];
	return rva < s->limit ? s : NULL;
}
