/*
 * os/io_os.h - what lib/io.c needs from each OS's file code (posix_io.c,
 * windows_io.c): opening a file to read, an unnamed spool file, binary
 * mode, and one output file written beside its target and renamed over it.
 * Internal to the library; platform.h is the interface the rest uses.
 */
#ifndef MODMAP_OS_IO_OS_H
#define MODMAP_OS_IO_OS_H

#include <stdio.h>

#include "snapshot.h"

/* path opened for reading as a binary stream; NULL with the reason (no
 * name: callers add it) in err. */
FILE *os_in_fopen(const char *path, struct errmsg *err);
/* Can f be read through again from its first byte (a disk file)? */
int os_in_rewindable(FILE *f);
/* An unnamed temporary file, gone when closed; NULL on failure (errno). */
FILE *os_spool_new(void);
/* f (standard input or output) reads and writes bytes untranslated. */
void os_binary(FILE *f);

/*
 * One output file: written to a temporary file beside path and renamed
 * over it by os_out_commit (or, for a device or FIFO, written in place).
 * os_out_close frees it and removes the temporary file if still there.
 * err names the path and the reason.
 */
struct os_out;
struct os_out *os_out_open(const char *path, struct errmsg *err);
int os_out_write(struct os_out *o, const void *p, size_t len, struct errmsg *err);
int os_out_commit(struct os_out *o, struct errmsg *err);
void os_out_close(struct os_out *o);
/* The temporary file being written, by its name in the directory *dir
 * (a descriptor), while there is one a program's signal handler could
 * remove; else NULL (Windows: always). */
const char *os_out_temp(const struct os_out *o, int *dir);

#endif
