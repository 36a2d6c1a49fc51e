/*
 * collect.c - keeps the binaries a profile needs (SPEC "collect"): every
 * mapped file with a content build ID is copied, checked and published
 * into the layouts symbolizers already search:
 *
 *   ELF  DIR/<build id>/<name>          PPROF_BINARY_PATH (google/pprof)
 *        DIR/.build-id/<xx>/<rest>      GDB, elfutils, LLVM: the binary
 *        DIR/.build-id/<xx>/<rest>.debug  ... as its own debug file
 *   PE   DIR/<name>/<TimeDateStamp %08X><SizeOfImage %x>/<name>
 *                                       symbol stores (_NT_SYMBOL_PATH)
 *
 * A copy is written to a temporary file in its final directory, synced,
 * read back and checked to carry the mapping's build ID, and only then
 * renamed into place, so a reader never sees a partial or a wrong file.
 * Every directory and file below DIR is made relative to its parent's
 * descriptor, never through a link (store.h; docs/security.md): a shared
 * DIR lends an attacker nothing. A copy keeps its source's permission
 * bits (at most 0644) and its holes, and a run writes at most max_total
 * bytes. A file root owns wins over a user's file claiming its build ID.
 * No OS headers here: the backend opens the mapped file, store.h and
 * platform.h do the file I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buildid.h"
#include "collect.h"
#include "escape.h"
#include "platform.h"
#include "region.h"
#include "store.h"

#define SEP platform_sep

const char *collect_basename(const char *path, int windows, size_t *len)
{
	const char *b = path;
	for (const char *p = path; *p; p++)
		if (*p == '/' || (windows && *p == '\\'))
			b = p + 1;
	*len = strlen(b);
	if (*len == 0 || strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
		return NULL;
	return b;
}

/* a SEP b [SEP c], malloc'ed; NULL when memory runs out. */
static char *join(const char *a, const char *b, size_t blen, const char *c)
{
	size_t n = strlen(a) + 1 + blen + (c ? 1 + strlen(c) : 0) + 1;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%.*s%s%s", a, SEP, (int)blen, b, c ? SEP : "", c ? c : "");
	return p;
}

static void count_reason(struct collect *c, const char *reason)
{
	struct collect_stats *st = &c->st;
	st->skipped++;
	for (size_t i = 0; i < st->nreasons; i++)
		if (strcmp(st->reason[i], reason) == 0) {
			st->reason_count[i]++;
			return;
		}
	if (st->nreasons < COLLECT_REASONS) {
		st->reason[st->nreasons] = reason;
		st->reason_count[st->nreasons++] = 1;
	}
}

/* Counts a skipped file under reason and names it: detail may add to it. */
static void skip(struct collect *c, const struct snapshot *s, const char *file,
		 const char *reason, const char *detail)
{
	count_reason(c, reason);
	if (!c->skipped)
		return;
	/* The target names its files: escaped, so a name cannot forge a line
	 * or reach a terminal as a control sequence. */
	struct buf line = { 0 };
	buf_printf(&line, "pid %llu: ", (unsigned long long)s->pid);
	escape_put(&line, file, strlen(file), strcmp(s->os, "windows") == 0);
	buf_printf(&line, ": %s", reason);
	if (detail) {	/* may name the file again */
		buf_puts(&line, ": ");
		escape_put(&line, detail, strlen(detail), strcmp(s->os, "windows") == 0);
	}
	buf_putc(&line, '\0');
	c->skipped(c->ctx, line.oom ? "out of memory" : (const char *)line.p);
	buf_free(&line);
}

/* How a key was handled in this run: 0 not yet, 1 by a file root owns, 2 by another's. */
static int seen_how(const struct collect *c, const char *key)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (strcmp(c->seen[i] + 1, key) == 0)
			return c->seen[i][0] == 'r' ? 1 : 2;
	return 0;
}

