/*
 * format/read_cbor.c - reading a snapshot that `modmap --format cbor` wrote,
 * for `lookup --snapshot` and `attach --snapshot` (see format/read.h).
 * libcbor parses; this file only walks the document: one process's
 * object, or an array holding one, whose "mappings" array gives start,
 * limit, offset, file, build_id and main.
 *
 * Builds without libcbor (HAVE_CBOR undefined) keep the entry point and
 * say that they cannot read CBOR.
 */
#include <stdlib.h>
#include <string.h>

#include "format/read.h"
#include "jit.h"

int snapshot_is_cbor(const unsigned char *p, size_t len)
{
	/*
	 * A CBOR map or array (major types 5 and 4), or the self-describe tag
	 * 55799. A pprof profile begins with the key of a field numbered 1 to
	 * 15, a byte below 0x80.
	 */
	if (len >= 3 && p[0] == 0xd9 && p[1] == 0xd9 && p[2] == 0xf7)
		return 1;
	return len > 0 && p[0] >= 0x80 && p[0] <= 0xbf;
}

#ifndef HAVE_CBOR
int snapshot_read_cbor(const unsigned char *p, size_t len, struct snapshot *s, struct errmsg *err)
{
	(void)p;
	(void)len;
	(void)s;
	err_setc(err, ERR_UNSUPPORTED,
		 "a CBOR snapshot, and this modmap was built without libcbor; "
		 "save the snapshot as pprof");
	return -1;
}
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"	/* libcbor's "f()" declarations */
#include <cbor.h>
#pragma GCC diagnostic pop

/*
 * libcbor allocates a definite-length array or map as soon as it reads its
 * head, so ten bytes claiming 2^28 items would cost gigabytes. Every item
 * takes at least a byte: no count may be larger than the bytes left. The
 * heads of a CBOR document, read in order, are a flat sequence (children
 * follow their parent's head), so one pass without a stack checks them all.
 * Returns the offset of the first bad head, or len when there is none;
 * other malformations are libcbor's to report.
 */
static size_t cbor_first_bad_count(const unsigned char *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t at = i;
		unsigned major = p[i] >> 5, ai = p[i] & 31;
		uint64_t v = ai;
		i++;
		if (ai >= 24 && ai <= 27) {
			size_t n = (size_t)1 << (ai - 24);
			if (len - i < n)
				return len;
			v = 0;
			for (size_t k = 0; k < n; k++)
				v = v << 8 | p[i + k];
			i += n;
		} else if (ai > 23) {
			continue;	/* indefinite, or reserved */
		}
		uint64_t left = len - i;
		if ((major == 2 || major == 3 || major == 4) && v > left)
			return at;
		if (major == 5 && v > left / 2)
			return at;
		if (major == 2 || major == 3)
			i += (size_t)v;
	}
	return len;
}

/* The value of key name in map m, or NULL. */
static cbor_item_t *map_get(const cbor_item_t *m, const char *name)
{
	struct cbor_pair *kv = cbor_map_handle(m);
	size_t n = strlen(name);
	for (size_t i = 0; i < cbor_map_size(m); i++) {
		const cbor_item_t *k = kv[i].key;
		if (cbor_isa_string(k) && cbor_string_is_definite(k) &&
		    cbor_string_length(k) == n && memcmp(cbor_string_handle(k), name, n) == 0)
			return kv[i].value;
	}
	return NULL;
}

static int get_uint(const cbor_item_t *m, const char *name, size_t ordinal, uint64_t *v,
		    struct errmsg *err)
{
	const cbor_item_t *x = map_get(m, name);
	if (!x || !cbor_isa_uint(x)) {
		err_set(err, "not a modmap CBOR snapshot: mapping %llu: \"%s\" is %s",
			(unsigned long long)ordinal, name,
			x ? "not an unsigned integer" : "missing");
		return -1;
	}
	*v = cbor_get_int(x);
	return 0;
}

/*
 * An optional string field, interned into s; 0 ("") when absent. A text
 * string, or a byte string: --format cbor writes a name that is not UTF-8
 * (a Linux path may be any bytes) as a byte string of exactly its bytes.
 */
