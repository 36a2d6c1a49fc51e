/*
 * platform.c - the POSIX and Windows versions of platform.h, side by side,
 * so every #ifdef _WIN32 outside the Windows backend lives here.
 */
#ifndef _WIN32
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "platform.h"

void platform_gmtime(int64_t sec, struct tm *out)
{
	time_t t = (time_t)sec;
#ifdef _WIN32
	gmtime_s(out, &t);
#else
	gmtime_r(&t, out);
#endif
}

int platform_stdout_is_terminal(void)
{
#ifdef _WIN32
	return _isatty(_fileno(stdout));
#else
	return isatty(STDOUT_FILENO);
#endif
}

int platform_write_stdout(const void *p, size_t len, struct errmsg *err)
{
#ifdef _WIN32
	_setmode(_fileno(stdout), _O_BINARY);
#endif
	if ((len && fwrite(p, 1, len, stdout) != len) || fflush(stdout) != 0) {
		err_set(err, "standard output: %s", strerror(errno));
		return -1;
	}
	return 0;
}

#ifdef _WIN32
int platform_write_file(const char *path, const void *p, size_t len, struct errmsg *err)
{
	/* The path is UTF-8 (main converts its wide arguments). */
	wchar_t wpath[32768], wtmp[32768 + 16];
	if (!MultiByteToWideChar(CP_UTF8, 0, path, -1, wpath, 32768)) {
		err_set(err, "%s: path too long", path);
		return -1;
	}
	swprintf(wtmp, sizeof wtmp / sizeof wtmp[0], L"%ls.tmp%lu", wpath,
		 (unsigned long)GetCurrentProcessId());
	HANDLE h = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		err_set(err, "%s: cannot create (error %lu)", path, (unsigned long)GetLastError());
		return -1;
	}
	const char *q = p;
	size_t left = len;
	int ok = 1;
	while (ok && left) {
		DWORD chunk = left > 1u << 30 ? 1u << 30 : (DWORD)left, wrote = 0;
		ok = WriteFile(h, q, chunk, &wrote, NULL) && wrote == chunk;
		q += chunk;
		left -= chunk;
	}
	ok = ok && FlushFileBuffers(h);
	CloseHandle(h);
	if (!ok || !MoveFileExW(wtmp, wpath, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
		err_set(err, "%s: cannot write (error %lu)", path, (unsigned long)GetLastError());
		DeleteFileW(wtmp);
		return -1;
	}
	return 0;
}
#else
static int write_all(int fd, const void *p, size_t len)
{
	const char *q = p;
	while (len) {
		ssize_t w = write(fd, q, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		q += w;
		len -= (size_t)w;
	}
	return 0;
}

/* -o /dev/null, /dev/stdout, a FIFO: written in place, never replaced. */
static int write_special(const char *path, const void *p, size_t len, struct errmsg *err)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	int e = fd < 0 ? errno : write_all(fd, p, len);
	if (fd >= 0 && close(fd) < 0 && !e)
		e = errno;
	if (e)
		err_set(err, "%s: %s", path, strerror(e));
	return e ? -1 : 0;
}

int platform_write_file(const char *path, const void *p, size_t len, struct errmsg *err)
{
	struct stat cur;
	int exists = stat(path, &cur) == 0;
	if (exists && !S_ISREG(cur.st_mode))
		return write_special(path, p, len, err);

	/* Through a symbolic link, replace the file it names, not the link. */
	char *real = realpath(path, NULL);
	const char *target = real ? real : path;
	size_t pl = strlen(target);
	char *tmp = malloc(pl + 16);
	if (!tmp) {
		free(real);
		err_set(err, "%s: out of memory", path);
		return -1;
	}

	/* Same directory, so the rename is atomic. */
	memcpy(tmp, target, pl);
	memcpy(tmp + pl, ".tmp.XXXXXX", 12);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		err_set(err, "%s: %s", path, strerror(errno));
		free(tmp);
		free(real);
		return -1;
	}
	int e = write_all(fd, p, len);
	/* mkstemp makes 0600: keep the mode of the file replaced, or give the
	 * one any new file would get. */
	mode_t mode;
	if (exists) {
		mode = cur.st_mode & 07777;
	} else {
		mode_t mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	if (!e && fchmod(fd, mode) < 0)
		e = errno;
	if (!e && fsync(fd) < 0 && errno != EINVAL)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, target) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		err_set(err, "%s: %s", path, strerror(e));
	}
	free(tmp);
	free(real);
	return e ? -1 : 0;
}
#endif
