/* gz.c - gzip in memory through zlib (see gz.h). */
#include <string.h>
#include <zlib.h>

#include "gz.h"

int gz_is_gzip(const void *p, size_t len)
{
	const unsigned char *s = p;
	return len >= 2 && s[0] == 0x1f && s[1] == 0x8b;
}

int gz_compress(struct buf *out, const void *p, size_t len, struct errmsg *err)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	/* windowBits 15 + 16: a gzip header and trailer, not zlib's. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		err_set(err, "zlib: cannot start compressing");
		return -1;
	}
	z.next_in = (unsigned char *)(uintptr_t)p;
	int rc;
	size_t left = len;
	do {
		uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
		z.next_in = (unsigned char *)(uintptr_t)p + (len - left);
		z.avail_in = chunk;
		left -= chunk;
		int flush = left ? Z_NO_FLUSH : Z_FINISH;
		do {
			if (buf_reserve(out, 64 * 1024) < 0) {
				deflateEnd(&z);
				err_set(err, "out of memory");
				return -1;
			}
			z.next_out = out->p + out->len;
			z.avail_out = (uInt)(out->cap - out->len > (1u << 30) ? (1u << 30)
									    : out->cap - out->len);
			uInt before = z.avail_out;
			rc = deflate(&z, flush);
			out->len += before - z.avail_out;
		} while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	} while (left);
	deflateEnd(&z);
	return 0;
}

int gz_decompress(struct buf *out, const void *p, size_t len, uint64_t max, struct errmsg *err)
{
	const unsigned char *in = p;
	size_t start = out->len;
	size_t pos = 0;

	while (pos < len) {
		z_stream z;
		memset(&z, 0, sizeof z);
		if (inflateInit2(&z, 15 + 16) != Z_OK) {
			err_set(err, "zlib: cannot start decompressing");
			return -1;
		}
		int rc = Z_OK;
		while (rc != Z_STREAM_END) {
			if (out->len - start >= max) {
				inflateEnd(&z);
				err_set(err, "decompressed size exceeds --max-size (%llu bytes)",
					(unsigned long long)max);
				return -1;
			}
			if (buf_reserve(out, 256 * 1024) < 0) {
				inflateEnd(&z);
				err_set(err, "out of memory");
				return -1;
			}
			size_t room = out->cap - out->len;
			uint64_t allowed = max - (out->len - start);
			if (room > allowed)
				room = (size_t)allowed + (allowed < room);	/* one byte more tells */
			if (room > (1u << 30))
				room = 1u << 30;
			size_t in_left = len - pos;
			z.next_in = (unsigned char *)(uintptr_t)(in + pos);
			z.avail_in = (uInt)(in_left > (1u << 30) ? (1u << 30) : in_left);
			z.next_out = out->p + out->len;
			z.avail_out = (uInt)room;
			uInt avail_in = z.avail_in;
			rc = inflate(&z, Z_NO_FLUSH);
			pos += avail_in - z.avail_in;
			out->len += room - z.avail_out;
			if (rc == Z_BUF_ERROR && z.avail_in == 0 && pos == len) {
				inflateEnd(&z);
				err_set(err, "truncated gzip data");
				return -1;
			}
			if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
				inflateEnd(&z);
				err_set(err, "corrupt gzip data (%s)", z.msg ? z.msg : "zlib error");
				return -1;
			}
		}
		inflateEnd(&z);
		if (out->len - start > max) {
			err_set(err, "decompressed size exceeds --max-size (%llu bytes)",
				(unsigned long long)max);
			return -1;
		}
		/* Trailing zero padding after the last member is tolerated, as by gzip. */
		while (pos < len && in[pos] == 0)
			pos++;
		if (pos < len && !gz_is_gzip(in + pos, len - pos)) {
			err_set(err, "trailing garbage after gzip data");
			return -1;
		}
	}
	return 0;
}
