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
#include "format/read.h"
#include "buildid.h"
#include "collect.h"
#include "format/emit.h"
#include "jit.h"
#include "lookup.h"
#include "platform.h"
#include "progress.h"
#include "symbolize.h"
#include "snapshot.h"
#include "watch.h"

_Static_assert(sizeof(((struct modmap_error *)0)->message) == sizeof(((struct errmsg *)0)->text),
	       "message size");

struct modmap_snapshot {
	struct snapshot s;
	struct addrmap where;	/* for find */
	struct lookup *lk;	/* for modmap_lookup, made on its first call */
	int saved;		/* from a file: its process is not read again */
	struct lookup_emit emit[2];	/* modmap_lookup_write's parts: text, JSON */
	struct buf answer;	/* modmap_lookup_write's line, reused: a stream of a
				 * million answers allocates nothing per answer */
	struct sym_snap *ss;	/* for modmap_symbolize: the modules of ss_z */
	struct symbolizer *ss_z;
	char jit_name[JIT_NAME_MAX + 1], jit_file[JIT_NAME_MAX + 1];	/* modmap_jit_frame's */
};

/*
 * Progress (modmap.h, struct modmap_progress): the caller's function, and
 * for a collector the counts it adds. fn is NULL when nobody asked.
 */
struct progress_user {
	modmap_progress_fn *fn;
	void *user;
	const struct collect_stats *counts;	/* a collector's, or NULL */
};

