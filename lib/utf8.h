/*
 * utf8.h - the one place that decodes and encodes UTF-8, WTF-8 and UTF-16.
 * Pure functions over bytes: the writers escape with them, the Windows
 * build converts paths and arguments with them.
 */
#ifndef MODMAP_UTF8_H
#define MODMAP_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes one UTF-8 character at s (len > 0). Returns its length and sets
 * *cp, or returns 0 when the bytes there are not valid UTF-8 (overlong
 * forms, surrogates and values past U+10FFFF are not).
 */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/*
 * The same for WTF-8, which also allows a surrogate's 3-byte form (ED A0
 * 80..ED BF BF): how it writes an unpaired UTF-16 surrogate.
 */
size_t wtf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/*
 * The length to keep of s (len bytes) so it holds at most max bytes and is
 * not cut inside a UTF-8 character: max, less the bytes of a character the
 * cut would split. len when it fits already.
 */
size_t utf8_cut(const char *s, size_t len, size_t max);

/* Is all of s valid UTF-8? */
int utf8_valid(const char *s, size_t len);

/*
 * UTF-16 to WTF-8: UTF-8, except that an unpaired surrogate becomes the
 * three bytes its code point would have (ED A0 80..ED BF BF), so every
 * UTF-16 string, valid or not, converts back unchanged. Writes at most cap
 * bytes, always NUL-terminated when cap > 0; returns the length the whole
 * conversion needs (without the NUL), so a first call with cap 0 sizes it.
 */
size_t wtf8_from_utf16(char *out, size_t cap, const uint16_t *w, size_t n);

/*
 * WTF-8 (so UTF-8 too) back to UTF-16, the same contract in 16-bit units.
 * Returns (size_t)-1 when s holds bytes no UTF-16 string converts to.
 */
size_t utf16_from_wtf8(uint16_t *out, size_t cap, const char *s, size_t n);

#endif
