/*
 * emit.h - one writer per output format. Each takes the whole list of
 * snapshots and appends its document to a buffer; none does I/O. They
 * return 0, or -1 with err set (a format that cannot hold the input, or
 * memory that ran out).
 */
#ifndef MODMAP_EMIT_H
#define MODMAP_EMIT_H

#include <stddef.h>

#include "buf.h"
#include "modmap.h"

int emit_text(struct buf *b, const struct snapshot *s, size_t n, struct errmsg *err);
/* as_array: a JSON array even for one process (--all, several --pid). */
int emit_json(struct buf *b, const struct snapshot *s, size_t n, int as_array,
	      struct errmsg *err);

/*
 * A JSON string literal of len bytes: ASCII only, every non-ASCII character
 * as \uXXXX (surrogate pairs above U+FFFF), and every byte that is not part
 * of valid UTF-8 as \udc80..\udcff, Python's surrogateescape, so any Linux
 * path survives. The pure part of the JSON writer, exposed for tests.
 */
void json_put_string(struct buf *b, const char *s, size_t len);

/*
 * The same for a Windows string, which is WTF-8 (see wtf8_from_utf16):
 * an unpaired surrogate's 3-byte form is written as the \udXXX escape of
 * that UTF-16 unit, so a JSON reader gets the original UTF-16 back. Bytes
 * that are not WTF-8 still get surrogateescape.
 */
void json_put_wtf8(struct buf *b, const char *s, size_t len);

/*
 * Decodes one UTF-8 character at s (len > 0). Returns its length and sets
 * *cp, or returns 0 when the bytes there are not valid UTF-8 (overlong
 * forms, surrogates and values past U+10FFFF are not).
 */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

#endif
