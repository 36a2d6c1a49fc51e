/*
 * wire/split.c - cutting a protobuf message, fed in pieces, into its
 * top-level fields (see wire/split.h). A header that comes apart between
 * pieces is gathered in a small array; a held payload is copied only when
 * it comes apart, else handed over where it lies.
 */
#include <string.h>

#include "wire/split.h"

/*
 * Reads a varint at *q: 1 read, 0 cut short by the end of what is there
 * (*why says so), -1 malformed.
 */
static int header_varint(const unsigned char **q, const unsigned char *end, uint64_t *v,
			 const char **why)
{
	size_t n = (size_t)(end - *q);
	if (n && **q < 0x80) {	/* one byte: most keys and lengths */
		*v = *(*q)++;
		return 1;
	}
	int cut = n < 10;
	for (size_t i = 0; cut && i < n; i++)
		cut = ((*q)[i] & 0x80) != 0;
	if (cut) {
		*why = "truncated varint";
		return 0;
	}
	return pb_get_varint(q, end, v, why) < 0 ? -1 : 1;
}

/*
 * The header of the field at p (n bytes there): its key, and its value or
 * the length of the payload to follow (*plen). 1 with *hlen its length,
 * 0 when p ends inside it (*why says how, should no more come), -1
 * malformed; the messages are pb_next's.
 */
static int header_parse(const unsigned char *p, size_t n, struct pb_field *f, uint64_t *plen,
			size_t *hlen, const char **why)
{
	const unsigned char *q = p, *end = p + n;
	uint64_t key;
	int rc;
	memset(f, 0, sizeof *f);
	*plen = 0;
	if ((rc = header_varint(&q, end, &key, why)) <= 0)
		return rc;
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff) {
		*why = "invalid field number";
		return -1;
	}
	f->number = (uint32_t)(key >> 3);
	f->type = (enum pb_wiretype)(key & 7);
	switch (f->type) {
	case PB_VARINT:
		if ((rc = header_varint(&q, end, &f->value, why)) <= 0)
			return rc;
		break;
	case PB_FIXED64:
	case PB_FIXED32: {
		size_t k = f->type == PB_FIXED64 ? 8 : 4;
		if ((size_t)(end - q) < k) {
			*why = "truncated fixed-width field";
			return 0;
		}
		for (size_t i = 0; i < k; i++)
			f->value |= (uint64_t)q[i] << (8 * i);
		q += k;
		break;
	}
	case PB_LEN:
		if ((rc = header_varint(&q, end, plen, why)) <= 0)
			return rc;
		break;
	default:
		*why = "unsupported wire type";
		return -1;
	}
	f->len = (size_t)*plen;	/* what a 64-bit build holds; left counts the rest */
	*hlen = (size_t)(q - p);
	return 1;
}

void pb_split_init(struct pb_split *sp, const struct pb_split_ops *ops, void *ctx,
		   uint64_t hold_max)
{
	memset(sp, 0, sizeof *sp);
	sp->ops = ops;
	sp->ctx = ctx;
	sp->hold_max = hold_max;
}

/*
 * The digest: each 8-byte word w (counted from the first byte fed) goes
 * in as h = rotl((h ^ w) * K, 29). Every step is a bijection of h, so any
 * one changed word changes the result; it costs a tenth of CRC-32 (which
 * was 7% of attach's instructions, here only to notice a file changed
 * between passes).
 */
static uint64_t digest_step(uint64_t h, const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);	/* one load; in the machine's byte order, as both passes are */
	h = (h ^ w) * 0x9E3779B97F4A7C15u;
	return h << 29 | h >> 35;
}

static void digest_feed(struct pb_split *sp, const unsigned char *p, size_t len)
{
	size_t t = (size_t)(sp->pos % 8);	/* bytes in the tail before p */
	uint64_t h = sp->hash;
	if (len == 0)
		return;	/* p may be NULL */
	if (t) {
		size_t k = len < 8 - t ? len : 8 - t;
		memcpy(sp->tail + t, p, k);
		p += k;
		len -= k;
		if (t + k < 8)
			return;	/* still no whole word */
		h = digest_step(h, sp->tail);
	}
	for (; len >= 8; p += 8, len -= 8)
		h = digest_step(h, p);
	if (len)
		memcpy(sp->tail, p, len);
	sp->hash = h;
}

uint64_t pb_split_digest(const struct pb_split *sp)
{
	unsigned char last[8] = { 0 };
	memcpy(last, sp->tail, (size_t)(sp->pos % 8));
	return digest_step(sp->hash, last) ^ sp->pos;
}