/* Remembers key as handled (by a file root owns or not). -1: out of memory. */
static int seen_add(struct collect *c, const char *key, int root_owned)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (strcmp(c->seen[i] + 1, key) == 0) {
			if (root_owned)
				c->seen[i][0] = 'r';
			return 0;
		}
	if (c->nseen == c->capseen) {
		size_t cap = c->capseen ? c->capseen * 2 : 64;
		char **p = realloc(c->seen, cap * sizeof *p);
		if (!p)
			return -1;
		c->seen = p;
		c->capseen = cap;
	}
	size_t n = strlen(key) + 1;
	char *k = malloc(n + 1);
	if (!k)
		return -1;
	k[0] = root_owned ? 'r' : 'u';
	memcpy(k + 1, key, n);
	c->seen[c->nseen++] = k;
	return 0;
}

struct fd_src {
	int fd;
};

static int fd_src_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct fd_src *f = ctx;
	return platform_read_at(f->fd, off, buf, len);
}

/* What a file must carry to be the mapping's: its GNU ID, PE image key, or
 * (a PDB) the GUID its module's CodeView record names. */
enum want { WANT_GNU, WANT_PE, WANT_PDB };

#define GUID_HEX 32	/* a CodeView signature's GUID, before its age */

/* Does the file open at fd (size bytes) carry id? */
static int carries_id(int fd, uint64_t size, enum want w, const char *id,
		      char found[2 * BUILDID_MAX + 1])
{
	static struct identity zero;
	struct identity got = zero;
	struct fd_src f = { fd };
	struct bytesrc src = { fd_src_read, &f, NULL, size };
	if (w == WANT_PDB) {
		uint32_t age;
		const char *why;
		/* The GUID says which build; the age (how often the PDB was
		 * rewritten) is the module's record's, as debuggers look it up. */
		pdb_identity(&src, found, &age, &why);
		return strlen(found) == GUID_HEX && strncmp(found, id, GUID_HEX) == 0;
	}
	file_identity(&src, &got);
	snprintf(found, 2 * BUILDID_MAX + 1, "%s", w == WANT_GNU ? got.gnu : got.pe_image);
	return strcmp(found, id) == 0;
}

/* The outcome of copying one file. */
enum copy_result { COPY_DONE, COPY_SKIPPED, COPY_FATAL };

/* Are the size bytes of a and b the same? */
static int same_contents(int a, int b, uint64_t size)
{
	unsigned char x[16384], y[16384];
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof x ? (size_t)(size - off) : sizeof x;
		if (platform_read_at(a, off, x, n) < 0 || platform_read_at(b, off, y, n) < 0 ||
		    memcmp(x, y, n) != 0)
			return 0;
		off += n;
	}
	return 1;
}

/*
 * Copies in (size bytes, mode its source's) to name in dir through a
 * temporary file there, published (over what is there) only once its
 * bytes are on disk and carry id. file names it in messages. in stays open.
 */
static enum copy_result copy_open(struct collect *c, const struct snapshot *s, const char *file,
				  int in, uint64_t size, uint32_t mode, enum want w,
				  const char *id, struct store_dir *dir, const char *name)
{
	uint64_t data = 0, max = c->max_file_size;
	char *tmp = NULL;
	struct errmsg e;
	enum copy_result r = COPY_SKIPPED;

	if (size > max) {
		snprintf(e.text, sizeof e.text, "%llu bytes, over the limit of %llu",
			 (unsigned long long)size, (unsigned long long)max);
		skip(c, s, file, "larger than the size limit", e.text);
		return COPY_SKIPPED;
	}
	/* Never more readable than its source. */
	int out = store_temp(dir, &tmp, mode & 0644, &e);
	if (out < 0) {
		skip(c, s, file, "cannot write to the directory", e.text);
		return COPY_SKIPPED;
	}
	uint64_t budget = c->total < c->max_total ? c->max_total - c->total : 0;
	char found[2 * BUILDID_MAX + 1];
	if (store_copy(in, out, size, budget, &data, &e) < 0) {
		if (e.code == ERR_TOO_LARGE) {
			snprintf(e.text, sizeof e.text, "the run has written %llu of %llu bytes",
				 (unsigned long long)c->total, (unsigned long long)c->max_total);
			skip(c, s, file, "over the total limit", e.text);
		} else {
			skip(c, s, file, "copy failed", e.text);
		}
	} else if (platform_sync_fd(out) < 0) {
		skip(c, s, file, "copy failed", "cannot sync the copy to disk");
	} else if (!carries_id(out, size, w, id, found)) {
		snprintf(e.text, sizeof e.text, "the file has %s, the mapping %s",
			 *found ? found : "none", id);
		skip(c, s, file, "contents have another build ID", e.text);
	} else if (platform_close(out) < 0) {
		out = -1;
		skip(c, s, file, "copy failed", "cannot close the copy");
	} else if (out = -1, store_publish(dir, tmp, name, &e) < 0) {
		skip(c, s, file, "cannot write to the directory", e.text);
	} else {
		c->st.copied++;
		c->st.bytes += size;
		c->total += data;
		r = COPY_DONE;
	}
	if (out >= 0)
		platform_close(out);
	if (r != COPY_DONE)
		store_remove(dir, tmp);
	free(tmp);
	return r;
}

