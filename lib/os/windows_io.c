/*
 * os/windows_io.c - platform.h and os/io_os.h on Windows: Win32 calls on
 * UTF-16 names converted from the library's WTF-8 paths, output files
 * replaced atomically with MoveFileExW, collect's directory tree, module
 * files read in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <windows.h>

#include "os/io_os.h"
#include "os/windows.h"
#include "platform.h"
#include "utf8.h"

const char platform_sep[] = "\\";

static char *str_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	return d ? memcpy(d, s, n) : NULL;
}

int err_code_win32(unsigned long code)
{
	switch (code) {
	case ERROR_ACCESS_DENIED:
	case ERROR_PRIVILEGE_NOT_HELD:
	case ERROR_SHARING_VIOLATION:
		return ERR_PERMISSION;
	case ERROR_INVALID_PARAMETER:
		return ERR_NO_PROCESS;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return ERR_NO_MEMORY;
	case ERROR_FILE_TOO_LARGE:
		return ERR_TOO_LARGE;
	case ERROR_NOT_SUPPORTED:
	case ERROR_CALL_NOT_IMPLEMENTED:
		return ERR_UNSUPPORTED;
	default:
		return ERR_OTHER;
	}
}

/*
 * err is "path: reason" ("reason" for a NULL path), the reason in words
 * from the system's message table (on one line, without its final period),
 * or the number if the table has none.
 */
static void err_win32(struct errmsg *err, const char *path, DWORD code)
{
	wchar_t w[256];
	char text[3 * 256 + 1];	/* UTF-8 takes at most 3 bytes per unit */
	DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
				 code, 0, w, sizeof w / sizeof w[0], NULL);
	while (n > 0 && (w[n - 1] == L'\r' || w[n - 1] == L'\n' || w[n - 1] == L' ' ||
			 w[n - 1] == L'.'))
		n--;
	if (n == 0) {
		err_setc(err, err_code_win32(code), "%s%serror %lu", path ? path : "",
			 path ? ": " : "", (unsigned long)code);
		return;
	}
	wtf8_from_utf16(text, sizeof text, (const uint16_t *)w, n);
	for (char *c = text; *c; c++)
		if (*c == '\r' || *c == '\n')
			*c = ' ';
	err_setc(err, err_code_win32(code), "%s%s%s", path ? path : "", path ? ": " : "", text);
}

/* Returns 0, or the Win32 error that stopped the writing. */
static DWORD write_handle(HANDLE h, const void *p, size_t len)
{
	const char *q = p;
	while (len) {
		DWORD chunk = len > 1u << 30 ? 1u << 30 : (DWORD)len, wrote = 0;
		if (!WriteFile(h, q, chunk, &wrote, NULL))
			return GetLastError();
		if (wrote == 0)
			return ERROR_WRITE_FAULT;
		q += wrote;
		len -= wrote;
	}
	return 0;
}

/*
 * Whether wpath names a DOS device (NUL, CON, COM1, C:\dir\NUL; NUL.txt
 * too before Windows 11), which GetFullPathNameW makes \\.\NAME.
 * scratch holds PLATFORM_PATH_MAX units.
 */
static int is_dos_device(const wchar_t *wpath, wchar_t *scratch)
{
	DWORD n = GetFullPathNameW(wpath, PLATFORM_PATH_MAX, scratch, NULL);
	return n > 4 && n < PLATFORM_PATH_MAX && wcsncmp(scratch, L"\\\\.\\", 4) == 0 &&
	       !wcschr(scratch + 4, L'\\');
}

/*
 * path opened for reading as a binary stream, shared so that a file the
 * writer of it still holds open can be read; NULL with the reason (no
 * name: callers add it) in err.
 */
FILE *os_in_fopen(const char *path, struct errmsg *err)
{
	wchar_t wpath[PLATFORM_PATH_MAX];
	struct errmsg why;
	if (platform_path_utf16(path, (uint16_t *)wpath, PLATFORM_PATH_MAX, &why) < 0) {
		err_set(err, "not a valid path or too long");
		return NULL;
	}
	HANDLE h = CreateFileW(wpath, GENERIC_READ,
			       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			       OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		DWORD e = GetLastError();
		/* Windows says only "access denied" of a directory. */
		DWORD attrs = GetFileAttributesW(wpath);
		if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
			err_set(err, "Is a directory");
		else
			err_win32(err, NULL, e);
		return NULL;
	}
	int fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY);
	FILE *f = fd < 0 ? NULL : _fdopen(fd, "rb");
	if (!f) {
		err_sete(err, errno, "%s", strerror(errno));
		if (fd < 0)
			CloseHandle(h);
		else
			_close(fd);
	}
	return f;
}

