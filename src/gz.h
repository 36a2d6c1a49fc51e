/*
 * gz.h - gzip in memory, through zlib: compressing a finished pprof
 * profile, and reading one that may or may not be compressed.
 */
#ifndef MODMAP_GZ_H
#define MODMAP_GZ_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "modmap.h"

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

#endif
