/*
 * wire/split.h - a protobuf message fed in pieces cut anywhere (a pprof
 * profile read through gzip, never held whole), cut into its top-level
 * fields. The splitter knows nothing of pprof: it reads each field's
 * header and asks its user what to do with the payload, by callbacks:
 *
 *   header:  the field's key and value (or payload length, f->len) are
 *            read; raw/hlen are the header's own bytes. Returns what
 *            becomes of the payload (enum pb_split_action), or -1.
 *   payload: PB_SPLIT_PASS only: the payload's bytes as they come.
 *   field:   the payload is over. f->data is the whole payload when it was
 *            held, NULL when not (not asked for, or longer than the
 *            splitter holds: then f->len says how long it was).
 *   bad:     the framing is bad at byte at (why: static text); returns -1
 *            with err saying so.
 *
 * Every callback returns 0 (or an action) to go on, or -1 with err set,
 * which the feeding call returns. pos and at may be read at any time, and
 * pb_split_digest: two passes over the same bytes, however cut, give the
 * same digest, and any one changed 8-byte word changes it.
 */
#ifndef MODMAP_SPLIT_H
#define MODMAP_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "wire/pbwire.h"

enum pb_split_action {
	PB_SPLIT_SKIP,	/* the payload goes by unseen */
	PB_SPLIT_HOLD,	/* gathered whole, handed to field */
	PB_SPLIT_PASS,	/* handed to payload in pieces as it comes */
};

struct pb_split_ops {
	int (*header)(void *ctx, const struct pb_field *f, const unsigned char *raw, size_t hlen,
		      struct errmsg *err);
	int (*payload)(void *ctx, const unsigned char *p, size_t len, struct errmsg *err);
	int (*field)(void *ctx, const struct pb_field *f, struct errmsg *err);
	int (*bad)(void *ctx, uint64_t at, const char *why, struct errmsg *err);
};

/*
 * The longest field header: a key and a varint value or length, each at
 * most 10 bytes (the key may be padded).
 */
#define PB_SPLIT_HEADER_MAX 20

struct pb_split {
	uint64_t pos;		/* bytes fed so far */
	uint64_t at;		/* where the current field began */
	/* private */
	uint64_t hash;			/* of the whole 8-byte words fed, */
	unsigned char tail[8];		/* ... and the bytes after them */
	const struct pb_split_ops *ops;
	void *ctx;
	uint64_t hold_max;		/* the longest payload held */
	unsigned char hdr[PB_SPLIT_HEADER_MAX];	/* a header that came apart, so far */
	size_t hdr_len;
	int in_payload;
	struct pb_field f;		/* the current field's header */
	uint64_t left;			/* how much of its payload is still to come */
	enum pb_split_action action;
	struct buf body;		/* a held payload that came apart, so far */
};

/*
 * Starts a pass over a message (sp new, or freed after an earlier pass);
 * hold_max bounds what one field may hold.
 */
void pb_split_init(struct pb_split *sp, const struct pb_split_ops *ops, void *ctx,
		   uint64_t hold_max);
int pb_split_feed(struct pb_split *sp, const void *p, size_t len, struct errmsg *err);
/* The end of the message: a field cut short is bad. */
int pb_split_end(struct pb_split *sp, struct errmsg *err);
void pb_split_free(struct pb_split *sp);
/* A fingerprint of every byte fed so far, to compare two passes. */
uint64_t pb_split_digest(const struct pb_split *sp);

#endif
