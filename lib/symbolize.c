/*
 * symbolize.c - addresses to frames with elfutils (libdwfl, libdw), the
 * library eu-stack, perf and systemtap are built on; this file is the only
 * one that includes its headers, and holds no DWARF reading of its own.
 *
 * Each module gets a Dwfl of its own, reported at its ELF addresses (base
 * 0), so an address is asked at its elf_vaddr whatever the process's
 * layout was, and a module mapped by many processes is read once. Separate
 * debug files (.build-id/xx/rest.debug, .gnu_debuglink with its CRC),
 * MiniDebugInfo and debuginfod come from elfutils' standard callbacks, with
 * the --debug-dir list as their search path. Names are demangled with
 * libstdc++'s __cxa_demangle (GCC's demangler, as elfutils' own tools use).
 *
 * Which file a module is read from, and the check that it is the mapping's
 * (its build ID, through buildid.c's reader), is modmap's; the rest is
 * elfutils'.
 */
#include "symbolize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buildid.h"
#include "lookup.h"
#include "pesym.h"
#include "platform.h"
#include "region.h"

#ifdef HAVE_ELFUTILS
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>

/*
 * libstdc++'s demangler (cxxabi.h is C++ only), weak: the command and the
 * shared library link libstdc++; a static consumer that does not gets
 * names as the binary has them.
 */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status)
	__attribute__((weak));
#endif

struct sym_module {
	char *key;		/* build ID text, or path and file identity */
	char *name;		/* for messages */
	int warned;
	int usable;		/* its symbols could be read */
	int pe;			/* a PE image: pesyms holds its names */
	struct pe_symtab pesyms;
#ifdef HAVE_ELFUTILS
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf_Addr bias;	/* Dwfl address = ELF address + bias */
	/* Every function's code ranges, sorted, from dwarf_getfuncs once:
	 * an address then walks only its own function's scopes. */
	struct func_range *fr;
	size_t nfr, capfr;
	int fr_state;		/* 0: not built; 1: built; -1: none */
	Dwarf *dw;
	Dwarf_Addr dwbias;
#endif
};

#ifdef HAVE_ELFUTILS
struct func_range {
	Dwarf_Addr lo, hi;	/* [lo, hi) in DWARF's addresses */
	Dwarf_Off die;		/* the DW_TAG_subprogram */
};
#endif

struct symbolizer {
#ifdef HAVE_ELFUTILS
	Dwfl_Callbacks cb;
	char *debuginfo_path;	/* elfutils' syntax: colon-separated */
#endif
	const char **dirs;
	size_t ndirs;
	void (*warn)(void *ctx, const char *line);
	void *ctx;
	struct progress_to progress;
	struct sym_module **mods;
	size_t nmods, capmods;
	char *owned[2 * SYM_FRAMES_MAX];	/* demangled names of the last answer */
	size_t nowned;
};

int symbolize_built(void)
{
#ifdef HAVE_ELFUTILS
	return 1;
#else
	return 0;
#endif
}

static const char *const default_dirs[] = { "/usr/lib/debug" };

struct symbolizer *symbolizer_new(const struct symbolizer_opts *o, struct errmsg *err)
{
	struct symbolizer *z = calloc(1, sizeof *z);
	const char *const *dirs = o && o->ndebug_dirs ? o->debug_dirs : default_dirs;
	size_t ndirs = o && o->ndebug_dirs ? o->ndebug_dirs : 1;
	size_t len = sizeof ":.debug";
	for (size_t i = 0; i < ndirs; i++)
		len += strlen(dirs[i]) + 1;
	if (z)
		z->dirs = malloc(ndirs * sizeof *z->dirs);
#ifdef HAVE_ELFUTILS
	if (z && z->dirs && !(z->debuginfo_path = malloc(len))) {
		free(z->dirs);
		z->dirs = NULL;
	}
#else
	(void)len;
#endif
	if (!z || !z->dirs) {
		free(z);
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < ndirs; i++)
		z->dirs[i] = dirs[i];
	z->ndirs = ndirs;
#ifdef HAVE_ELFUTILS
	/* The module's own directory and its .debug first, as GDB and elfutils
	 * search by default, then each debug directory. */
	char *p = z->debuginfo_path;
	p += sprintf(p, ":.debug");
	for (size_t i = 0; i < ndirs; i++)
		p += sprintf(p, ":%s", dirs[i]);
	z->cb.find_elf = dwfl_build_id_find_elf;
	z->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	z->cb.section_address = dwfl_offline_section_address;
	z->cb.debuginfo_path = &z->debuginfo_path;
#endif
	if (o) {
		z->warn = o->warn;
		z->ctx = o->ctx;
		z->progress = o->progress;
	}
	return z;
}

