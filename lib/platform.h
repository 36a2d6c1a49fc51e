/*
 * platform.h - the library's files behind portable names: atomic file
 * replacement, streaming input, collect's directory tree, module files
 * read in place. Implemented by io.c over os/io_os.h, and by each OS's
 * os/posix_io.c or os/windows_io.c; nothing outside lib/os/ includes an OS header.
 */
#ifndef MODMAP_PLATFORM_H
#define MODMAP_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snapshot.h"
#include "utf8.h"

/* The separator of directories in the paths this OS gives ("/", "\\"). */
extern const char platform_sep[];

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
/* The bytes a pass reads, when known (a regular file); else 0. */
uint64_t platform_in_size(const struct platform_in *in);
/* Starts over at the first byte. Call it only after reading to the end. */
int platform_in_rewind(struct platform_in *in, struct errmsg *err);
void platform_in_close(struct platform_in *in);

/*
 * A file written chunk by chunk and atomically: into a temporary file in
 * the same directory, renamed over path by platform_out_commit;
 * platform_out_abort removes it and leaves path untouched. A path that
 * exists and is no regular file (/dev/null, a FIFO, NUL, CON, a named
 * pipe) is written in place instead. A NULL path is standard output
 * (binary mode on Windows), written as it comes. Both end calls free out;
 * err names the path (or standard output) and the reason.
 */
/*
 * Told of the temporary file of a platform_out, for a program that removes
 * it should a signal end it (cli/term.c): fn(user, dir, name) once it
 * exists (POSIX: unlinkat(dir, name, 0) removes it, async-signal-safe),
 * and fn(user, -1, NULL) once it is renamed over its target or removed.
 * The library itself installs no signal handler.
 */
struct platform_temp_hook {
	void (*fn)(void *user, int dir, const char *name);
	void *user;
};
struct platform_out;
/* hook may be NULL; what it points to is copied. */
struct platform_out *platform_out_open(const char *path, const struct platform_temp_hook *hook,
				      struct errmsg *err);
/* The temporary file being written, named in the directory descriptor
 * *dir; NULL when there is none (standard output, written in place, or
 * Windows). */
const char *platform_out_temp(const struct platform_out *out, int *dir);
int platform_out_write(struct platform_out *out, const void *p, size_t len, struct errmsg *err);
/* What was written so far reaches its reader now (standard output's buffer). */
int platform_out_flush(struct platform_out *out, struct errmsg *err);
int platform_out_commit(struct platform_out *out, struct errmsg *err);
void platform_out_abort(struct platform_out *out);

/*
 * Module files opened and read by descriptor (collect, symbolize). File
 * descriptors are the C runtime's (on Windows too); paths are WTF-8 as
 * everywhere.
 */
/*
 * Opens path for reading, only if it is a regular file (a FIFO or a device
 * is not waited on): a descriptor and its size, or -1 with *why (static
 * text) and *missing set when nothing is at the path.
 */
int platform_open_regular(const char *path, uint64_t *size, const char **why, int *missing);
/* The file's bytes on the disk: 0, or -1. */
int platform_sync_fd(int fd);
int platform_close(int fd);
/* Reads exactly len bytes at off: 0, or -1. */
int platform_read_at(int fd, uint64_t off, void *buf, size_t len);

/*
 * A module file read in place (lookup --snapshot reads its headers), opened
 * as build IDs open files: read-only, non-blocking, no controlling
 * terminal, and only if it is a regular file; NULL otherwise. size gets
 * its length. platform_file_pread reads exactly len bytes at off (0, or
 * -1): a struct bytesrc callback, with the platform_file as its context.
 */
struct platform_file;
struct platform_file *platform_file_open(const char *path, uint64_t *size);
int platform_file_pread(void *ctx, uint64_t off, void *buf, size_t len);
void platform_file_close(struct platform_file *f);



#endif
