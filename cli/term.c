/*
 * term.c - what only a program does, never the library: its arguments
 * (Windows: the wide command line as WTF-8), its terminal and standard
 * streams, its signals and its sleeping (watch). The one file of cli/ with
 * OS conditionals.
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L	/* sigaction, nanosleep */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#ifdef _WIN32
#include <io.h>
#include <windows.h>
#include <shellapi.h>
#else
#include <sys/ioctl.h>
#include <unistd.h>
#endif

#include "modmap.h"
#include "term.h"

#ifdef _WIN32
int term_stdout_is_terminal(void)
{
	return _isatty(_fileno(stdout));
}

int term_stderr_is_terminal(void)
{
	return _isatty(_fileno(stderr));
}

unsigned term_stderr_columns(void)
{
	CONSOLE_SCREEN_BUFFER_INFO ci;
	if (!GetConsoleScreenBufferInfo(GetStdHandle(STD_ERROR_HANDLE), &ci) ||
	    ci.srWindow.Right < ci.srWindow.Left)
		return 80;
	return (unsigned)(ci.srWindow.Right - ci.srWindow.Left + 1);
}

uint64_t term_now_ms(void)
{
	return (uint64_t)GetTickCount64();
}
#else
int term_stdout_is_terminal(void)
{
	return isatty(STDOUT_FILENO);
}

int term_stderr_is_terminal(void)
{
	return isatty(STDERR_FILENO);
}

unsigned term_stderr_columns(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
		return 80;
	return ws.ws_col;
}

uint64_t term_now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
#endif

#ifdef _WIN32
int term_path_is_terminal(const char *path)
{
	const char *base = path;
	for (const char *c = path; *c; c++)
		if (*c == '\\' || *c == '/' || *c == ':')
			base = c + 1;
	if (*base == '\0')
		base = path;
	return _stricmp(base, "CON") == 0 || _stricmp(base, "CONOUT$") == 0 ||
	       _stricmp(path, "CON:") == 0;
}
#else
int term_path_is_terminal(const char *path)
{
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
}
#endif

#ifdef _WIN32
int term_write_stdout(const void *p, size_t len, int *errnum)
{
	_setmode(_fileno(stdout), _O_BINARY);
	if ((len && fwrite(p, 1, len, stdout) != len) || fflush(stdout) != 0) {
		*errnum = errno;
		return -1;
	}
	return 0;
}
#else
int term_write_stdout(const void *p, size_t len, int *errnum)
{
	if ((len && fwrite(p, 1, len, stdout) != len) || fflush(stdout) != 0) {
		*errnum = errno;
		return -1;
	}
	return 0;
}
#endif

#ifdef _WIN32
/*
 * UTF-16 as WTF-8 (an unpaired surrogate kept, as the library's paths
 * take it): the bytes into out[cap], NUL-terminated when cap allows; the
 * length it needs, without the NUL.
 */
static size_t wtf8_from_utf16(char *out, size_t cap, const uint16_t *w, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = w[i];
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && w[i + 1] >= 0xdc00 &&
		    w[i + 1] <= 0xdfff)
			c = 0x10000 + ((c - 0xd800) << 10) + (w[++i] - 0xdc00u);
		unsigned char b[4];
		size_t k = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
		static const unsigned char lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
		for (size_t j = k - 1; j > 0; j--, c >>= 6)
			b[j] = (unsigned char)(0x80 | (c & 0x3f));
		b[0] = (unsigned char)(lead[k] | c);
		for (size_t j = 0; j < k; j++, len++)
			if (len + 1 < cap)
				out[len] = (char)b[j];
	}
	if (cap)
		out[len < cap ? len : cap - 1] = '\0';
	return len;
}

