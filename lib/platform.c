/*
 * platform.c - the POSIX and Windows versions of platform.h, side by side,
 * so every #ifdef _WIN32 outside the Windows backend lives here.
 */
#ifndef _WIN32
#define _GNU_SOURCE	/* copy_file_range */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#include <shellapi.h>
#else
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
#include <sys/types.h>
#include <sys/stat.h>

#include "platform.h"
#include "utf8.h"

int platform_path_utf16(const char *path, uint16_t *out, size_t cap, struct errmsg *err)
{
	size_t n = utf16_from_wtf8(out, cap, path, strlen(path));
	if (n == (size_t)-1 || n >= cap) {
		err_set(err, "%s: not a valid path or too long", path);
		return -1;
	}
	return 0;
}

int platform_stdout_is_terminal(void)
{
#ifdef _WIN32
	return _isatty(_fileno(stdout));
#else
	return isatty(STDOUT_FILENO);
#endif
}

int platform_path_is_terminal(const char *path)
{
#ifdef _WIN32
	const char *base = path;
	for (const char *c = path; *c; c++)
		if (*c == '\\' || *c == '/' || *c == ':')
			base = c + 1;
	if (*base == '\0')
		base = path;
	return _stricmp(base, "CON") == 0 || _stricmp(base, "CONOUT$") == 0 ||
	       _stricmp(path, "CON:") == 0;
#else
	/* A character device that is a tty: /dev/tty, /dev/stdout on one. */
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISCHR(st.st_mode))
		return 0;
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int tty = isatty(fd);
	close(fd);
	return tty;
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
		err_set(err, "%s%serror %lu", path ? path : "", path ? ": " : "",
			(unsigned long)code);
		return;
	}
	wtf8_from_utf16(text, sizeof text, (const uint16_t *)w, n);
	for (char *c = text; *c; c++)
		if (*c == '\r' || *c == '\n')
			*c = ' ';
	err_set(err, "%s%s%s", path ? path : "", path ? ": " : "", text);
}

/*
 * path opened for reading as a binary stream, shared so that a file the
 * writer of it still holds open can be read; NULL with the reason (no
 * name: callers add it) in err.
 */
static FILE *in_fopen(const char *path, struct errmsg *err)
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
		err_set(err, "%s", strerror(errno));
		if (fd < 0)
			CloseHandle(h);
		else
			_close(fd);
	}
	return f;
}
#else
static FILE *in_fopen(const char *path, struct errmsg *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		err_set(err, "%s", strerror(errno));
	return f;
}
#endif

