/*
 * posix_store.c - store.h on POSIX: collect's directories as descriptors.
 * DIR is reached by checked_walk (no link another user owns), and every
 * name below it is made and opened relative to its parent's descriptor,
 * never through a symbolic link, so a link or a directory an attacker
 * plants in a shared DIR leads nowhere (docs/security.md, defect 2).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checked_open.h"
#include "store.h"

struct store_dir {
	int fd;		/* O_PATH, O_DIRECTORY */
	char *path;	/* for messages */
};

static struct store_dir *dir_new(int fd, const char *parent, const char *name, size_t len,
				 struct errmsg *err)
{
	struct store_dir *d = malloc(sizeof *d);
	size_t pl = parent ? strlen(parent) + 1 : 0;
	char *p = malloc(pl + len + 1);
	if (!d || !p) {
		free(d);
		free(p);
		close(fd);
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	if (parent) {
		memcpy(p, parent, pl - 1);
		p[pl - 1] = '/';
	}
	memcpy(p + pl, name, len);
	p[pl + len] = '\0';
	d->fd = fd;
	d->path = p;
	return d;
}

const char *store_path(const struct store_dir *d)
{
	return d->path;
}

/* Refuses a directory someone other than the caller and root may rewrite. */
static int check_dir(int fd, const char *path, int top, struct errmsg *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		err_sete(err, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		err_set(err, "%s: not a directory", path);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != checked_euid()) {
		err_setc(err, ERR_PERMISSION, "%s: owned by another user (uid %u): not written into",
			 path, (unsigned)st.st_uid);
		return -1;
	}
	if (top && checked_dir_is_shared((uint32_t)st.st_uid, (uint32_t)st.st_mode)) {
		err_setc(err, ERR_PERMISSION,
			 "%s: others may write it and it is not sticky (mode %04o): not written into",
			 path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

struct store_dir *store_open(const char *path, struct errmsg *err)
{
	static const struct open_rules rules = { .trusted_links = 1 };
	char *name;
	int magic;
	int parent = checked_walk(path, &rules, 1, &name, &magic, err);
	if (parent < 0)
		return NULL;
	if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
		err_sete(err, errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	int fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err_sete(err, errno, "%s: %s", path,
			errno == ELOOP	   ? "a symbolic link: not followed"
			: errno == ENOTDIR ? "not a directory"
					   : strerror(errno));
		goto fail;
	}
	if (check_dir(fd, path, 1, err) < 0) {
		close(fd);
		goto fail;
	}
	free(name);
	close(parent);
	return dir_new(fd, NULL, path, strlen(path), err);
fail:
	free(name);
	close(parent);
	return NULL;
}

struct store_dir *store_sub(struct store_dir *d, const char *name, size_t len,
			    struct errmsg *err)
{
	char n[256];
	if (len >= sizeof n) {
		err_set(err, "%s/%.*s: name too long", d->path, (int)len, name);
		return NULL;
	}
	memcpy(n, name, len);
	n[len] = '\0';
	if (mkdirat(d->fd, n, 0755) < 0 && errno != EEXIST) {
		err_sete(err, errno, "%s/%s: %s", d->path, n, strerror(errno));
		return NULL;
	}
	int fd = openat(d->fd, n, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err_sete(err, errno, "%s/%s: %s", d->path, n,
			errno == ELOOP || errno == ENOTDIR ? "a symbolic link or no directory: not followed"
							    : strerror(errno));
		return NULL;
	}
	struct store_dir *s = dir_new(fd, d->path, n, len, err);
	if (s && check_dir(fd, s->path, 0, err) < 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

void store_close(struct store_dir *d)
{
	if (d) {
		close(d->fd);
		free(d->path);
		free(d);
	}
}

int store_stat(struct store_dir *d, const char *name, uint64_t *size)
{
	struct stat st;
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : 2;
	if (!S_ISREG(st.st_mode))
		return 2;
	*size = (uint64_t)st.st_size;
	return 1;
}

int store_open_file(struct store_dir *d, const char *name)
{
	int fd = openat(d->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int store_link_ok(struct store_dir *d, const char *name)
{
	/* Below the caller's own directories: what the link names is ours. */
	struct stat st;
	return fstatat(d->fd, name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

int store_temp(struct store_dir *d, char **tmp, uint32_t mode, struct errmsg *err)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char name[] = ".tmp.XXXXXXXXXX";
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long seed = (unsigned long long)ts.tv_nsec ^
				  ((unsigned long long)getpid() << 32) ^ (uintptr_t)tmp;
	for (int tries = 0; tries < 100; tries++) {
		for (size_t i = 5; name[i]; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			name[i] = letters[(seed >> 33) % (sizeof letters - 1)];
		}
		int fd = openat(d->fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				(mode_t)(mode & 0777));
		if (fd < 0 && errno == EEXIST)
			continue;
		/* The umask may have taken bits the source had. */
		if (fd >= 0 && fchmod(fd, (mode_t)(mode & 0777)) < 0) {
			int e = errno;
			close(fd);
			unlinkat(d->fd, name, 0);
			errno = e;
			fd = -1;
		}
		if (fd < 0) {
			err_sete(err, errno, "%s: %s", d->path, strerror(errno));
			return -1;
		}
		if (!(*tmp = malloc(sizeof name))) {
			close(fd);
			unlinkat(d->fd, name, 0);
			err_setc(err, ERR_NO_MEMORY, "%s: out of memory", d->path);
			return -1;
		}
		memcpy(*tmp, name, sizeof name);
		return fd;
	}
	err_set(err, "%s: no free temporary name", d->path);
	return -1;
}

int store_publish(struct store_dir *d, const char *tmp, const char *name, struct errmsg *err)
{
	if (renameat(d->fd, tmp, d->fd, name) == 0)
		return 0;
	err_sete(err, errno, "%s/%s: %s", d->path, name, strerror(errno));
	return -1;
}

int store_remove(struct store_dir *d, const char *name)
{
	return unlinkat(d->fd, name, 0);
}

int store_rmdir(struct store_dir *d, const char *name)
{
	return unlinkat(d->fd, name, AT_REMOVEDIR);
}

int store_link(struct store_dir *from, const char *name, struct store_dir *to,
	       const char *newname, const char *relative, const char **how, struct errmsg *err)
{
	*how = "hard link";
	if (linkat(from->fd, name, to->fd, newname, 0) == 0)
		return 0;
	int e = errno;
	if (e != EEXIST) {
		/* Another file system, or one without hard links: a relative
		 * symbolic link, which survives moving the whole directory. */
		*how = "symbolic link";
		if (symlinkat(relative, to->fd, newname) == 0)
			return 0;
		e = errno;
	}
	err_sete(err, e, "%s/%s: %s", to->path, newname, strerror(e));
	return -1;
}

int store_source_info(int fd, uint32_t *uid, uint32_t *mode)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	*uid = (uint32_t)st.st_uid;
	*mode = (uint32_t)st.st_mode;
	return 0;
}

/* Copies [off, end) of in to the same place in out; 0, or -1 with err set. */
static int copy_range(int in, int out, uint64_t off, uint64_t end, char **buf,
		      struct errmsg *err)
{
	static const size_t chunk = 1 << 20;
	int use_cfr = 1;
	while (off < end) {
		size_t want = end - off < chunk ? (size_t)(end - off) : chunk;
		ssize_t n;
		if (use_cfr) {
			loff_t a = (loff_t)off, b = (loff_t)off;
			n = copy_file_range(in, &a, out, &b, want, 0);
			if (n < 0 && (errno == ENOSYS || errno == EXDEV || errno == EINVAL ||
				      errno == EOPNOTSUPP || errno == EBADF)) {
				use_cfr = 0;
				continue;
			}
		} else {
			if (!*buf && !(*buf = malloc(chunk))) {
				err_setc(err, ERR_NO_MEMORY, "out of memory");
				return -1;
			}
			n = pread(in, *buf, want, (off_t)off);
			for (ssize_t w = 0, done = 0; n > 0 && done < n; done += w) {
				w = pwrite(out, *buf + done, (size_t)(n - done), (off_t)(off + (uint64_t)done));
				if (w < 0 && errno == EINTR) {
					w = 0;
					continue;
				}
				if (w <= 0) {
					err_set(err, "writing: %s", strerror(w < 0 ? errno : ENOSPC));
					return -1;
				}
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sete(err, errno, "copying: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			err_set(err, "copying: the file shrank");
			return -1;
		}
		off += (uint64_t)n;
	}
	return 0;
}

int store_copy(int in, int out, uint64_t size, uint64_t budget, uint64_t *data,
	       struct errmsg *err)
{
	char *buf = NULL;
	uint64_t off = 0;
	int rc = 0;
	*data = 0;
	while (off < size) {
		off_t d = lseek(in, (off_t)off, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			break;	/* a hole to the end */
		off_t h = d < 0 ? (off_t)-1 : lseek(in, d, SEEK_HOLE);
		uint64_t start = d < 0 ? off : (uint64_t)d;
		uint64_t end = h < 0 ? size : (uint64_t)h;	/* no SEEK_DATA: all data */
		if (end > size)
			end = size;
		if (start >= end)
			break;
		if (*data + (end - start) > budget) {
			err_setc(err, ERR_TOO_LARGE, "more than %llu bytes",
				 (unsigned long long)budget);
			rc = -1;
			break;
		}
		if (copy_range(in, out, start, end, &buf, err) < 0) {
			rc = -1;
			break;
		}
		*data += end - start;
		off = end;
	}
	free(buf);
	if (rc == 0 && ftruncate(out, (off_t)size) < 0) {
		err_sete(err, errno, "writing: %s", strerror(errno));
		rc = -1;
	}
	return rc;
}
