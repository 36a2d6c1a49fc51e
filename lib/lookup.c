/*
 * lookup.c - answering "which module, and which address for the
 * symbolizer" (lookup.h). The search is addrmap's; the program headers
 * come from the backend (module_loads: a live process) or from this
 * machine's file at the mapping's path (a saved snapshot), once per
 * mapping, on the first address that needs them.
 */
#include <stdlib.h>
#include <string.h>

#include "addrmap.h"
#include "buildid.h"
#include "elfhdr.h"
#include "lookup.h"
#include "platform.h"

enum { LOADS_UNREAD = 0, LOADS_NONE, LOADS_READ };

struct loads {
	int state;		/* LOADS_* */
	struct elf_load *v;	/* LOADS_READ: malloc'ed */
	size_t n;
};

struct lookup {
	const struct snapshot *s;
	uint64_t pid;		/* 0: a saved snapshot */
	int windows;		/* every record is a PE module */
	struct addrmap where;
	struct loads *loads;	/* per mapping */
};

int lookup_path_is_windows(const char *p)
{
	int letter = (p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z');
	return (letter && p[1] == ':' && (p[2] == '\\' || p[2] == '/')) ||
	       (p[0] == '\\' && p[1] == '\\');
}

struct lookup *lookup_new(const struct snapshot *s, uint64_t pid, struct errmsg *err)
{
	struct lookup *l = calloc(1, sizeof *l);
	struct addrmap_range *r = malloc((s->n ? s->n : 1) * sizeof *r);
	if (l)
		l->loads = calloc(s->n ? s->n : 1, sizeof *l->loads);
	if (!l || !r || !l->loads) {
		free(r);
		if (l)
			free(l->loads);
		free(l);
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < s->n; i++)
		r[i] = (struct addrmap_range){ s->map[i].start, s->map[i].limit };
	int rc = addrmap_build(&l->where, r, s->n);
	free(r);
	if (rc < 0) {
		free(l->loads);
		free(l);
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	l->s = s;
	l->pid = pid;
	l->windows = s->os && strcmp(s->os, "windows") == 0;
	return l;
}

void lookup_free(struct lookup *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->s->n; i++)
		free(l->loads[i].v);
	free(l->loads);
	addrmap_free(&l->where);
	free(l);
}

/*
 * A saved snapshot's file, read here only if it still is the file the
 * mapping had: its GNU or Go build ID is the mapping's. (A path+mtime ID
 * names no contents, so it vouches for nothing.)
 */
static int saved_loads(const struct snapshot *s, const struct mapping *m, struct elf_load *out,
		       size_t *n)
{
	const char *path = snapshot_str(s, m->file);
	const char *bid = snapshot_str(s, m->build_id);
	uint64_t size;
	if (!path[0] || !bid[0])
		return -1;
	struct platform_file *f = platform_file_open(path, &size);
	if (!f)
		return -1;
	struct bytesrc src = { platform_file_pread, f, NULL, size };
	struct identity id;
	const char *why;
	int rc = -1;
	memset(&id, 0, sizeof id);
	if (elf_identity(&src, &id) == 0 &&
	    ((id.gnu[0] && strcmp(id.gnu, bid) == 0) || (id.go[0] && strcmp(id.go, bid) == 0)))
		rc = elf_read_loads(&src, out, ELF_LOADS_MAX, n, &why);
	platform_file_close(f);
	return rc;
}

static const struct loads *loads_of(struct lookup *l, size_t i)
{
	struct loads *ld = &l->loads[i];
	if (ld->state != LOADS_UNREAD)
		return ld;
	ld->state = LOADS_NONE;
	struct elf_load *v = malloc(ELF_LOADS_MAX * sizeof *v);
	size_t n = 0;
	struct errmsg why;
	int rc = -1;
	if (v && l->pid)
		rc = module_loads(l->pid, l->s, i, v, ELF_LOADS_MAX, &n, &why);
	else if (v)
		rc = saved_loads(l->s, &l->s->map[i], v, &n);
	if (rc == 0) {
		ld->v = v;	/* ELF_LOADS_MAX entries: a few KiB a module */
		ld->n = n;
		ld->state = LOADS_READ;
	} else {
		free(v);
	}
	return ld;
}

void lookup_address(struct lookup *l, uint64_t addr, struct lookup_answer *a)
{
	memset(a, 0, sizeof *a);
	a->address = addr;
	a->index = addrmap_find(&l->where, addr);
	if (a->index < 0)
		return;
	const struct mapping *m = &l->s->map[a->index];
	a->file_offset = addr - m->start + m->offset;
	if (l->windows || lookup_path_is_windows(snapshot_str(l->s, m->file))) {
		a->has_rva = 1;
		a->rva = addr - m->start;
		return;
	}
	if (!m->file)
		return;	/* anonymous memory: no file to symbolize with */
	const struct loads *ld = loads_of(l, (size_t)a->index);
	if (ld->state == LOADS_READ)
		a->has_elf_vaddr = elf_vaddr_of_offset(ld->v, ld->n, a->file_offset,
						       &a->elf_vaddr) == 0;
}

int lookup_parse_address(const char *line, size_t len, uint64_t *addr)
{
	size_t i = 0, end = len;
	while (i < end && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\r'))
		end--;
	if (end - i >= 2 && line[i] == '0' && (line[i + 1] == 'x' || line[i + 1] == 'X'))
		i += 2;
	if (i == end)
		return -1;
	uint64_t v = 0;
	for (; i < end; i++) {
		unsigned c = (unsigned char)line[i];
		unsigned d = c - '0';
		if (d > 9) {
			d = (c | 0x20) - 'a';	/* 'A'..'F' to 'a'..'f' */
			if (d > 5)
				return -1;
			d += 10;
		}
		if (v >> 60)
			return -1;
		v = v << 4 | d;
	}
	*addr = v;
	return 0;
}

void lookup_emit_free(struct lookup_emit *c)
{
	free(c->off);
	free(c->len);
	buf_free(&c->parts);
	memset(c, 0, sizeof *c);
}

/*
 * Appends mapping i's constant part to b: from the cache, or rendered by
 * render into the cache first. Without memory for the cache, straight
 * into b.
 */
void lookup_emit_part(struct buf *b, const struct snapshot *s, size_t i, struct lookup_emit *c,
		      void (*render)(struct buf *, const struct snapshot *, const struct mapping *))
{
	if (!c->failed && c->n == 0 && s->n) {
		c->off = calloc(s->n, sizeof *c->off);
		c->len = calloc(s->n, sizeof *c->len);
		c->n = s->n;
		c->failed = !c->off || !c->len;
	}
	if (c->failed || i >= c->n) {
		render(b, s, &s->map[i]);
		return;
	}
	if (c->len[i] == 0) {
		size_t at = c->parts.len;
		render(&c->parts, s, &s->map[i]);
		if (c->parts.oom) {
			c->failed = 1;
			render(b, s, &s->map[i]);
			return;
		}
		c->off[i] = at;
		c->len[i] = c->parts.len - at;
		if (c->len[i] == 0)
			return;	/* nothing to say, nothing cached */
	}
	buf_put(b, c->parts.p + c->off[i], c->len[i]);
}