int os_in_rewindable(FILE *f)
{
	return GetFileType((HANDLE)_get_osfhandle(_fileno(f))) == FILE_TYPE_DISK;
}

/* An unnamed temporary file: Windows deletes it when it is closed. */
FILE *os_spool_new(void)
{
	wchar_t dir[MAX_PATH + 1], name[MAX_PATH + 1];
	DWORD n = GetTempPathW(MAX_PATH + 1, dir);
	if (n == 0 || n > MAX_PATH || !GetTempFileNameW(dir, L"mmp", 0, name))
		return NULL;
	HANDLE h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
			       FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		DeleteFileW(name);
		return NULL;
	}
	int fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY);
	if (fd < 0) {
		CloseHandle(h);
		return NULL;
	}
	FILE *f = _fdopen(fd, "w+b");
	if (!f)
		_close(fd);
	return f;
}

void os_binary(FILE *f)
{
	_setmode(_fileno(f), _O_BINARY);
}

/* ---- output files, replaced atomically ---------------------------------- */

struct os_out {
	char *name;		/* for messages */
	HANDLE h;		/* NULL: not open */
	wchar_t *wpath, *wtmp;	/* wtmp NULL: written in place */
	int made;		/* wtmp exists and is ours to remove */
};

static int out_open_file(struct os_out *o, const char *path, struct errmsg *err)
{
	o->wpath = malloc(PLATFORM_PATH_MAX * sizeof *o->wpath);
	o->wtmp = malloc((PLATFORM_PATH_MAX + 16) * sizeof *o->wtmp);
	if (!o->wpath || !o->wtmp) {
		err_setc(err, ERR_NO_MEMORY, "%s: out of memory", path);
		return -1;
	}
	/* The path is WTF-8 (platform_args converts the wide arguments). */
	if (platform_path_utf16(path, (uint16_t *)o->wpath, PLATFORM_PATH_MAX, err) < 0)
		return -1;
	/* A temporary name beside a device is no file ("NUL.tmp42" is NUL
	 * again) and a device cannot be renamed over: what is not a disk file
	 * (NUL, CON, a pipe) is written in place, as on Linux. */
	HANDLE h = CreateFileW(o->wpath, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
			       OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h != INVALID_HANDLE_VALUE) {
		if (GetFileType(h) != FILE_TYPE_DISK) {
			o->h = h;
			free(o->wtmp);
			o->wtmp = NULL;
			return 0;
		}
		CloseHandle(h);
	} else {
		DWORD e = GetLastError();
		if (is_dos_device(o->wpath, o->wtmp)) {
			err_win32(err, path, e);
			return -1;
		}
		DWORD attrs = GetFileAttributesW(o->wpath);
		if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY)) {
			err_set(err, "%s: Is a directory", path);
			return -1;
		}
	}
	/* Beside it, under a name that always fits: NAME + a suffix could
	 * pass the 255-character limit where NAME did not. */
	size_t dl = 0;
	for (size_t i = 0; o->wpath[i]; i++)
		if (o->wpath[i] == L'\\' || o->wpath[i] == L'/' || o->wpath[i] == L':')
			dl = i + 1;
	swprintf(o->wtmp, PLATFORM_PATH_MAX + 16, L"%.*ls.modmap-%lu", (int)dl, o->wpath,
		 (unsigned long)GetCurrentProcessId());
	h = CreateFileW(o->wtmp, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		err_win32(err, path, GetLastError());
		return -1;
	}
	o->h = h;
	o->made = 1;
	return 0;
}

int os_out_write(struct os_out *o, const void *p, size_t len, struct errmsg *err)
{
	DWORD e = write_handle(o->h, p, len);
	if (e)
		err_win32(err, o->name, e);
	return e ? -1 : 0;
}

