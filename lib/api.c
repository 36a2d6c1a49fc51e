/*
 * api.c - the public interface (include/modmap.h) over the library's own
 * types: the only file that sees both, and the only one whose functions
 * the shared library exports. It converts; it decides nothing.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "modmap.h"
#include "addrmap.h"
#include "attach/attach.h"
#include "buildid.h"
#include "collect.h"
#include "format/emit.h"
#include "lookup.h"
#include "symbolize.h"
#include "snapshot.h"
#include "watch.h"

_Static_assert(sizeof(((struct modmap_error *)0)->message) == sizeof(((struct errmsg *)0)->text),
	       "message size");

struct modmap_snapshot {
	struct snapshot s;
	struct addrmap where;	/* for find */
	struct lookup *lk;	/* for modmap_lookup, made on its first call */
	struct sym_snap *ss;	/* for modmap_symbolize: the modules of ss_z */
	struct symbolizer *ss_z;
};

struct modmap_symbolizer {
	struct symbolizer *z;
};

struct modmap_cache {
	struct bid_cache *c;
};

/*
 * The ABI (modmap.h): a struct the caller fills is read as far as the
 * caller's size, zero-extended to ours; bytes of the caller's beyond ours
 * are fields of a newer header, which must then be zero (unset). -1 when
 * they are not.
 */
static int copy_in(void *ours, size_t our_size, const void *in, size_t in_size)
{
	memset(ours, 0, our_size);
	if (!in)
		return 0;
	size_t n = in_size < our_size ? in_size : our_size;
	memcpy(ours, in, n);
	for (size_t i = n; i < in_size; i++)
		if (((const unsigned char *)in)[i] != 0)
			return -1;
	return 0;
}

/* A struct the library fills, into the caller's size: never past it; the
 * caller's bytes beyond ours (a newer header's fields) read zero. */
static void copy_out(void *out, size_t out_size, const void *ours, size_t our_size)
{
	if (!out)
		return;
	size_t n = out_size < our_size ? out_size : our_size;
	memcpy(out, ours, n);
	if (out_size > n)
		memset((unsigned char *)out + n, 0, out_size - n);
}

static void error_out(struct modmap_error *out, const struct errmsg *e)
{
	if (!out)
		return;
	memcpy(out->message, e->text, sizeof out->message);
	out->message[sizeof out->message - 1] = '\0';
	out->code = e->code ? e->code : MODMAP_ERR_OTHER;
}

static int fail(struct modmap_error *out, int code, const char *text)
{
	struct errmsg e;
	err_setc(&e, code, "%s", text);
	error_out(out, &e);
	return -1;
}

static int index_build(struct modmap_snapshot *m)
{
	struct addrmap_range *r = malloc((m->s.n ? m->s.n : 1) * sizeof *r);
	if (!r)
		return -1;
	for (size_t i = 0; i < m->s.n; i++)
		r[i] = (struct addrmap_range){ m->s.map[i].start, m->s.map[i].limit };
	int rc = addrmap_build(&m->where, r, m->s.n);
	free(r);
	return rc;
}

/* The library's options from the public ones; -1 (err set) when invalid. */
static int convert_options(const struct modmap_options *opts, size_t opts_size,
			   struct read_opts *ro, struct modmap_error *err)
{
	struct modmap_options mine;
	const struct modmap_options *o = &mine;
	if (copy_in(&mine, sizeof mine, opts, opts_size) < 0)
		return fail(err, MODMAP_ERR_UNSUPPORTED,
			    "options this version of libmodmap does not know");
	if (o->build_id < MODMAP_BUILD_ID_AUTO || o->build_id > MODMAP_BUILD_ID_NONE ||
	    o->mappings < MODMAP_MAPPINGS_EXEC || o->mappings > MODMAP_MAPPINGS_ALL ||
	    o->source < MODMAP_SOURCE_AUTO || o->source > MODMAP_SOURCE_MAPS)
		return fail(err, MODMAP_ERR_OTHER, "invalid options");
	/* A DIR that is not a proc filesystem fails the read (MODMAP_ERR_BAD_INPUT). */
	*ro = (struct read_opts){
		.source = (enum source)o->source,
		.bid = (enum bid_mode)o->build_id,
		.set = (enum mapset)o->mappings,
		.cache = o->cache ? o->cache->c : NULL,
		.procfs = o->procfs,
		.jit = o->jit != 0,
	};
	return 0;
}

int modmap_snapshot_read_sz(uint64_t pid, const struct modmap_options *opts, size_t opts_size,
			    struct modmap_snapshot **out, struct modmap_error *err)
{
	struct errmsg e;
	struct read_opts ro;

