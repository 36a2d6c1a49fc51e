/*
 * snapshot.c - the record store: a growable array of mappings and one string
 * arena; and the library's calls into the OS backend (os/os.h), where a
 * call the backend leaves NULL fails as unsupported. Portable; no OS code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit.h"
#include "os/os.h"
#include "region.h"
#include "snapshot.h"

void snapshot_init(struct snapshot *s)
{
	memset(s, 0, sizeof *s);
}

void snapshot_free(struct snapshot *s)
{
	if (s->jit) {
		jit_table_free(s->jit);
		free(s->jit);
	}
	free(s->map);
	free(s->arena);
	memset(s, 0, sizeof *s);
}

struct mapping *snapshot_add(struct snapshot *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct mapping *m = realloc(s->map, cap * sizeof *m);
		if (!m)
			return NULL;
		s->map = m;
		s->cap = cap;
	}
	memset(&s->map[s->n], 0, sizeof s->map[0]);
	return &s->map[s->n++];
}

/* Room for n more arena bytes (the arena may move); 0, or -1. */
static int arena_reserve(struct snapshot *s, size_t n)
{
	if (s->arena && s->size - s->used >= n)
		return 0;
	size_t used = s->arena ? s->used : 1;	/* offset 0 is "" */
	size_t size = s->size ? s->size : 4096;
	while (size - used < n) {
		if (size > UINT32_MAX / 2)
			return -1;
		size *= 2;
	}
	char *a = realloc(s->arena, size);
	if (!a)
		return -1;
	if (!s->arena)
		a[0] = '\0';
	s->arena = a;
	s->size = size;
	s->used = used;
	return 0;
}

uint32_t snapshot_intern(struct snapshot *s, const char *p, size_t len)
{
	if (len == 0)
		return 0;
	if (arena_reserve(s, len + 1) < 0)
		return UINT32_MAX;
	uint32_t off = (uint32_t)s->used;
	memcpy(s->arena + off, p, len);
	s->arena[off + len] = '\0';
	s->used += len + 1;
	return off;
}

uint32_t snapshot_intern_after(struct snapshot *s, uint32_t first, const char *second)
{
	size_t fl = strlen(snapshot_str(s, first)), sl = strlen(second);
	if (fl + sl == 0)
		return 0;
	if (arena_reserve(s, fl + sl + 1) < 0)
		return UINT32_MAX;
	uint32_t off = (uint32_t)s->used;
	/* By offset: reserving may have moved the arena. */
	memmove(s->arena + off, s->arena + first, fl);
	memcpy(s->arena + off + fl, second, sl + 1);
	s->used += fl + sl + 1;
	return off;
}

int snapshot_set(struct snapshot *s, uint32_t *field, const char *text)
{
	uint32_t off = snapshot_intern_str(s, text);
	if (off == UINT32_MAX)
		return -1;
	*field = off;
	return 0;
}

uint32_t snapshot_intern_str(struct snapshot *s, const char *p)
{
	return snapshot_intern(s, p, strlen(p));
}

void perm_string(uint32_t prot, char out[5])
{
	out[0] = prot & PERM_R ? 'r' : '-';
	out[1] = prot & PERM_W ? 'w' : '-';
	out[2] = prot & PERM_X ? 'x' : '-';
	out[3] = prot & PERM_SHARED ? 's' : 'p';
	out[4] = '\0';
}

const char *bid_kind_name(enum bid_kind k)
{
	switch (k) {
	case BIDK_GNU:
		return "gnu";
	case BIDK_GO:
		return "go";
	case BIDK_PDB:
		return "pdb";
	case BIDK_PE_IMAGE:
		return "pe-image";
	case BIDK_PATH_MTIME:
		return "path-mtime";
	case BIDK_PATH:
		return "path";
	case BIDK_HTLHASH:
		return "htlhash";
	case BIDK_NONE:
		break;
	}
	return "none";
}

void pidlist_add(struct pidlist *l, uint64_t pid)
{
	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		uint64_t *v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			l->oom = 1;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = pid;
}

static int cmp_pid(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int pidlist_finish(struct pidlist *l, uint64_t **pids, size_t *n, struct errmsg *err)
{
	if (l->oom) {
		free(l->v);
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_pid);
	*pids = l->v;
	*n = l->n;
	return 0;
}

/* ---- the backend's calls (os/os.h) ---------------------------------------- */

/* "pid N: " before a reason, or nothing for pid 0 (no PID to name). */
static void err_unsupported(struct errmsg *err, uint64_t pid, const char *what)
{
	if (pid)
		err_setc(err, ERR_UNSUPPORTED, "pid %llu: %s: not supported on this system",
			 (unsigned long long)pid, what);
	else
		err_setc(err, ERR_UNSUPPORTED, "%s: not supported on this system", what);
}

enum read_status snapshot_read(struct snapshot *s, uint64_t pid, const struct read_opts *o,
			       struct errmsg *err)
{
	if (!os_backend.read) {
		err_unsupported(err, pid, "reading a process's modules");
		return READ_FAILED;
	}
	return os_backend.read(s, pid, o, err);
}

int snapshot_list_pids(const char *procfs, uint64_t **pids, size_t *n, struct errmsg *err)
{
	if (!os_backend.list_pids) {
		err_unsupported(err, 0, "listing processes");
		return -1;
	}
	return os_backend.list_pids(procfs, pids, n, err);
}

uint64_t snapshot_self_pid(void)
{
	return os_backend.self_pid ? os_backend.self_pid() : 0;
}

int snapshot_open_mapped(const struct snapshot *s, const struct mapping *m, uint64_t *size,
			 const char **why)
{
	if (!os_backend.open_mapped) {
		*why = "opening a mapped file is not supported on this system";
		return -1;
	}
	return os_backend.open_mapped(s, m, size, why);
}

int module_loads(uint64_t pid, const struct snapshot *s, size_t i, struct elf_load *out,
		 size_t cap, size_t *n, struct errmsg *err)
{
	*n = 0;
	if (!os_backend.module_loads) {
		err_setc(err, ERR_UNSUPPORTED, "pid %llu: %s: not an ELF module",
			 (unsigned long long)pid, snapshot_str(s, s->map[i].file));
		return -1;
	}
	return os_backend.module_loads(pid, s, i, out, cap, n, err);
}

int snapshot_check_procfs(const char *dir, struct errmsg *err)
{
	if (!os_backend.check_procfs) {
		err_setc(err, ERR_UNSUPPORTED, "%s: this system has no proc filesystem", dir);
		return -1;
	}
	return os_backend.check_procfs(dir, err);
}
