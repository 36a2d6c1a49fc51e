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
#include "modmap.h"

/*
 * Writes len bytes to path through a temporary file in the same directory,
 * renamed over path only once complete; on failure no file is left and path
 * is untouched. err names the path and the reason.
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
void platform_gmtime(int64_t sec, struct tm *out);

#endif
