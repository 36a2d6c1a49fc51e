/*
 * store.h - the directories collect writes into, held open (SPEC "Trust",
 * docs/security.md, defect 2). On POSIX a store_dir is a directory
 * descriptor: everything below DIR is made and opened relative to its
 * parent's descriptor with O_NOFOLLOW (O_EXCL for files), and a directory
 * another user owns or may rewrite is refused with the reason. On Windows
 * it is a path (lib/os/windows_store.c). Names are single components.
 * Each call that can fail leaves err naming the path and the reason.
 */
#ifndef MODMAP_STORE_H
#define MODMAP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"	/* struct errmsg */

struct store_dir;

/*
 * DIR itself, made (with its missing parents) if missing; refused when
 * someone other than the caller and root may rewrite it (owned by another
 * user; group- or world-writable and not sticky), or when a symbolic link
 * on its path is owned by another user.
 */
struct store_dir *store_open(const char *path, struct errmsg *err);
/*
 * The directory name (len bytes) in d, made if missing (mode 0755): never
 * through a symbolic link, and only one the caller or root owns.
 */
struct store_dir *store_sub(struct store_dir *d, const char *name, size_t len,
			    struct errmsg *err);
void store_close(struct store_dir *d);
/* The path of d, for messages. */
const char *store_path(const struct store_dir *d);

/*
 * What sits at name in d, not following a link: 0 nothing, 1 a regular
 * file (*size its length), 2 anything else.
 */
int store_stat(struct store_dir *d, const char *name, uint64_t *size);
/* A regular file at name in d (a link not followed), for reading; -1 otherwise. */
int store_open_file(struct store_dir *d, const char *name);
/* Is name in d a link whose target (inside the store) is a regular file? */
int store_link_ok(struct store_dir *d, const char *name);
/*
 * A new empty file in d, read-write, made exclusively (nothing at its name
 * followed); its malloc'ed name in *tmp. mode: its permission bits.
 */
int store_temp(struct store_dir *d, char **tmp, uint32_t mode, struct errmsg *err);
/* Renames tmp over name, both in d (atomic). */
int store_publish(struct store_dir *d, const char *tmp, const char *name, struct errmsg *err);
int store_remove(struct store_dir *d, const char *name);
/* Removes the directory name in d if it is empty. */
int store_rmdir(struct store_dir *d, const char *name);
/*
 * Makes newname in to another name of name in from: a hard link, else
 * (POSIX) a symbolic link holding relative. *how says which. Fails
 * (EEXIST among others) when newname exists.
 */
int store_link(struct store_dir *from, const char *name, struct store_dir *to,
	       const char *newname, const char *relative, const char **how, struct errmsg *err);

/*
 * The owner and mode of the open file fd (Windows: root, 0644: no such
 * owner to trust or distrust). 0, or -1.
 */
int store_source_info(int fd, uint32_t *uid, uint32_t *mode);

/*
 * Copies bytes [0, size) of in to out, leaving holes as holes (SEEK_DATA,
 * SEEK_HOLE; out ends at size). Fails with ERR_TOO_LARGE once the data
 * written would pass budget bytes. *data: the bytes of data written.
 */
int store_copy(int in, int out, uint64_t size, uint64_t budget, uint64_t *data,
	       struct errmsg *err);

#endif
