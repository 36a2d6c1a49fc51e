/*
 * htlhash.h - the OpenTelemetry profiling file ID of a file (htlhash.c).
 */
#ifndef MODMAP_HTLHASH_H
#define MODMAP_HTLHASH_H

#include "buildid.h"

#define HTLHASH_HEX 32		/* 16 bytes of SHA-256, as hex */
#define HTLHASH_UNSUPPORTED "this build has no SHA-256 (built without Nettle)"

/* Is htlhash() more than a refusal in this build? */
int htlhash_supported(void);

/*
 * The file ID of the bytes of src (src->size is the file's length) into
 * out. 0, or -1 with *why (static text): the file could not be read, or
 * the build has no SHA-256.
 */
int htlhash(const struct bytesrc *src, char out[HTLHASH_HEX + 1], const char **why);

#endif
