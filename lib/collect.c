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
 * No OS headers here: the backend opens the mapped file, platform.h does
 * the file I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buildid.h"
#include "collect.h"
#include "platform.h"
#include "region.h"

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
	char line[1024];
	count_reason(c, reason);
	if (!c->skipped)
		return;
	snprintf(line, sizeof line, "pid %llu: %s: %s%s%s", (unsigned long long)s->pid, file,
		 reason, detail ? ": " : "", detail ? detail : "");
	c->skipped(c->ctx, line);
}

/* Has key been handled in this run? If not, remembers it. -1: out of memory. */
static int seen_before(struct collect *c, const char *key)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (strcmp(c->seen[i], key) == 0)
			return 1;
	if (c->nseen == c->capseen) {
		size_t cap = c->capseen ? c->capseen * 2 : 64;
		char **p = realloc(c->seen, cap * sizeof *p);
		if (!p)
			return -1;
		c->seen = p;
		c->capseen = cap;
	}
	size_t n = strlen(key) + 1;
	char *k = malloc(n);
	if (!k)
		return -1;
	memcpy(k, key, n);
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

/*
 * Copies in (size bytes; closed here) to final (in dir, below top) through
 * a temporary file in dir, published only once its bytes are on disk and
 * carry id. The directories are made only now that the file opened: a
 * file that is not kept leaves nothing behind. file names it in messages.
 */
static enum copy_result copy_open(struct collect *c, const struct snapshot *s, const char *file,
				  int in, uint64_t size, enum want w, const char *id,
				  const char *top, const char *dir, const char *final)
{
	uint64_t copied = 0, max = c->max_file_size;
	char *tmp = NULL;
	struct errmsg e;
	enum copy_result r = COPY_SKIPPED;

	if (size > max) {
		snprintf(e.text, sizeof e.text, "%llu bytes, over the limit of %llu",
			 (unsigned long long)size, (unsigned long long)max);
		skip(c, s, file, "larger than the size limit", e.text);
		platform_close(in);
		return COPY_SKIPPED;
	}
	int out = -1;
	if (platform_mkdir(top, &e) < 0 || (dir != top && platform_mkdir(dir, &e) < 0) ||
	    (out = platform_temp_in(dir, &tmp, &e)) < 0) {
		skip(c, s, file, "cannot write to the directory", e.text);
		platform_close(in);
		if (dir != top)
			platform_rmdir(dir);
		platform_rmdir(top);
		return COPY_SKIPPED;
	}
	char found[2 * BUILDID_MAX + 1];
	if (platform_copy_fd(in, out, max, &copied, &e) < 0) {
		skip(c, s, file,
		     e.code == ERR_TOO_LARGE ? "larger than the size limit" : "copy failed",
		     e.text);
	} else if (platform_sync_fd(out) < 0) {
		skip(c, s, file, "copy failed", "cannot sync the copy to disk");
	} else if (!carries_id(out, copied, w, id, found)) {
		snprintf(e.text, sizeof e.text, "the file has %s, the mapping %s",
			 *found ? found : "none", id);
		skip(c, s, file, "contents have another build ID", e.text);
	} else if (platform_close(out) < 0) {
		out = -1;
		skip(c, s, file, "copy failed", "cannot close the copy");
	} else if (out = -1, platform_rename(tmp, final, &e) < 0) {
		skip(c, s, file, "cannot write to the directory", e.text);
	} else {
		c->st.copied++;
		c->st.bytes += copied;
		r = COPY_DONE;
	}
	if (out >= 0)
		platform_close(out);
	if (r != COPY_DONE) {
		platform_remove(tmp);
		/* The directories made for it, if nothing else is in them. */
		if (dir != top)
			platform_rmdir(dir);
		platform_rmdir(top);
	}
	free(tmp);
	platform_close(in);
	return r;
}

/*
 * Links DIR/.build-id/xx/rest (and rest.debug) to DIR/<id>/<name>, where
 * they are not there yet. A failure costs these names only: the file is
 * published under <id>/<name> all the same, and the reason is told.
 */
