/*
 * htlhash.c - the OpenTelemetry file ID (profiles: process.executable.
 * build_id.htlhash): SHA-256 over the file's first 4096 bytes, its last
 * 4096 bytes and its length as a big-endian 64-bit integer; the first 16
 * bytes of the digest, as lowercase hex. A file shorter than 4096 bytes
 * is hashed whole, twice, as the specification's File[:4096], File[-4096:]
 * say. SHA-256 is Nettle's (HAVE_NETTLE); a build without it says so.
 */
#include <string.h>

#include "htlhash.h"

#ifdef HAVE_NETTLE
#include <nettle/sha2.h>

int htlhash_supported(void)
{
	return 1;
}

int htlhash(const struct bytesrc *src, char out[HTLHASH_HEX + 1], const char **why)
{
	enum { PART = 4096 };
	unsigned char part[PART], len[8], digest[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	uint64_t size = src->size;
	size_t head = size < PART ? (size_t)size : PART;
	uint64_t tail_at = size < PART ? 0 : size - PART;

	sha256_init(&ctx);
	if (head && bytesrc_read(src, 0, part, head) < 0)
		goto unreadable;
	sha256_update(&ctx, head, part);
	if (head && bytesrc_read(src, tail_at, part, head) < 0)
		goto unreadable;
	sha256_update(&ctx, head, part);
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(size >> (56 - 8 * i));
	sha256_update(&ctx, sizeof len, len);
	sha256_digest(&ctx, sizeof digest, digest);
	hex_encode(out, digest, HTLHASH_HEX / 2);
	return 0;
unreadable:
	*why = "cannot read the file";
	return -1;
}

#else

int htlhash_supported(void)
{
	return 0;
}

int htlhash(const struct bytesrc *src, char out[HTLHASH_HEX + 1], const char **why)
{
	(void)src;
	out[0] = '\0';
	*why = HTLHASH_UNSUPPORTED;
	return -1;
}

#endif
