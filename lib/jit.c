/*
 * jit.c - the symbol table of JIT-compiled code and its two readers, the
 * perf map and jitdump (see jit.h and docs/jit.md). Finding and opening
 * those files is the backend's (os/linux.c); nothing here does I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "jit.h"

/* Records read from one jitdump, whatever its size: a bound on time. */
#define JITDUMP_RECORDS_MAX ((size_t)1 << 24)
/* The most of one record read: a LOAD's name, a DEBUG_INFO's entries. */
#define JITDUMP_WINDOW ((size_t)1 << 20)

const char *jit_source_name(int source)
{
	return source == JIT_JITDUMP ? "jitdump" : "perf-map";
}

void jit_table_init(struct jit_table *t)
{
	memset(t, 0, sizeof *t);
}

void jit_table_free(struct jit_table *t)
{
	free(t->sym);
	free(t->line);
	free(t->seg);
	free(t->live);
	buf_free(&t->str);
	memset(t, 0, sizeof *t);
}

/* Copies a name into the string store: its offset, or -1 past the bound. */
static long str_add(struct jit_table *t, const char *s, size_t len)
{
	if (t->str.len + len + 1 > JIT_STRINGS_MAX)
		return -1;
	size_t off = t->str.len;
	buf_put(&t->str, s, len);
	buf_putc(&t->str, 0);
	if (t->str.oom) {
		t->oom = 1;
		t->str.len = off;
		return -1;
	}
	return (long)off;
}

static void *grow(void *p, size_t *cap, size_t n, size_t sz, int *oom)
{
	if (n < *cap)
		return p;
	size_t ncap = *cap ? 2 * *cap : 64;
	void *q = ncap <= SIZE_MAX / sz ? realloc(p, ncap * sz) : NULL;
	if (!q) {
		*oom = 1;
		return NULL;
	}
	*cap = ncap;
	return q;
}

long jit_add(struct jit_table *t, uint64_t start, uint64_t size, const char *name, size_t len,
	     int source)
{
	if (size == 0 || start + size < start || t->n >= JIT_SYMBOLS_MAX) {
		t->dropped++;
		return -1;
	}
	struct jit_sym *sym = grow(t->sym, &t->cap, t->n, sizeof *t->sym, &t->oom);
	if (!sym) {
		t->dropped++;
		return -1;
	}
	t->sym = sym;
	if (len > JIT_NAME_MAX)
		len = JIT_NAME_MAX;
	long off = str_add(t, name, len);
	if (off < 0) {
		t->dropped++;
		return -1;
	}
	struct jit_sym *s = &t->sym[t->n];
	memset(s, 0, sizeof *s);
	s->start = start;
	s->size = size;
	s->name = (uint32_t)off;
	s->name_len = (uint32_t)len;
	s->source = (uint8_t)source;
	return (long)t->n++;
}

/* A line at the end of the line table; its file is the previous one's if equal. */
static int line_push(struct jit_table *t, uint64_t addr, uint32_t lineno, const char *file,
		     size_t len)
{
	if (t->nline >= JIT_LINES_MAX)
		return -1;
	struct jit_line *l = grow(t->line, &t->line_cap, t->nline, sizeof *t->line, &t->oom);
	if (!l)
		return -1;
	t->line = l;
	if (len > JIT_NAME_MAX)
		len = JIT_NAME_MAX;
	const struct jit_line *prev = t->nline ? &t->line[t->nline - 1] : NULL;
	uint32_t off;
	if (prev && prev->file_len == len && memcmp(jit_str(t, prev->file), file, len) == 0) {
		off = prev->file;
	} else {
		long o = str_add(t, file, len);
		if (o < 0)
			return -1;
		off = (uint32_t)o;
	}
	t->line[t->nline++] = (struct jit_line){ addr, lineno, off, (uint32_t)len };
	return 0;
}

int jit_add_line(struct jit_table *t, size_t i, uint64_t addr, uint32_t lineno,
		 const char *file, size_t len)
{
	if (i >= t->n || i + 1 != t->n)
		return -1;
	struct jit_sym *s = &t->sym[i];
	if (s->nline == 0)
		s->line = (uint32_t)t->nline;
	else if (s->line + s->nline != t->nline)
		return -1;
	if (line_push(t, addr, lineno, file, len) < 0)
		return -1;
	s->nline++;
	return 0;
}

