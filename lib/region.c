/*
 * region.c - what every backend's regions go through (region.h): the
 * mapping set, the record, and the build-ID policy of SPEC "Build IDs",
 * written once. No OS code: the backend answers through backend_ops.
 */
#include <stdio.h>
#include <string.h>

#include "htlhash.h"
#include "region.h"

/* Go's runtime/pprof keeps executable mappings that name something,
 * which drops the nameless inode-0 fragments of huge-page text. */
int region_kept(enum mapset set, uint32_t prot, size_t name_len)
{
	return set == MAPPINGS_ALL || ((prot & PERM_X) && name_len > 0);
}

static int set_text(struct snapshot *s, struct mapping *m, uint32_t *field, const char *text,
		    enum bid_kind kind)
{
	if (snapshot_set(s, field, text) < 0)
		return -1;
	if (kind != BIDK_NONE) {
		m->build_id = *field;
		m->bid_kind = kind;
	}
	return 0;
}

/* path+mtime, or the path alone (with the reason) where there is no mtime. */
static int set_path_mtime(struct region_reader *rr, struct mapping *m,
			  const struct region_file *f)
{
	char why[96] = "", zone[GOTZ_NAME_MAX + 1] = "", when[96 + GOTZ_NAME_MAX];
	int64_t sec;
	long nsec, gmtoff;
	if (rr->ops->stat_mtime(rr->be, m, f, &sec, &nsec, why, sizeof why) < 0) {
		m->build_id = m->file;
		m->bid_kind = BIDK_PATH;
		if (m->bid_error || !why[0])
			return 0;
		return snapshot_set(rr->s, &m->bid_error, why);
	}
	/* Every int64 time prints (gotime.c); only a zone name may be too long. */
	int rc = rr->ops->local_zone(rr->be, sec, &gmtoff, zone, sizeof zone);
	if (rc < 0)
		return -1;
	if (rc > 0 || !gotime_format(when, sizeof when, sec, nsec, gmtoff, zone)) {
		m->build_id = m->file;
		m->bid_kind = BIDK_PATH;
		if (m->bid_error)
			return 0;
		return snapshot_set(rr->s, &m->bid_error,
				    "the local time zone's abbreviation is too long to print");
	}
	uint32_t off = snapshot_intern_after(rr->s, m->file, when);
	if (off == UINT32_MAX)
		return -1;
	m->build_id = off;
	m->bid_kind = BIDK_PATH_MTIME;
	return 0;
}

/* The identity of the open file f, from the cache or read now into tmp. */
static const struct identity *identify(struct region_reader *rr, struct region_file *f,
				       struct identity *tmp)
{
	struct bid_cache *c = rr->o->cache;
	const struct identity *id = bid_cache_get(c, f->dev, f->ino, f->mtime_sec, f->mtime_nsec);
	if (id)
		return id;
	memset(tmp, 0, sizeof *tmp);
	rr->ops->read_identity(rr->be, f, tmp);
	id = bid_cache_put(c, f->dev, f->ino, f->mtime_sec, f->mtime_nsec, tmp);
	return id ? id : tmp;
}

static int same_file_as_prev(const struct region_reader *rr, const struct mapping *m)
{
	const struct mapping *p = &rr->prev;
	return rr->have_prev && p->inode == m->inode && p->dev_major == m->dev_major &&
	       p->dev_minor == m->dev_minor && p->file == m->file;
}

/* Did the process's memory give m's file a GNU build ID (into id)? */
static int memory_identity(struct region_reader *rr, const struct mapping *m,
			   struct identity *id)
{
	memset(id, 0, sizeof *id);
	return rr->ops->memory_identity && rr->ops->memory_identity(rr->be, m, id) == 0 &&
	       id->gnu[0];
}

/*
 * --build-id htlhash: every file's OpenTelemetry file ID, from the file as
 * the other modes open it (inside the process's root, checked to be the
 * mapped file; a deleted one through map_files). Neighbouring segments of
 * one file share it. No file to read: no ID, with the reason.
 */