	*out = NULL;
	if (convert_options(opts, opts_size, &ro, err) < 0)
		return -1;
	struct modmap_snapshot *m = calloc(1, sizeof *m);
	if (!m)
		return fail(err, MODMAP_ERR_NO_MEMORY, "out of memory");
	snapshot_init(&m->s);
	enum read_status r = snapshot_read(&m->s, pid, &ro, &e);
	if (r != READ_OK) {
		if (r == READ_SKIP && e.code == ERR_OTHER)
			e.code = ERR_NO_PROCESS;
		error_out(err, &e);
		modmap_snapshot_free(m);
		return -1;
	}
	if (index_build(m) < 0) {
		modmap_snapshot_free(m);
		return fail(err, MODMAP_ERR_NO_MEMORY, "out of memory");
	}
	*out = m;
	return 0;
}

size_t modmap_snapshot_count(const struct modmap_snapshot *m)
{
	return m ? m->s.n : 0;
}

static void mapping_out(const struct snapshot *s, const struct mapping *r,
			struct modmap_mapping *out)
{
	memset(out, 0, sizeof *out);
	out->start = r->start;
	out->limit = r->limit;
	out->offset = r->offset;
	out->file = snapshot_str(s, r->file);
	out->build_id = snapshot_str(s, r->build_id);
	out->build_id_kind = bid_kind_name(r->bid_kind);
	out->is_main = !!(r->flags & MAPF_MAIN);
	out->perms = (int)r->prot;
	out->deleted = !!(r->flags & MAPF_DELETED);
	out->inode = r->inode;
	out->dev_major = r->dev_major;
	out->dev_minor = r->dev_minor;
}

int modmap_snapshot_mapping_sz(const struct modmap_snapshot *m, size_t i,
			       struct modmap_mapping *out, size_t out_size)
{
	struct modmap_mapping mm;
	if (!m || i >= m->s.n)
		return -1;
	mapping_out(&m->s, &m->s.map[i], &mm);
	copy_out(out, out_size, &mm, sizeof mm);
	return 0;
}

void modmap_snapshot_free(struct modmap_snapshot *m)
{
	if (!m)
		return;
	lookup_free(m->lk);
	sym_snap_free(m->ss);
	addrmap_free(&m->where);
	snapshot_free(&m->s);
	free(m);
}

uint64_t modmap_snapshot_pid(const struct modmap_snapshot *m)
{
	return m->s.pid;
}

const char *modmap_snapshot_os(const struct modmap_snapshot *m)
{
	return m->s.os ? m->s.os : "";
}

const char *modmap_snapshot_exe(const struct modmap_snapshot *m)
{
	return snapshot_str(&m->s, m->s.exe);
}

uint64_t modmap_snapshot_time(const struct modmap_snapshot *m)
{
	return m->s.time_nanos;
}

const char *modmap_snapshot_comm(const struct modmap_snapshot *m)
{
	return snapshot_str(&m->s, m->s.comm);
}

uint64_t modmap_snapshot_ns_pid(const struct modmap_snapshot *m)
{
	return m->s.ns_pid;
}

const char *modmap_snapshot_cgroup(const struct modmap_snapshot *m)
{
	return snapshot_str(&m->s, m->s.cgroup);
}

const char *modmap_snapshot_container_id(const struct modmap_snapshot *m)
{
	return snapshot_str(&m->s, m->s.container_id);
}

long long modmap_snapshot_find(const struct modmap_snapshot *m, uint64_t addr)
{
	return addrmap_find(&m->where, addr);
}

int modmap_lookup_sz(struct modmap_snapshot *m, uint64_t addr, struct modmap_lookup *out,
		     size_t out_size, struct modmap_error *err)
{
	struct errmsg e;
	struct lookup_answer a;
	struct modmap_lookup mine;
	if (!m->lk && !(m->lk = lookup_new(&m->s, m->s.pid, &e))) {
		error_out(err, &e);
		return -1;
	}
	lookup_address(m->lk, addr, &a);
	mine = (struct modmap_lookup){
		.address = a.address,
		.mapping = a.index,
		.file_offset = a.file_offset,
		.has_elf_vaddr = a.has_elf_vaddr,
		.elf_vaddr = a.elf_vaddr,
		.has_rva = a.has_rva,
		.rva = a.rva,
	};
	copy_out(out, out_size, &mine, sizeof mine);
	return 0;
}