static int get_string(const cbor_item_t *m, const char *name, size_t ordinal,
		      struct snapshot *s, uint32_t *off, struct errmsg *err)
{
	const cbor_item_t *x = map_get(m, name);
	const unsigned char *p;
	size_t len;
	*off = 0;
	if (!x)
		return 0;
	if (cbor_isa_string(x) && cbor_string_is_definite(x)) {
		p = cbor_string_handle(x);
		len = cbor_string_length(x);
	} else if (cbor_isa_bytestring(x) && cbor_bytestring_is_definite(x)) {
		p = cbor_bytestring_handle(x);
		len = cbor_bytestring_length(x);
	} else {
		err_set(err, "not a modmap CBOR snapshot: mapping %llu: \"%s\" is not a string",
			(unsigned long long)ordinal, name);
		return -1;
	}
	/* Paths and IDs hold no NUL; one would cut the name short unseen. */
	if (len && memchr(p, 0, len)) {
		err_set(err, "not a modmap CBOR snapshot: mapping %llu: \"%s\" holds a NUL byte",
			(unsigned long long)ordinal, name);
		return -1;
	}
	*off = snapshot_intern(s, (const char *)p, len);
	if (*off == UINT32_MAX) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	return 0;
}

/* A string's bytes (text or byte string), or NULL. */
static const unsigned char *string_bytes(const cbor_item_t *x, size_t *len)
{
	if (x && cbor_isa_string(x) && cbor_string_is_definite(x)) {
		*len = cbor_string_length(x);
		return cbor_string_handle(x);
	}
	if (x && cbor_isa_bytestring(x) && cbor_bytestring_is_definite(x)) {
		*len = cbor_bytestring_length(x);
		return cbor_bytestring_handle(x);
	}
	return NULL;
}

/*
 * One entry of the "jit" array (--jit) into t; one that is not {start,
 * size, name, source} is left out, as the readers of the runtime's own
 * files leave out bad records.
 */
static void read_jit_entry(const cbor_item_t *m, struct jit_table *t)
{
	const cbor_item_t *start, *size;
	const unsigned char *name, *src;
	size_t name_len, src_len;
	if (!cbor_isa_map(m) || !(start = map_get(m, "start")) || !cbor_isa_uint(start) ||
	    !(size = map_get(m, "size")) || !cbor_isa_uint(size) ||
	    !(name = string_bytes(map_get(m, "name"), &name_len))) {
		t->dropped++;
		return;
	}
	src = string_bytes(map_get(m, "source"), &src_len);
	int jitdump = src && src_len == 7 && memcmp(src, "jitdump", 7) == 0;
	jit_add(t, cbor_get_int(start), cbor_get_int(size), (const char *)name, name_len,
		jitdump ? JIT_JITDUMP : JIT_PERF_MAP);
}

/* One mapping's map, decoded by libcbor on its own. */
static int read_mapping(const cbor_item_t *m, size_t ordinal, struct snapshot *s,
			struct errmsg *err)
{
	struct mapping *r;
	if (!cbor_isa_map(m)) {
		err_set(err, "not a modmap CBOR snapshot: mapping %llu is not a map",
			(unsigned long long)ordinal);
		return -1;
	}
	if (!(r = snapshot_add(s))) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	if (get_uint(m, "start", ordinal, &r->start, err) < 0 ||
	    get_uint(m, "limit", ordinal, &r->limit, err) < 0 ||
	    get_uint(m, "offset", ordinal, &r->offset, err) < 0 ||
	    get_string(m, "file", ordinal, s, &r->file, err) < 0 ||
	    get_string(m, "build_id", ordinal, s, &r->build_id, err) < 0)
		return -1;
	const cbor_item_t *main_exe = map_get(m, "main");
	if (main_exe && cbor_is_bool(main_exe) && cbor_get_bool(main_exe))
		r->flags |= MAPF_MAIN;
	return 0;
}

/*
 * libcbor builds a tree of every item (some 70 bytes for each byte of a
 * document of small items), so the document is walked here head by head,
 * allocating nothing, and only each mapping's own map, bounded in items,
 * is handed to libcbor. Memory then goes with the largest mapping, not
 * with the document.
 */
#define MAPPING_ITEMS_MAX 4096	/* modmap writes some 30 */
#define NESTING_MAX 64
#define INDEFINITE UINT64_MAX

struct walk {
	const unsigned char *p;
	size_t len, i;
	struct errmsg *err;
};

static int walk_fail(struct walk *w, const char *what, size_t at)
{
	err_set(w->err, "not a valid CBOR document (%s at byte %llu)", what,
		(unsigned long long)at);
	return -1;
}

/* The head at w->i: its major type and argument (INDEFINITE for ai 31). */
static int walk_head(struct walk *w, unsigned *major, uint64_t *v)
{
	size_t at = w->i;
	if (w->i >= w->len)
		return walk_fail(w, "truncated", at);
	unsigned ai = w->p[w->i] & 31;
	*major = w->p[w->i++] >> 5;
	*v = ai;
	if (ai >= 24 && ai <= 27) {
		size_t n = (size_t)1 << (ai - 24);
		if (w->len - w->i < n)
			return walk_fail(w, "truncated", at);
		*v = 0;
		for (size_t k = 0; k < n; k++)
			*v = *v << 8 | w->p[w->i + k];
		w->i += n;
	} else if (ai == 31) {
		if (*major == 0 || *major == 1 || *major == 6)
			return walk_fail(w, "malformed", at);
		*v = INDEFINITE;
	} else if (ai > 23) {
		return walk_fail(w, "malformed", at);
	}
	return 0;
}