/*
 * Links DIR/.build-id/xx/rest (and rest.debug) to DIR/<id>/<name>, where
 * they are not there yet (again, after replace). A failure costs these
 * names only: the file is published under <id>/<name> all the same, and
 * the reason is told.
 */
static void link_build_id(struct collect *c, const struct snapshot *s, const char *file,
			  const char *id, struct store_dir *iddir, const char *name, int replace)
{
	struct errmsg e;
	size_t idlen = strlen(id);
	struct store_dir *bdir = store_sub(c->top, ".build-id", 9, &e);
	struct store_dir *xdir = bdir ? store_sub(bdir, id, 2, &e) : NULL;
	/* relative: from .build-id/xx/ back to <id>/<name> */
	size_t rl = 6 + idlen + 1 + strlen(name) + 1;
	char *rel = malloc(rl);
	int ok = xdir && rel;
	if (rel)
		snprintf(rel, rl, "../../%s/%s", id, name);
	else
		snprintf(e.text, sizeof e.text, "out of memory");
	for (int debug = 0; ok && debug < 2; debug++) {
		char rest[2 * BUILDID_MAX + 8];
		const char *how;
		snprintf(rest, sizeof rest, "%s%s", id + 2, debug ? ".debug" : "");
		if (replace || !store_link_ok(xdir, rest)) {
			store_remove(xdir, rest);	/* a dangling link, or the file replaced */
			ok = store_link(iddir, name, xdir, rest, rel, &how, &e) == 0;
		}
	}
	if (!ok)
		skip(c, s, file, "cannot link into .build-id", e.text);
	store_close(xdir);
	store_close(bdir);
	free(rel);
}

/*
 * A file of the same name already in the store (have bytes) for in: the
 * same contents count as kept (*r COPY_DONE); other contents are a
 * conflict, named, which a file root owns wins. Returns 1 when in is to
 * replace it, else 0 with *r set.
 */
static int keep_conflict(struct collect *c, const struct snapshot *s, const char *file, int in,
			 uint64_t size, const char *id, struct store_dir *dir, const char *n,
			 uint64_t have, int root_owned, enum copy_result *r)
{
	int fd = store_open_file(dir, n);
	int same = fd >= 0 && have == size && same_contents(in, fd, size);
	if (fd >= 0)
		platform_close(fd);
	if (same) {
		c->st.present++;
		*r = COPY_DONE;
		return 0;
	}
	char line[1024];
	snprintf(line, sizeof line,
		 "pid %llu: %s: build ID %s already kept with other contents (%s/%s): %s",
		 (unsigned long long)s->pid, file, id, store_path(dir), n,
		 root_owned ? "replaced by this file, which root owns"
			    : "not replaced by a file root does not own");
	if (!root_owned) {
		count_reason(c, "build ID already kept with other contents");
		if (c->skipped)
			c->skipped(c->ctx, line);
		return 0;
	}
	if (c->skipped)
		c->skipped(c->ctx, line);
	return 1;
}

