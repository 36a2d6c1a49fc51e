/*
 * posix_open.c - checked_open.h on Linux: paths resolved once, under
 * rules, into descriptors (openat2's RESOLVE_* flags, fstatfs for the file
 * system, fstat for owner and type), as systemd's chase() does. It is the
 * only place modmap decides whether a file someone else controls may be
 * followed, opened or written; docs/security.md states the rules.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checked_open.h"

#define PROC_MAGIC 0x9fa0	/* linux/magic.h PROC_SUPER_MAGIC */
#define SYSFS_MAGIC 0x62656572	/* linux/magic.h SYSFS_MAGIC */
#define MAX_LINKS 40		/* as the kernel's MAXSYMLINKS */

uint32_t checked_euid(void)
{
	return (uint32_t)geteuid();
}

static int trusted_owner(uint32_t uid)
{
	return uid == 0 || uid == checked_euid();
}

int checked_dir_is_shared(uint32_t uid, uint32_t mode)
{
	return !trusted_owner(uid) || ((mode & 022) && !(mode & S_ISVTX));
}

int checked_dir_is_sticky_shared(uint32_t mode)
{
	return (mode & S_ISVTX) && (mode & 022);
}

static void fill_info(struct open_info *info, const struct stat *st, long fs)
{
	if (!info)
		return;
	info->uid = (uint32_t)st->st_uid;
	info->mode = (uint32_t)st->st_mode;
	info->size = (uint64_t)st->st_size;
	info->dev = (uint64_t)st->st_dev;
	info->ino = (uint64_t)st->st_ino;
	info->fs_type = fs;
}

/* Sets errno e and err's words; returns -1. */
static int refuse(struct errmsg *err, int e, const char *why)
{
	err_set(err, "%s", why);
	errno = e;
	return -1;
}

int checked_openat(int dirfd, const char *path, int flags, const struct open_rules *r,
		   struct open_info *info, struct errmsg *err)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_MAGICLINKS };
	if (r->in_root)
		how.resolve |= RESOLVE_IN_ROOT;
	if (r->no_symlinks)
		how.resolve |= RESOLVE_NO_SYMLINKS;
	if (r->same_mount)
		how.resolve |= RESOLVE_NO_XDEV;
	int want_path = (flags & O_PATH) != 0;
	if (!r->regular && !want_path)
		how.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY);
	else
		how.flags |= (uint64_t)(flags & (O_DIRECTORY | O_NOFOLLOW));
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP && r->no_symlinks)
			return refuse(err, e, "a symbolic link on the path: not followed");
		if (e == EXDEV)
			return refuse(err, e, r->same_mount ? "another filesystem is mounted on the path"
							 : "leads outside the process's root");
		if (e == ENOSYS)
			return refuse(err, e, "the kernel has no openat2 (Linux 5.6) to open it safely");
		return refuse(err, e, strerror(e));
	}
	/* Where no rule asks about the file and the caller wants no info, it
	 * is not asked either: an fstat goes to the file system's server, and
	 * a FUSE or network one may never answer (the caller checks the
	 * descriptor's mount first: os/linux_jit.c). */
	if (!info && !r->regular && !r->owner && !r->procfs && !r->not_procfs)
		return fd;
	struct stat st;
	struct statfs sf = { 0 };
	const char *why = NULL;
	int e = EPERM;
	if (fstat(fd, &st) < 0 || ((r->procfs || r->not_procfs) && fstatfs(fd, &sf) < 0)) {
		e = errno;
		why = strerror(e);
	} else if (r->regular && !S_ISREG(st.st_mode)) {
		why = "not a regular file";
		e = EINVAL;
	} else if (r->owner && st.st_uid != 0 && st.st_uid != r->owner_uid) {
		why = "owned by another user";
	} else if (r->procfs && sf.f_type != PROC_MAGIC) {
		why = "not on the proc filesystem";
	} else if (r->not_procfs && (sf.f_type == PROC_MAGIC || sf.f_type == SYSFS_MAGIC)) {
		why = "on procfs or sysfs";
	}
	if (why) {
		close(fd);
		return refuse(err, e, why);
	}
	if (r->regular && !want_path) {
		/* The checked O_PATH descriptor reopened: still the same file. */
		char self[64];
		snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
		int rfd = open(self, (flags & ~O_CREAT) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		e = errno;
		close(fd);
		if (rfd < 0)
			return refuse(err, e, strerror(e));
		fd = rfd;
	}
	fill_info(info, &st, (long)sf.f_type);
	return fd;
}

/* ---- walking an output path ------------------------------------------------ */

/*
 * The path still to walk, in one malloc'ed buffer: a link's target is put
 * in front of what remained.
 */
struct rest {
	char *p;
	size_t len;	/* of p, without its NUL */
};

static int rest_prepend(struct rest *r, const char *front, size_t flen)
{
	if (flen + 1 + r->len + 1 > PATH_MAX * 4)
		return -1;
	char *n = malloc(flen + 1 + r->len + 1);
	if (!n)
		return -1;
	memcpy(n, front, flen);
	n[flen] = '/';
	memcpy(n + flen + 1, r->p, r->len + 1);
	free(r->p);
	r->p = n;
	r->len = flen + 1 + r->len;
	return 0;
}

