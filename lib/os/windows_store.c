/*
 * windows_store.c - store.h on Windows: collect's directories as paths,
 * on the platform's file calls. Windows has no attacker of this kind (no
 * symbolic link an ordinary user plants for another to follow), so a
 * store_dir is only its path (docs/security.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os/windows.h"
#include "platform.h"
#include "store.h"

struct store_dir {
	char *path;
};

static char *join(const char *a, const char *b, size_t blen)
{
	size_t al = strlen(a);
	char *p = malloc(al + 1 + blen + 1);
	if (p) {
		memcpy(p, a, al);
		p[al] = '\\';
		memcpy(p + al + 1, b, blen);
		p[al + 1 + blen] = '\0';
	}
	return p;
}

static struct store_dir *dir_of(char *path, struct errmsg *err)
{
	struct store_dir *d = path ? malloc(sizeof *d) : NULL;
	if (!d) {
		free(path);
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	d->path = path;
	return d;
}

struct store_dir *store_open(const char *path, struct errmsg *err)
{
	size_t n = strlen(path);
	char *p = malloc(n + 1);
	if (!p) {
		err_setc(err, ERR_NO_MEMORY, "%s: out of memory", path);
		return NULL;
	}
	memcpy(p, path, n + 1);
	/* Every missing directory above it, the last one telling. */
	for (size_t i = 1; i < n; i++) {
		if (p[i] != '/' && p[i] != '\\')
			continue;
		p[i] = '\0';
		platform_mkdir(p, err);
		p[i] = path[i];
	}
	if (platform_mkdir(path, err) < 0) {
		free(p);
		return NULL;
	}
	return dir_of(p, err);
}

struct store_dir *store_sub(struct store_dir *d, const char *name, size_t len,
			    struct errmsg *err)
{
	char *p = join(d->path, name, len);
	if (p && platform_mkdir(p, err) < 0) {
		free(p);
		return NULL;
	}
	return dir_of(p, err);
}

void store_close(struct store_dir *d)
{
	if (d) {
		free(d->path);
		free(d);
	}
}

const char *store_path(const struct store_dir *d)
{
	return d->path;
}

int store_stat(struct store_dir *d, const char *name, uint64_t *size)
{
	char *p = join(d->path, name, strlen(name));
	const char *why;
	int missing = 0;
	int fd = p ? platform_open_regular(p, size, &why, &missing) : -1;
	free(p);
	if (fd >= 0) {
		platform_close(fd);
		return 1;
	}
	return missing ? 0 : 2;
}

int store_open_file(struct store_dir *d, const char *name)
{
	char *p = join(d->path, name, strlen(name));
	const char *why;
	int missing;
	uint64_t size;
	int fd = p ? platform_open_regular(p, &size, &why, &missing) : -1;
	free(p);
	return fd;
}

int store_link_ok(struct store_dir *d, const char *name)
{
	char *p = join(d->path, name, strlen(name));
	int ok = p && platform_is_file(p);
	free(p);
	return ok;
}

int store_temp(struct store_dir *d, char **tmp, uint32_t mode, struct errmsg *err)
{
	(void)mode;	/* Windows files carry ACLs, inherited from the store */
	char *full = NULL;
	int fd = platform_temp_in(d->path, &full, err);
	if (fd < 0)
		return -1;
	/* The name alone: the store calls take names within d. */
	const char *base = full + strlen(d->path) + 1;
	size_t bl = strlen(base) + 1;
	*tmp = malloc(bl);
	if (!*tmp) {
		platform_close(fd);
		platform_remove(full);
		free(full);
		err_setc(err, ERR_NO_MEMORY, "out of memory");
		return -1;
	}
	memcpy(*tmp, base, bl);
	free(full);
	return fd;
}

int store_publish(struct store_dir *d, const char *tmp, const char *name, struct errmsg *err)
{
	char *from = join(d->path, tmp, strlen(tmp)), *to = join(d->path, name, strlen(name));
	int rc = -1;
	if (!from || !to)
		err_setc(err, ERR_NO_MEMORY, "out of memory");
	else
		rc = platform_rename(from, to, err);
	free(from);
	free(to);
	return rc;
}

int store_remove(struct store_dir *d, const char *name)
{
	char *p = join(d->path, name, strlen(name));
	int rc = p ? platform_remove(p) : -1;
	free(p);
	return rc;
}

int store_rmdir(struct store_dir *d, const char *name)
{
	char *p = join(d->path, name, strlen(name));
	int rc = p ? platform_rmdir(p) : -1;
	free(p);
	return rc;
}

int store_link(struct store_dir *from, const char *name, struct store_dir *to,
	       const char *newname, const char *relative, const char **how, struct errmsg *err)
{
	char *e = join(from->path, name, strlen(name)), *n = join(to->path, newname, strlen(newname));
	int rc = -1;
	*how = "hard link";
	if (!e || !n)
		err_setc(err, ERR_NO_MEMORY, "out of memory");
	else
		rc = platform_link(e, n, relative, how, err);
	free(e);
	free(n);
	return rc;
}

int store_source_info(int fd, uint32_t *uid, uint32_t *mode)
{
	(void)fd;
	*uid = 0;
	*mode = 0644;
	return 0;
}

int store_copy(int in, int out, uint64_t size, uint64_t budget, uint64_t *data,
	       struct errmsg *err)
{
	uint64_t max = size < budget ? size : budget;
	int rc = platform_copy_fd(in, out, max, data, err);
	if (rc == 0 && *data < size) {
		err_setc(err, ERR_TOO_LARGE, "more than %llu bytes", (unsigned long long)budget);
		return -1;
	}
	return rc;
}
