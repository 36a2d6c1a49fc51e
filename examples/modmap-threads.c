/*
 * modmap-threads - reads the module maps of several processes at once, one
 * thread each, with libmodmap, and prints every mapping as a tab-separated
 * line: pid, start, limit, offset, build-ID kind, build ID, main, file.
 *
 * Builds against an installed libmodmap with pkg-config alone:
 *
 *   cc -o modmap-threads modmap-threads.c $(pkg-config --cflags --libs modmap) -lpthread
 *
 * Usage: modmap-threads PID [PID ...]; exit 1 if any process could not be read.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <modmap.h>

struct job {
	uint64_t pid;
	struct modmap_snapshot *snap;	/* the result, or NULL with err set */
	struct modmap_error err;
};

static void *read_one(void *arg)
{
	struct job *j = arg;
	/* A cache of its own: a cache is not shared between threads. */
	struct modmap_cache *cache = modmap_cache_new();
	struct modmap_options opts = { .cache = cache };	/* zeroed: the defaults */
	if (modmap_snapshot_read(j->pid, &opts, &j->snap, &j->err) < 0)
		j->snap = NULL;
	modmap_cache_free(cache);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc - 1, status = 0;
	if (n < 1) {
		fprintf(stderr, "usage: %s PID [PID ...]\n", argv[0]);
		return 2;
	}
	struct job *jobs = calloc((size_t)n, sizeof *jobs);
	pthread_t *threads = calloc((size_t)n, sizeof *threads);
	if (!jobs || !threads)
		return 1;
	for (int i = 0; i < n; i++) {
		jobs[i].pid = strtoull(argv[i + 1], NULL, 10);
		if (pthread_create(&threads[i], NULL, read_one, &jobs[i]) != 0) {
			fprintf(stderr, "modmap-threads: cannot start a thread\n");
			return 1;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);

	for (int i = 0; i < n; i++) {
		struct modmap_snapshot *s = jobs[i].snap;
		if (!s) {
			fprintf(stderr, "modmap-threads: %s\n", jobs[i].err.message);
			status = 1;
			continue;
		}
		for (size_t k = 0; k < modmap_snapshot_count(s); k++) {
			struct modmap_mapping m;
			modmap_snapshot_mapping(s, k, &m);
			printf("%" PRIu64 "\t0x%" PRIx64 "\t0x%" PRIx64 "\t0x%" PRIx64
			       "\t%s\t%s\t%d\t%s\n",
			       jobs[i].pid, m.start, m.limit, m.offset, m.build_id_kind,
			       m.build_id, m.is_main, m.file);
		}
		modmap_snapshot_free(s);
	}
	free(jobs);
	free(threads);
	return status;
}
