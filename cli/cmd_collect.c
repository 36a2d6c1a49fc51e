/*
 * cmd_collect.c - `modmap collect`: keeps the binaries of processes in a
 * directory symbolizers search (collect_snapshot in the library does the
 * work), naming each file it could not keep and printing the summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modmap.h"
#include "cli.h"
#include "progress.h"

static const char usage_text[] =
	"usage: modmap collect (--pid PID ... | --self | --all) [-o DIR]\n"
	"                      [--max-file-size N] [--max-total N] [--procfs DIR] [-q]\n"
	"\n"
	"Copies every mapped file that carries a build ID into DIR, so a profile\n"
	"of the process can be symbolized later, elsewhere, after the files are\n"
	"gone: ELF files as DIR/<build-id>/<name> (PPROF_BINARY_PATH) and\n"
	"DIR/.build-id/<xx>/<rest> (GDB, elfutils, LLVM), PE files as\n"
	"DIR/<name>/<TimeDateStamp><SizeOfImage>/<name> (symbol stores). Deleted\n"
	"files are copied from the process's mapping, a container's from its\n"
	"root. Each copy is checked to carry the mapping's build ID before it\n"
	"appears; a file already there is not copied again. A copy is no more\n"
	"readable than its source (at most 0644); a file root owns replaces\n"
	"another user's file that claimed its build ID. DIR must be the caller's\n"
	"or root's, and not writable by others unless sticky (docs/security.md).\n"
	"\n"
	"  -p, --pid PID            process whose files to keep; may be repeated\n"
	"      --self               modmap's own process\n"
	"  -a, --all                every process the caller may read\n"
	"  -o, --output DIR         where to keep them  (default $HOME/pprof/binaries)\n"
	"      --max-file-size N    skip files larger than N; suffix k, M or G\n"
	"                           (powers of 1024)                  (default 1G)\n"
	"      --max-total N        write at most N bytes in all (holes in sparse\n"
	"                           files are not written); skip what would pass\n"
	"                           it                                (default 4G)\n"
	"      --procfs DIR         read processes through the proc filesystem at\n"
	"                           DIR (a host's /proc in a sidecar); --self\n"
	"                           still reads its own /proc  (default /proc)\n"
	"  -q, --quiet              no progress line (drawn on standard error when\n"
	"                           it is a terminal)\n"
	"  -h, --help               this text\n"
	"\n"
	"A summary goes to standard error, and a line for each file not kept.\n"
	"Exit status: 0 every file was kept, 1 a process or a file was not, 2 usage.\n";

struct options {
	uint64_t *pids;
	size_t npids;
	int self, all, quiet;
	const char *dir;
	uint64_t max, max_total;
	const char *procfs;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	const char *v;
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		exit(0);
	}
	for (int i = 1; i < argc; i++) {
		if (cli_opt("collect", argc, argv, &i, "pid", 'p', &v)) {
			uint64_t *p = realloc(o->pids, (o->npids + 1) * sizeof *p);
			if (!p) {
				fputs("modmap: out of memory\n", stderr);
				exit(EXIT_PARTIAL);
			}
			o->pids = p;
			o->pids[o->npids++] = cli_parse_pid("collect", v);
		} else if (cli_opt("collect", argc, argv, &i, "self", 0, NULL)) {
			o->self = 1;
		} else if (cli_opt("collect", argc, argv, &i, "all", 'a', NULL)) {
			o->all = 1;
		} else if (cli_opt("collect", argc, argv, &i, "output", 'o', &v)) {
			o->dir = v;
		} else if (cli_opt("collect", argc, argv, &i, "procfs", 0, &v)) {
			o->procfs = v;
		} else if (cli_opt("collect", argc, argv, &i, "quiet", 'q', NULL)) {
			o->quiet = 1;
		} else if (cli_opt("collect", argc, argv, &i, "max-file-size", 0, &v)) {
			o->max = cli_parse_size("collect", v);
			if (!o->max)
				usage_error("collect", "%s", "--max-file-size must be at least 1");
		} else if (cli_opt("collect", argc, argv, &i, "max-total", 0, &v)) {
			o->max_total = cli_parse_size("collect", v);
			if (!o->max_total)
				usage_error("collect", "%s", "--max-total must be at least 1");
		} else {
			usage_error("collect", "unknown argument '%s'", argv[i]);
		}
	}
	if ((o->npids > 0) + o->self + o->all != 1)
		usage_error("collect", "%s", "give one of --pid PID, --self or --all");
	if (o->dir && !*o->dir)
		usage_error("collect", "%s", "empty directory name");
	if (o->procfs)
		cli_check_procfs("collect", o->procfs);
	if (o->self)
		o->procfs = NULL;	/* modmap's own PID: its own /proc */
}

/* $HOME/pprof/binaries, the directory google/pprof searches by default. */
static char *default_dir(void)
{
#ifdef _WIN32
	const char *home = getenv("USERPROFILE");
	const char *tail = "\\pprof\\binaries";
#else
	const char *home = getenv("HOME");
	const char *tail = "/pprof/binaries";
#endif
	if (!home || !*home)
		usage_error("collect", "%s", "no home directory to collect into: give -o DIR");
	size_t n = strlen(home) + strlen(tail) + 1;
	char *d = malloc(n);
	if (!d) {
		fputs("modmap: out of memory\n", stderr);
		exit(EXIT_PARTIAL);
	}
	snprintf(d, n, "%s%s", home, tail);
	return d;
}

