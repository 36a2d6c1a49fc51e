/*
 * err.c - one-line reasons (err.h), and the one table from errno to ERR_*.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

void err_set(struct errmsg *e, const char *fmt, ...)
{
	va_list ap;
	e->code = ERR_OTHER;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
}

void err_setc(struct errmsg *e, int code, const char *fmt, ...)
{
	va_list ap;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
}

int err_code_errno(int errnum)
{
	switch (errnum) {
	case EACCES:
	case EPERM:
		return ERR_PERMISSION;
	case ESRCH:
		return ERR_NO_PROCESS;
	case ENOMEM:
		return ERR_NO_MEMORY;
	case EFBIG:
		return ERR_TOO_LARGE;
	case ENOSYS:
	case EOPNOTSUPP:
		return ERR_UNSUPPORTED;
	default:
		return ERR_OTHER;
	}
}

void err_sete(struct errmsg *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	e->code = err_code_errno(errnum);
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
}
