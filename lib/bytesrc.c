/*
 * bytesrc.c - reading a byte source (bytesrc.h).
 */
#include <string.h>

#include "bytesrc.h"

int bytesrc_read(const struct bytesrc *src, uint64_t off, void *buf, size_t len)
{
	if (off > src->size || len > src->size - off)
		return -1;
	if (!src->read) {
		memcpy(buf, src->mem + off, len);
		return 0;
	}
	return src->read(src->ctx, off, buf, len);
}