struct modmap_symbolizer {
	struct symbolizer *z;
	struct progress_user progress;
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

static void progress_out(void *ctx, const struct progress *p)
{
	const struct progress_user *u = ctx;
	struct modmap_progress mp = {
		.size = sizeof mp,
		.stage = (int)p->stage,
		.pass = p->pass,
		.passes = p->passes,
		.done = p->done,
		.total = p->total,
		.name = p->name,
	};
	if (u->counts) {
		mp.copied = u->counts->copied;
		mp.bytes = u->counts->bytes;
		mp.present = u->counts->present;
		mp.skipped = u->counts->skipped;
	}
	u->fn(u->user, &mp);
}

/* The library's side of it: nothing to call when u has no function. */
static struct progress_to progress_to(const struct progress_user *u)
{
	return (struct progress_to){ u->fn ? progress_out : NULL, (void *)u };
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
	if (o->build_id < MODMAP_BUILD_ID_AUTO || o->build_id > MODMAP_BUILD_ID_HTLHASH ||
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
		.read_fuse = o->read_fuse != 0,
		.timeout_ms = o->timeout_ms,
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
	lookup_emit_free(&m->emit[0]);
	lookup_emit_free(&m->emit[1]);
	buf_free(&m->answer);
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
	if (!m->lk && !(m->lk = lookup_new(&m->s, m->saved ? 0 : m->s.pid, &e))) {
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

static int snapshot_load(const char *path, uint64_t max_size, int jit,
			 struct modmap_snapshot **out, struct modmap_error *err)
{
	struct errmsg e;
	*out = NULL;
	struct modmap_snapshot *m = calloc(1, sizeof *m);
	if (!m)
		return fail(err, MODMAP_ERR_NO_MEMORY, "out of memory");
	m->saved = 1;
	snapshot_init(&m->s);
	if (snapshot_read_saved_jit(path, max_size, jit, &m->s, &e) < 0) {
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

int modmap_snapshot_load(const char *path, uint64_t max_size, struct modmap_snapshot **out,
			 struct modmap_error *err)
{
	return snapshot_load(path, max_size, 0, out, err);
}

int modmap_snapshot_load_jit(const char *path, uint64_t max_size, struct modmap_snapshot **out,
			     struct modmap_error *err)
{
	return snapshot_load(path, max_size, 1, out, err);
}

int modmap_parse_address(const char *text, size_t len, uint64_t *addr)
{
	return lookup_parse_address(text, len, addr);
}

/*
 * One lookup answer in text or JSON into sink: the two public calls below
 * differ only in whether frames come with it (symbolized: "symbols" is
 * written, empty or not).
 */
static int lookup_write(int format, struct modmap_snapshot *m,
			const struct modmap_lookup *answer, size_t answer_size,
			const struct modmap_frame *frames, size_t frame_size, size_t n,
			int symbolized, const char *jit, modmap_sink *sink, void *ctx,
			struct modmap_error *err)
{
	struct modmap_lookup in;
	struct sym_frame f[SYM_FRAMES_MAX];
	struct buf *b = &m->answer;
	if (copy_in(&in, sizeof in, answer, answer_size) < 0)
		return fail(err, MODMAP_ERR_UNSUPPORTED,
			    "an answer this version of libmodmap does not know");
	if ((format != MODMAP_FORMAT_TEXT && format != MODMAP_FORMAT_JSON) ||
	    in.mapping >= (long long)m->s.n)
		return fail(err, MODMAP_ERR_OTHER, "lookup answers are written as text or JSON");
	if (n > SYM_FRAMES_MAX)
		n = SYM_FRAMES_MAX;
	for (size_t i = 0; i < n; i++) {	/* at the caller's stride, its bytes only */
		struct modmap_frame mf;
		copy_in(&mf, sizeof mf, (const char *)frames + i * frame_size,
			frame_size < sizeof mf ? frame_size : sizeof mf);
		f[i] = (struct sym_frame){ mf.function, mf.system_name, mf.file, mf.line,
					   mf.column, mf.start_line };
	}
	struct lookup_answer a = {
		.address = in.address,
		.index = in.mapping,
		.file_offset = in.file_offset,
		.has_elf_vaddr = in.has_elf_vaddr,
		.elf_vaddr = in.elf_vaddr,
		.has_rva = in.has_rva,
		.rva = in.rva,
		.symbolized = symbolized,
		.symbols = f,
		.nsymbols = n,
		.jit_source = jit,
	};
	b->len = 0;
	b->oom = 0;
	if (format == MODMAP_FORMAT_TEXT)
		emit_lookup_text(b, &m->s, &a, &m->emit[0]);
	else
		emit_lookup_json(b, &m->s, &a, &m->emit[1]);
	return b->oom ? fail(err, MODMAP_ERR_NO_MEMORY, "out of memory")
		      : sink(ctx, b->p, b->len, err);
}

int modmap_lookup_write_sz(int format, struct modmap_snapshot *m,
			   const struct modmap_lookup *answer, size_t answer_size,
			   modmap_sink *sink, void *ctx, struct modmap_error *err)
{
	return lookup_write(format, m, answer, answer_size, NULL, 0, 0, 0, NULL, sink, ctx, err);
}

int modmap_lookup_write_frames_sz(int format, struct modmap_snapshot *m,
				  const struct modmap_lookup *answer, size_t answer_size,
				  const struct modmap_frame *frames, size_t frame_size, size_t n,
				  const char *jit, modmap_sink *sink, void *ctx,
				  struct modmap_error *err)
{
	return lookup_write(format, m, answer, answer_size, frames, frame_size, n, 1, jit, sink,
			    ctx, err);
}

/* Copies a JIT table string (not NUL-terminated) into out, cut to fit. */
static const char *jit_copy(const struct jit_table *t, uint32_t off, uint32_t len, char *out)
{
	if (len > JIT_NAME_MAX)
		len = JIT_NAME_MAX;
	memcpy(out, jit_str(t, off), len);
	out[len] = '\0';
	return out;
}

int modmap_jit_frame_sz(struct modmap_snapshot *m, uint64_t addr, struct modmap_frame *out,
			size_t out_size, const char **source)
{
	const struct jit_table *t = m->s.jit;
	const struct jit_sym *sym = t ? jit_lookup(t, addr) : NULL;
	if (!sym)
		return 0;
	struct modmap_frame f = { 0 };
	f.function = f.system_name = jit_copy(t, sym->name, sym->name_len, m->jit_name);
	const struct jit_line *l = jit_line_at(t, sym, addr);
	if (l && l->file_len) {
		f.file = jit_copy(t, l->file, l->file_len, m->jit_file);
		f.line = l->lineno;
	}
	copy_out(out, out_size, &f, sizeof f);
	if (source)
		*source = jit_source_name(sym->source);
	return 1;
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
	struct progress_user pu = { o.progress, o.progress_user, NULL };
	j.progress = progress_to(&pu);
	j.temp.fn = o.temp_file;
	j.temp.user = o.temp_user;
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
	m->progress = (struct progress_user){ o.progress, o.progress_user, NULL };
	so.progress = progress_to(&m->progress);
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
		if (!(m->ss = sym_snap_new(z->z, &m->s, m->saved ? 0 : m->s.pid, &e))) {
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

struct modmap_collector {
	struct collect c;
	struct progress_user progress;	/* its counts: c.st */
};

int modmap_collector_new_sz(const struct modmap_collect_options *opts, size_t opts_size,
			    struct modmap_collector **out, struct modmap_error *err)
{
	struct modmap_collect_options o;
	*out = NULL;
	if (copy_in(&o, sizeof o, opts, opts_size) < 0)
		return fail(err, MODMAP_ERR_UNSUPPORTED,
			    "options this version of libmodmap does not know");
	if (!o.dir || !*o.dir)
		return fail(err, MODMAP_ERR_OTHER, "collect needs a directory");
	struct modmap_collector *mc = calloc(1, sizeof *mc);
	if (!mc)
		return fail(err, MODMAP_ERR_NO_MEMORY, "out of memory");
	mc->c = (struct collect){
		.dir = o.dir,
		.max_file_size = o.max_file_size,
		.max_total = o.max_total,
		.skipped = o.skipped,
		.ctx = o.ctx,
	};
	mc->progress = (struct progress_user){ o.progress, o.progress_user, &mc->c.st };
	mc->c.progress = progress_to(&mc->progress);
	*out = mc;
	return 0;
}

int modmap_collector_add(struct modmap_collector *mc, const struct modmap_snapshot *m,
			 struct modmap_error *err)
{
	struct errmsg e;
	if (collect_snapshot(&mc->c, &m->s, &e) < 0) {
		error_out(err, &e);
		return -1;
	}
	return 0;
}

void modmap_collector_stats_sz(const struct modmap_collector *mc,
			       struct modmap_collect_stats *stats, size_t stats_size)
{
	struct modmap_collect_stats mine = {
		.copied = mc->c.st.copied,
		.bytes = mc->c.st.bytes,
		.present = mc->c.st.present,
		.skipped = mc->c.st.skipped,
	};
	copy_out(stats, stats_size, &mine, sizeof mine);
}

const char *modmap_collector_reason(const struct modmap_collector *mc, size_t i, uint64_t *count)
{
	if (i >= mc->c.st.nreasons)
		return NULL;
	if (count)
		*count = mc->c.st.reason_count[i];
	return mc->c.st.reason[i];
}

void modmap_collector_free(struct modmap_collector *mc)
{
	if (!mc)
		return;
	collect_free(&mc->c);
	free(mc);
}

int modmap_write_to(int format, const struct modmap_snapshot *const *snaps, size_t n,
		    int as_array, modmap_sink *sink, void *ctx, struct modmap_error *err)
{
	void *p;
	size_t len;
	if (modmap_write(format, snaps, n, as_array, &p, &len, err) < 0)
		return -1;
	int rc = sink(ctx, p, len, err);
	free(p);
	return rc;
}

int modmap_format_supported(int format)
{
	return format >= MODMAP_FORMAT_TEXT && format <= MODMAP_FORMAT_JSONL &&
	       formats[format].supported();
}

/* ---- output files ------------------------------------------------------- */

struct modmap_output {
	struct platform_out *o;
};

const char *modmap_output_temp(const struct modmap_output *o, int *dir)
{
	return platform_out_temp(o->o, dir);
}

int modmap_output_open(const char *path, struct modmap_output **out, struct modmap_error *err)
{
	struct errmsg e;
	*out = malloc(sizeof **out);
	if (!*out)
		return fail(err, MODMAP_ERR_NO_MEMORY, "out of memory");
	if (!((*out)->o = platform_out_open(path, NULL, &e))) {
		free(*out);
		*out = NULL;
		error_out(err, &e);
		return -1;
	}
	return 0;
}

int modmap_output_write(void *output, const void *p, size_t len, struct modmap_error *err)
{
	struct modmap_output *o = output;
	struct errmsg e;
	if (platform_out_write(o->o, p, len, &e) < 0) {
		error_out(err, &e);
		return -1;
	}
	return 0;
}

int modmap_output_flush(struct modmap_output *o, struct modmap_error *err)
{
	struct errmsg e;
	if (platform_out_flush(o->o, &e) < 0) {
		error_out(err, &e);
		return -1;
	}
	return 0;
}

int modmap_output_commit(struct modmap_output *o, struct modmap_error *err)
{
	struct errmsg e;
	int rc = platform_out_commit(o->o, &e);
	free(o);
	if (rc < 0) {
		error_out(err, &e);
		return -1;
	}
	return 0;
}

void modmap_output_abort(struct modmap_output *o)
{
	if (!o)
		return;
	platform_out_abort(o->o);
	free(o);
}

/* ---- processes ------------------------------------------------------------ */

uint64_t modmap_self_pid(void)
{
	return snapshot_self_pid();
}

int modmap_list_pids_sz(const struct modmap_options *opts, size_t opts_size, uint64_t **pids,
			size_t *n, struct modmap_error *err)
{
	struct read_opts ro;
	struct errmsg e;
	*pids = NULL;
	*n = 0;
	if (convert_options(opts, opts_size, &ro, err) < 0)
		return -1;
	if (snapshot_list_pids(ro.procfs, pids, n, &e) < 0) {
		error_out(err, &e);
		return -1;
	}
	return 0;
}

int modmap_check_procfs(const char *dir, struct modmap_error *err)
{
	struct errmsg e;
	if (snapshot_check_procfs(dir, &e) < 0) {
		error_out(err, &e);
		return -1;
	}
	return 0;
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

int modmap_watch_write(const struct modmap_watch *mw, size_t i, modmap_sink *sink, void *ctx,
		       struct modmap_error *err)
{
	static const char *const names[] = { "load", "unload", "exit" };
	struct errmsg e;
	struct buf b = { 0 };
	if (!mw || i >= mw->w.nev)
		return fail(err, MODMAP_ERR_OTHER, "no such event");
	const struct watch_event *ev = &mw->w.ev[i];
	int rc = emit_json_event(&b, names[ev->kind], ev->time_nanos, mw->w.pid, ev->s, ev->m, &e);
	if (rc < 0)
		error_out(err, &e);
	else
		rc = sink(ctx, b.p, b.len, err);
	buf_free(&b);
	return rc;
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
