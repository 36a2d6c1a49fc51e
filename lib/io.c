/*
 * io.c - the portable half of platform.h: reading a profile twice as a
 * stream (spooled when it cannot be rewound) and writing output, to
 * standard output or to a file replaced atomically. What differs per OS
 * (opening, spooling, the output file itself) is os/io_os.h's, answered by
 * os/posix_io.c or os/windows_io.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os/io_os.h"
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

/* ---- streaming input and output, for attach ----------------------------- */

struct platform_in {
	FILE *f;		/* the file, or standard input */
	FILE *spool;		/* a copy of what f gave, when f cannot be rewound */
	int from_spool;		/* reading the copy back */
	int is_stdin;
	uint64_t max, count;
	uint64_t size;		/* a file's size, for progress; 0: not known */
};

struct platform_out {
	struct os_out *file;	/* NULL: standard output */
	struct platform_temp_hook hook;	/* told of file's temporary file */
};

struct platform_in *platform_in_open(const char *path, uint64_t max, struct errmsg *err)
{
	struct platform_in *in = calloc(1, sizeof *in);
	if (!in) {
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	in->max = max;
	in->is_stdin = strcmp(path, "-") == 0;
	if (in->is_stdin) {
		os_binary(stdin);
		in->f = stdin;
	} else if (!(in->f = os_in_fopen(path, err))) {
		free(in);
		return NULL;
	}
	/* Standard input a script already read from starts past byte 0, where
	 * a rewind would go: copy it too. */
	if ((!os_in_rewindable(in->f) || (in->is_stdin && ftell(in->f) != 0)) &&
	    !(in->spool = os_spool_new())) {
		err_sete(err, errno, "cannot make a temporary file to read it through twice: %s",
			strerror(errno));
		platform_in_close(in);
		return NULL;
	}
	/* A file's size, where standard C can tell it (ftell's long: not past
	 * 2 GiB on Windows); only for progress, so unknown is fine. */
	long here = in->spool ? -1 : ftell(in->f), end;
	if (here >= 0 && fseek(in->f, 0, SEEK_END) == 0) {
		end = ftell(in->f);
		if (fseek(in->f, here, SEEK_SET) != 0) {
			err_sete(err, errno, "%s", strerror(errno));
			platform_in_close(in);
			return NULL;
		}
		in->size = end > here ? (uint64_t)(end - here) : 0;
	}
	return in;
}

uint64_t platform_in_size(const struct platform_in *in)
{
	return in->size;
}

int platform_in_read(struct platform_in *in, void *p, size_t cap, size_t *got,
		     struct errmsg *err)
{
	FILE *f = in->from_spool ? in->spool : in->f;
	size_t n = fread(p, 1, cap, f);
	*got = n;
	if (n == 0 && ferror(f)) {
		err_sete(err, errno, "%s", strerror(errno));
		return -1;
	}
	in->count += n;
	if (in->count > in->max) {
		err_setc(err, ERR_TOO_LARGE, "larger than the limit (%llu bytes)", (unsigned long long)in->max);
		return -1;
	}
	if (in->spool && !in->from_spool && n && fwrite(p, 1, n, in->spool) != n) {
		err_sete(err, errno, "writing a temporary copy: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int platform_in_rewind(struct platform_in *in, struct errmsg *err)
{
	FILE *f = in->spool ? in->spool : in->f;
	if ((in->spool && fflush(in->spool) != 0) || fseek(f, 0, SEEK_SET) != 0) {
		err_sete(err, errno, "cannot read it again: %s", strerror(errno));
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

int platform_out_flush(struct platform_out *o, struct errmsg *err)
{
	if (!o->file && fflush(stdout) != 0) {
		err_sete(err, errno, "standard output: %s", strerror(errno));
		return -1;
	}
	return 0;	/* a file is written without a buffer of ours */
}

struct platform_out *platform_out_open(const char *path, const struct platform_temp_hook *hook,
				      struct errmsg *err)
{
	struct platform_out *o = calloc(1, sizeof *o);
	if (!o) {
		err_setc(err, ERR_NO_MEMORY, "%s: out of memory", path ? path : "standard output");
		return NULL;
	}
	if (!path) {
		os_binary(stdout);
		return o;
	}
	if (!(o->file = os_out_open(path, err))) {
		free(o);
		return NULL;
	}
	int dir;
	const char *tmp = os_out_temp(o->file, &dir);
	if (hook && hook->fn && tmp) {
		o->hook = *hook;
		o->hook.fn(o->hook.user, dir, tmp);
	}
	return o;
}

const char *platform_out_temp(const struct platform_out *o, int *dir)
{
	*dir = -1;
	return o->file ? os_out_temp(o->file, dir) : NULL;
}

int platform_out_write(struct platform_out *o, const void *p, size_t len, struct errmsg *err)
{
	if (o->file)
		return os_out_write(o->file, p, len, err);
	if (len && fwrite(p, 1, len, stdout) != len) {
		err_sete(err, errno, "standard output: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int platform_out_commit(struct platform_out *o, struct errmsg *err)
{
	int rc = 0;
	if (o->file)
		rc = os_out_commit(o->file, err);
	else if (fflush(stdout) != 0) {
		err_sete(err, errno, "standard output: %s", strerror(errno));
		rc = -1;
	}
	platform_out_abort(o);
	return rc;
}

void platform_out_abort(struct platform_out *o)
{
	if (!o)
		return;
	os_out_close(o->file);	/* renamed or removed: nothing left to clean up */
	if (o->hook.fn)
		o->hook.fn(o->hook.user, -1, NULL);
	free(o);
}