int os_out_commit(struct os_out *o, struct errmsg *err)
{
	DWORD e = 0;
	if (o->wtmp && !FlushFileBuffers(o->h))
		e = GetLastError();
	CloseHandle(o->h);
	o->h = NULL;
	if (!e && o->wtmp &&
	    !MoveFileExW(o->wtmp, o->wpath, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
		e = GetLastError();
	if (e) {
		err_win32(err, o->name, e);
		return -1;
	}
	o->made = 0;
	return 0;
}

static void out_close_file(struct os_out *o)
{
	if (o->h)
		CloseHandle(o->h);
	if (o->made)
		DeleteFileW(o->wtmp);
	free(o->wpath);
	free(o->wtmp);
}

struct os_out *os_out_open(const char *path, struct errmsg *err)
{
	struct os_out *o = calloc(1, sizeof *o);
	if (!o || !(o->name = str_dup(path))) {
		free(o);
		err_setc(err, ERR_NO_MEMORY, "%s: out of memory", path);
		return NULL;
	}
	if (out_open_file(o, path, err) < 0) {
		os_out_close(o);
		return NULL;
	}
	return o;
}

void os_out_close(struct os_out *o)
{
	if (!o)
		return;
	out_close_file(o);
	free(o->name);
	free(o);
}

/* Windows: no POSIX signals to clean up after, so no path to hand over. */
const char *os_out_temp(const struct os_out *o, int *dir)
{
	(void)o;
	*dir = -1;
	return NULL;
}

/* ---- whole files into a directory tree (collect) ------------------------ */

/* path in UTF-16, malloc'ed; NULL with err set. */
static wchar_t *wide_path(const char *path, struct errmsg *err)
{
	wchar_t *w = malloc(PLATFORM_PATH_MAX * sizeof *w);
	if (!w) {
		err_setc(err, ERR_NO_MEMORY, "%s: out of memory", path);
		return NULL;
	}
	if (platform_path_utf16(path, (uint16_t *)w, PLATFORM_PATH_MAX, err) < 0) {
		free(w);
		return NULL;
	}
	return w;
}

int platform_mkdir(const char *path, struct errmsg *err)
{
	wchar_t *w = wide_path(path, err);
	if (!w)
		return -1;
	int ok = CreateDirectoryW(w, NULL);
	DWORD e = ok ? 0 : GetLastError();
	DWORD attr = e == ERROR_ALREADY_EXISTS ? GetFileAttributesW(w) : 0;
	free(w);
	if (ok || (e == ERROR_ALREADY_EXISTS && attr != INVALID_FILE_ATTRIBUTES &&
		   (attr & FILE_ATTRIBUTE_DIRECTORY)))
		return 0;
	if (e == ERROR_ALREADY_EXISTS)
		err_set(err, "%s: not a directory", path);
	else
		err_win32(err, path, e);
	return -1;
}

int platform_is_file(const char *path)
{
	struct errmsg e;
	wchar_t *w = wide_path(path, &e);
	if (!w)
		return 0;
	DWORD attr = GetFileAttributesW(w);
	free(w);
	return attr != INVALID_FILE_ATTRIBUTES &&
	       !(attr & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_DEVICE));
}

int platform_open_regular(const char *path, uint64_t *size, const char **why, int *missing)
{
	struct errmsg e;
	wchar_t *w = wide_path(path, &e);
	*missing = 0;
	*why = "cannot open the file";
	if (!w)
		return -1;
	HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
			       NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS,
			       NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		DWORD code = GetLastError();
		*missing = code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND;
		return -1;
	}
	BY_HANDLE_FILE_INFORMATION fi;
	if (GetFileType(h) != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &fi) ||
	    (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
		CloseHandle(h);
		*why = "not a regular file";
		return -1;
	}
	int fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY);
	if (fd < 0) {
		CloseHandle(h);
		return -1;
	}
	*size = (uint64_t)fi.nFileSizeHigh << 32 | fi.nFileSizeLow;
	return fd;
}

int platform_temp_in(const char *dir, char **tmp, struct errmsg *err)
{
	size_t dl = strlen(dir);
	*tmp = malloc(dl + 48);
	if (!*tmp) {
		err_setc(err, ERR_NO_MEMORY, "%s: out of memory", dir);
		return -1;
	}
	for (unsigned i = 0; i < 100; i++) {
		snprintf(*tmp, dl + 48, "%s\\.tmp.%lu.%u", dir, (unsigned long)GetCurrentProcessId(),
			 (unsigned)(GetTickCount() + i * 7919u));
		wchar_t *w = wide_path(*tmp, err);
		if (!w)
			break;
		int fd = _wopen(w, _O_RDWR | _O_CREAT | _O_EXCL | _O_BINARY, _S_IREAD | _S_IWRITE);
		int e = errno;
		free(w);
		if (fd >= 0)
			return fd;
		if (e != EEXIST) {
			err_sete(err, e, "%s: %s", dir, strerror(e));
			break;
		}
	}
	free(*tmp);
	*tmp = NULL;
	return -1;
}