/* Steps over one whole item, nested ones and all; *items counts its heads. */
static int walk_skip(struct walk *w, uint64_t *items)
{
	uint64_t left[NESTING_MAX];
	size_t depth = 1;
	left[0] = 1;
	*items = 0;
	while (depth) {
		if (left[depth - 1] == 0) {
			depth--;
			continue;
		}
		if (w->i < w->len && w->p[w->i] == 0xff && left[depth - 1] == INDEFINITE) {
			w->i++;	/* the break that ends an indefinite item */
			depth--;
			continue;
		}
		size_t at = w->i;
		unsigned major;
		uint64_t v;
		if (walk_head(w, &major, &v) < 0)
			return -1;
		if (major == 7 && v == INDEFINITE)
			return walk_fail(w, "malformed", at);	/* a break out of place */
		if (left[depth - 1] != INDEFINITE)
			left[depth - 1]--;
		++*items;
		uint64_t push = 0;
		if ((major == 2 || major == 3) && v != INDEFINITE) {
			if (v > w->len - w->i)
				return walk_fail(w, "a length past the end", at);
			w->i += (size_t)v;
		} else if (major >= 2 && major <= 5) {
			push = v == INDEFINITE ? INDEFINITE : major == 5 ? 2 * v : v;
		} else if (major == 6) {
			push = 1;	/* the tagged item */
		}
		if (push && depth == NESTING_MAX)
			return walk_fail(w, "nested too deeply", at);
		if (push)
			left[depth++] = push;
	}
	return 0;
}

/* Is the item at w->i the text string name? (Steps over it either way.) */
static int walk_key_is(struct walk *w, const char *name, int *is)
{
	size_t at = w->i, n = strlen(name);
	unsigned major;
	uint64_t v, items;
	*is = 0;
	if (walk_head(w, &major, &v) < 0)
		return -1;
	if (major == 3 && v != INDEFINITE) {
		if (v > w->len - w->i)
			return walk_fail(w, "a length past the end", at);
		*is = v == n && memcmp(w->p + w->i, name, n) == 0;
		w->i += (size_t)v;
		return 0;
	}
	w->i = at;
	return walk_skip(w, &items);
}

