/*
 * os/posix_io.c - platform.h and os/io_os.h on Linux (and, for most of it,
 * any POSIX system): output files replaced atomically, module files opened
 * and read in place. Collect's directory tree is os/posix_store.c.
 */
#define _GNU_SOURCE	/* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "checked_open.h"
#include "os/io_os.h"
#include "platform.h"

const char platform_sep[] = "/";

static char *str_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	return d ? memcpy(d, s, n) : NULL;
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

FILE *os_in_fopen(const char *path, struct errmsg *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		err_sete(err, errno, "%s", strerror(errno));
	return f;
}

int os_in_rewindable(FILE *f)
{
	struct stat st;
	return fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
}

/* An unnamed temporary file: unlinked as soon as it is made. */
FILE *os_spool_new(void)
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

void os_binary(FILE *f)
{
	(void)f;	/* POSIX streams are bytes already */
}

/* ---- output files, replaced atomically ---------------------------------- */

struct os_out {
	char *name;		/* for messages */
	int fd;
	int dir;		/* the target's directory, O_PATH; -1: written in place */
	char *tmp, *target;	/* names in dir; tmp NULL: written in place */
	int keep_mode;		/* replacing a file: give the temporary file its mode */
	mode_t mode;		/* ... at commit, that file's mode */
};

/*
 * A signal that ends the process while the temporary file is written would
 * leave it behind; signals are the program's, so the library only names the
 * file (os_out_temp, platform_out_temp) and the modmap command removes
 * it (cli/term.c).
 */
const char *os_out_temp(const struct os_out *o, int *dir)
{
	*dir = o->dir;
	return o->tmp;
}

/*
 * A new file in dir with a name of its own (".modmap-XXXXXX", which always
 * fits where NAME did), made exclusively and never through a link, with
 * mode (less the umask): its descriptor, its malloc'ed name in *tmp.
 */
static int temp_in_dir(int dir, mode_t mode, char **tmp)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char name[] = ".modmap-XXXXXX";
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long seed = (unsigned long long)ts.tv_nsec ^ (unsigned long long)getpid() << 32;
	for (int tries = 0; tries < 100; tries++) {
		for (size_t i = 8; name[i]; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			name[i] = letters[(seed >> 33) % (sizeof letters - 1)];
		}
		int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd >= 0 && !(*tmp = str_dup(name))) {
			close(fd);
			unlinkat(dir, name, 0);
			errno = ENOMEM;
			return -1;
		}
		return fd;
	}
	errno = EEXIST;
	return -1;
}

/*
 * A FIFO or device at name in dir (st, not followed), written in place:
 * only one the caller or root owns, in a directory no one else may swap it
 * into; a FIFO is opened non-blocking, so no reader means an error, not a
 * wait (SPEC "Trust", docs/security.md).
 */