struct modmap_cache *modmap_cache_new(void)
{
	struct modmap_cache *c = malloc(sizeof *c);
	if (c && !(c->c = bid_cache_new())) {
		free(c);
		c = NULL;
	}
	return c;
}

void modmap_cache_free(struct modmap_cache *c)
{
	if (!c)
		return;
	bid_cache_free(c->c);
	free(c);
}

int modmap_write(int format, const struct modmap_snapshot *const *snaps, size_t n, int as_array,
		 void **out, size_t *len, struct modmap_error *err)
{
	struct errmsg e;
	struct buf b = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	/* The writers take an array of snapshots: copy the headers (not the
	 * records and strings, which they only borrow). */
	struct snapshot *v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return fail(err, MODMAP_ERR_NO_MEMORY, "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = snaps[i]->s;
	if (format < MODMAP_FORMAT_TEXT || format > MODMAP_FORMAT_JSONL) {
		rc = -1;
		err_set(&e, "unknown format %d", format);
	} else if (!formats[format].supported()) {
		rc = -1;
		err_setc(&e, ERR_UNSUPPORTED, "%s", CBOR_MISSING);
	} else {
		rc = formats[format].write(&b, v, n, as_array, &e);
	}
	free(v);
	if (rc < 0) {
		buf_free(&b);
		error_out(err, &e);
		return -1;
	}
	*out = b.p;
	*len = b.len;
	if (!*out && !(*out = malloc(1))) {	/* an empty document: still freeable */
		return fail(err, MODMAP_ERR_NO_MEMORY, "out of memory");
	}
	return 0;
}

int modmap_attach_sz(const struct modmap_attach_options *opts, size_t opts_size,
		     struct modmap_attach_stats *stats, size_t stats_size, struct modmap_error *err)
{
	struct modmap_attach_options o;
	struct attach_stats st;
	struct errmsg e;
	if (copy_in(&o, sizeof o, opts, opts_size) < 0)
		return fail(err, MODMAP_ERR_UNSUPPORTED,
			    "options this version of libmodmap does not know");
	if (!o.pid == !o.snapshot || !o.profile)
		return fail(err, MODMAP_ERR_OTHER,
			    "attach needs a profile and one of a PID or a snapshot");
	struct attach_job j = {
		.pid = o.pid,
		.snapshot = o.snapshot,
		.profile = o.profile,
		.output = o.output,
		.max = o.max_size,
		.cache = o.cache ? o.cache->c : NULL,
		.procfs = o.procfs,
		.jit = o.jit != 0,
		.symbolizer = o.symbolizer ? o.symbolizer->z : NULL,
	};
	if (j.symbolizer && o.snapshot && strcmp(o.snapshot, "-") == 0)
		return fail(err, MODMAP_ERR_OTHER,
			    "symbolizing reads the snapshot twice: give it as a file, not \"-\"");
	if (attach_run(&j, &st, &e) < 0) {
		error_out(err, &e);
		return -1;
	}
	struct modmap_attach_stats mine = {
		.mappings = st.mappings,
		.locations = st.locations,
		.mapped = st.mapped,
		.kept = st.kept,
		.kept_locations = st.kept_locations,
		.jit_named = st.jit_named,
		.jit_functions = st.jit_functions,
		.symbolized = st.symbolized,
		.sym_functions = st.sym_functions,
	};
	copy_out(stats, stats_size, &mine, sizeof mine);
	return 0;
}

int modmap_symbolizer_new_sz(const struct modmap_symbolize_options *opts, size_t opts_size,
			     struct modmap_symbolizer **out, struct modmap_error *err)
{
	struct modmap_symbolize_options o;
	struct symbolizer_opts so = { 0 };
	struct errmsg e;
	*out = NULL;
	if (copy_in(&o, sizeof o, opts, opts_size) < 0)
		return fail(err, MODMAP_ERR_UNSUPPORTED,
			    "options this version of libmodmap does not know");
	so.debug_dirs = o.debug_dirs;
	so.ndebug_dirs = o.debug_dirs ? o.n_debug_dirs : 0;
	so.warn = o.warn;
	so.ctx = o.warn_ctx;
	struct modmap_symbolizer *m = malloc(sizeof *m);
	if (!m)
		return fail(err, MODMAP_ERR_NO_MEMORY, "out of memory");
	if (!(m->z = symbolizer_new(&so, &e))) {
		free(m);
		error_out(err, &e);
		return -1;
	}
	*out = m;
	return 0;
}

void modmap_symbolizer_free(struct modmap_symbolizer *m)
{
	if (!m)
		return;
	symbolizer_free(m->z);
	free(m);
}

int modmap_symbolize_sz(struct modmap_symbolizer *z, struct modmap_snapshot *m, uint64_t addr,
			struct modmap_frame *frames, size_t frame_size, size_t cap, size_t *n,
			struct modmap_error *err)
{
	struct sym_frame f[SYM_FRAMES_MAX];
	struct errmsg e;
	*n = 0;
	if (m->ss && m->ss_z != z->z) {	/* another symbolizer: its own modules */
		sym_snap_free(m->ss);
		m->ss = NULL;
	}
	if (!m->ss) {
		if (!(m->ss = sym_snap_new(z->z, &m->s, m->s.pid, &e))) {
			error_out(err, &e);
			return -1;
		}
		m->ss_z = z->z;
	}
	size_t got = sym_snap_frames(m->ss, addr, f, cap < SYM_FRAMES_MAX ? cap : SYM_FRAMES_MAX);
	for (size_t i = 0; i < got; i++) {
		struct modmap_frame mf = {
			.function = f[i].function,
			.system_name = f[i].system_name,
			.file = f[i].file,
			.line = f[i].line,
			.column = f[i].column,
			.start_line = f[i].start_line,
		};
		/* Frame i at the caller's stride, only the bytes it has. */
		copy_out((char *)frames + i * frame_size, frame_size, &mf, sizeof mf);
	}
	*n = got;
	return 0;
}

int modmap_collect_sz(const struct modmap_snapshot *m, const char *dir, uint64_t max_file_size,
		      void (*skipped)(void *ctx, const char *line), void *ctx,
		      struct modmap_collect_stats *stats, size_t stats_size, struct modmap_error *err)
{
	if (!m || !dir || !*dir)
		return fail(err, MODMAP_ERR_OTHER, "collect needs a snapshot and a directory");
	struct collect c = {
		.dir = dir,
		.max_file_size = max_file_size,
		.skipped = skipped,
		.ctx = ctx,
	};
	struct errmsg e;
	int rc = collect_snapshot(&c, &m->s, &e);
	collect_free(&c);
	if (rc < 0) {
		error_out(err, &e);
		return -1;
	}
	struct modmap_collect_stats mine = {
		.copied = c.st.copied,
		.bytes = c.st.bytes,
		.present = c.st.present,
		.skipped = c.st.skipped,
	};
	copy_out(stats, stats_size, &mine, sizeof mine);
	return c.st.skipped ? 1 : 0;
}

/* ---- watch ------------------------------------------------------------- */

struct modmap_watch {
	struct watch w;
};

int modmap_watch_new_sz(uint64_t pid, const struct modmap_options *opts, size_t opts_size,
			struct modmap_watch **out, struct modmap_error *err)
{
	struct read_opts ro;
	struct errmsg e;
	*out = NULL;
	if (convert_options(opts, opts_size, &ro, err) < 0)
		return -1;
	struct modmap_watch *mw = calloc(1, sizeof *mw);
	if (!mw)
		return fail(err, MODMAP_ERR_NO_MEMORY, "out of memory");
	if (watch_init(&mw->w, pid, &ro, &e) < 0) {
		error_out(err, &e);
		free(mw);
		return -1;
	}
	*out = mw;
	return 0;
}

long long modmap_watch_poll(struct modmap_watch *mw, struct modmap_error *err)
{
	struct errmsg e;
	if (watch_poll(&mw->w, &e) < 0) {
		error_out(err, &e);
		return -1;
	}
	return (long long)mw->w.nev;
}

int modmap_watch_event_sz(const struct modmap_watch *mw, size_t i, struct modmap_event *out,
			  size_t out_size)
{
	struct modmap_event mine;
	if (!mw || i >= mw->w.nev)
		return -1;
	const struct watch_event *e = &mw->w.ev[i];
	memset(&mine, 0, sizeof mine);
	mine.kind = e->kind == WATCH_LOAD     ? MODMAP_EVENT_LOAD
		    : e->kind == WATCH_UNLOAD ? MODMAP_EVENT_UNLOAD
					      : MODMAP_EVENT_EXIT;
	mine.time = e->time_nanos;
	mine.pid = mw->w.pid;
	if (e->m)
		mapping_out(e->s, e->m, &mine.mapping);
	else
		mine.mapping.file = mine.mapping.build_id = mine.mapping.build_id_kind = "";
	/* mapping is the event's last member: a caller built with a smaller
	 * mapping gets its fields only, as for modmap_snapshot_mapping. */
	copy_out(out, out_size, &mine, sizeof mine);
	return 0;
}

void modmap_watch_free(struct modmap_watch *mw)
{
	if (!mw)
		return;
	watch_free(&mw->w);
	free(mw);
}

const char *modmap_version(void)
{
	return MODMAP_VERSION_STRING;
}

/* ---- 0.2.0's entry points ----------------------------------------------
 * Programs built against 0.2.0's header call these names, with 0.2.0's
 * struct sizes and attach's positional form; they stay exported (the
 * soname did not change) and forward to the sized calls. The header no
 * longer declares them: its macros of the same names call the *_sz ones.
 */
#define V020_OPTIONS_SIZE offsetof(struct modmap_options, jit)
#define V020_MAPPING_SIZE (offsetof(struct modmap_mapping, dev_minor) + sizeof(uint32_t))
#define V020_LOOKUP_SIZE (offsetof(struct modmap_lookup, rva) + sizeof(uint64_t))
#define V020_COLLECT_STATS_SIZE (offsetof(struct modmap_collect_stats, skipped) + sizeof(uint64_t))
#define V020_EVENT_SIZE (offsetof(struct modmap_event, mapping) + V020_MAPPING_SIZE)
#define V020_ATTACH_STATS_SIZE (offsetof(struct modmap_attach_stats, kept_locations) + sizeof(size_t))

MODMAP_API int(modmap_snapshot_read)(uint64_t pid, const struct modmap_options *opts,
				     struct modmap_snapshot **out, struct modmap_error *err);
MODMAP_API int(modmap_snapshot_mapping)(const struct modmap_snapshot *s, size_t i,
					struct modmap_mapping *out);
MODMAP_API int(modmap_lookup)(struct modmap_snapshot *s, uint64_t addr, struct modmap_lookup *out,
			      struct modmap_error *err);
MODMAP_API int(modmap_attach)(uint64_t pid, const char *snapshot_path, const char *profile_path,
			      const char *output_path, uint64_t max_size,
			      struct modmap_attach_stats *stats, struct modmap_error *err);
MODMAP_API int(modmap_collect)(const struct modmap_snapshot *s, const char *dir,
			       uint64_t max_file_size, void (*skipped)(void *ctx, const char *line),
			       void *ctx, struct modmap_collect_stats *stats,
			       struct modmap_error *err);
MODMAP_API int(modmap_watch_new)(uint64_t pid, const struct modmap_options *opts,
				 struct modmap_watch **out, struct modmap_error *err);
MODMAP_API int(modmap_watch_event)(const struct modmap_watch *w, size_t i,
				   struct modmap_event *out);

int(modmap_snapshot_read)(uint64_t pid, const struct modmap_options *opts,
			  struct modmap_snapshot **out, struct modmap_error *err)
{
	return modmap_snapshot_read_sz(pid, opts, V020_OPTIONS_SIZE, out, err);
}

int(modmap_snapshot_mapping)(const struct modmap_snapshot *s, size_t i, struct modmap_mapping *out)
{
	return modmap_snapshot_mapping_sz(s, i, out, V020_MAPPING_SIZE);
}

int(modmap_lookup)(struct modmap_snapshot *s, uint64_t addr, struct modmap_lookup *out,
		   struct modmap_error *err)
{
	return modmap_lookup_sz(s, addr, out, V020_LOOKUP_SIZE, err);
}

int(modmap_attach)(uint64_t pid, const char *snapshot_path, const char *profile_path,
		   const char *output_path, uint64_t max_size, struct modmap_attach_stats *stats,
		   struct modmap_error *err)
{
	struct modmap_attach_options o = {
		.pid = pid,
		.snapshot = snapshot_path,
		.profile = profile_path,
		.output = output_path,
		.max_size = max_size,
	};
	return modmap_attach_sz(&o, sizeof o, stats, V020_ATTACH_STATS_SIZE, err);
}

int(modmap_collect)(const struct modmap_snapshot *s, const char *dir, uint64_t max_file_size,
		    void (*skipped)(void *ctx, const char *line), void *ctx,
		    struct modmap_collect_stats *stats, struct modmap_error *err)
{
	return modmap_collect_sz(s, dir, max_file_size, skipped, ctx, stats,
				 V020_COLLECT_STATS_SIZE, err);
}

int(modmap_watch_new)(uint64_t pid, const struct modmap_options *opts, struct modmap_watch **out,
		      struct modmap_error *err)
{
	return modmap_watch_new_sz(pid, opts, V020_OPTIONS_SIZE, out, err);
}

int(modmap_watch_event)(const struct modmap_watch *w, size_t i, struct modmap_event *out)
{
	return modmap_watch_event_sz(w, i, out, V020_EVENT_SIZE);
}