/* ---- finishing: who owns each address ------------------------------------ */

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int line_cmp(const void *a, const void *b)
{
	const struct jit_line *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

struct ikey {
	uint64_t k;
	uint32_t i;
};

static int ikey_cmp(const void *a, const void *b)
{
	const struct ikey *x = a, *y = b;
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* A max-heap of symbol indices: the latest record on top. */
static void heap_push(uint32_t *h, size_t *n, uint32_t v)
{
	size_t i = (*n)++;
	while (i && h[(i - 1) / 2] < v) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static void heap_pop(uint32_t *h, size_t *n)
{
	uint32_t v = h[--*n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] > h[c])
			c++;
		if (h[c] <= v)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = v;
}

/*
 * A MOVE is named as the latest LOAD of the same code (code_index) before
 * it; one with none is dropped (size 0: owns nothing).
 */
static int name_moves(struct jit_table *t)
{
	size_t nl = 0, i;
	for (i = 0; i < t->n; i++)
		nl += t->sym[i].source == JIT_JITDUMP && !t->sym[i].moved;
	if (nl == t->n)
		return 0;
	struct ikey *k = malloc((nl ? nl : 1) * sizeof *k);
	if (!k)
		return -1;
	nl = 0;
	for (i = 0; i < t->n; i++)
		if (t->sym[i].source == JIT_JITDUMP && !t->sym[i].moved)
			k[nl++] = (struct ikey){ t->sym[i].code_index, (uint32_t)i };
	qsort(k, nl, sizeof *k, ikey_cmp);
	for (i = 0; i < t->n; i++) {
		struct jit_sym *s = &t->sym[i];
		if (!s->moved)
			continue;
		size_t lo = 0, hi = nl;	/* first key above (code_index, i) */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (k[mid].k < s->code_index || (k[mid].k == s->code_index && k[mid].i < i))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0 || k[lo - 1].k != s->code_index) {
			s->size = 0;
			t->dropped++;
			continue;
		}
		const struct jit_sym *from = &t->sym[k[lo - 1].i];
		s->name = from->name;
		s->name_len = from->name_len;
	}
	free(k);
	return 0;
}

int jit_finish(struct jit_table *t)
{
	free(t->seg);
	free(t->live);
	t->seg = NULL;
	t->live = NULL;
	t->nseg = t->nlive = 0;
	if (t->oom || name_moves(t) < 0) {
		t->oom = 1;
		return -1;
	}
	size_t n = t->n, nb = 0, nh = 0, next = 0;
	uint64_t *b = malloc((n ? 2 * n : 1) * sizeof *b);
	struct ikey *by_start = malloc((n ? n : 1) * sizeof *by_start);
	uint32_t *heap = malloc((n ? n : 1) * sizeof *heap);
	struct jit_seg *seg = malloc((n ? 2 * n : 1) * sizeof *seg);
	if (!b || !by_start || !heap || !seg) {
		free(b);
		free(by_start);
		free(heap);
		free(seg);
		t->oom = 1;
		return -1;
	}
	size_t ns = 0;
	for (size_t i = 0; i < n; i++) {
		struct jit_sym *s = &t->sym[i];
		s->live = 0;
		if (s->size == 0)
			continue;
		b[nb++] = s->start;
		b[nb++] = s->start + s->size;
		by_start[ns++] = (struct ikey){ s->start, (uint32_t)i };
		if (s->nline > 1)
			qsort(t->line + s->line, s->nline, sizeof *t->line, line_cmp);
	}
	qsort(b, nb, sizeof *b, u64_cmp);
	qsort(by_start, ns, sizeof *by_start, ikey_cmp);

	/* Sweep the boundaries; between two, the latest symbol still open owns. */
	size_t nseg = 0;
	for (size_t j = 0; j < nb; j++) {
		uint64_t at = b[j];
		if (j && b[j - 1] == at)
			continue;
		while (next < ns && by_start[next].k == at)
			heap_push(heap, &nh, by_start[next++].i);
		while (nh && t->sym[heap[0]].start + t->sym[heap[0]].size <= at)
			heap_pop(heap, &nh);
		if (!nh)
			continue;
		size_t k = j + 1;
		while (k < nb && b[k] == at)
			k++;
		uint64_t end = k < nb ? b[k] : at;	/* k < nb: an open symbol ends later */
		uint32_t owner = heap[0];
		if (nseg && seg[nseg - 1].sym == owner && seg[nseg - 1].end == at)
			seg[nseg - 1].end = end;
		else
			seg[nseg++] = (struct jit_seg){ at, end, owner };
		t->sym[owner].live = 1;
	}
	free(b);
	free(heap);
	t->seg = seg;
	t->nseg = nseg;
	/* by_start becomes the list of live symbols, in the same order. */
	uint32_t *live = (uint32_t *)by_start;
	size_t nlive = 0;
	for (size_t i = 0; i < ns; i++)
		if (t->sym[by_start[i].i].live)
			live[nlive++] = by_start[i].i;
	t->live = live;
	t->nlive = nlive;
	return 0;
}

const struct jit_sym *jit_lookup(const struct jit_table *t, uint64_t addr)
{
	size_t lo = 0, hi = t->nseg;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->seg[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= t->seg[lo - 1].end)
		return NULL;
	return &t->sym[t->seg[lo - 1].sym];
}

const struct jit_line *jit_line_at(const struct jit_table *t, const struct jit_sym *sym,
				   uint64_t addr)
{
	const struct jit_line *l = t->line + sym->line;
	size_t lo = 0, hi = sym->nline;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Before its first line, an address has the first one's. */
	if (sym->nline == 0)
		return NULL;
	return lo ? &l[lo - 1] : &l[0];
}

/* ---- the perf map --------------------------------------------------------- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A hex number at *p (0x optional): 1 and *p past it, 0 when none or too big. */
static int hex_field(const char **p, const char *end, uint64_t *v)
{
	const char *q = *p;
	if (end - q >= 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
		q += 2;
	uint64_t x = 0;
	const char *digits = q;
	for (; q < end; q++) {
		int d;
		if (*q >= '0' && *q <= '9')
			d = *q - '0';
		else if (*q >= 'a' && *q <= 'f')
			d = *q - 'a' + 10;
		else if (*q >= 'A' && *q <= 'F')
			d = *q - 'A' + 10;
		else
			break;
		if (x >> 60)
			return 0;
		x = x << 4 | (uint64_t)d;
	}
	if (q == digits)
		return 0;
	*v = x;
	*p = q;
	return 1;
}

int perfmap_parse_line(const char *line, size_t len, uint64_t *start, uint64_t *size,
		       const char **name, size_t *name_len)
{
	const char *p = line, *end = line + len;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	while (p < end && is_blank(*p))
		p++;
	if (!hex_field(&p, end, start) || p == end || !is_blank(*p))
		return 0;
	while (p < end && is_blank(*p))
		p++;
	if (!hex_field(&p, end, size) || p == end || !is_blank(*p))
		return 0;
	while (p < end && is_blank(*p))
		p++;
	if (p == end)
		return 0;
	*name = p;
	*name_len = (size_t)(end - p);
	return 1;
}

void perfmap_parse(struct jit_table *t, const char *p, size_t len)
{
	const char *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		uint64_t start, size;
		const char *name;
		size_t nlen;
		if (perfmap_parse_line(p, (size_t)(e - p), &start, &size, &name, &nlen))
			jit_add(t, start, size, name, nlen, JIT_PERF_MAP);
		else
			t->dropped++;
		p = nl ? nl + 1 : end;
	}
}

/* ---- jitdump --------------------------------------------------------------- */

static uint32_t rd32(const unsigned char *p, int swap)
{
	if (swap)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint64_t rd64(const unsigned char *p, int swap)
{
	uint64_t lo = rd32(p, swap), hi = rd32(p + 4, swap);
	return swap ? lo << 32 | hi : hi << 32 | lo;
}

int jitdump_parse_header(const unsigned char *p, size_t len, struct jitdump_header *h,
			 const char **why)
{
	memset(h, 0, sizeof *h);
	if (len < JITDUMP_HEADER_SIZE) {
		*why = "too short for a jitdump header";
		return -1;
	}
	if (rd32(p, 0) == JITDUMP_MAGIC)
		h->swap = 0;
	else if (rd32(p, 1) == JITDUMP_MAGIC)
		h->swap = 1;
	else {
		*why = "not a jitdump (bad magic)";
		return -1;
	}
	h->version = rd32(p + 4, h->swap);
	h->total_size = rd32(p + 8, h->swap);
	h->elf_mach = rd32(p + 12, h->swap);
	h->pid = rd32(p + 20, h->swap);
	h->timestamp = rd64(p + 24, h->swap);
	h->flags = rd64(p + 32, h->swap);
	if (h->total_size < JITDUMP_HEADER_SIZE) {
		*why = "jitdump header size smaller than the header";
		return -1;
	}
	return 0;
}

/* Offsets in the records, from the record's first byte. */
enum {
	LOAD_CODE_ADDR = 32,	/* after pid, tid and vma */
	LOAD_CODE_SIZE = 40,
	LOAD_CODE_INDEX = 48,
	LOAD_NAME = 56,
	MOVE_NEW_CODE_ADDR = 40,	/* after pid, tid, vma and old_code_addr */
	MOVE_CODE_SIZE = 48,
	MOVE_CODE_INDEX = 56,
	MOVE_SIZE = 64,
	DEBUG_CODE_ADDR = 16,
	DEBUG_NR_ENTRY = 24,
	DEBUG_ENTRIES = 32,
	DEBUG_ENTRY_NAME = 16,	/* in an entry: addr, lineno, discrim, then the name */
};

static int record_load(struct jit_table *t, const struct jitdump_header *h,
		       const unsigned char *p, size_t len)
{
	if (len < LOAD_NAME + 1)
		return -1;
	const unsigned char *name = p + LOAD_NAME;
	const unsigned char *nul = memchr(name, 0, len - LOAD_NAME);
	if (!nul)
		return -1;
	uint64_t addr = rd64(p + LOAD_CODE_ADDR, h->swap);
	long i = jit_add(t, addr, rd64(p + LOAD_CODE_SIZE, h->swap), (const char *)name,
			 (size_t)(nul - name), JIT_JITDUMP);
	if (i >= 0) {
		t->sym[i].code_index = rd64(p + LOAD_CODE_INDEX, h->swap);
		if (t->pending_n && t->pending_addr == addr &&
		    t->pending_line + t->pending_n == t->nline) {
			/* Only lines inside the code it loads. */
			size_t k = t->pending_line;
			for (size_t j = t->pending_line; j < t->nline; j++)
				if (t->line[j].addr - addr < t->sym[i].size)
					t->line[k++] = t->line[j];
			t->nline = k;
			t->sym[i].line = (uint32_t)t->pending_line;
			t->sym[i].nline = (uint32_t)(k - t->pending_line);
		}
	}
	t->pending_n = 0;
	return 0;
}

static int record_move(struct jit_table *t, const struct jitdump_header *h,
		       const unsigned char *p, size_t len)
{
	if (len < MOVE_SIZE)
		return -1;
	long i = jit_add(t, rd64(p + MOVE_NEW_CODE_ADDR, h->swap),
			 rd64(p + MOVE_CODE_SIZE, h->swap), "", 0, JIT_JITDUMP);
	if (i >= 0) {
		t->sym[i].code_index = rd64(p + MOVE_CODE_INDEX, h->swap);
		t->sym[i].moved = 1;
	}
	return 0;
}

/* No compiled function is larger: a bound on a debug entry's offset. */
#define DEBUG_CODE_MAX ((uint64_t)1 << 30)

/* len when name is printable text (UTF-8 allowed), else 0: no file. */
static size_t text_len(const unsigned char *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return len;
}

/* The lines wait for the LOAD of the same code, which comes next. */
static int record_debug(struct jit_table *t, const struct jitdump_header *h,
			const unsigned char *p, size_t len)
{
	if (len < DEBUG_ENTRIES)
		return -1;
	t->nline = t->pending_n ? t->pending_line : t->nline;	/* an unclaimed one goes */
	t->pending_n = 0;
	t->pending_addr = rd64(p + DEBUG_CODE_ADDR, h->swap);
	t->pending_line = t->nline;
	uint64_t nr = rd64(p + DEBUG_NR_ENTRY, h->swap);
	size_t off = DEBUG_ENTRIES;
	const char *file = "";
	size_t file_len = 0;
	int bad = 0;
	for (uint64_t k = 0; k < nr; k++) {
		if (len - off < DEBUG_ENTRY_NAME + 1) {
			bad = 1;
			break;
		}
		const unsigned char *e = p + off, *name = e + DEBUG_ENTRY_NAME;
		const unsigned char *nul = memchr(name, 0, len - off - DEBUG_ENTRY_NAME);
		if (!nul) {
			bad = 1;
			break;
		}
		/*
		 * An address outside the code means the entries before were
		 * misframed (Node 20 writes some names with NULs inside): the
		 * rest of the record is not trusted.
		 */
		uint64_t addr = rd64(e, h->swap);
		if (addr < t->pending_addr || addr - t->pending_addr > DEBUG_CODE_MAX) {
			bad = 1;
			break;
		}
		/* "\xff" alone: the same file as the entry before. */
		if (!(nul - name == 1 && name[0] == 0xff)) {
			file = (const char *)name;
			file_len = text_len(name, (size_t)(nul - name));
		}
		if (line_push(t, addr, rd32(e + 8, h->swap), file, file_len) < 0)
			break;
		off = (size_t)(nul + 1 - p);
	}
	t->pending_n = t->nline - t->pending_line;
	return bad ? -1 : 0;
}

int jitdump_parse_record(struct jit_table *t, const struct jitdump_header *h,
			 const unsigned char *p, size_t avail)
{
	if (avail < JITDUMP_RECORD_HEADER_SIZE)
		return -1;
	uint32_t id = rd32(p, h->swap), total = rd32(p + 4, h->swap);
	size_t len = avail < total ? avail : total;
	if (total < JITDUMP_RECORD_HEADER_SIZE)
		return -1;
	switch (id) {
	case JIT_CODE_LOAD:
		return record_load(t, h, p, len) < 0 ? -1 : 1;
	case JIT_CODE_MOVE:
		return record_move(t, h, p, len) < 0 ? -1 : 1;
	case JIT_CODE_DEBUG_INFO:
		return record_debug(t, h, p, len) < 0 ? -1 : 1;
	case JIT_CODE_CLOSE:
		return 0;
	default:
		return 1;
	}
}

/* A window over the file: the bytes at [off, off+len) as far as there are. */
struct window {
	jitdump_read_fn read_at;
	void *ctx;
	unsigned char *p;
	uint64_t off;
	size_t len;
};

static long window_get(struct window *w, uint64_t off, size_t need, const unsigned char **out)
{
	if (!(off >= w->off && off - w->off <= w->len && w->len - (off - w->off) >= need)) {
		w->off = off;
		w->len = 0;
		while (w->len < JITDUMP_WINDOW) {
			long got = w->read_at(w->ctx, off + w->len, w->p + w->len,
					      JITDUMP_WINDOW - w->len);
			if (got < 0)
				return -1;
			if (got == 0)
				break;
			w->len += (size_t)got;
		}
	}
	size_t have = w->len - (size_t)(off - w->off);
	*out = w->p + (off - w->off);
	return (long)(have < need ? have : need);
}

int jitdump_read(struct jit_table *t, jitdump_read_fn read_at, void *ctx, const char **why)
{
	struct window w = { read_at, ctx, malloc(JITDUMP_WINDOW), 0, 0 };
	struct jitdump_header h;
	const unsigned char *p;
	int rc = -1;
	if (!w.p) {
		t->oom = 1;
		*why = "out of memory";
		return -1;
	}
	long got = window_get(&w, 0, JITDUMP_HEADER_SIZE, &p);
	if (got < 0) {
		*why = "read error";
		goto done;
	}
	if (jitdump_parse_header(p, (size_t)got, &h, why) < 0)
		goto done;
	uint64_t off = h.total_size;
	for (size_t k = 0; k < JITDUMP_RECORDS_MAX; k++) {
		if ((got = window_get(&w, off, JITDUMP_RECORD_HEADER_SIZE, &p)) < 0) {
			*why = "read error";
			goto done;
		}
		if (got < JITDUMP_RECORD_HEADER_SIZE)
			break;	/* the end, or a header cut short */
		uint32_t total = rd32(p + 4, h.swap);
		if (total < JITDUMP_RECORD_HEADER_SIZE)
			break;	/* no way to the next record */
		size_t want = total < JITDUMP_WINDOW ? total : JITDUMP_WINDOW;
		if ((got = window_get(&w, off, want, &p)) < 0) {
			*why = "read error";
			goto done;
		}
		if ((size_t)got < want)
			break;	/* cut short: the runtime is still writing it */
		if (jitdump_parse_record(t, &h, p, want) == 0)
			break;
		off += total;
	}
	rc = 0;
done:
	free(w.p);
	return rc;
}

struct membytes {
	const unsigned char *p;
	size_t len;
};

static long mem_read_at(void *ctx, uint64_t off, void *buf, size_t cap)
{
	const struct membytes *m = ctx;
	if (off >= m->len)
		return 0;
	size_t n = m->len - (size_t)off < cap ? m->len - (size_t)off : cap;
	memcpy(buf, m->p + off, n);
	return (long)n;
}

int jitdump_parse(struct jit_table *t, const unsigned char *p, size_t len, const char **why)
{
	struct membytes m = { p, len };
	return jitdump_read(t, mem_read_at, &m, why);
}