static void module_free(struct sym_module *m)
{
#ifdef HAVE_ELFUTILS
	if (m->dwfl)
		dwfl_end(m->dwfl);
	free(m->fr);
#endif
	pe_symtab_free(&m->pesyms);
	free(m->key);
	free(m->name);
	free(m);
}

static void owned_free(struct symbolizer *z)
{
	for (size_t i = 0; i < z->nowned; i++)
		free(z->owned[i]);
	z->nowned = 0;
}

void symbolizer_free(struct symbolizer *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->nmods; i++)
		module_free(z->mods[i]);
	owned_free(z);
	free(z->mods);
	free(z->dirs);
#ifdef HAVE_ELFUTILS
	free(z->debuginfo_path);
#endif
	free(z);
}

/* One line about module m, the first time only. */
static void warn(struct symbolizer *z, struct sym_module *m, const char *file, const char *what,
		 const char *why)
{
	char line[1024];
	if (!z->warn || m->warned)
		return;
	m->warned = 1;
	snprintf(line, sizeof line, "%s: %s: %s", file, what, why ? why : "cannot read it");
	z->warn(z->ctx, line);
}

static char *str_dup(const char *p)
{
	size_t n = strlen(p) + 1;
	char *d = malloc(n);
	return d ? memcpy(d, p, n) : NULL;
}

static int fd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return platform_read_at(*(int *)ctx, off, buf, len);
}

/*
 * Is the file at fd the one the mapping names: its GNU or Go build ID the
 * mapping's? (A saved snapshot does not say which kind its ID is, as
 * lookup does not ask; a path+mtime ID vouches for no contents.)
 */
static int same_build(int fd, uint64_t size, const struct snapshot *s, const struct mapping *m)
{
	struct bytesrc src = { fd_read, &fd, NULL, size };
	struct identity id;
	const char *want = snapshot_str(s, m->build_id);
	memset(&id, 0, sizeof id);
	if (!want[0] || file_identity(&src, &id) != 0)
		return 0;
	return (id.gnu[0] && strcmp(id.gnu, want) == 0) || (id.go[0] && strcmp(id.go, want) == 0) ||
	       (id.pdb_sig[0] && strcmp(id.pdb_sig, want) == 0) ||
	       (id.pe_image[0] && strcmp(id.pe_image, want) == 0);
}

/* Lowercase hex of at least two bytes: what a GNU build ID's text is. */
static int is_hex_id(const char *p)
{
	size_t n = strspn(p, "0123456789abcdef");
	return n >= 4 && n % 2 == 0 && p[n] == '\0';
}

/*
 * A saved snapshot's module: its path here, else the debug directories'
 * build-ID names, the first whose build ID is the mapping's. -1 when none.
 */
