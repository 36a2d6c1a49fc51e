/*
 * pbwire.h - the protobuf wire format, by hand: a writer that appends
 * fields to a struct buf, and a reader that walks the fields of a message
 * in place, without allocating. Only what pprof profiles need: varints,
 * fixed64/fixed32 (skipped or copied), and length-delimited fields.
 * Debian's mingw-w64 has no protobuf library, and the job is small.
 */
#ifndef MODMAP_PBWIRE_H
#define MODMAP_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum pb_wiretype {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

/* ---- writer: every call appends to b; errors are b->oom ---------------- */
void pb_put_varint(struct buf *b, uint64_t v);
void pb_put_key(struct buf *b, uint32_t field, enum pb_wiretype wt);
/* A varint field; written even when v is 0 (callers skip defaults). */
void pb_put_uint(struct buf *b, uint32_t field, uint64_t v);
void pb_put_int(struct buf *b, uint32_t field, int64_t v);
void pb_put_bytes(struct buf *b, uint32_t field, const void *p, size_t n);
void pb_put_string(struct buf *b, uint32_t field, const char *s);
/* A packed repeated varint field. */
void pb_put_packed(struct buf *b, uint32_t field, const uint64_t *v, size_t n);
/* The length a varint of v takes. */
size_t pb_varint_len(uint64_t v);

/* ---- reader ------------------------------------------------------------ */
struct pb_reader {
	const unsigned char *p, *end;
};

struct pb_field {
	uint32_t number;
	enum pb_wiretype type;
	uint64_t value;			/* PB_VARINT, PB_FIXED64, PB_FIXED32 */
	const unsigned char *data;	/* PB_LEN: the payload */
	size_t len;
	const unsigned char *raw;	/* the whole field, key included, */
	size_t raw_len;			/* to copy it unchanged */
};

static inline struct pb_reader pb_reader(const void *p, size_t len)
{
	struct pb_reader r = { (const unsigned char *)p, (const unsigned char *)p + len };
	return r;
}

/*
 * Reads the next field. Returns 1 with *f filled, 0 at the end of the
 * message, or -1 when the bytes are malformed; then *why (static text) says
 * how: "truncated varint", "varint longer than 10 bytes", "length past the
 * end", "field number 0", "unsupported wire type N" (groups included).
 */
int pb_next(struct pb_reader *r, struct pb_field *f, const char **why);

/* Reads one varint at *p (before end), advancing *p; -1 on malformed. */
int pb_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v,
		  const char **why);

#endif
