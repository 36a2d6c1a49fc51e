/*
 * platform.c - the POSIX and Windows versions of platform.h, side by side,
 * so every #ifdef _WIN32 outside the Windows backend lives here.
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
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

int platform_read_file(const char *path, struct buf *out, uint64_t max, struct errmsg *err)
{
	int is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "standard input" : path;
	FILE *f;
#ifdef _WIN32
	wchar_t wpath[32768];
	if (is_stdin) {
		_setmode(_fileno(stdin), _O_BINARY);
		f = stdin;
	} else if (!MultiByteToWideChar(CP_UTF8, 0, path, -1, wpath, 32768)) {
		err_set(err, "%s: path too long", path);
		return -1;
	} else {
		f = _wfopen(wpath, L"rb");
	}
#else
	f = is_stdin ? stdin : fopen(path, "rb");
#endif
	if (!f) {
		err_set(err, "%s: %s", name, strerror(errno));
		return -1;
	}
	size_t start = out->len;
	int e = 0;
	for (;;) {
		if (buf_reserve(out, 64 * 1024) < 0) {
			err_set(err, "%s: out of memory", name);
			e = -1;
			break;
		}
		size_t got = fread(out->p + out->len, 1, out->cap - out->len, f);
		out->len += got;
		if (out->len - start > max) {
			err_set(err, "%s: larger than --max-size (%llu bytes)", name,
				(unsigned long long)max);
			e = -1;
			break;
		}
		if (got == 0) {
			if (ferror(f)) {
				err_set(err, "%s: %s", name, strerror(errno));
				e = -1;
			}
			break;
		}
	}
	if (!is_stdin)
		fclose(f);
	return e;
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
int platform_write_file(const char *path, const void *p, size_t len, struct errmsg *err)
{
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 16);
	if (!tmp) {
		err_set(err, "%s: out of memory", path);
		return -1;
	}
	/* Same directory, so the rename is atomic. */
	memcpy(tmp, path, pl);
	memcpy(tmp + pl, ".tmp.XXXXXX", 12);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		err_set(err, "%s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	const char *q = p;
	size_t left = len;
	int e = 0;
	while (left && !e) {
		ssize_t w = write(fd, q, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			e = w < 0 ? errno : EIO;
		else
			q += w, left -= (size_t)w;
	}
	/* mkstemp makes 0600: keep the mode of the file replaced, or give the
	 * one any new file would get. */
	struct stat old;
	mode_t mode;
	if (stat(path, &old) == 0) {
		mode = old.st_mode & 07777;
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
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		err_set(err, "%s: %s", path, strerror(e));
	}
	free(tmp);
	return e ? -1 : 0;
}
#endif