int platform_sync_fd(int fd)
{
	return _commit(fd);
}

int platform_close(int fd)
{
	return _close(fd);
}

int platform_rename(const char *from, const char *to, struct errmsg *err)
{
	wchar_t *wf = wide_path(from, err), *wt = wf ? wide_path(to, err) : NULL;
	int ok = wt && MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
	if (wt && !ok)
		err_win32(err, to, GetLastError());
	free(wf);
	free(wt);
	return ok ? 0 : -1;
}

int platform_rmdir(const char *path)
{
	struct errmsg e;
	wchar_t *w = wide_path(path, &e);
	int ok = w && RemoveDirectoryW(w);
	free(w);
	return ok ? 0 : -1;
}

int platform_remove(const char *path)
{
	struct errmsg e;
	wchar_t *w = wide_path(path, &e);
	int ok = w && DeleteFileW(w);
	free(w);
	return ok ? 0 : -1;
}

int platform_link(const char *existing, const char *path, const char *relative, const char **how,
		  struct errmsg *err)
{
	(void)relative;
	wchar_t *we = wide_path(existing, err), *wp = we ? wide_path(path, err) : NULL;
	int ok = wp && CreateHardLinkW(wp, we, NULL);
	if (wp && !ok)
		err_win32(err, path, GetLastError());
	free(we);
	free(wp);
	*how = "hard link";
	return ok ? 0 : -1;
}

int platform_copy_fd(int in, int out, uint64_t max, uint64_t *copied, struct errmsg *err)
{
	enum { CHUNK = 1 << 16 };
	char *buf = malloc(CHUNK);
	int rc = -1;
	*copied = 0;
	if (!buf) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	for (;;) {
		int n = _read(in, buf, CHUNK);
		if (n < 0) {
			err_sete(err, errno, "reading: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			rc = 0;
			break;
		}
		if (*copied + (uint64_t)n > max) {
			err_setc(err, ERR_TOO_LARGE, "more than %llu bytes", (unsigned long long)max);
			break;
		}
		int off = 0;
		while (off < n) {
			int w = _write(out, buf + off, (unsigned)(n - off));
			if (w <= 0)
				break;
			off += w;
		}
		if (off < n) {
			err_sete(err, errno, "writing: %s", strerror(errno));
			break;
		}
		*copied += (uint64_t)n;
	}
	free(buf);
	return rc;
}

int platform_read_at(int fd, uint64_t off, void *buf, size_t len)
{
	if (_lseeki64(fd, (__int64)off, SEEK_SET) < 0)
		return -1;
	for (unsigned char *p = buf; len;) {
		int n = _read(fd, p, len > (1u << 30) ? (1u << 30) : (unsigned)len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- module files read in place ----------------------------------------- */

struct platform_file {
	FILE *f;
};

struct platform_file *platform_file_open(const char *path, uint64_t *size)
{
	struct errmsg why;
	FILE *f = os_in_fopen(path, &why);
	if (!f)
		return NULL;
	HANDLE h = (HANDLE)_get_osfhandle(_fileno(f));
	LARGE_INTEGER sz;
	struct platform_file *pf = NULL;
	if (GetFileType(h) == FILE_TYPE_DISK && GetFileSizeEx(h, &sz) && sz.QuadPart >= 0 &&
	    (pf = malloc(sizeof *pf))) {
		pf->f = f;
		*size = (uint64_t)sz.QuadPart;
		return pf;
	}
	fclose(f);
	return NULL;
}

int platform_file_pread(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct platform_file *pf = ctx;
	if (off > INT64_MAX || _fseeki64(pf->f, (__int64)off, SEEK_SET) != 0)
		return -1;
	return fread(buf, 1, len, pf->f) == len ? 0 : -1;
}

void platform_file_close(struct platform_file *pf)
{
	if (pf) {
		fclose(pf->f);
		free(pf);
	}
}