int platform_read_file(const char *path, struct buf *out, uint64_t max, struct errmsg *err)
{
	int is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "standard input" : path;
	FILE *f;
	if (is_stdin) {
		f = stdin;
#ifdef _WIN32
		_setmode(_fileno(stdin), _O_BINARY);
#endif
	} else {
		struct errmsg why;
		if (!(f = in_fopen(path, &why))) {
			err_set(err, "%s: %s", path, why.text);
			return -1;
		}
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
			err_setc(err, ERR_TOO_LARGE, "%s: larger than the limit (%llu bytes)", name,
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
void platform_args(int *argc, char ***argv)
{
	int n;
	wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
	if (!w)
		return;	/* keep the ANSI arguments the C runtime made */
	char **v = calloc((size_t)n + 1, sizeof *v);
	int i = 0;
	for (; v && i < n; i++) {
		size_t wl = wcslen(w[i]);
		size_t len = wtf8_from_utf16(NULL, 0, (const uint16_t *)w[i], wl);
		char *arg = malloc(len + 1);
		if (!arg)
			break;
		wtf8_from_utf16(arg, len + 1, (const uint16_t *)w[i], wl);
		v[i] = arg;
	}
	LocalFree(w);
	if (v && i == n) {
		*argc = n;
		*argv = v;
		return;
	}
	/* Out of memory: keep the ANSI arguments, free the partial copy. */
	while (v && i > 0)
		free(v[--i]);
	free(v);
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

#else
void platform_args(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
}

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

#endif

/* ---- streaming input and output, for attach ----------------------------- */

struct platform_in {
	FILE *f;		/* the file, or standard input */
	FILE *spool;		/* a copy of what f gave, when f cannot be rewound */
	int from_spool;		/* reading the copy back */
	int is_stdin;
	uint64_t max, count;
};

struct platform_out {
	char *name;		/* for messages; NULL: standard output */
#ifdef _WIN32
	HANDLE h;		/* NULL: not open */
	wchar_t *wpath, *wtmp;	/* wtmp NULL: written in place */
	int made;		/* wtmp exists and is ours to remove */
#else
	int fd;
	char *tmp, *target;	/* tmp NULL: written in place */
	mode_t mode;
	int armed;		/* tmp is removed should a fatal signal come */
#endif
};

static char *str_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	return d ? memcpy(d, s, n) : NULL;
}

#ifdef _WIN32
static int in_rewindable(FILE *f)
{
	return GetFileType((HANDLE)_get_osfhandle(_fileno(f))) == FILE_TYPE_DISK;
}

/* An unnamed temporary file: Windows deletes it when it is closed. */
static FILE *spool_new(void)
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
#else
static int in_rewindable(FILE *f)
{
	struct stat st;
	return fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
}

/* An unnamed temporary file: unlinked as soon as it is made. */
static FILE *spool_new(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	size_t n = strlen(dir) + sizeof "/modmap-spool.XXXXXX";
	char *t = malloc(n);
	if (!t)
		return NULL;
	snprintf(t, n, "%s/modmap-spool.XXXXXX", dir);
	int fd = mkstemp(t);
	if (fd >= 0)
		unlink(t);
	free(t);
	FILE *f = fd >= 0 ? fdopen(fd, "w+b") : NULL;
	if (fd >= 0 && !f)
		close(fd);
	return f;
}
#endif

struct platform_in *platform_in_open(const char *path, uint64_t max, struct errmsg *err)
{
	struct platform_in *in = calloc(1, sizeof *in);
	if (!in) {
		err_set(err, "out of memory");
		return NULL;
	}
	in->max = max;
	in->is_stdin = strcmp(path, "-") == 0;
	if (in->is_stdin) {
#ifdef _WIN32
		_setmode(_fileno(stdin), _O_BINARY);
#endif
		in->f = stdin;
	} else if (!(in->f = in_fopen(path, err))) {
		free(in);
		return NULL;
	}
	/* Standard input a script already read from starts past byte 0, where
	 * a rewind would go: copy it too. */
	if ((!in_rewindable(in->f) || (in->is_stdin && ftell(in->f) != 0)) &&
	    !(in->spool = spool_new())) {
		err_set(err, "cannot make a temporary file to read it through twice: %s",
			strerror(errno));
		platform_in_close(in);
		return NULL;
	}
	return in;
}

int platform_in_read(struct platform_in *in, void *p, size_t cap, size_t *got,
		     struct errmsg *err)
{
	FILE *f = in->from_spool ? in->spool : in->f;
	size_t n = fread(p, 1, cap, f);
	*got = n;
	if (n == 0 && ferror(f)) {
		err_set(err, "%s", strerror(errno));
		return -1;
	}
	in->count += n;
	if (in->count > in->max) {
		err_setc(err, ERR_TOO_LARGE, "larger than the limit (%llu bytes)", (unsigned long long)in->max);
		return -1;
	}
	if (in->spool && !in->from_spool && n && fwrite(p, 1, n, in->spool) != n) {
		err_set(err, "writing a temporary copy: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int platform_in_rewind(struct platform_in *in, struct errmsg *err)
{
	FILE *f = in->spool ? in->spool : in->f;
	if ((in->spool && fflush(in->spool) != 0) || fseek(f, 0, SEEK_SET) != 0) {
		err_set(err, "cannot read it again: %s", strerror(errno));
		return -1;
	}
	clearerr(f);
	in->from_spool = in->spool != NULL;
	in->count = 0;
	return 0;
}

void platform_in_close(struct platform_in *in)
{
	if (!in)
		return;
	if (in->f && !in->is_stdin)
		fclose(in->f);
	if (in->spool)
		fclose(in->spool);
	free(in);
}

#ifdef _WIN32
static int out_open_file(struct platform_out *o, const char *path, struct errmsg *err)
{
	o->wpath = malloc(PLATFORM_PATH_MAX * sizeof *o->wpath);
	o->wtmp = malloc((PLATFORM_PATH_MAX + 16) * sizeof *o->wtmp);
	if (!o->wpath || !o->wtmp) {
		err_set(err, "%s: out of memory", path);
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

static int out_write_file(struct platform_out *o, const void *p, size_t len, struct errmsg *err)
{
	DWORD e = write_handle(o->h, p, len);
	if (e)
		err_win32(err, o->name, e);
	return e ? -1 : 0;
}

static int out_commit_file(struct platform_out *o, struct errmsg *err)
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

static void out_close_file(struct platform_out *o)
{
	if (o->h)
		CloseHandle(o->h);
	if (o->made)
		DeleteFileW(o->wtmp);
	free(o->wpath);
	free(o->wtmp);
}
/* Windows: no POSIX signals to clean up after (see the POSIX half). */
void platform_signal_cleanup(void)
{
}
#else
/*
 * A signal that ends the process while a temporary file is being written
 * (Ctrl-C, kill, a closed terminal, a file-size limit) would leave it
 * behind. While one exists its path is recorded here and these signals
 * are caught: the handler removes it, restores the disposition the signal
 * had and raises it again, so the process still dies of it. Signals are
 * the process's, not a library's: this happens only in a program that asks
 * for it (platform_signal_cleanup; the modmap command does), and covers one
 * output file at a time (modmap writes one).
 */
static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGXFSZ };
#define NFATAL (sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction saved_actions[NFATAL];
static char armed_path[PATH_MAX + 32];
static volatile sig_atomic_t armed;
static volatile sig_atomic_t cleanup_wanted;

void platform_signal_cleanup(void)
{
	cleanup_wanted = 1;
}

/* Async-signal-safe: unlink, sigaction and raise only. */
static void remove_and_reraise(int sig)
{
	if (armed)
		unlink(armed_path);
	armed = 0;
	for (size_t i = 0; i < NFATAL; i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &saved_actions[i], NULL);
	raise(sig);	/* blocked in here: delivered as the handler returns */
}

/* Records tmp for removal should a fatal signal come; 0, or -1 if taken. */
static int arm_cleanup(const char *tmp)
{
	size_t n = strlen(tmp);
	if (!cleanup_wanted || armed || n >= sizeof armed_path)
		return -1;
	memcpy(armed_path, tmp, n + 1);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = remove_and_reraise;
	sigfillset(&sa.sa_mask);
	armed = 1;
	for (size_t i = 0; i < NFATAL; i++) {
		sigaction(fatal_signals[i], NULL, &saved_actions[i]);
		/* An ignored signal (nohup's SIGHUP) stays ignored. */
		if (saved_actions[i].sa_handler != SIG_IGN)
			sigaction(fatal_signals[i], &sa, NULL);
	}
	return 0;
}

static void disarm_cleanup(void)
{
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &saved_actions[i], NULL);
	armed = 0;
}

/*
 * A temporary name beside path that always fits: ".modmap-XXXXXX" in its
 * directory (NAME + a suffix could pass NAME_MAX where NAME did not).
 */
static char *temp_beside(const char *path)
{
	static const char name[] = ".modmap-XXXXXX";
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	char *t = malloc(dl + sizeof name);
	if (t) {
		memcpy(t, path, dl);
		memcpy(t + dl, name, sizeof name);
	}
	return t;
}

static int out_open_file(struct platform_out *o, const char *path, struct errmsg *err)
{
	struct stat cur;
	int exists = stat(path, &cur) == 0;
	o->fd = -1;
	if (exists && !S_ISREG(cur.st_mode)) {
		/* /dev/null, /dev/stdout, a FIFO: written in place, never replaced. */
		if ((o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0) {
			err_set(err, "%s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	/* Through a symbolic link, replace the file it names, not the link;
	 * in the same directory, so the rename is atomic. */
	char *real = realpath(path, NULL);
	o->target = real ? real : str_dup(path);
	if (!o->target || !(o->tmp = temp_beside(o->target))) {
		err_set(err, "%s: out of memory", path);
		return -1;
	}
	if ((o->fd = mkstemp(o->tmp)) < 0) {
		err_set(err, "%s: %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	o->armed = arm_cleanup(o->tmp) == 0;
	/* mkstemp makes 0600: keep the mode of the file replaced, or give the
	 * one any new file would get. */
	if (exists) {
		o->mode = cur.st_mode & 07777;
	} else {
		mode_t mask = umask(0);
		umask(mask);
		o->mode = 0666 & ~mask;
	}
	return 0;
}

static int out_write_file(struct platform_out *o, const void *p, size_t len, struct errmsg *err)
{
	int e = write_all(o->fd, p, len);
	if (e)
		err_set(err, "%s: %s", o->name, strerror(e));
	return e ? -1 : 0;
}

static int out_commit_file(struct platform_out *o, struct errmsg *err)
{
	int e = 0;
	if (o->tmp && fchmod(o->fd, o->mode) < 0)
		e = errno;
	if (!e && o->tmp && fsync(o->fd) < 0 && errno != EINVAL)
		e = errno;
	if (close(o->fd) < 0 && !e)
		e = errno;
	o->fd = -1;
	if (!e && o->tmp && rename(o->tmp, o->target) < 0)
		e = errno;
	if (!e && o->armed) {
		disarm_cleanup();	/* renamed: nothing of ours to remove */
		o->armed = 0;
	}
	if (e) {
		err_set(err, "%s: %s", o->name, strerror(e));
		return -1;
	}
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

static void out_close_file(struct platform_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	if (o->armed)
		disarm_cleanup();
	free(o->tmp);
	free(o->target);
}
#endif

int platform_out_flush(struct platform_out *o, struct errmsg *err)
{
	if (!o->name && fflush(stdout) != 0) {
		err_set(err, "standard output: %s", strerror(errno));
		return -1;
	}
	return 0;	/* a file is written without a buffer of ours */
}

struct platform_out *platform_out_open(const char *path, struct errmsg *err)
{
	struct platform_out *o = calloc(1, sizeof *o);
	if (!o || (path && !(o->name = str_dup(path)))) {
		free(o);
		err_set(err, "%s: out of memory", path ? path : "standard output");
		return NULL;
	}
	if (!path) {
#ifdef _WIN32
		_setmode(_fileno(stdout), _O_BINARY);
#endif
		return o;
	}
	if (out_open_file(o, path, err) < 0) {
		platform_out_abort(o);
		return NULL;
	}
	return o;
}

int platform_out_write(struct platform_out *o, const void *p, size_t len, struct errmsg *err)
{
	if (o->name)
		return out_write_file(o, p, len, err);
	if (len && fwrite(p, 1, len, stdout) != len) {
		err_set(err, "standard output: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int platform_out_commit(struct platform_out *o, struct errmsg *err)
{
	int rc = 0;
	if (o->name)
		rc = out_commit_file(o, err);
	else if (fflush(stdout) != 0) {
		err_set(err, "standard output: %s", strerror(errno));
		rc = -1;
	}
	platform_out_abort(o);
	return rc;
}

void platform_out_abort(struct platform_out *o)
{
	if (!o)
		return;
	if (o->name)
		out_close_file(o);
	free(o->name);
	free(o);
}

int platform_write_file(const char *path, const void *p, size_t len, struct errmsg *err)
{
	struct platform_out *o = platform_out_open(path, err);
	if (!o)
		return -1;
	if (platform_out_write(o, p, len, err) < 0) {
		platform_out_abort(o);
		return -1;
	}
	return platform_out_commit(o, err);
}

/* ---- whole files into a directory tree (collect) ------------------------ */

#ifdef _WIN32
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
			err_set(err, "%s: %s", dir, strerror(e));
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
			err_set(err, "reading: %s", strerror(errno));
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
			err_set(err, "writing: %s", strerror(errno));
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
#else
int platform_mkdir(const char *path, struct errmsg *err)
{
	struct stat st;
	if (mkdir(path, 0755) == 0)
		return 0;
	int e = errno;
	if (e == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	err_set(err, "%s: %s", path, e == EEXIST ? "not a directory" : strerror(e));
	return -1;
}

int platform_is_file(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) &&
	       stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int platform_open_regular(const char *path, uint64_t *size, const char **why, int *missing)
{
	struct stat st;
	*missing = 0;
	*why = "cannot open the file";
	/* O_PATH first: a device is not opened (some act on open) until it is
	 * known to be a regular file; the checked descriptor is reopened. */
	int pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		*missing = errno == ENOENT;
		return -1;
	}
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(pfd);
		*why = "not a regular file";
		return -1;
	}
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
	int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(pfd);
	*size = (uint64_t)st.st_size;
	return fd;
}

int platform_temp_in(const char *dir, char **tmp, struct errmsg *err)
{
	size_t dl = strlen(dir);
	if (!(*tmp = malloc(dl + sizeof "/.tmp.XXXXXX"))) {
		err_setc(err, ERR_NO_MEMORY, "%s: out of memory", dir);
		return -1;
	}
	memcpy(*tmp, dir, dl);
	memcpy(*tmp + dl, "/.tmp.XXXXXX", sizeof "/.tmp.XXXXXX");
	int fd = mkostemp(*tmp, O_CLOEXEC);
	/* mkstemp makes 0600; a kept binary is for every user to symbolize with. */
	if (fd >= 0 && fchmod(fd, 0644) < 0) {
		close(fd);
		unlink(*tmp);
		fd = -1;
	}
	if (fd < 0) {
		err_set(err, "%s: %s", dir, strerror(errno));
		free(*tmp);
		*tmp = NULL;
	}
	return fd;
}

int platform_sync_fd(int fd)
{
	return fsync(fd) < 0 && errno != EINVAL ? -1 : 0;
}

int platform_close(int fd)
{
	return close(fd);
}

int platform_rename(const char *from, const char *to, struct errmsg *err)
{
	if (rename(from, to) == 0)
		return 0;
	err_set(err, "%s: %s", to, strerror(errno));
	return -1;
}

int platform_remove(const char *path)
{
	return unlink(path);
}

int platform_rmdir(const char *path)
{
	return rmdir(path);
}

int platform_link(const char *existing, const char *path, const char *relative, const char **how,
		  struct errmsg *err)
{
	*how = "hard link";
	if (link(existing, path) == 0)
		return 0;
	int e = errno;
	if (e == EEXIST)
		goto fail;
	/* Another filesystem, or one without hard links: a relative symbolic
	 * link, which survives moving the whole directory. */
	*how = "symbolic link";
	if (symlink(relative, path) == 0)
		return 0;
	e = errno;
fail:
	err_set(err, "%s: %s", path, strerror(e));
	return -1;
}

/*
 * copy_file_range where the kernel and both filesystems have it (in the
 * kernel, no bytes through user space; a reflink on btrfs and XFS), else
 * read and write.
 */
int platform_copy_fd(int in, int out, uint64_t max, uint64_t *copied, struct errmsg *err)
{
	static const size_t chunk = 1 << 20;
	int use_cfr = 1;
	char *buf = NULL;
	int rc = -1;
	*copied = 0;
	for (;;) {
		ssize_t n = -1;
		/* One byte past the limit, to tell "exactly max" from "more". */
		size_t want = max - *copied + 1 < chunk ? (size_t)(max - *copied + 1) : chunk;
		if (use_cfr) {
			n = copy_file_range(in, NULL, out, NULL, want, 0);
			if (n < 0 && (errno == ENOSYS || errno == EXDEV || errno == EINVAL ||
				      errno == EOPNOTSUPP || errno == EBADF) && *copied == 0) {
				use_cfr = 0;
				continue;
			}
		} else {
			if (!buf && !(buf = malloc(chunk))) {
				err_setc(err, ERR_NO_MEMORY, "out of memory");
				break;
			}
			n = read(in, buf, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				err_set(err, "reading: %s", strerror(errno));
				break;
			}
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(out, buf + off, (size_t)(n - off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					err_set(err, "writing: %s", strerror(w < 0 ? errno : ENOSPC));
					goto done;
				}
				off += w;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, "copying: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			rc = 0;
			break;
		}
		*copied += (uint64_t)n;
		if (*copied > max) {
			err_setc(err, ERR_TOO_LARGE, "more than %llu bytes", (unsigned long long)max);
			break;
		}
	}
done:
	free(buf);
	return rc;
}

int platform_read_at(int fd, uint64_t off, void *buf, size_t len)
{
	for (unsigned char *p = buf; len;) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

#endif

/* ---- module files read in place, and standard input as it comes ----- */

struct platform_file {
#ifdef _WIN32
	FILE *f;
#else
	int fd;
#endif
};

#ifdef _WIN32
struct platform_file *platform_file_open(const char *path, uint64_t *size)
{
	struct errmsg why;
	FILE *f = in_fopen(path, &why);
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

int platform_stdin_read(void *p, size_t cap, size_t *got, struct errmsg *err)
{
	static const unsigned max = 1u << 30;
	_setmode(0, _O_BINARY);
	int r = _read(0, p, cap > max ? max : (unsigned)cap);
	if (r < 0) {
		err_set(err, "standard input: %s", strerror(errno));
		return -1;
	}
	*got = (size_t)r;
	return 0;
}
#else
struct platform_file *platform_file_open(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct platform_file *pf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (pf = malloc(sizeof *pf))) {
		pf->fd = fd;
		*size = (uint64_t)st.st_size;
		return pf;
	}
	close(fd);
	return NULL;
}

int platform_file_pread(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct platform_file *pf = ctx;
	unsigned char *b = buf;
	while (len) {
		if (off > (uint64_t)INT64_MAX)
			return -1;
		ssize_t r = pread(pf->fd, b, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

void platform_file_close(struct platform_file *pf)
{
	if (pf) {
		close(pf->fd);
		free(pf);
	}
}

int platform_stdin_read(void *p, size_t cap, size_t *got, struct errmsg *err)
{
	for (;;) {
		ssize_t r = read(0, p, cap);
		if (r >= 0) {
			*got = (size_t)r;
			return 0;
		}
		if (errno != EINTR) {
			err_set(err, "standard input: %s", strerror(errno));
			return -1;
		}
	}
}
#endif