static int out_open_special(struct os_out *o, const char *path, int dir, const char *name,
			    const struct stat *cur, struct errmsg *err)
{
	struct stat dst, got;
	const char *kind = S_ISFIFO(cur->st_mode) ? "a FIFO"
			   : S_ISSOCK(cur->st_mode) ? "a socket"
						    : "a device";
	if (cur->st_uid != 0 && cur->st_uid != geteuid()) {
		err_setc(err, ERR_PERMISSION, "%s: %s owned by another user (uid %u): not written",
			 path, kind, (unsigned)cur->st_uid);
		return -1;
	}
	if (fstat(dir, &dst) < 0 || checked_dir_is_shared((uint32_t)dst.st_uid, (uint32_t)dst.st_mode)) {
		err_setc(err, ERR_PERMISSION, "%s: %s in a directory others may write: not written",
			 path, kind);
		return -1;
	}
	o->fd = openat(dir, name, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (o->fd < 0) {
		err_sete(err, errno, "%s: %s", path,
			errno == ENXIO && S_ISFIFO(cur->st_mode) ? "a FIFO with no reader" : strerror(errno));
		return -1;
	}
	if (fstat(o->fd, &got) < 0 || got.st_dev != cur->st_dev || got.st_ino != cur->st_ino) {
		err_set(err, "%s: replaced while being opened", path);
		return -1;
	}
	/* A reader is there: from now on wait for it as any writer does. */
	int fl = fcntl(o->fd, F_GETFL);
	if (fl < 0 || fcntl(o->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		err_sete(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int out_open_file(struct os_out *o, const char *path, struct errmsg *err)
{
	/* No symbolic link another user owns is followed, on the way or at the end. */
	static const struct open_rules rules = { .trusted_links = 1 };
	struct stat cur, dst;
	char *name = NULL;
	int magic;
	o->fd = -1;
	o->dir = checked_walk(path, &rules, 0, &name, &magic, err);
	if (o->dir < 0)
		return -1;
	int rc = -1;
	if (magic) {
		/* /dev/stdout and the like: the kernel's own link to an open file. */
		o->fd = openat(o->dir, name, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		int fl = o->fd >= 0 ? fcntl(o->fd, F_GETFL) : -1;
		if (fl < 0 || fcntl(o->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
			err_sete(err, errno, "%s: %s", path,
				errno == ENXIO ? "a FIFO with no reader" : strerror(errno));
		else
			rc = 0;
		goto in_place;
	}
	int exists = fstatat(o->dir, name, &cur, AT_SYMLINK_NOFOLLOW) == 0;
	if (exists && S_ISDIR(cur.st_mode)) {
		err_sete(err, EISDIR, "%s: %s", path, strerror(EISDIR));
		goto in_place;
	}
	if (exists && S_ISLNK(cur.st_mode)) {
		err_set(err, "%s: a symbolic link put there while being opened: not followed", path);
		goto in_place;
	}
	if (exists && !S_ISREG(cur.st_mode)) {
		rc = out_open_special(o, path, o->dir, name, &cur, err);
		goto in_place;
	}
	/* fs.protected_regular's rule: in a sticky directory others may write,
	 * a file neither the caller nor the directory's owner owns is not
	 * replaced (its mode would be kept for the caller's output). */
	if (exists && fstat(o->dir, &dst) == 0 && checked_dir_is_sticky_shared((uint32_t)dst.st_mode) &&
	    cur.st_uid != geteuid() && cur.st_uid != dst.st_uid) {
		err_setc(err, ERR_PERMISSION,
			 "%s: a file another user (uid %u) owns in a sticky directory: not replaced",
			 path, (unsigned)cur.st_uid);
		goto in_place;
	}
	/* A new file has the mode any new file gets (0666 less the umask,
	 * given at its making). A file replaced keeps its own, given at commit;
	 * until then the half-written copy is the caller's alone, so a file
	 * only its owner could read is never readable by others meanwhile. */
	o->target = name;
	o->keep_mode = exists;
	o->mode = exists ? cur.st_mode & 07777 : 0;
	if ((o->fd = temp_in_dir(o->dir, exists ? 0600 : 0666, &o->tmp)) < 0) {
		err_sete(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
in_place:
	free(name);
	close(o->dir);
	o->dir = -1;
	return rc;
}

int os_out_write(struct os_out *o, const void *p, size_t len, struct errmsg *err)
{
	int e = write_all(o->fd, p, len);
	if (e)
		err_sete(err, e, "%s: %s", o->name, strerror(e));
	return e ? -1 : 0;
}

int os_out_commit(struct os_out *o, struct errmsg *err)
{
	int e = 0;
	if (o->tmp && o->keep_mode && fchmod(o->fd, o->mode) < 0)
		e = errno;
	if (!e && o->tmp && fsync(o->fd) < 0 && errno != EINVAL)
		e = errno;
	if (close(o->fd) < 0 && !e)
		e = errno;
	o->fd = -1;
	if (!e && o->tmp && renameat(o->dir, o->tmp, o->dir, o->target) < 0)
		e = errno;
	if (e) {
		err_sete(err, e, "%s: %s", o->name, strerror(e));
		return -1;
	}
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

static void out_close_file(struct os_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlinkat(o->dir, o->tmp, 0);
	if (o->dir >= 0)
		close(o->dir);
	free(o->tmp);
	free(o->target);
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

/* ---- module files read in place (collect, symbolize, lookup) ------------ */

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

int platform_sync_fd(int fd)
{
	return fsync(fd) < 0 && errno != EINVAL ? -1 : 0;
}

int platform_close(int fd)
{
	return close(fd);
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

/* ---- module files read in place ----------------------------------------- */

struct platform_file {
	int fd;
};

struct platform_file *platform_file_open(const char *path, uint64_t *size)
{
	/* Checked to be a regular file before it is opened: a device or a
	 * FIFO at the path is never opened (some act on open). */
	static const struct open_rules rules = { .regular = 1 };
	struct open_info info;
	struct errmsg why;
	int fd = checked_openat(AT_FDCWD, path, O_RDONLY, &rules, &info, &why);
	if (fd < 0)
		return NULL;
	struct platform_file *pf = malloc(sizeof *pf);
	if (pf) {
		pf->fd = fd;
		*size = info.size;
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
