/*
 * collect.h - copies the files a snapshot's mappings were loaded from into
 * the directory layouts symbolizers search, keyed by build ID, so a
 * profile taken now can be symbolized after the binaries are gone
 * (SPEC "collect", docs/collect.md). Opening a mapped file is the
 * backend's (snapshot_open_mapped); the file I/O is platform.h's.
 */
#ifndef MODMAP_COLLECT_H
#define MODMAP_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "progress.h"
#include "snapshot.h"

struct store_dir;

#define COLLECT_MAX_FILE_DEFAULT (1ULL << 30)
#define COLLECT_MAX_TOTAL_DEFAULT (4ULL << 30)
#define COLLECT_REASONS 16	/* distinct skip reasons counted for the summary */

struct collect_stats {
	uint64_t copied;	/* files copied */
	uint64_t bytes;		/* ... and their bytes */
	uint64_t present;	/* files already in the directory */
	uint64_t skipped;	/* wanted files that could not be copied */
	/* Each distinct reason (static text) and how many files it cost. */
	const char *reason[COLLECT_REASONS];
	uint64_t reason_count[COLLECT_REASONS];
	size_t nreasons;
};

struct collect {
	const char *dir;	/* where files go; created if missing */
	uint64_t max_file_size;	/* bound on each copy; 0: COLLECT_MAX_FILE_DEFAULT */
	/* bound on the bytes of data one run (this struct) writes;
	 * 0: COLLECT_MAX_TOTAL_DEFAULT */
	uint64_t max_total;
	/*
	 * Called with one line per file skipped (PID, file and reason, no
	 * trailing newline), and one per conflict (a file with a build ID
	 * already kept with other contents, replaced or not); may be NULL.
	 */
	void (*skipped)(void *ctx, const char *line);
	void *ctx;
	/* told after each mapping of a file with a content ID is handled: how
	 * many of the snapshot's there are, and the file's path */
	struct progress_to progress;
	struct collect_stats st;
	uint64_t total;		/* bytes of data written so far */
	struct store_dir *top;	/* dir, held open from the first snapshot on */
	/* "<key>/<name>" of every file handled in this run, so a library
	 * mapped by a thousand processes is looked at once (again only when a
	 * file root owns comes after a user's file claiming the key): each
	 * after a letter, 'r' a file root owns took it, 'u' another's. */
	char **seen;
	size_t nseen, capseen;
};

/*
 * Copies the files of s (read with build IDs of mode native, so PE files
 * carry their image keys) into c->dir. A file that cannot be copied is
 * counted in c->st, named through c->skipped, and costs only itself.
 * Returns 0, or -1 with err set when nothing can go on (the directory
 * cannot be made, memory runs out).
 */
int collect_snapshot(struct collect *c, const struct snapshot *s, struct errmsg *err);
void collect_free(struct collect *c);

/*
 * The file name a path ends in: after the last '/' (and, for Windows
 * paths, '\'); NULL when that is empty, "." or "..", which no layout
 * may hold. Pure.
 */
const char *collect_basename(const char *path, int windows, size_t *len);

#endif