static void link_build_id(struct collect *c, const struct snapshot *s, const char *file,
			  const char *id, const char *final, const char *name)
{
	struct errmsg e;
	size_t idlen = strlen(id);
	char *bdir = join(c->dir, ".build-id", 9, NULL);
	char xx[3] = { id[0], id[1], 0 };
	char *xdir = bdir ? join(bdir, xx, 2, NULL) : NULL;
	/* relative: from .build-id/xx/ back to <id>/<name> */
	size_t rl = 6 + idlen + 1 + strlen(name) + 1;
	char *rel = malloc(rl);
	int ok = xdir && rel && platform_mkdir(bdir, &e) == 0 && platform_mkdir(xdir, &e) == 0;
	if (rel)
		snprintf(rel, rl, "../../%s/%s", id, name);
	if (!xdir || !rel)
		snprintf(e.text, sizeof e.text, "out of memory");
	for (int debug = 0; ok && debug < 2; debug++) {
		char rest[2 * BUILDID_MAX + 8];
		snprintf(rest, sizeof rest, "%s%s", id + 2, debug ? ".debug" : "");
		char *lp = join(xdir, rest, strlen(rest), NULL);
		const char *how;
		if (!lp) {
			snprintf(e.text, sizeof e.text, "out of memory");
			ok = 0;
		} else if (!platform_is_file(lp)) {
			platform_remove(lp);	/* a dangling symbolic link */
			ok = platform_link(final, lp, rel, &how, &e) == 0;
		}
		free(lp);
	}
	if (!ok)
		skip(c, s, file, "cannot link into .build-id", e.text);
	free(bdir);
	free(xdir);
	free(rel);
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
	int seen = key ? seen_before(c, key) : -1;
	free(key);
	if (seen)
		return seen < 0 ? COPY_FATAL : COPY_DONE;

	char *src = malloc(dl + nl + 1);
	char *top = join(c->dir, name, nl, NULL);
	char *dir = top ? join(top, sig, sl, NULL) : NULL;
	char *final = dir ? join(dir, name, nl, NULL) : NULL;
	enum copy_result r = COPY_DONE;
	if (!src || !final) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		r = COPY_FATAL;
	} else if (platform_is_file(final)) {
		c->st.present++;
	} else {
		memcpy(src, file, dl);
		memcpy(src + dl, name, nl);
		src[dl + nl] = '\0';
		uint64_t size;
		const char *why;
		int missing;
		int in = platform_open_regular(src, &size, &why, &missing);
		if (in >= 0)
			r = copy_open(c, s, src, in, size, WANT_PDB, sig, top, dir, final);
		else if (!missing) {
			skip(c, s, src, why, NULL);
			r = COPY_SKIPPED;
		}
	}
	free(src);
	free(top);
	free(dir);
	free(final);
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
	int seen = key ? seen_before(c, key) : -1;
	free(key);
	if (seen)
		return seen < 0 ? COPY_FATAL : COPY_DONE;

	/* ELF: DIR/<id>/<name>; PE: DIR/<name>/<key>/<name>. */
	char *top = w == WANT_GNU ? join(c->dir, id, idlen, NULL) : join(c->dir, name, nl, NULL);
	char *dir = w == WANT_GNU ? top : top ? join(top, id, idlen, NULL) : NULL;
	char *final = dir ? join(dir, name, nl, NULL) : NULL;
	enum copy_result r = COPY_FATAL;
	if (!final) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
	} else if (platform_is_file(final)) {	/* kept by an earlier run */
		c->st.present++;
		r = COPY_DONE;
	} else {
		uint64_t size;
		const char *why;
		int in = snapshot_open_mapped(s, m, &size, &why);
		if (in < 0) {
			skip(c, s, file, why, NULL);
			r = COPY_SKIPPED;
		} else {
			r = copy_open(c, s, file, in, size, w, id, top, dir, final);
		}
	}
	if (r == COPY_DONE && w == WANT_GNU)
		link_build_id(c, s, file, id, final, name);
	if (r == COPY_DONE && w == WANT_PE && windows)
		r = collect_pdb(c, s, m, err);
	if (dir != top)
		free(dir);
	free(top);
	free(final);
	return r;
}

/* Makes path and every missing directory above it. */
static int make_dirs(const char *path, struct errmsg *err)
{
	size_t n = strlen(path);
	char *p = malloc(n + 1);
	if (!p) {
		err_setc(err, ERR_NO_MEMORY, "%s: out of memory", path);
		return -1;
	}
	memcpy(p, path, n + 1);
	for (size_t i = 1; i < n; i++) {
		if (p[i] != '/' && !(SEP[0] == '\\' && p[i] == '\\'))
			continue;
		p[i] = '\0';
		platform_mkdir(p, err);	/* the last one tells */
		p[i] = path[i];
	}
	free(p);
	return platform_mkdir(path, err);
}

int collect_snapshot(struct collect *c, const struct snapshot *s, struct errmsg *err)
{
	if (!c->max_file_size)
		c->max_file_size = COLLECT_MAX_FILE_DEFAULT;
	if (make_dirs(c->dir, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		const struct mapping *m = &s->map[i];
		if (!(m->flags & MAPF_FILE) && strcmp(s->os, "windows") != 0)
			continue;
		if (collect_mapping(c, s, m, err) == COPY_FATAL)
			return -1;
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
}