/* The progress line: which process, and the files so far (progress.h). */
static struct {
	size_t process, processes;	/* the one being read (from 1), of how many */
	struct modmap_progress files;	/* the library's last word on it */
} seen;

static void show(int force)
{
	char size[24], file[48] = "";
	if (seen.files.total)
		snprintf(file, sizeof file, ", file %llu of %llu",
			 (unsigned long long)seen.files.done, (unsigned long long)seen.files.total);
	progress_show(force, "modmap: collect: process %zu of %zu%s: %llu copied (%s), %llu present, "
		      "%llu skipped", seen.process, seen.processes, file,
		      (unsigned long long)seen.files.copied,
		      progress_size(size, sizeof size, seen.files.bytes),
		      (unsigned long long)seen.files.present, (unsigned long long)seen.files.skipped);
}

/* The collector's word after each file (a modmap_progress_fn). */
static void show_files(void *user, const struct modmap_progress *p)
{
	(void)user;
	/* As much as this library filled (modmap.h): the rest reads zero. */
	memset(&seen.files, 0, sizeof seen.files);
	memcpy(&seen.files, p, p->size < sizeof *p ? p->size : sizeof *p);
	show(0);
}

static void print_skipped(void *ctx, const char *line)
{
	(void)ctx;
	progress_clear();	/* the file's line is a line of its own */
	fprintf(stderr, "modmap: %s\n", line);
}

static void print_summary(const struct modmap_collector *c, const char *dir)
{
	struct modmap_collect_stats st;
	modmap_collector_stats(c, &st);
	fprintf(stderr, "modmap: collected into %s: %llu files copied (%llu bytes), %llu already present",
		dir, (unsigned long long)st.copied, (unsigned long long)st.bytes,
		(unsigned long long)st.present);
	fprintf(stderr, ", %llu skipped", (unsigned long long)st.skipped);
	const char *reason;
	uint64_t count;
	size_t i = 0;
	for (; (reason = modmap_collector_reason(c, i, &count)) != NULL; i++)
		fprintf(stderr, "%s%llu %s%s", i ? ", " : " (", (unsigned long long)count, reason,
			strcmp(reason, "larger than the size limit") == 0 ? " (--max-file-size)"
			: strcmp(reason, "over the total limit") == 0	   ? " (--max-total)"
									   : "");
	fputs(i ? ")\n" : "\n", stderr);
}

int cmd_collect(int argc, char **argv)
{
	struct options o = { 0 };
	struct modmap_error err;
	int status = EXIT_OK;

	parse_args(argc, argv, &o);
	char *dir = o.dir ? NULL : default_dir();
	struct modmap_collect_options co = { .dir = o.dir ? o.dir : dir, .max_file_size = o.max,
					     .skipped = print_skipped, .max_total = o.max_total,
					     .progress = show_files };
	/* native: PE files then carry their image keys, ELF files their GNU IDs. */
	struct modmap_options ro = { .build_id = MODMAP_BUILD_ID_NATIVE,
				     .mappings = MODMAP_MAPPINGS_EXEC, .procfs = o.procfs };
	struct modmap_collector *c = NULL;

	uint64_t self = modmap_self_pid();
	uint64_t *pids = o.pids;
	size_t npids = o.npids;
	if (o.self) {
		pids = &self;
		npids = 1;
	} else if (o.all && modmap_list_pids(&ro, &pids, &npids, &err) < 0) {
		fprintf(stderr, "modmap: %s\n", err.message);
		free(dir);
		free(o.pids);
		return EXIT_PARTIAL;
	}
	if (!(ro.cache = modmap_cache_new()) || modmap_collector_new(&co, &c, &err) < 0) {
		fputs("modmap: out of memory\n", stderr);
		modmap_cache_free(ro.cache);
		if (pids != o.pids && pids != &self)
			free(pids);
		free(dir);
		free(o.pids);
		return EXIT_PARTIAL;
	}
	progress_start(o.quiet, 0);
	seen.processes = npids;
	for (size_t i = 0; i < npids; i++) {
		struct modmap_snapshot *s;
		seen.process = i + 1;
		seen.files.done = seen.files.total = 0;	/* the counts stay: the collector's */
		show(0);
		int r = modmap_snapshot_read(pids[i], &ro, &s, &err);
		if (r == 0) {
			r = modmap_collector_add(c, s, &err);
			modmap_snapshot_free(s);
			if (r < 0) {
				progress_clear();
				fprintf(stderr, "modmap: %s\n", err.message);
				status = EXIT_PARTIAL;
				break;
			}
			continue;
		}
		if (o.all && err.code == MODMAP_ERR_NO_PROCESS)
			continue;
		progress_clear();
		fprintf(stderr, "modmap: %s\n", err.message);
		if (!o.all)
			status = EXIT_PARTIAL;
	}
	progress_clear();
	print_summary(c, co.dir);
	struct modmap_collect_stats st;
	modmap_collector_stats(c, &st);
	if (st.skipped)
		status = EXIT_PARTIAL;

	modmap_collector_free(c);
	modmap_cache_free(ro.cache);
	if (pids != o.pids && pids != &self)
		free(pids);
	free(o.pids);
	free(dir);
	return status;
}