/*
 * Keeps in (size bytes, the file of a mapping or a PDB; closed here) as
 * name in sub (below top, made for it: removed again if left empty), where
 * key was not handled yet or only for a file root does not own. A file
 * already there with other contents is a conflict, named: a file root owns
 * replaces it, another's does not.
 */
static enum copy_result keep(struct collect *c, const struct snapshot *s, const char *file,
			     int in, uint64_t size, enum want w, const char *id,
			     const char *key, const char *top, size_t toplen, const char *sub,
			     size_t sublen, const char *name, size_t nl, struct errmsg *err)
{
	struct errmsg e;
	uint32_t uid = 0, mode = 0644;
	enum copy_result r = COPY_SKIPPED;
	char n[256];
	if (store_source_info(in, &uid, &mode) < 0 || nl >= sizeof n) {
		skip(c, s, file, "cannot open the file", NULL);
		platform_close(in);
		return COPY_SKIPPED;
	}
	memcpy(n, name, nl);
	n[nl] = '\0';
	int root_owned = uid == 0;
	if (seen_how(c, key) == 2 && !root_owned) {
		platform_close(in);
		return COPY_DONE;	/* another's file had it already */
	}
	if (seen_add(c, key, root_owned) < 0) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		platform_close(in);
		return COPY_FATAL;
	}
	struct store_dir *tdir = store_sub(c->top, top, toplen, &e);
	struct store_dir *dir = tdir && sub ? store_sub(tdir, sub, sublen, &e) : tdir;
	if (!dir) {
		skip(c, s, file, "cannot write to the directory", e.text);
		goto done;
	}
	uint64_t have;
	int replace = 0;
	switch (store_stat(dir, n, &have)) {
	case 1:
		replace = keep_conflict(c, s, file, in, size, id, dir, n, have, root_owned, &r);
		if (!replace)
			break;
		/* fall through */
	case 0:
		r = copy_open(c, s, file, in, size, mode, w, id, dir, n);
		break;
	default:
		skip(c, s, file, "something else is in the store at its name", NULL);
	}
	if (r == COPY_DONE && w == WANT_GNU)
		link_build_id(c, s, file, id, dir, n, replace);
done:
	if (r != COPY_DONE && tdir) {
		/* The directories made for it, if nothing else is in them. */
		if (dir != tdir && sub) {
			char sn[256];
			snprintf(sn, sizeof sn, "%.*s", (int)sublen, sub);
			store_rmdir(tdir, sn);
		}
		char tn[256];
		snprintf(tn, sizeof tn, "%.*s", (int)toplen, top);
		store_rmdir(c->top, tn);
	}
	if (dir != tdir)
		store_close(dir);
	store_close(tdir);
	platform_close(in);
	return r;
}

/*
 * The PDB a PE module's CodeView record names, when it sits beside the
 * module: DIR/<pdb name>/<GUID><age>/<pdb name>, as symbol stores key it.
 * One that is not there is not wanted (release builds ship without).
 */
static enum copy_result collect_pdb(struct collect *c, const struct snapshot *s,
				    const struct mapping *m, struct errmsg *err)
{
	const char *sig = snapshot_str(s, m->pdb_sig);
	size_t nl, dl, sl = strlen(sig);
	const char *name = collect_basename(snapshot_str(s, m->pdb_file), 1, &nl);
	const char *file = snapshot_str(s, m->file);
	if (!name || sl <= GUID_HEX)
		return COPY_DONE;	/* no PDB named, or PDB 2.0 (no GUID) */
	collect_basename(file, 1, &dl);
	dl = strlen(file) - dl;	/* the module's directory, its separator included */
	char *key = join(sig, name, nl, NULL);
	char *src = malloc(dl + nl + 1);
	enum copy_result r = COPY_DONE;
	if (!key || !src) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		r = COPY_FATAL;
	} else if (seen_how(c, key) == 0) {
		memcpy(src, file, dl);
		memcpy(src + dl, name, nl);
		src[dl + nl] = '\0';
		uint64_t size;
		const char *why;
		int missing;
		int in = platform_open_regular(src, &size, &why, &missing);
		if (in >= 0)
			r = keep(c, s, src, in, size, WANT_PDB, sig, key, name, nl, sig, sl, name,
				 nl, err);
		else if (!missing) {
			skip(c, s, src, why, NULL);
			r = COPY_SKIPPED;
		}
	}
	free(key);
	free(src);
	return r;
}

