/* wire/pbwire.c - the protobuf wire writer and reader (see pbwire.h). */
#include <string.h>

#include "wire/pbwire.h"

size_t pb_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

void pb_put_varint(struct buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char)v;
	buf_put(b, tmp, n);
}

void pb_put_key(struct buf *b, uint32_t field, enum pb_wiretype wt)
{
	pb_put_varint(b, (uint64_t)field << 3 | (uint64_t)wt);
}

void pb_put_uint(struct buf *b, uint32_t field, uint64_t v)
{
	pb_put_key(b, field, PB_VARINT);
	pb_put_varint(b, v);
}

void pb_put_int(struct buf *b, uint32_t field, int64_t v)
{
	pb_put_uint(b, field, (uint64_t)v);	/* int64: two's complement */
}

void pb_put_bytes(struct buf *b, uint32_t field, const void *p, size_t n)
{
	pb_put_key(b, field, PB_LEN);
	pb_put_varint(b, n);
	buf_put(b, p, n);
}

void pb_put_string(struct buf *b, uint32_t field, const char *s)
{
	pb_put_bytes(b, field, s, strlen(s));
}

void pb_put_packed(struct buf *b, uint32_t field, const uint64_t *v, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += pb_varint_len(v[i]);
	pb_put_key(b, field, PB_LEN);
	pb_put_varint(b, len);
	for (size_t i = 0; i < n; i++)
		pb_put_varint(b, v[i]);
}

int pb_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v,
		  const char **why)
{
	uint64_t x = 0;
	const unsigned char *s = *p;
	for (int shift = 0;; shift += 7) {
		if (s == end) {
			*why = "truncated varint";
			return -1;
		}
		unsigned char c = *s++;
		if (shift == 63 && c & 0x80) {
			*why = "varint longer than 10 bytes";
			return -1;
		}
		if (shift == 63 && c > 1) {
			*why = "varint overflows 64 bits";
			return -1;
		}
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*p = s;
			*v = x;
			return 0;
		}
	}
}

int pb_next(struct pb_reader *r, struct pb_field *f, const char **why)
{
	const unsigned char *start = r->p;
	uint64_t key;
	if (r->p == r->end)
		return 0;
	if (pb_get_varint(&r->p, r->end, &key, why) < 0)
		return -1;
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff) {
		*why = "invalid field number";
		return -1;
	}
	memset(f, 0, sizeof *f);
	f->number = (uint32_t)(key >> 3);
	f->type = (enum pb_wiretype)(key & 7);
	switch (f->type) {
	case PB_VARINT:
		if (pb_get_varint(&r->p, r->end, &f->value, why) < 0)
			return -1;
		break;
	case PB_FIXED64:
	case PB_FIXED32: {
		size_t n = f->type == PB_FIXED64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n) {
			*why = "truncated fixed-width field";
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			f->value |= (uint64_t)r->p[i] << (8 * i);
		r->p += n;
		break;
	}
	case PB_LEN: {
		uint64_t n;
		if (pb_get_varint(&r->p, r->end, &n, why) < 0)
			return -1;
		if (n > (uint64_t)(r->end - r->p)) {
			*why = "length past the end";
			return -1;
		}
		f->data = r->p;
		f->len = (size_t)n;
		r->p += n;
		break;
	}
	default:
		*why = "unsupported wire type";
		return -1;
	}
	f->raw = start;
	f->raw_len = (size_t)(r->p - start);
	return 1;
}