void pb_split_free(struct pb_split *sp)
{
	buf_free(&sp->body);
}

/* A field's payload is all there: p is it when it was held. */
static int field_end(struct pb_split *sp, const unsigned char *p, struct errmsg *err)
{
	sp->f.data = p;
	int rc = sp->ops->field(sp->ctx, &sp->f, err);
	sp->in_payload = 0;
	sp->body.len = 0;
	sp->at = sp->pos;
	return rc;
}

/*
 * The next header, read where it is in p, or gathered in sp->hdr when it
 * comes apart. Returns how many bytes of p it took (all of them when the
 * header is not complete yet), or -1.
 */
static long header_feed(struct pb_split *sp, const unsigned char *p, size_t len,
			struct errmsg *err)
{
	size_t hlen, old = sp->hdr_len, avail = len;
	uint64_t plen;
	const unsigned char *h = p;
	const char *why = NULL;
	if (old) {
		size_t k = len < PB_SPLIT_HEADER_MAX - old ? len : PB_SPLIT_HEADER_MAX - old;
		/* p holds len > 0 bytes here; the analyser loses track of it
		 * across the caller's loop. */
		memcpy(sp->hdr + old, p, k);	/* NOLINT(clang-analyzer-core.NonNullParamChecker) */
		h = sp->hdr;
		avail = old + k;
	}
	int rc = header_parse(h, avail, &sp->f, &plen, &hlen, &why);
	if (rc < 0)
		return sp->ops->bad(sp->ctx, sp->at, why, err);
	if (rc == 0) {	/* avail < PB_SPLIT_HEADER_MAX: all of p fits */
		if (!old)
			memcpy(sp->hdr, p, len);
		sp->hdr_len = avail;
		return (long)len;
	}
	sp->hdr_len = 0;
	sp->left = plen;
	sp->in_payload = 1;
	sp->pos += hlen - old;	/* before the callback, which may read it */
	rc = sp->ops->header(sp->ctx, &sp->f, h, hlen, err);
	if (rc < 0)
		return -1;
	sp->action = (enum pb_split_action)rc;
	if (sp->action == PB_SPLIT_HOLD && sp->left > sp->hold_max)
		sp->action = PB_SPLIT_SKIP;	/* field sees data NULL: too long */
	if (sp->left == 0 && field_end(sp, (const unsigned char *)"", err) < 0)
		return -1;
	return (long)(hlen - old);
}

int pb_split_feed(struct pb_split *sp, const void *ptr, size_t len, struct errmsg *err)
{
	const unsigned char *p = ptr;
	digest_feed(sp, p, len);
	while (len) {
		if (!sp->in_payload) {
			long k = header_feed(sp, p, len, err);
			if (k < 0)
				return -1;
			if (sp->hdr_len) {	/* incomplete: all of p taken */
				sp->pos += len;
				return 0;
			}
			p += k;
			len -= (size_t)k;
			continue;
		}
		size_t k = sp->left < len ? (size_t)sp->left : len;
		const unsigned char *whole = NULL;
		if (sp->action == PB_SPLIT_HOLD) {
			if (sp->body.len == 0 && k == sp->left) {
				whole = p;	/* all here: no copy */
			} else {
				buf_put(&sp->body, p, k);
				if (sp->body.oom) {
					err_setc(err, ERR_NO_MEMORY, "out of memory");
					return -1;
				}
			}
		} else if (sp->action == PB_SPLIT_PASS && sp->ops->payload(sp->ctx, p, k, err) < 0) {
			return -1;
		}
		p += k;
		len -= k;
		sp->pos += k;
		sp->left -= k;
		if (sp->left == 0) {
			if (!whole && sp->action == PB_SPLIT_HOLD)
				whole = sp->body.p ? sp->body.p : (const unsigned char *)"";
			if (field_end(sp, whole, err) < 0)
				return -1;
		}
	}
	return 0;
}

int pb_split_end(struct pb_split *sp, struct errmsg *err)
{
	if (sp->hdr_len) {
		struct pb_field f;
		uint64_t plen;
		size_t hlen;
		const char *why = "truncated varint";
		header_parse(sp->hdr, sp->hdr_len, &f, &plen, &hlen, &why);
		return sp->ops->bad(sp->ctx, sp->at, why, err);
	}
	if (sp->in_payload)
		return sp->ops->bad(sp->ctx, sp->at, "length past the end", err);
	return 0;
}
