/*
 * attach_cbor.c - reading a snapshot that `modmap --format cbor` wrote, for
 * `modmap attach --snapshot` (see attach.h). libcbor parses; this file only
 * walks the document: one process's object, or an array holding one, whose
 * "mappings" array gives start, limit, offset, file, build_id and main.
 *
 * Builds without libcbor (HAVE_CBOR undefined) keep the entry point and
 * say that they cannot read CBOR.
 */
#include <string.h>

#include "attach.h"
#include "jit.h"

int attach_is_cbor(const unsigned char *p, size_t len)
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
int attach_read_cbor(const unsigned char *p, size_t len, struct snapshot *s, struct errmsg *err)
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
		err_set(err, "out of memory");
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
 * The "jit" array (--jit), into a table s then owns; entries that are not
 * {start, size, name, source} are left out, as the readers of the runtime's
 * own files leave out bad records.
 */
static int read_jit(const cbor_item_t *doc, struct snapshot *s, struct errmsg *err)
{
	const cbor_item_t *arr = map_get(doc, "jit");
	if (!arr || !cbor_isa_array(arr))
		return 0;
	if (!(s->jit = malloc(sizeof *s->jit))) {
		err_set(err, "out of memory");
		return -1;
	}
	jit_table_init(s->jit);
	cbor_item_t **item = cbor_array_handle(arr);
	for (size_t i = 0; i < cbor_array_size(arr); i++) {
		const cbor_item_t *m = item[i], *start, *size;
		const unsigned char *name, *src;
		size_t name_len, src_len;
		if (!cbor_isa_map(m) || !(start = map_get(m, "start")) || !cbor_isa_uint(start) ||
		    !(size = map_get(m, "size")) || !cbor_isa_uint(size) ||
		    !(name = string_bytes(map_get(m, "name"), &name_len))) {
			s->jit->dropped++;
			continue;
		}
		src = string_bytes(map_get(m, "source"), &src_len);
		int jitdump = src && src_len == 7 && memcmp(src, "jitdump", 7) == 0;
		jit_add(s->jit, cbor_get_int(start), cbor_get_int(size), (const char *)name,
			name_len, jitdump ? JIT_JITDUMP : JIT_PERF_MAP);
	}
	if (jit_finish(s->jit) < 0) {
		err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

static int read_process(const cbor_item_t *doc, struct snapshot *s, struct errmsg *err)
{
	const cbor_item_t *maps = cbor_isa_map(doc) ? map_get(doc, "mappings") : NULL;
	if (!maps || !cbor_isa_array(maps)) {
		err_set(err, "not a modmap CBOR snapshot: no \"mappings\" array");
		return -1;
	}
	cbor_item_t **item = cbor_array_handle(maps);
	for (size_t i = 0; i < cbor_array_size(maps); i++) {
		const cbor_item_t *m = item[i];
		struct mapping *r;
		if (!cbor_isa_map(m)) {
			err_set(err, "not a modmap CBOR snapshot: mapping %llu is not a map",
				(unsigned long long)i + 1);
			return -1;
		}
		if (!(r = snapshot_add(s))) {
			err_set(err, "out of memory");
			return -1;
		}
		if (get_uint(m, "start", i + 1, &r->start, err) < 0 ||
		    get_uint(m, "limit", i + 1, &r->limit, err) < 0 ||
		    get_uint(m, "offset", i + 1, &r->offset, err) < 0 ||
		    get_string(m, "file", i + 1, s, &r->file, err) < 0 ||
		    get_string(m, "build_id", i + 1, s, &r->build_id, err) < 0)
			return -1;
		const cbor_item_t *main_exe = map_get(m, "main");
		if (main_exe && cbor_is_bool(main_exe) && cbor_get_bool(main_exe))
			r->flags |= MAPF_MAIN;
	}
	return read_jit(doc, s, err);
}

int attach_read_cbor(const unsigned char *p, size_t len, struct snapshot *s, struct errmsg *err)
{
	struct cbor_load_result res;
	size_t bad = cbor_first_bad_count(p, len);
	if (bad < len) {
		err_set(err, "not a valid CBOR document (a length past the end at byte %llu)",
			(unsigned long long)bad);
		return -1;
	}
	cbor_item_t *root = cbor_load(p, len, &res);
	cbor_item_t *doc = root, *tagged = NULL;
	int rc = -1;

	if (!root || res.error.code != CBOR_ERR_NONE) {
		err_set(err, "not a valid CBOR document (%s at byte %llu)",
			res.error.code == CBOR_ERR_NOTENOUGHDATA ? "truncated"
			: res.error.code == CBOR_ERR_MEMERROR	 ? "out of memory"
								 : "malformed",
			(unsigned long long)res.error.position);
		goto done;
	}
	if (res.read != len) {
		err_set(err, "not a valid CBOR document (trailing bytes at byte %llu)",
			(unsigned long long)res.read);
		goto done;
	}
	if (cbor_isa_tag(root))		/* self-describe tag: look inside */
		doc = tagged = cbor_tag_item(root);
	if (cbor_isa_array(doc)) {	/* what modmap writes for several processes */
		if (cbor_array_size(doc) != 1) {
			err_set(err, "a CBOR snapshot of %llu processes; attach needs one",
				(unsigned long long)cbor_array_size(doc));
			goto done;
		}
		doc = cbor_array_handle(doc)[0];
	}
	rc = read_process(doc, s, err);
done:
	if (tagged)
		cbor_decref(&tagged);
	if (root)
		cbor_decref(&root);
	return rc;
}
#endif
