/*
 * platform.h - the few things the POSIX and Windows builds do differently,
 * behind portable names: atomic file replacement, terminal detection, UTC
 * time. Everything else in modmap is plain C11.
 */
#ifndef MODMAP_PLATFORM_H
#define MODMAP_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "snapshot.h"
#include "utf8.h"

/*
 * Writes len bytes to path through a temporary file in the same directory,
 * renamed over path only once complete; on failure no file is left and path
 * is untouched. A path that exists and is no regular file (/dev/null, a
 * FIFO, NUL, CON, a named pipe) is written in place instead. err names the
 * path and the reason.
 */
int platform_write_file(const char *path, const void *p, size_t len, struct errmsg *err);
/*
 * Appends all of path to out; "-" reads standard input (binary mode on
 * Windows). Fails once more than max bytes came, so a device or a pipe
 * that never ends is not read forever. err names the file and the reason.
 */
int platform_read_file(const char *path, struct buf *out, uint64_t max, struct errmsg *err);
/* Writes all of p to standard output (binary mode on Windows). */
int platform_write_stdout(const void *p, size_t len, struct errmsg *err);
int platform_stdout_is_terminal(void);
/* Is path a terminal (/dev/tty, /dev/stdout on one, CON)? Opens nothing for writing. */
int platform_path_is_terminal(const char *path);
void platform_gmtime(int64_t sec, struct tm *out);

/*
 * On Windows, replaces argc/argv by the wide command line converted to
 * UTF-8 (WTF-8 where it holds unpaired surrogates), so non-ANSI arguments
 * survive; the new vector lives until exit. Elsewhere it does nothing.
 */
void platform_args(int *argc, char ***argv);


/* The longest Win32 path in UTF-16 units, its NUL included. */
#define PLATFORM_PATH_MAX 32768

/*
 * A path as given (WTF-8, as platform_args makes the arguments) to the
 * NUL-terminated UTF-16 name Win32 calls take, in out[cap]: the one
 * conversion every file name goes through on Windows, so an unpaired
 * surrogate names the same file when read and when written. Fails, err
 * naming the path, on bytes no UTF-16 converts to or a name that does not
 * fit. Portable, so it is unit-tested on any build.
 */
int platform_path_utf16(const char *path, uint16_t *out, size_t cap, struct errmsg *err);

/*
 * Streaming input and output, for attach: files too large to hold.
 *
 * A platform_in reads a file, or standard input for "-", and can be read
 * through again: a regular file is rewound; anything else (a pipe, a
 * terminal, a FIFO) is copied to an unnamed temporary file as it is read
 * the first time, and read back from it, so it never has to fit in memory.
 * Errors say why, without the name: the caller names the file.
 */
struct platform_in;
/* Opens path ("-": standard input). Fails once more than max bytes come. */
struct platform_in *platform_in_open(const char *path, uint64_t max, struct errmsg *err);
/* Reads up to cap bytes; *got is 0 only at the end. */
int platform_in_read(struct platform_in *in, void *p, size_t cap, size_t *got,
		     struct errmsg *err);
/* Starts over at the first byte. Call it only after reading to the end. */
int platform_in_rewind(struct platform_in *in, struct errmsg *err);
void platform_in_close(struct platform_in *in);

/*
 * A file written chunk by chunk and atomically, as platform_write_file
 * writes it whole: into a temporary file in the same directory, renamed
 * over path by platform_out_commit; platform_out_abort removes it and
 * leaves path untouched. A NULL path is standard output (binary mode on
 * Windows), written as it comes. Both end calls free out; err names the
 * path (or standard output) and the reason.
 */
struct platform_out;
struct platform_out *platform_out_open(const char *path, struct errmsg *err);
int platform_out_write(struct platform_out *out, const void *p, size_t len, struct errmsg *err);
/* What was written so far reaches its reader now (standard output's buffer). */
int platform_out_flush(struct platform_out *out, struct errmsg *err);
int platform_out_commit(struct platform_out *out, struct errmsg *err);
void platform_out_abort(struct platform_out *out);

#endif