/* The next component of r (moved out), in comp[NAME_MAX + 1]; 0 at the end, -1 too long. */
static int next_component(struct rest *r, char comp[NAME_MAX + 1], int *last)
{
	size_t i = 0;
	while (i < r->len && r->p[i] == '/')
		i++;
	if (i == r->len)
		return 0;
	size_t j = i;
	while (j < r->len && r->p[j] != '/')
		j++;
	if (j - i > NAME_MAX)
		return -1;
	memcpy(comp, r->p + i, j - i);
	comp[j - i] = '\0';
	size_t k = j;
	while (k < r->len && r->p[k] == '/')
		k++;
	*last = k == r->len;
	memmove(r->p, r->p + j, r->len - j + 1);
	r->len -= j;
	return 1;
}

enum { LINK_FOLLOWED, LINK_MAGIC, LINK_FAILED };

/*
 * The component comp of path, open at fd (closed here) and a symbolic link
 * (st): at the end of the path the kernel's own /proc link, for the kernel
 * to open (LINK_MAGIC); else its target put in front of what remains of r,
 * walked from the root (*cur reopened there) when absolute
 * (LINK_FOLLOWED); or LINK_FAILED with err set when the rules refuse the
 * link's owner, the link does not read or links nest past MAX_LINKS.
 */
static int follow_link(const char *path, const struct open_rules *rules, const char *comp,
		       int fd, const struct stat *st, int last, struct rest *r, int *links,
		       int *cur, struct errmsg *err)
{
	struct statfs sf;
	if (last && fstatfs(fd, &sf) == 0 && sf.f_type == PROC_MAGIC &&
	    trusted_owner((uint32_t)st->st_uid)) {
		/* /proc/self/fd/1: the kernel's link, for the kernel to open. */
		close(fd);
		return LINK_MAGIC;
	}
	if (rules->trusted_links && !trusted_owner((uint32_t)st->st_uid)) {
		err_set(err, "%s: a symbolic link on the path (%s) is owned by another "
			"user (uid %u): not followed", path, comp, (unsigned)st->st_uid);
		close(fd);
		return LINK_FAILED;
	}
	char target[PATH_MAX];
	ssize_t n = readlinkat(fd, "", target, sizeof target);
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof target || ++*links > MAX_LINKS ||
	    rest_prepend(r, target, (size_t)n) < 0) {
		err_set(err, "%s: %s", path, strerror(n < 0 ? errno : ELOOP));
		return LINK_FAILED;
	}
	if (target[0] == '/') {
		close(*cur);
		if ((*cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			err_sete(err, errno, "%s: %s", path, strerror(errno));
			return LINK_FAILED;
		}
	}
	return LINK_FOLLOWED;
}

int checked_walk(const char *path, const struct open_rules *rules, int mkdirs, char **name,
		 int *magic, struct errmsg *err)
{
	struct rest r = { NULL, strlen(path) };
	char comp[NAME_MAX + 1];
	int links = 0, last = 0, got;
	int cur = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	*name = NULL;
	*magic = 0;
	if (cur < 0 || !(r.p = malloc(r.len + 1))) {
		err_set(err, "%s: %s", path, strerror(cur < 0 ? errno : ENOMEM));
		goto fail;
	}
	memcpy(r.p, path, r.len + 1);
	while ((got = next_component(&r, comp, &last)) == 1) {
		if (strcmp(comp, ".") == 0 && !last)
			continue;
		int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && mkdirs && !last) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				err_sete(err, errno, "%s: %s", path, strerror(errno));
				goto fail;
			}
			fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0 && errno == ENOENT && last)
			break;	/* a new file at the end: the caller makes it */
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			err_sete(err, errno, "%s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			int how = follow_link(path, rules, comp, fd, &st, last, &r, &links, &cur, err);
			if (how == LINK_FAILED)
				goto fail;
			if (how == LINK_MAGIC) {
				*magic = 1;
				break;
			}
			continue;
		}
		if (last) {
			close(fd);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			err_sete(err, ENOTDIR, "%s: %s", path, strerror(ENOTDIR));
			goto fail;
		}
		close(cur);
		cur = fd;
	}
	if (got < 0) {
		err_sete(err, ENAMETOOLONG, "%s: %s", path, strerror(ENAMETOOLONG));
		goto fail;
	}
	if (got == 0)
		snprintf(comp, sizeof comp, ".");	/* "/", "dir/": the directory itself */
	size_t cl = strlen(comp) + 1;
	if (!(*name = malloc(cl))) {
		err_setc(err, ERR_NO_MEMORY, "%s: out of memory", path);
		goto fail;
	}
	memcpy(*name, comp, cl);
	free(r.p);
	return cur;
fail:
	free(r.p);
	if (cur >= 0)
		close(cur);
	return -1;
}
