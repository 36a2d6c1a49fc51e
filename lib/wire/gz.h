/*
 * gz.h - gzip through zlib: compressing a finished pprof profile, and
 * reading one that may or may not be compressed; in memory, or as streams
 * for attach's profiles, which need not fit in it.
 */
#ifndef MODMAP_GZ_H
#define MODMAP_GZ_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snapshot.h"

/* Appends the gzip form of p to out. */
int gz_compress(struct buf *out, const void *p, size_t len, struct errmsg *err);

/* Does p start with the gzip magic bytes? */
int gz_is_gzip(const void *p, size_t len);

/*
 * Appends the decompressed bytes of a gzip stream (members concatenated as
 * gzip(1) does) to out. Fails, with err saying why, on data that is not
 * gzip, is truncated or corrupt, or would decompress past max bytes.
 */
int gz_decompress(struct buf *out, const void *p, size_t len, uint64_t max, struct errmsg *err);

/*
 * Streaming, for profiles too large to hold: a reader that gives the
 * decompressed bytes of what a read function supplies (passed through
 * unchanged when it does not start with the gzip magic), and a writer that
 * compresses what it is given and hands the gzip bytes to a write function
 * in chunks. Errors from those functions come back as they left err.
 */
typedef int (*gz_read_fn)(void *ctx, void *p, size_t cap, size_t *got, struct errmsg *err);
typedef int (*gz_write_fn)(void *ctx, const void *p, size_t len, struct errmsg *err);

struct gz_reader;
/* Fails once more than max bytes would come out. */
struct gz_reader *gz_reader_new(gz_read_fn read, void *ctx, uint64_t max, struct errmsg *err);
/* Up to cap bytes into p; *got is 0 only at the end. */
int gz_reader_read(struct gz_reader *g, void *p, size_t cap, size_t *got, struct errmsg *err);
/* Is it decompressing gzip (after its first read), not passing bytes through? */
int gz_reader_is_gzip(const struct gz_reader *g);
void gz_reader_free(struct gz_reader *g);

/*
 * One pass over the decompressed bytes of what read supplies, handed to
 * feed in pieces of up to cap bytes through window; *total counts them.
 * In a checking pass (check), the gzip layer's errors come before feed's,
 * as when the whole was decompressed first: after feed fails, the pass
 * still reads on through gzip, so a gzip bomb of zeros is told as too
 * large and a cut gzip stream as truncated; raw bytes stop at feed's
 * first failure (a pipe of garbage is not spooled whole). Otherwise feed's
 * failure ends the pass at once.
 */
typedef int (*gz_feed_fn)(void *ctx, const void *p, size_t len, struct errmsg *err);
int gz_pass(gz_read_fn read, void *read_ctx, uint64_t max, unsigned char *window, size_t cap,
	    int check, gz_feed_fn feed, void *feed_ctx, uint64_t *total, struct errmsg *err);

struct gz_writer;
struct gz_writer *gz_writer_new(gz_write_fn write, void *ctx, struct errmsg *err);
int gz_writer_write(struct gz_writer *g, const void *p, size_t len, struct errmsg *err);
/* Writes the rest and the gzip trailer. */
int gz_writer_finish(struct gz_writer *g, struct errmsg *err);
void gz_writer_free(struct gz_writer *g);

#endif