static int open_saved(struct symbolizer *z, const struct snapshot *s, const struct mapping *m,
		      char **name, uint64_t *sizep, const char **why)
{
	const char *path = snapshot_str(s, m->file);
	const char *bid = snapshot_str(s, m->build_id);
	uint64_t size;
	int missing;
	if (!bid[0] || m->bid_kind == BIDK_PATH_MTIME || m->bid_kind == BIDK_PATH) {
		*why = "no build ID to check a file against";
		return -1;
	}
	*why = "file not found (here or in a debug directory)";
	int fd = path[0] ? platform_open_regular(path, &size, why, &missing) : -1;
	if (fd >= 0) {
		if (same_build(fd, size, s, m)) {
			*name = str_dup(path);
			*sizep = size;
			return fd;
		}
		platform_close(fd);
		*why = "the file here has another build ID (and no debug directory holds it)";
	}
	if (!is_hex_id(bid))
		return -1;
	for (size_t i = 0; i < z->ndirs; i++) {
		for (int debug = 0; debug < 2; debug++) {
			size_t len = strlen(z->dirs[i]) + strlen(bid) + 32;
			char *p = malloc(len);
			if (!p)
				return -1;
			snprintf(p, len, "%s/.build-id/%.2s/%s%s", z->dirs[i], bid, bid + 2,
				 debug ? ".debug" : "");
			fd = platform_open_regular(p, &size, why, &missing);
			if (fd >= 0 && same_build(fd, size, s, m)) {
				*name = p;
				*sizep = size;
				return fd;
			}
			if (fd >= 0)
				platform_close(fd);
			free(p);
		}
	}
	*why = "file not found (here or in a debug directory)";
	return -1;
}

static char *module_key(const struct snapshot *s, const struct mapping *m)
{
	char buf[128];
	const char *file = snapshot_str(s, m->file);
	size_t len;
	const char *bid = snapshot_str(s, m->build_id);
	if (m->bid_kind == BIDK_GNU || m->bid_kind == BIDK_GO || (s->saved && bid[0])) {
		len = strlen(bid) + 4;
		char *k = malloc(len);
		if (k)
			snprintf(k, len, "b:%s", bid);
		return k;
	}
	snprintf(buf, sizeof buf, "f:%u:%u:%llu:", m->dev_major, m->dev_minor,
		 (unsigned long long)m->inode);
	len = strlen(buf) + strlen(file) + 1;
	char *k = malloc(len);
	if (k)
		snprintf(k, len, "%s%s", buf, file);
	return k;
}

/* Reads the PE image at fd (which it takes): its export and COFF names. */
static int module_pe(struct sym_module *sm, int fd, uint64_t size, const char **why)
{
	struct bytesrc src = { fd_read, &fd, NULL, size };
	int rc = pe_symbols_read(&src, &sm->pesyms, why);
	platform_close(fd);
	if (rc == 0 && sm->pesyms.n == 0) {
		*why = "no export table or COFF symbols";
		return -1;
	}
	sm->pe = 1;
	return rc;
}

#ifdef HAVE_ELFUTILS
/* Reports the ELF file at fd (which it takes) to a Dwfl of its own. */
static int module_report(struct symbolizer *z, struct sym_module *sm, int fd, const char **why)
{
	sm->dwfl = dwfl_begin(&z->cb);
	if (!sm->dwfl) {
		platform_close(fd);
		*why = dwfl_errmsg(-1);
		return -1;
	}
	dwfl_report_begin(sm->dwfl);
	sm->mod = dwfl_report_elf(sm->dwfl, sm->name, sm->name, fd, 0, false);
	if (!sm->mod) {
		*why = dwfl_errmsg(-1);
		platform_close(fd);
		return -1;
	}
	if (dwfl_report_end(sm->dwfl, NULL, NULL) != 0 ||
	    !dwfl_module_getelf(sm->mod, &sm->bias)) {
		*why = dwfl_errmsg(-1);
		sm->mod = NULL;
		return -1;
	}
	return 0;
}
#endif