/* The files of one mapping; COPY_FATAL only when memory runs out. */
static enum copy_result collect_mapping(struct collect *c, const struct snapshot *s,
					const struct mapping *m, struct errmsg *err)
{
	const char *file = snapshot_str(s, m->file);
	int windows = strcmp(s->os, "windows") == 0;
	enum want w;
	const char *id;
	if (m->bid_kind == BIDK_GNU) {
		w = WANT_GNU;
		id = snapshot_str(s, m->build_id);
	} else if (m->pe_image) {
		w = WANT_PE;
		id = snapshot_str(s, m->pe_image);
	} else {
		return COPY_DONE;	/* no content ID: nothing a layout could key */
	}
	size_t nl, idlen = strlen(id);
	const char *name = collect_basename(file, windows, &nl);
	if (!name || (w == WANT_GNU && idlen < 4)) {
		skip(c, s, file, "no file name to file it under", NULL);
		return COPY_SKIPPED;
	}
	char *key = join(id, name, nl, NULL);
	if (!key) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return COPY_FATAL;
	}
	enum copy_result r = COPY_DONE;
	if (seen_how(c, key) != 1) {
		uint64_t size;
		const char *why;
		int in = snapshot_open_mapped(s, m, &size, &why);
		if (in < 0 && seen_how(c, key) == 0) {
			skip(c, s, file, why, NULL);
			r = COPY_SKIPPED;
		} else if (in >= 0 && w == WANT_GNU) {
			/* ELF: DIR/<id>/<name>. */
			r = keep(c, s, file, in, size, w, id, key, id, idlen, NULL, 0, name, nl, err);
		} else if (in >= 0) {
			/* PE: DIR/<name>/<key>/<name>. */
			r = keep(c, s, file, in, size, w, id, key, name, nl, id, idlen, name, nl, err);
		}
	}
	free(key);
	if (r == COPY_DONE && w == WANT_PE && windows)
		r = collect_pdb(c, s, m, err);
	return r;
}

/* Is m a file with a content ID (GNU build ID, PE image key), one to keep? */
static int collect_wants(const struct snapshot *s, const struct mapping *m)
{
	if (!(m->flags & MAPF_FILE) && strcmp(s->os, "windows") != 0)
		return 0;
	return m->bid_kind == BIDK_GNU || m->pe_image;
}

int collect_snapshot(struct collect *c, const struct snapshot *s, struct errmsg *err)
{
	if (!c->max_file_size)
		c->max_file_size = COLLECT_MAX_FILE_DEFAULT;
	if (!c->max_total)
		c->max_total = COLLECT_MAX_TOTAL_DEFAULT;
	if (!c->top && !(c->top = store_open(c->dir, err)))
		return -1;
	struct progress p = { PROGRESS_COLLECT, 1, 1, 0, 0, NULL };
	if (c->progress.fn)	/* how many there are, first */
		for (size_t i = 0; i < s->n; i++)
			p.total += collect_wants(s, &s->map[i]);
	for (size_t i = 0; i < s->n; i++) {
		const struct mapping *m = &s->map[i];
		if (!collect_wants(s, m))
			continue;
		if (collect_mapping(c, s, m, err) == COPY_FATAL)
			return -1;
		p.done++;
		p.name = snapshot_str(s, m->file);
		progress_tell(&c->progress, &p);
	}
	return 0;
}

void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->nseen; i++)
		free(c->seen[i]);
	free(c->seen);
	c->seen = NULL;
	c->nseen = c->capseen = 0;
	store_close(c->top);
	c->top = NULL;
}