/* The elements of the "mappings" array, each read on its own. */
static int walk_mappings(struct walk *w, struct snapshot *s)
{
	unsigned major;
	uint64_t n, items;
	if (walk_head(w, &major, &n) < 0)
		return -1;
	if (major != 4) {
		err_set(w->err, "not a modmap CBOR snapshot: no \"mappings\" array");
		return -1;
	}
	for (size_t k = 0; n == INDEFINITE || k < n; k++) {
		if (n == INDEFINITE && w->i < w->len && w->p[w->i] == 0xff) {
			w->i++;
			break;
		}
		size_t b = w->i;
		if (walk_skip(w, &items) < 0)
			return -1;
		if (items > MAPPING_ITEMS_MAX) {
			err_set(w->err, "not a modmap CBOR snapshot: mapping %llu holds %llu items "
				"(at most %d)", (unsigned long long)k + 1, (unsigned long long)items,
				MAPPING_ITEMS_MAX);
			return -1;
		}
		struct cbor_load_result res;
		cbor_item_t *m = cbor_load(w->p + b, w->i - b, &res);
		if (!m || res.error.code != CBOR_ERR_NONE) {
			if (m)
				cbor_decref(&m);
			return walk_fail(w, res.error.code == CBOR_ERR_MEMERROR ? "out of memory"
									       : "malformed",
					 b + res.error.position);
		}
		int rc = read_mapping(m, k + 1, s, w->err);
		cbor_decref(&m);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * The "jit" array (--jit), into a table s then owns: walked as the
 * mappings are, each entry handed to libcbor on its own, bounded in items;
 * an entry past JIT_ENTRY_ITEMS_MAX is left out, and jit_add bounds the
 * table. A "jit" that is not an array is stepped over.
 */
#define JIT_ENTRY_ITEMS_MAX 64	/* modmap writes 9 */

static int walk_jit(struct walk *w, struct snapshot *s)
{
	unsigned major;
	uint64_t n, items;
	size_t at = w->i;
	if (walk_head(w, &major, &n) < 0)
		return -1;
	if (major != 4) {
		w->i = at;
		return walk_skip(w, &items);
	}
	if (!s->jit) {
		if (!(s->jit = malloc(sizeof *s->jit))) {
			err_setc(w->err, ERR_NO_MEMORY, "out of memory");
			return -1;
		}
		jit_table_init(s->jit);
	}
	for (uint64_t k = 0; n == INDEFINITE || k < n; k++) {
		if (n == INDEFINITE && w->i < w->len && w->p[w->i] == 0xff) {
			w->i++;
			break;
		}
		size_t b = w->i;
		if (walk_skip(w, &items) < 0)
			return -1;
		if (items > JIT_ENTRY_ITEMS_MAX) {
			s->jit->dropped++;
			continue;
		}
		struct cbor_load_result res;
		cbor_item_t *m = cbor_load(w->p + b, w->i - b, &res);
		if (!m || res.error.code != CBOR_ERR_NONE) {
			if (m)
				cbor_decref(&m);
			return walk_fail(w, res.error.code == CBOR_ERR_MEMERROR ? "out of memory"
									       : "malformed",
					 b + res.error.position);
		}
		read_jit_entry(m, s->jit);
		cbor_decref(&m);
	}
	return 0;
}

/* The process's map: its "mappings" read, every other value stepped over. */
static int walk_process(struct walk *w, struct snapshot *s)
{
	unsigned major;
	uint64_t n, items;
	int found = 0, is;
	size_t at = w->i;
	if (walk_head(w, &major, &n) < 0)
		return -1;
	if (major != 5) {
		w->i = at;
		if (walk_skip(w, &items) < 0)
			return -1;
		err_set(w->err, "not a modmap CBOR snapshot: no \"mappings\" array");
		return -1;
	}
	for (uint64_t k = 0; n == INDEFINITE || k < n; k++) {
		if (n == INDEFINITE && w->i < w->len && w->p[w->i] == 0xff) {
			w->i++;
			break;
		}
		size_t key = w->i;
		int is_os = 0, is_jit = 0;
		if (walk_key_is(w, "mappings", &is) < 0)
			return -1;
		if (!is) {
			size_t value = w->i;
			w->i = key;
			if (walk_key_is(w, "os", &is_os) < 0)
				return -1;
			w->i = key;
			if (walk_key_is(w, "jit", &is_jit) < 0)
				return -1;
			w->i = value;
		}
		/* "os": "windows" says the paths are Windows's (lookup's rva). */
		if (is_os && w->len - w->i >= 8 && w->p[w->i] == 0x67 &&
		    memcmp(w->p + w->i + 1, "windows", 7) == 0)
			s->os = "windows";
		if (is && !found) {
			found = 1;
			if (walk_mappings(w, s) < 0)
				return -1;
		} else if (is_jit && !s->jit) {
			if (walk_jit(w, s) < 0)
				return -1;
		} else if (walk_skip(w, &items) < 0) {
			return -1;
		}
	}
	if (!found) {
		err_set(w->err, "not a modmap CBOR snapshot: no \"mappings\" array");
		return -1;
	}
	if (s->jit && jit_finish(s->jit) < 0) {
		err_setc(w->err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	return 0;
}

int snapshot_read_cbor(const unsigned char *p, size_t len, struct snapshot *s, struct errmsg *err)
{
	struct walk w = { p, len, 0, err };
	unsigned major;
	uint64_t n, items;
	size_t bad = cbor_first_bad_count(p, len);
	if (bad < len) {
		err_set(err, "not a valid CBOR document (a length past the end at byte %llu)",
			(unsigned long long)bad);
		return -1;
	}
	/* The whole document is well-formed before any of it is taken. */
	if (walk_skip(&w, &items) < 0)
		return -1;
	if (w.i != len) {
		err_set(err, "not a valid CBOR document (trailing bytes at byte %llu)",
			(unsigned long long)w.i);
		return -1;
	}
	w.i = 0;
	size_t doc = 0;
	if (walk_head(&w, &major, &n) < 0)
		return -1;
	if (major == 6) {	/* the self-describe tag: look inside */
		doc = w.i;
		if (walk_head(&w, &major, &n) < 0)
			return -1;
	}
	if (major != 4) {	/* the process itself */
		w.i = doc;
		return walk_process(&w, s);
	}
	/* What modmap writes for several processes: an array. */
	uint64_t count = 0;
	size_t first = w.i;
	for (; n == INDEFINITE || count < n; count++) {
		if (n == INDEFINITE && p[w.i] == 0xff)
			break;
		if (walk_skip(&w, &items) < 0)
			return -1;
	}
	if (count != 1) {
		err_set(err, "a CBOR snapshot of %llu processes; attach needs one",
			(unsigned long long)count);
		return -1;
	}
	w.i = first;
	return walk_process(&w, s);
}
#endif