/* The module file at fd (which it takes): a PE image, else ELF. */
static int module_read(struct symbolizer *z, struct sym_module *sm, int fd, uint64_t size,
		       const char **why)
{
	unsigned char magic[2];
	if (platform_read_at(fd, 0, magic, 2) == 0 && magic[0] == 'M' && magic[1] == 'Z')
		return module_pe(sm, fd, size, why);
#ifdef HAVE_ELFUTILS
	return module_report(z, sm, fd, why);
#else
	(void)z;
	platform_close(fd);
	*why = "symbolization not built (ELF needs elfutils)";
	return -1;
#endif
}

struct sym_module *symbolizer_module(struct symbolizer *z, const struct snapshot *s, size_t i)
{
	const struct mapping *m = &s->map[i];
	const char *file = snapshot_str(s, m->file);
	/* A file: Linux says so by device and inode; a Windows module, or a
	 * saved snapshot's mapping, by its path. */
	if (!file[0] || file[0] == '[' ||
	    (!(m->flags & MAPF_FILE) && !s->saved && !lookup_path_is_windows(file)))
		return NULL;
	char *key = module_key(s, m);
	if (!key)
		return NULL;
	for (size_t j = 0; j < z->nmods; j++)
		if (strcmp(z->mods[j]->key, key) == 0) {
			free(key);
			return z->mods[j]->usable ? z->mods[j] : NULL;
		}
	if (z->nmods == z->capmods) {
		size_t cap = z->capmods ? 2 * z->capmods : 16;
		struct sym_module **v = realloc(z->mods, cap * sizeof(struct sym_module *));
		if (!v) {
			free(key);
			return NULL;
		}
		z->mods = v;
		z->capmods = cap;
	}
	struct sym_module *sm = calloc(1, sizeof *sm);
	if (!sm) {
		free(key);
		return NULL;
	}
	sm->key = key;
	z->mods[z->nmods++] = sm;

	const char *why = NULL;
	uint64_t size = 0;
	int fd;
	if (s->saved) {
		fd = open_saved(z, s, m, &sm->name, &size, &why);
	} else {
		fd = snapshot_open_mapped(s, m, &size, &why);
		if (fd >= 0)
			sm->name = str_dup(file);
	}
	if (fd >= 0 && !sm->name) {
		platform_close(fd);
		fd = -1;
		why = "out of memory";
	}
	if (fd >= 0 && module_read(z, sm, fd, size, &why) == 0)
		sm->usable = 1;
	else
		warn(z, sm, file, "no symbols", why);
	struct progress p = { PROGRESS_SYMBOLIZE, 1, 1, z->nmods, 0, file };
	progress_tell(&z->progress, &p);
	return sm->usable ? sm : NULL;
}

#ifdef HAVE_ELFUTILS

/* The deepest nesting of scopes (functions, blocks) followed down. */
#define SYM_SCOPES_MAX 256

/* The demangled form of name (kept until the next answer), or name itself. */
static const char *demangle(struct symbolizer *z, const char *name)
{
	if (!name || strncmp(name, "_Z", 2) != 0 || z->nowned == 2 * SYM_FRAMES_MAX ||
	    !__cxa_demangle)
		return name;
	int status = -1;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	if (!d || status != 0) {
		free(d);
		return name;
	}
	z->owned[z->nowned++] = d;
	return d;
}

/*
 * A source path as symbolizers print it: a relative one joined to the
 * compilation directory (kept until the next answer).
 */
static const char *full_path(struct symbolizer *z, const char *dir, const char *file)
{
	if (!file || file[0] == '/' || !dir || !dir[0] || z->nowned == 2 * SYM_FRAMES_MAX)
		return file;
	size_t len = strlen(dir) + strlen(file) + 2;
	char *p = malloc(len);
	if (!p)
		return file;
	snprintf(p, len, "%s/%s", dir, file);
	z->owned[z->nowned++] = p;
	return p;
}

/* The DIE's linkage name (through its abstract origin), else NULL. */
static const char *linkage_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	return n;
}