void term_args(int *argc, char ***argv)
{
	/* Every message reaches its pipe as it is written, not at exit: the
	 * C runtime may buffer a redirected stderr. */
	setvbuf(stderr, NULL, _IONBF, 0);
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
#else
void term_args(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
}
#endif

#ifdef _WIN32
int term_stdin_read(void *p, size_t cap, size_t *got, int *errnum)
{
	static const unsigned max = 1u << 30;
	_setmode(0, _O_BINARY);
	int r = _read(0, p, cap > max ? max : (unsigned)cap);
	if (r < 0) {
		*errnum = errno;
		return -1;
	}
	*got = (size_t)r;
	return 0;
}
#else
int term_stdin_read(void *p, size_t cap, size_t *got, int *errnum)
{
	for (;;) {
		ssize_t r = read(0, p, cap);
		if (r >= 0) {
			*got = (size_t)r;
			return 0;
		}
		if (errno != EINTR) {
			*errnum = errno;
			return -1;
		}
	}
}
#endif

#ifdef _WIN32
void term_on_stop(void (*handler)(int))
{
	/* The C runtime runs these on Ctrl-C and Ctrl-Break, in another thread. */
	signal(SIGINT, handler);
	signal(SIGTERM, handler);
}
#else
void term_on_stop(void (*handler)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	/* SA_RESTART: a write to a full pipe goes on; nanosleep is never
	 * restarted, so the sleep still returns EINTR. */
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
#endif

#ifdef _WIN32
void term_sleep_ms(uint64_t ms, const volatile sig_atomic_t *stop)
{
	/* Sleep is not cut short by the handler: slices, checking *stop. */
	while (ms && !*stop) {
		DWORD slice = ms < 20 ? (DWORD)ms : 20;
		Sleep(slice);
		ms -= slice;
	}
}
#else
void term_sleep_ms(uint64_t ms, const volatile sig_atomic_t *stop)
{
	struct timespec left = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (!*stop && nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}
#endif


/*
 * A signal that ends the process while -o's temporary file is written
 * (Ctrl-C, kill, a closed terminal, a file-size limit) would leave it
 * behind. While one exists the library names it (modmap_output_temp,
 * modmap_attach_options.temp_file), its path is kept here and these
 * signals are caught: the handler removes
 * it, restores the disposition the signal had and raises it again, so the
 * process still dies of it. One output file at a time (modmap writes one).
 */
#ifdef _WIN32
void term_temp_file(void *user, int dir, const char *name)
{
	/* No POSIX signals: the library names no temporary file here. */
	(void)user, (void)dir, (void)name;
}
#else
static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGXFSZ };
#define NFATAL (sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction saved_actions[NFATAL];
static char armed_name[256];
static int armed_dir;
static volatile sig_atomic_t armed;

/* Async-signal-safe: unlinkat, sigaction and raise only. */
static void remove_and_reraise(int sig)
{
	if (armed)
		unlinkat(armed_dir, armed_name, 0);
	armed = 0;
	for (size_t i = 0; i < NFATAL; i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &saved_actions[i], NULL);
	raise(sig);	/* blocked in here: delivered as the handler returns */
}

/* Records tmp in dir for removal should a fatal signal come (a second
 * file while one is armed, or a name too long to keep, is not covered). */
static void arm_cleanup(int dir, const char *tmp)
{
	size_t n = strlen(tmp);
	if (armed || n >= sizeof armed_name)
		return;
	memcpy(armed_name, tmp, n + 1);
	armed_dir = dir;
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
}

static void disarm_cleanup(void)
{
	if (!armed)
		return;
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &saved_actions[i], NULL);
	armed = 0;
}

void term_temp_file(void *user, int dir, const char *name)
{
	(void)user;
	if (name)
		arm_cleanup(dir, name);
	else
		disarm_cleanup();
}
#endif

int term_output_open(const char *path, struct modmap_output **out, struct modmap_error *err)
{
	if (modmap_output_open(path, out, err) < 0)
		return -1;
	int dir;
	const char *tmp = modmap_output_temp(*out, &dir);
	if (tmp)
		term_temp_file(NULL, dir, tmp);
	return 0;
}

int term_output_commit(struct modmap_output *o, struct modmap_error *err)
{
	int rc = modmap_output_commit(o, err);
	term_temp_file(NULL, -1, NULL);
	return rc;
}

void term_output_abort(struct modmap_output *o)
{
	modmap_output_abort(o);
	term_temp_file(NULL, -1, NULL);
}