static int set_htlhash(struct region_reader *rr, struct mapping *m)
{
	const struct backend_ops *ops = rr->ops;
	struct snapshot *s = rr->s;
	if (same_file_as_prev(rr, m)) {
		m->build_id = rr->prev.build_id;
		m->bid_error = rr->prev.bid_error;
		m->bid_kind = rr->prev.bid_kind;
		return 0;
	}
	struct region_file f = { 0 };
	char hex[HTLHASH_HEX + 1];
	const char *why = HTLHASH_UNSUPPORTED;
	int impostor = 0, rc;
	if (!ops->hash_file || !htlhash_supported())
		rc = set_text(s, m, &m->bid_error, why, BIDK_NONE);
	else if (ops->open_file(rr->be, m, &f, &why, &impostor) < 0)
		rc = set_text(s, m, &m->bid_error, why ? why : "cannot open the file", BIDK_NONE);
	else {
		if (ops->hash_file(rr->be, &f, hex, &why) == 0)
			rc = set_text(s, m, &m->build_id, hex, BIDK_HTLHASH);
		else
			rc = set_text(s, m, &m->bid_error, why, BIDK_NONE);
		ops->close_file(rr->be, &f);
	}
	rr->have_prev = 1;
	rr->prev = *m;
	return rc;
}

/* A region with no file (the vDSO): the backend's identity of it, if any. */
static int set_special_id(struct region_reader *rr, struct mapping *m)
{
	const struct backend_ops *ops = rr->ops;
	struct snapshot *s = rr->s;
	struct identity id;
	if (!ops->special_identity || rr->o->bid == BID_MTIME)
		return 0;
	memset(&id, 0, sizeof id);
	if (ops->special_identity(rr->be, m, &id) < 0 || !id.gnu[0])
		return id.error ? set_text(s, m, &m->bid_error, id.error, BIDK_NONE) : 0;
	return set_text(s, m, &m->build_id, id.gnu, BIDK_GNU);
}

/* A server that may never answer: not the file, not its pages in the
 * process, not even its mtime (a stat asks the server too). */
static int set_untrusted_id(struct region_reader *rr, struct mapping *m, const char *kernel_id)
{
	enum bid_mode mode = rr->o->bid;
	const struct backend_ops *ops = rr->ops;
	struct snapshot *s = rr->s;
	struct identity id;
	/* the kernel read it already (the device was not known then) */
	if (kernel_id && (mode == BID_AUTO || mode == BID_NATIVE))
		return set_text(s, m, &m->build_id, kernel_id, BIDK_GNU);
	if ((mode == BID_AUTO || mode == BID_NATIVE) && ops->untrusted_identity &&
	    ops->untrusted_identity(rr->be, m, &id) == 0) {
		/* its contents, read where a stall costs only time */
		int kind = identity_apply(s, m, mode, &id);
		if (kind < 0)
			return -1;
		if (kind != BIDK_PATH_MTIME)
			return 0;
	}
	m->build_id = m->file;
	m->bid_kind = BIDK_PATH;
	return set_text(s, m, &m->bid_error, MAPF_UNTRUSTED_WHY, BIDK_NONE);
}

/* --build-id auto with the kernel's ID: nothing else is needed. */
static int set_kernel_id(struct snapshot *s, struct mapping *m, const char *kernel_id)
{
	/* A file's segments follow each other with one ID: share its
	 * text rather than store it again for every segment. */
	const struct mapping *p = s->n >= 2 && m == &s->map[s->n - 1] ? m - 1 : NULL;
	if (p && p->bid_kind == BIDK_GNU &&
	    strcmp(snapshot_str(s, p->build_id), kernel_id) == 0) {
		m->build_id = p->build_id;
		m->bid_kind = BIDK_GNU;
		return 0;
	}
	return set_text(s, m, &m->build_id, kernel_id, BIDK_GNU);
}

/* Neighbouring segments of one file share its identity. */
static void share_prev_id(const struct region_reader *rr, struct mapping *m)
{
	const struct mapping *p = &rr->prev;
	m->build_id = p->build_id;
	m->go_build_id = p->go_build_id;
	m->pdb_file = p->pdb_file;
	m->pdb_sig = p->pdb_sig;
	m->pe_image = p->pe_image;
	m->bid_error = p->bid_error;
	m->bid_kind = p->bid_kind;
}

/* The identity of the open file f into m (the kernel's ID standing where
 * the file gave none), or path+mtime where the mode picks that. */
