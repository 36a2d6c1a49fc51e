/*
 * err.h - how the library says what went wrong: a struct errmsg holds one
 * line and the kind of failure (ERR_*, the public MODMAP_ERR_* codes),
 * filled where the failure is seen and handed up unchanged.
 */
#ifndef MODMAP_ERR_H
#define MODMAP_ERR_H

#include "modmap.h"	/* MODMAP_ERR_* */

/*
 * printf-style checking of our own formatters. mingw's GCC reads "printf"
 * as Microsoft's dialect (no %zu, %llu); the Windows build formats with
 * mingw's C99 printf (__USE_MINGW_ANSI_STDIO), so the Makefile has it
 * check against GNU's (MODMAP_PRINTF_STYLE=gnu_printf).
 */
#ifndef MODMAP_PRINTF_STYLE
#define MODMAP_PRINTF_STYLE printf
#endif
#define MODMAP_PRINTF(fmt, args) __attribute__((format(MODMAP_PRINTF_STYLE, fmt, args)))

/* A one-line reason, built by the library and printed only by main.c. */
struct errmsg {
	int code;		/* ERR_*: what kind of failure, for the caller to act on */
	char text[512];
};
/*
 * The kinds of failure a caller may want to tell apart: the public
 * MODMAP_ERR_* codes. err_set leaves
 * ERR_OTHER; err_setc names the kind.
 */
enum {
	ERR_OTHER = MODMAP_ERR_OTHER,
	ERR_NO_PROCESS = MODMAP_ERR_NO_PROCESS,	/* no such process, or it exited */
	ERR_PERMISSION = MODMAP_ERR_PERMISSION,	/* the caller may not read it */
	ERR_UNSUPPORTED = MODMAP_ERR_UNSUPPORTED,	/* not in this kernel or build */
	ERR_TOO_LARGE = MODMAP_ERR_TOO_LARGE,	/* an input over the caller's limit */
	ERR_BAD_INPUT = MODMAP_ERR_BAD_INPUT,	/* a file that is not what it should be */
	ERR_NO_MEMORY = MODMAP_ERR_NO_MEMORY,
};
void err_set(struct errmsg *e, const char *fmt, ...)
	MODMAP_PRINTF(2, 3);
void err_setc(struct errmsg *e, int code, const char *fmt, ...)
	MODMAP_PRINTF(3, 4);
/*
 * The one table from errno to ERR_* (os/windows.c has Win32's): EACCES and
 * EPERM are ERR_PERMISSION, ESRCH ERR_NO_PROCESS, ENOMEM ERR_NO_MEMORY,
 * EFBIG ERR_TOO_LARGE, ENOSYS and EOPNOTSUPP ERR_UNSUPPORTED, the rest
 * ERR_OTHER. err_sete is err_setc with the code errnum has.
 */
int err_code_errno(int errnum);
void err_sete(struct errmsg *e, int errnum, const char *fmt, ...)
	MODMAP_PRINTF(3, 4);

#endif
