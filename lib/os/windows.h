/*
 * os/windows.h - what the Windows files of lib/os/ share: the table from
 * Win32 error codes to ERR_* (errno's is err_code_errno in snapshot.h),
 * and collect's file calls by path.
 */
#ifndef MODMAP_OS_WINDOWS_H
#define MODMAP_OS_WINDOWS_H

#include <stdint.h>

/* ERROR_ACCESS_DENIED, ERROR_PRIVILEGE_NOT_HELD: ERR_PERMISSION; no such
 * process (ERROR_INVALID_PARAMETER from OpenProcess and Toolhelp32):
 * ERR_NO_PROCESS; out of memory: ERR_NO_MEMORY; ERROR_FILE_TOO_LARGE:
 * ERR_TOO_LARGE; ERROR_NOT_SUPPORTED, ERROR_CALL_NOT_IMPLEMENTED:
 * ERR_UNSUPPORTED; the rest ERR_OTHER. */
int err_code_win32(unsigned long code);

/*
 * Whole files into a directory tree by path, what collect's store.h is
 * built on here (os/windows_store.c; POSIX collect works on directory
 * descriptors instead, os/posix_store.c). Defined in os/windows_io.c.
 * Each call that can fail leaves err naming the path and the reason.
 */
struct errmsg;
/* Makes the directory path (its parent must exist); one already there is fine. */
int platform_mkdir(const char *path, struct errmsg *err);
/* Is there a regular file at path (through a symbolic link too)? */
int platform_is_file(const char *path);
/* A new empty file in dir, opened read-write; its malloc'ed name in *tmp. */
int platform_temp_in(const char *dir, char **tmp, struct errmsg *err);
/* Renames from over to (atomic within one directory's filesystem). */
int platform_rename(const char *from, const char *to, struct errmsg *err);
int platform_remove(const char *path);
/* Removes the directory path if it is empty. */
int platform_rmdir(const char *path);
/* Makes path another name of existing (a hard link); *how says so.
 * Fails when path exists. */
int platform_link(const char *existing, const char *path, const char *relative, const char **how,
		  struct errmsg *err);
/* Copies in, from its current position to its end, to out. Fails with
 * ERR_TOO_LARGE once more than max bytes came. *copied: bytes written. */
int platform_copy_fd(int in, int out, uint64_t max, uint64_t *copied, struct errmsg *err);

#endif