static int set_open_file_id(struct region_reader *rr, struct mapping *m, struct region_file *f,
			    const char *kernel_id)
{
	static const struct identity unread;
	enum bid_mode mode = rr->o->bid;
	struct identity tmp;
	const struct identity *id = mode == BID_MTIME ? &unread : identify(rr, f, &tmp);
	if (kernel_id && !id->gnu[0]) {
		/* The kernel read the note from the mapped file itself,
		 * within limits of its own: its ID stands. */
		if (id != &tmp)
			tmp = *id;
		snprintf(tmp.gnu, sizeof tmp.gnu, "%s", kernel_id);
		tmp.malformed = 0;
		tmp.error = NULL;
		id = &tmp;
	}
	int kind = identity_apply(rr->s, m, mode, id);
	if (kind < 0)
		return -1;
	return kind == BIDK_PATH_MTIME ? set_path_mtime(rr, m, f) : 0;
}

/* A file's identity from the file itself, else from the process's memory,
 * else its path (and mtime). */
static int set_file_id(struct region_reader *rr, struct mapping *m, const char *kernel_id)
{
	enum bid_mode mode = rr->o->bid;
	const struct backend_ops *ops = rr->ops;
	struct snapshot *s = rr->s;
	struct region_file f = { 0 };
	struct identity mem;
	const char *why = NULL;
	int impostor = 0, opened = 0, rc = 0;
	if (ops->open_modes & (1u << mode))
		opened = ops->open_file(rr->be, m, &f, &why, &impostor) == 0;
	if (!opened && why && kernel_id && mode == BID_NATIVE) {
		rc = set_text(s, m, &m->build_id, kernel_id, BIDK_GNU);
	} else if (!opened && mode != BID_MTIME && memory_identity(rr, m, &mem)) {
		/* The file's own notes, from the process: as good as the file. */
		rc = identity_apply(s, m, mode, &mem) < 0 ? -1 : 0;
	} else if (!opened) {
		/* Nothing at the path: the path alone, as Go does when stat
		 * fails. Something else there: no ID, only the reason. */
		if (why)
			rc = set_text(s, m, &m->bid_error, why, BIDK_NONE);
		if (rc == 0 && !impostor)
			rc = set_path_mtime(rr, m, NULL);
	} else {
		rc = set_open_file_id(rr, m, &f, kernel_id);
		ops->close_file(rr->be, &f);
	}
	return rc;
}

static int set_build_id(struct region_reader *rr, struct mapping *m, const struct region *r)
{
	enum bid_mode mode = rr->o->bid;
	const char *kernel_id = r->kernel_id;

	if (mode == BID_NONE || !m->file)
		return 0;
	if (!r->has_file)
		return set_special_id(rr, m);
	if (m->flags & MAPF_UNTRUSTED_FS)
		return set_untrusted_id(rr, m, kernel_id);
	if (mode == BID_HTLHASH)
		return set_htlhash(rr, m);
	/* auto needs nothing but the kernel's ID; native reads the file for
	 * its other identities, keeping the kernel's ID should that fail. */
	if (kernel_id && mode == BID_AUTO)
		return set_kernel_id(rr->s, m, kernel_id);
	int rc = 0;
	if (same_file_as_prev(rr, m))
		share_prev_id(rr, m);
	else
		rc = set_file_id(rr, m, kernel_id);
	rr->have_prev = 1;
	rr->prev = *m;
	return rc;
}

int region_add(struct region_reader *rr, const struct region *r)
{
	/* With --jit, nameless executable regions wait for the JIT symbols
	 * to say which of them to keep (os/linux.c, jit_mappings). */
	if (!region_kept(rr->o->set, r->prot, r->name_len) && !(rr->o->jit && (r->prot & PERM_X)))
		return 0;
	struct mapping *m = snapshot_add(rr->s);
	if (!m)
		return -1;
	m->start = r->start;
	m->limit = r->limit;
	m->offset = r->offset;
	m->prot = r->prot;
	m->dev_major = r->dev_major;
	m->dev_minor = r->dev_minor;
	m->inode = r->inode;
	m->flags = r->flags;
	/* m may move when the arena grows; keep working through its index. */
	size_t i = (size_t)(m - rr->s->map);
	if (rr->ops->set_name(rr->be, &rr->s->map[i], r) < 0)
		return -1;
	m = &rr->s->map[i];
	if (m->flags & MAPF_MAIN)
		rr->s->exe = m->file;
	if (r->note && snapshot_set(rr->s, &m->bid_error, r->note) < 0)
		return -1;
	return set_build_id(rr, m, r);
}
