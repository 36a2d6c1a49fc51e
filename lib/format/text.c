/*
 * format/text.c - the human-readable listing: a header line per process, then
 * one line per mapping with aligned columns (start, limit, offset, build ID,
 * file). Control characters in names are escaped, so one line is always
 * one record; so are backslashes in Linux names, to keep escapes
 * unambiguous. Windows names keep their backslashes: they are its path
 * separator, and Win32 names cannot hold control characters to confuse.
 */
#include <string.h>

#include "format/emit.h"
#include "jit.h"
#include "lookup.h"
#include "symbolize.h"
#include "utf8.h"

/*
 * Appends str with C-style escapes for what a terminal would act on or
 * what would break a line: C0 and C1 control characters (U+0080..U+009F
 * too: some terminals take them as escape sequences), DEL, bytes that are
 * not UTF-8 (a terminal in a legacy code page reads 0x9b as CSI), and,
 * unless snapshot s is a Windows one, '\'. Other characters pass as UTF-8.
 */
static void put_escaped(struct buf *b, const struct snapshot *s, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	int windows = strcmp(s->os, "windows") == 0;
	const unsigned char *p = (const unsigned char *)str;
	size_t len = strlen(str);
	for (size_t i = 0; i < len;) {
		/* Printable ASCII (but '\\' on Linux) passes: copy the run. */
		size_t j = i;
		while (j < len && p[j] >= 0x20 && p[j] < 0x7f && (p[j] != '\\' || windows))
			j++;
		buf_put(b, p + i, j - i);
		if (j == len)
			break;
		i = j;
		uint32_t c;
		size_t n = utf8_decode(p + i, len - i, &c);
		if (n == 0) {
			const char e[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };
			buf_put(b, e, 4);
			i++;
			continue;
		}
		if (c == '\\' && !windows) {
			buf_put(b, "\\\\", 2);
		} else if (c == '\n') {
			buf_put(b, "\\n", 2);
		} else if (c == '\t') {
			buf_put(b, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			const char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
			buf_put(b, e, 4);
		} else if ((c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029) {
			/* C1; line breaks to some */
			const char e[6] = { '\\', 'u', hex[c >> 12], hex[c >> 8 & 15], hex[c >> 4 & 15],
					    hex[c & 15] };
			buf_put(b, e, 6);
		} else {
			buf_put(b, p + i, n);
		}
		i += n;
	}
}

static size_t hex_width(uint64_t v)
{
	size_t n = 3;	/* "0x" and one digit */
	while (v >>= 4)
		n++;
	return n;
}

static void pad(struct buf *b, size_t have, size_t want)
{
	if (have < want)
		buf_fill(b, ' ', want - have);
}

static void put_col_hex(struct buf *b, uint64_t v, size_t width)
{
	buf_hex(b, v);
	pad(b, hex_width(v), width + 1);
}

/* With --jit: a header line, then "start size source name" a symbol. */
static void put_jit(struct buf *b, const struct snapshot *s, const struct jit_table *t)
{
	size_t ws = 5, wz = 4;
	for (size_t i = 0; i < t->nlive; i++) {
		const struct jit_sym *j = &t->sym[t->live[i]];
		if (hex_width(j->start) > ws)
			ws = hex_width(j->start);
		if (hex_width(j->size) > wz)
			wz = hex_width(j->size);
	}
	buf_printf(b, "jit: %zu symbol%s\n", t->nlive, t->nlive == 1 ? "" : "s");
	if (!t->nlive)
		return;
	buf_puts(b, "start");
	pad(b, 5, ws + 1);
	buf_puts(b, "size");
	pad(b, 4, wz + 1);
	buf_puts(b, "source   name\n");
	for (size_t i = 0; i < t->nlive; i++) {
		const struct jit_sym *j = &t->sym[t->live[i]];
		put_col_hex(b, j->start, ws);
		put_col_hex(b, j->size, wz);
		const char *src = jit_source_name(j->source);
		buf_puts(b, src);
		pad(b, strlen(src), 9);
		put_escaped(b, s, jit_str(t, j->name));
		buf_putc(b, '\n');
	}
}

/*
 * The build_id column: a path+mtime ID is shown as its mtime part, since
 * its path is the file column's already (JSON and the others keep the
 * ID whole). An ID whose path is not the file's stays whole.
 */
static const char *text_build_id(const struct snapshot *s, const struct mapping *m)
{
	const char *bid = snapshot_str(s, m->build_id);
	const char *file = snapshot_str(s, m->file);
	size_t n = strlen(file);
	if (m->bid_kind == BIDK_PATH_MTIME && n && strncmp(bid, file, n) == 0 && bid[n])
		return bid + n;
	return bid;
}

static void put_snapshot(struct buf *b, const struct snapshot *s)
{
	size_t ws = 5, wl = 5, wo = 6, wb = 8;	/* header widths */
	for (size_t i = 0; i < s->n; i++) {
		const struct mapping *m = &s->map[i];
		size_t bl = strlen(text_build_id(s, m));
		if (hex_width(m->start) > ws)
			ws = hex_width(m->start);
		if (hex_width(m->limit) > wl)
			wl = hex_width(m->limit);
		if (hex_width(m->offset) > wo)
			wo = hex_width(m->offset);
		if (bl > wb)
			wb = bl;
	}
	buf_printf(b, "pid %llu (%s) ", (unsigned long long)s->pid, s->os);
	put_escaped(b, s, s->exe ? snapshot_str(s, s->exe) : "?");
	buf_printf(b, ": %zu mapping%s\n", s->n, s->n == 1 ? "" : "s");
	/* Which process: key=value, the one free-form value (the path) last. */
	buf_puts(b, "comm=");
	put_escaped(b, s, s->comm ? snapshot_str(s, s->comm) : "-");
	buf_printf(b, " ns_pid=%llu container_id=%s cgroup=", (unsigned long long)s->ns_pid,
		   s->container_id ? snapshot_str(s, s->container_id) : "-");
	put_escaped(b, s, s->cgroup ? snapshot_str(s, s->cgroup) : "-");
	buf_putc(b, '\n');
	buf_puts(b, "start");
	pad(b, 5, ws + 1);
	buf_puts(b, "limit");
	pad(b, 5, wl + 1);
	buf_puts(b, "offset");
	pad(b, 6, wo + 1);
	buf_puts(b, "build_id");
	pad(b, 8, wb + 1);
	buf_puts(b, "file\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct mapping *m = &s->map[i];
		const char *bid = text_build_id(s, m);
		put_col_hex(b, m->start, ws);
		put_col_hex(b, m->limit, wl);
		put_col_hex(b, m->offset, wo);
		if (!*bid)
			bid = "-";
		size_t before = b->len;
		put_escaped(b, s, bid);
		pad(b, b->len - before, wb + 1);
		put_escaped(b, s, snapshot_str(s, m->file));
		if (m->flags & MAPF_DELETED)
			buf_puts(b, " (deleted)");
		buf_putc(b, '\n');
	}
	if (s->jit)
		put_jit(b, s, s->jit);
}

int emit_text(struct buf *b, const struct snapshot *s, size_t n, struct errmsg *err)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, '\n');
		put_snapshot(b, &s[i]);
	}
	if (b->oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * A lookup answer on one line: the address, then key=value pairs, then the
 * file last (it may hold spaces): "0x7f3a1c2d1136 file_offset=0x1136
 * elf_vaddr=0x101136 build_id=ab12... /usr/lib/libfoo.so", or "ADDRESS
 * unmapped".
 */
static void lookup_text_part(struct buf *b, const struct snapshot *s, const struct mapping *m)
{
	if (m->build_id) {
		buf_puts(b, " build_id=");
		put_escaped(b, s, snapshot_str(s, m->build_id));
	}
	buf_putc(b, ' ');
	put_escaped(b, s, m->file ? snapshot_str(s, m->file) : "[anon]");
}

/*
 * lookup --symbolize, --jit: a line a frame, each outer one the function
 * the one before it was inlined into.
 */
static void put_answer_frames(struct buf *b, const struct snapshot *s,
			      const struct lookup_answer *a)
{
	for (size_t i = 0; a->symbolized && i < a->nsymbols; i++) {
		const struct sym_frame *f = &a->symbols[i];
		buf_puts(b, i ? "\n    inlined into " : "\n  ");
		put_escaped(b, s, f->function ? f->function : "??");
		buf_putc(b, ' ');
		put_escaped(b, s, f->file ? f->file : "??");
		buf_putc(b, ':');
		buf_dec(b, f->line);
	}
}

void emit_lookup_text(struct buf *b, const struct snapshot *s, const struct lookup_answer *a,
		      struct lookup_emit *c)
{
	buf_hex(b, a->address);
	if (a->index < 0) {
		buf_puts(b, " unmapped");
		put_answer_frames(b, s, a);
		return;
	}
	buf_puts(b, " file_offset=");
	buf_hex(b, a->file_offset);
	if (a->has_elf_vaddr) {
		buf_puts(b, " elf_vaddr=");
		buf_hex(b, a->elf_vaddr);
	}
	if (a->has_rva) {
		buf_puts(b, " rva=");
		buf_hex(b, a->rva);
	}
	lookup_emit_part(b, s, (size_t)a->index, c, lookup_text_part);
	put_answer_frames(b, s, a);
}
