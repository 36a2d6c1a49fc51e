/*
 * bytesrc.h - where the file readers (build IDs, ELF and PE headers,
 * symbols) get bytes, and the one decoder of their integer fields. Below
 * every reader: it knows no format.
 */
#ifndef MODMAP_BYTESRC_H
#define MODMAP_BYTESRC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Where a reader gets bytes: a callback that reads exactly len bytes at off
 * into buf (0 on success, -1 otherwise), or, when read is NULL, the bytes at
 * mem. Reads past size fail before the callback is called.
 */
struct bytesrc {
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	void *ctx;
	const unsigned char *mem;
	uint64_t size;
};

/* A source over bytes in memory (tests, fuzzers, the vDSO). */
static inline struct bytesrc bytesrc_mem(const void *p, size_t len)
{
	struct bytesrc s = { NULL, NULL, (const unsigned char *)p, len };
	return s;
}

/* Reads exactly len bytes at off: 0, or -1 (past size, or the callback failed). */
int bytesrc_read(const struct bytesrc *src, uint64_t off, void *buf, size_t len);

/* The n-byte unsigned integer at p (ELF and PE fields), big-endian if be:
 * the one decoder of header fields (buildid.c, elfhdr.c, pesym.c). */
static inline uint64_t get_u(const unsigned char *p, size_t n, int be)
{
	uint64_t v = 0;
	/* Most significant byte first, one loop per order: with n constant
	 * the compiler makes each one load (and a byte swap). */
	if (be)
		for (size_t i = 0; i < n; i++)
			v = v << 8 | p[i];
	else
		for (size_t i = n; i-- > 0;)
			v = v << 8 | p[i];
	return v;
}

#endif