static void frame_name(struct symbolizer *z, Dwarf_Die *die, struct sym_frame *f)
{
	const char *link = linkage_name(die);
	const char *name = dwarf_diename(die);
	int line;
	f->system_name = link ? link : name;
	f->function = link ? demangle(z, link) : name;
	if (dwarf_decl_line(die, &line) == 0 && line > 0)
		f->start_line = (uint32_t)line;
}

static uint32_t attr_u32(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute a;
	Dwarf_Word v;
	if (dwarf_formudata(dwarf_attr(die, name, &a), &v) != 0 || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

/*
 * The inline chain at addr from DWARF, innermost first, after out[0] (whose
 * file and line the caller has from the line table): each function is the
 * next enclosing inlined subroutine or subprogram, and each outer frame's
 * place is the call site of the one inside it. Returns the frames filled.
 */
static int func_range_add(Dwarf_Die *die, void *arg)
{
	struct sym_module *sm = arg;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (hi <= lo)
			continue;
		if (sm->nfr == sm->capfr) {
			size_t cap = sm->capfr ? 2 * sm->capfr : 256;
			struct func_range *v = realloc(sm->fr, cap * sizeof *v);
			if (!v) {
				sm->fr_state = -1;
				return DWARF_CB_ABORT;
			}
			sm->fr = v;
			sm->capfr = cap;
		}
		sm->fr[sm->nfr++] = (struct func_range){ lo, hi, dwarf_dieoffset(die) };
	}
	return DWARF_CB_OK;
}

static int func_range_cmp(const void *a, const void *b)
{
	const struct func_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void func_ranges_build(struct sym_module *sm)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = NULL;
	sm->fr_state = 1;
	if (!(sm->dw = dwfl_module_getdwarf(sm->mod, &sm->dwbias))) {
		sm->fr_state = -1;
		return;
	}
	while (sm->fr_state == 1 && (cu = dwfl_module_nextcu(sm->mod, cu, &bias)) != NULL)
		dwarf_getfuncs(cu, func_range_add, sm, 0);
	if (sm->fr_state == 1 && sm->nfr)	/* no DWARF functions: fr is NULL */
		qsort(sm->fr, sm->nfr, sizeof *sm->fr, func_range_cmp);
}

/*
 * The scopes holding pc, innermost first, into chain[0..cap): the function
 * whose range holds it, then down its children, each time into the one
 * (inlined subroutine, lexical block) whose code holds pc, as
 * dwarf_getscopes would find them, without walking the whole unit.
 */
static int scopes_at(struct sym_module *sm, Dwarf_Addr pc, Dwarf_Die *chain, int cap)
{
	size_t lo = 0, hi = sm->nfr;
	while (lo < hi) {	/* the first range starting above pc */
		size_t mid = lo + (hi - lo) / 2;
		if (sm->fr[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || pc >= sm->fr[lo - 1].hi)
		return 0;
	Dwarf_Die path[SYM_SCOPES_MAX];
	int n = 0;
	if (!dwarf_offdie(sm->dw, sm->fr[lo - 1].die, &path[0]))
		return 0;
	for (n = 1; n < SYM_SCOPES_MAX;) {
		Dwarf_Die child;
		int found = 0;
		if (dwarf_child(&path[n - 1], &child) == 0) {
			do {
				if (dwarf_tag(&child) != DW_TAG_subprogram &&
				    dwarf_haspc(&child, pc) > 0) {
					found = 1;
					break;
				}
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		if (!found)
			break;
		path[n++] = child;
	}
	int k = n < cap ? n : cap;
	for (int i = 0; i < k; i++)
		chain[i] = path[n - 1 - i];
	return k;
}

static size_t dwarf_frames(struct symbolizer *z, struct sym_module *sm, Dwarf_Addr addr,
			   struct sym_frame *out, size_t cap)
{
	Dwarf_Die chain[SYM_SCOPES_MAX];
	size_t n = 0;
	if (sm->fr_state == 0)
		func_ranges_build(sm);
	if (sm->fr_state < 0)
		return 0;
	int nc = scopes_at(sm, addr - sm->dwbias, chain, SYM_SCOPES_MAX);
	if (nc <= 0)
		return 0;
	Dwarf_Files *files = NULL;
	Dwarf_Die cudie;
	const char *comp_dir = NULL;
	if (!dwarf_diecu(&chain[0], &cudie, NULL, NULL) ||
	    dwarf_getsrcfiles(&cudie, &files, NULL) != 0)
		files = NULL;
	else
		comp_dir = dwarf_formstring(dwarf_attr(&cudie, DW_AT_comp_dir, &(Dwarf_Attribute){0}));
	Dwarf_Die *inner = NULL;	/* the inlined subroutine of the frame before */
	for (int i = 0; i < nc && n < cap; i++) {
		int tag = dwarf_tag(&chain[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		struct sym_frame *f = &out[n];
		if (n > 0) {
			memset(f, 0, sizeof *f);
			uint32_t file = attr_u32(inner, DW_AT_call_file);
			if (files)
				f->file = full_path(z, comp_dir,
						    dwarf_filesrc(files, file, NULL, NULL));
			f->line = attr_u32(inner, DW_AT_call_line);
			f->column = attr_u32(inner, DW_AT_call_column);
		}
		frame_name(z, &chain[i], f);
		n++;
		if (tag == DW_TAG_subprogram)
			break;
		inner = &chain[i];
	}
	return n;
}

static int elf_vaddr_of(struct sym_module *sm, uint64_t file_offset, uint64_t *elf_vaddr)
{
	GElf_Addr bias;
	Elf *e = sm && sm->mod ? dwfl_module_getelf(sm->mod, &bias) : NULL;
	size_t n;
	if (!e || elf_getphdrnum(e, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (file_offset >= ph.p_offset && file_offset - ph.p_offset < ph.p_filesz) {
			*elf_vaddr = ph.p_vaddr + (file_offset - ph.p_offset);
			return 0;
		}
	}
	return -1;
}

static size_t elf_frames(struct symbolizer *z, struct sym_module *sm, uint64_t elf_vaddr,
			 struct sym_frame *out, size_t cap)
{
	if (!sm->mod)
		return 0;
	Dwarf_Addr addr = elf_vaddr + sm->bias;
	struct sym_frame *f = &out[0];
	memset(f, 0, sizeof *f);

	Dwfl_Line *line = dwfl_module_getsrc(sm->mod, addr);
	if (line) {
		int lineno = 0, col = 0;
		f->file = full_path(z, dwfl_line_comp_dir(line),
				    dwfl_lineinfo(line, NULL, &lineno, &col, NULL, NULL));
		f->line = lineno > 0 ? (uint32_t)lineno : 0;
		f->column = col > 0 ? (uint32_t)col : 0;
	}
	size_t n = dwarf_frames(z, sm, addr, out, cap);
	if (n > 0 && out[n - 1].function)
		return n;
	/* No DWARF function here: the symbol table (.symtab, .dynsym, or
	 * MiniDebugInfo's) names the outermost frame. */
	GElf_Sym sym;
	GElf_Off off;
	const char *name = dwfl_module_addrinfo(sm->mod, addr, &off, &sym, NULL, NULL, NULL);
	if (n == 0)
		n = 1;
	if (name) {
		out[n - 1].system_name = name;
		out[n - 1].function = demangle(z, name);
	} else if (!out[n - 1].function) {
		Dwarf_Addr b;
		const char *why = dwfl_module_getdwarf(sm->mod, &b) ? "no symbol covers them"
								    : dwfl_errmsg(-1);
		warn(z, sm, sm->name, "no names for some addresses", why);
		if (n == 1 && !out[0].file)
			return 0;
	}
	return n;
}

#endif /* HAVE_ELFUTILS */

int symbolizer_vaddr(struct sym_module *sm, uint64_t file_offset, uint64_t *elf_vaddr)
{
	if (!sm || !sm->usable || sm->pe)
		return -1;
#ifdef HAVE_ELFUTILS
	return elf_vaddr_of(sm, file_offset, elf_vaddr);
#else
	(void)file_offset;
	(void)elf_vaddr;
	return -1;
#endif
}

int symbolizer_is_pe(const struct sym_module *sm)
{
	return sm && sm->pe;
}

/* A PE module's frame: the export or COFF symbol at or below rva. */
static size_t pe_frames(struct sym_module *sm, uint64_t rva, struct sym_frame *out)
{
	const struct pe_sym *y = rva <= UINT32_MAX ? pe_symtab_lookup(&sm->pesyms, (uint32_t)rva) : NULL;
	if (!y)
		return 0;
	memset(out, 0, sizeof *out);
	out->function = out->system_name = sm->pesyms.names + y->name;
	return 1;
}

size_t symbolizer_frames(struct symbolizer *z, struct sym_module *sm, uint64_t addr,
			 struct sym_frame *out, size_t cap)
{
	owned_free(z);
	if (!sm || !sm->usable || cap == 0)
		return 0;
	if (sm->pe)
		return pe_frames(sm, addr, out);
#ifdef HAVE_ELFUTILS
	return elf_frames(z, sm, addr, out, cap);
#else
	return 0;
#endif
}


/* ---- addresses of one snapshot (portable: built with or without elfutils) ---- */

struct sym_snap {
	struct symbolizer *z;
	const struct snapshot *s;
	uint64_t pid;
	struct lookup *l;		/* for sym_snap_frames, made on first use */
	struct sym_module **mods;	/* per mapping: its module, once asked */
	unsigned char *asked;
};

struct sym_snap *sym_snap_new(struct symbolizer *z, const struct snapshot *s, uint64_t pid,
			      struct errmsg *err)
{
	struct sym_snap *ss = calloc(1, sizeof *ss);
	size_t n = s->n ? s->n : 1;
	if (ss) {
		ss->mods = calloc(n, sizeof(struct sym_module *));
		ss->asked = calloc(n, 1);
	}
	if (!ss || !ss->mods || !ss->asked) {
		sym_snap_free(ss);
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	ss->z = z;
	ss->s = s;
	ss->pid = pid;
	return ss;
}

void sym_snap_free(struct sym_snap *ss)
{
	if (!ss)
		return;
	lookup_free(ss->l);
	free(ss->mods);
	free(ss->asked);
	free(ss);
}

size_t sym_snap_answer(struct sym_snap *ss, const struct lookup_answer *a, struct sym_frame *out,
		       size_t cap)
{
	if (a->index < 0 || (size_t)a->index >= ss->s->n)
		return 0;
	size_t i = (size_t)a->index;
	if (!ss->asked[i]) {
		ss->asked[i] = 1;
		ss->mods[i] = symbolizer_module(ss->z, ss->s, i);
	}
	uint64_t vaddr;
	if (!ss->mods[i])
		return 0;
	if (symbolizer_is_pe(ss->mods[i]))	/* a PE image: RVAs */
		return a->has_rva ? symbolizer_frames(ss->z, ss->mods[i], a->rva, out, cap) : 0;
	/* The file read decides where its code lies; lookup's answer (from
	 * the process's memory, say) only where that file cannot. */
	if (symbolizer_vaddr(ss->mods[i], a->file_offset, &vaddr) < 0) {
		if (!a->has_elf_vaddr)
			return 0;
		vaddr = a->elf_vaddr;
	}
	return symbolizer_frames(ss->z, ss->mods[i], vaddr, out, cap);
}

size_t sym_snap_frames(struct sym_snap *ss, uint64_t address, struct sym_frame *out, size_t cap)
{
	struct lookup_answer a;
	struct errmsg err;
	if (!ss->l && !(ss->l = lookup_new(ss->s, ss->pid, &err)))
		return 0;
	lookup_address(ss->l, address, &a);
	return sym_snap_answer(ss, &a, out, cap);
}
