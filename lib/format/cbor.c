/*
 * format/cbor.c - the JSON document in CBOR (RFC 8949), written with
 * libcbor's streaming encoder: the same keys in the same order
 * (format/fields.c), a map per process and an array of them for several,
 * but addresses, offsets and inodes as unsigned integers.
 *
 * A string that is valid UTF-8 is a text string. One that is not (a Linux
 * path is any bytes) is a byte string holding exactly those bytes: CBOR
 * text must be UTF-8, and JSON's surrogateescape has no valid UTF-8 form.
 * The document starts with the self-described CBOR tag (55799), so a
 * reader (attach --snapshot) can tell it from gzip or protobuf.
 *
 * Built without libcbor (HAVE_CBOR undefined: the Windows build, or
 * `make CBOR=no`), it only says so; main.c asks before reading anything.
 */
#include <stdbool.h>
#include <string.h>

#include "format/emit.h"
#include "jit.h"
#include "utf8.h"

#ifndef HAVE_CBOR

int emit_cbor_supported(void)
{
	return 0;
}

int emit_cbor(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	      struct errmsg *err)
{
	(void)b, (void)s, (void)n, (void)as_array;
	err_set(err, "%s", CBOR_MISSING);
	return -1;
}

#else

#include <cbor.h>

/* The self-described CBOR tag, RFC 8949 section 3.4.6: bytes d9 d9 f7. */
#define CBOR_TAG_SELF_DESCRIBE 55799
/* The longest head of a CBOR item: initial byte and an 8-byte argument. */
#define HEAD_MAX 9

int emit_cbor_supported(void)
{
	return 1;
}

/*
 * Each item's head goes straight into the output buffer; libcbor returns
 * 0 only when the room is short, which reserving HEAD_MAX rules out.
 */
static unsigned char *head_room(struct buf *b)
{
	return buf_reserve(b, HEAD_MAX) == 0 ? b->p + b->len : NULL;
}

static void put_uint(struct buf *b, uint64_t v)
{
	unsigned char *at = head_room(b);
	if (at)
		b->len += cbor_encode_uint(v, at, HEAD_MAX);
}

static void put_map(struct buf *b, size_t n)
{
	unsigned char *at = head_room(b);
	if (at)
		b->len += cbor_encode_map_start(n, at, HEAD_MAX);
}

static void put_array(struct buf *b, size_t n)
{
	unsigned char *at = head_room(b);
	if (at)
		b->len += cbor_encode_array_start(n, at, HEAD_MAX);
}

static void put_bool(struct buf *b, bool v)
{
	unsigned char *at = head_room(b);
	if (at)
		b->len += cbor_encode_bool(v, at, HEAD_MAX);
}

/* Text when the bytes are UTF-8, else a byte string (see the top). */
static void put_string(struct buf *b, const char *s)
{
	size_t len = strlen(s);
	unsigned char *at = head_room(b);
	if (!at)
		return;
	if (utf8_valid(s, len))
		b->len += cbor_encode_string_start(len, at, HEAD_MAX);
	else
		b->len += cbor_encode_bytestring_start(len, at, HEAD_MAX);
	buf_put(b, s, len);
}

/* A key: ASCII text of known length. */
static void put_text(struct buf *b, const char *s, size_t len)
{
	unsigned char *at = head_room(b);
	if (!at)
		return;
	b->len += cbor_encode_string_start(len, at, HEAD_MAX);
	buf_put(b, s, len);
}

static void put_fields(struct buf *b, const struct field *f, size_t n)
{
	char when[FORMAT_TIME_SIZE];
	for (size_t i = 0; i < n; i++) {
		put_text(b, f[i].key, f[i].key_len);
		switch (f[i].kind) {
		case FIELD_ADDR:
		case FIELD_UINT:
			put_uint(b, f[i].u);
			break;
		case FIELD_STR:
			put_string(b, f[i].s);
			break;
		case FIELD_BOOL:
			put_bool(b, f[i].u != 0);
			break;
		case FIELD_TIME:
			format_time(f[i].u, when);
			put_string(b, when);
			break;
		}
	}
}

static void put_snapshot(struct buf *b, const struct snapshot *s)
{
	struct snapshot_fields sf;
	struct mapping_fields mf;
	snapshot_fields(&sf, s);
	put_map(b, sf.n + 1 + (s->jit != NULL));
	put_fields(b, sf.f, sf.n);
	put_string(b, "mappings");
	put_array(b, s->n);
	for (size_t i = 0; i < s->n; i++) {
		mapping_fields(&mf, s, &s->map[i]);
		put_map(b, mf.n);
		put_fields(b, mf.f, mf.n);
	}
	if (s->jit) {
		struct jit_fields jf;
		put_string(b, "jit");
		put_array(b, s->jit->nlive);
		for (size_t i = 0; i < s->jit->nlive; i++) {
			jit_fields(&jf, s->jit, &s->jit->sym[s->jit->live[i]]);
			put_map(b, jf.n);
			put_fields(b, jf.f, jf.n);
		}
	}
}

int emit_cbor(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	      struct errmsg *err)
{
	unsigned char *at = head_room(b);
	if (at)
		b->len += cbor_encode_tag(CBOR_TAG_SELF_DESCRIBE, at, HEAD_MAX);
	if (!as_array && n == 1) {
		put_snapshot(b, &s[0]);
	} else {
		put_array(b, n);
		for (size_t i = 0; i < n; i++)
			put_snapshot(b, &s[i]);
	}
	if (b->oom) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	return 0;
}

#endif
