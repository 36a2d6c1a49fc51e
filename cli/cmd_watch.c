/*
 * cmd_watch.c - `modmap watch --pid PID`: follows one process and writes
 * its loads and unloads as JSON Lines, each line flushed as it is written,
 * until the process ends or SIGINT/SIGTERM asks to stop. The polling and
 * the diff are the library's (lib/watch.c); this file parses, sleeps and
 * prints.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modmap.h"
#include "cli.h"
#include "term.h"

static const char usage_text[] =
	"usage: modmap watch --pid PID [--interval DURATION] [--mappings SET]\n"
	"                    [--build-id MODE] [--source SRC] [--procfs DIR]\n"
	"                    [--read-fuse] [--timeout DURATION]\n"
	"\n"
	"Follows one process: writes JSON Lines to standard output, first its\n"
	"current mappings as \"load\" events, then a \"load\" or \"unload\" line\n"
	"for each mapping that appears or goes, and an \"exit\" line when the\n"
	"process ends. Each line is flushed as written. SIGINT and SIGTERM stop\n"
	"it after the current line; it exits 0.\n"
	"\n"
	"  -p, --pid PID           the process to follow\n"
	"  -i, --interval DURATION how often to look: 100ms, 2s (default 100ms)\n"
	"      --mappings SET      exec (executable, named), all (default exec)\n"
	"      --build-id MODE     auto, native, mtime, none, htlhash\n"
	"                                                 (default auto)\n"
	"      --source SRC        auto, query (PROCMAP_QUERY), maps (default auto)\n"
	"      --procfs DIR        read the process through the proc filesystem\n"
	"                          at DIR (PID of that namespace) (default /proc)\n"
	"      --read-fuse         also read files on FUSE and network file\n"
	"                          systems for build IDs, in a child process\n"
	"      --timeout DURATION  with --read-fuse, the most one poll's reads of\n"
	"                          such files may take (default 5s)\n"
	"  -h, --help              this text\n"
	"\n"
	"Each line: {\"event\": \"load\"|\"unload\", \"time\": ..., \"pid\": ...,\n"
	"then the mapping's keys as in `modmap -f json`}; {\"event\": \"exit\",\n"
	"\"time\": ..., \"pid\": ...} last. Mappings are matched by start, limit,\n"
	"inode and offset; build IDs are read once per file.\n"
	"\n"
	"Exit status: 0 the process ended or watch was stopped; 1 it could not\n"
	"be read (no such process, permission) or output failed; 2 usage.\n";

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* watch's options into ro, pid and interval_ms; a usage error exits 2. */
static void parse_args(int argc, char **argv, struct modmap_options *ro, uint64_t *pid,
		       uint64_t *interval_ms)
{
	static const char *const modes[] = { "auto", "native", "mtime", "none", "htlhash" };
	static const char *const sets[] = { "exec", "all" };
	static const char *const sources[] = { "auto", "query", "maps" };
	const char *v;
	int k;

	for (int i = 1; i < argc; i++) {
		if (cli_opt("watch", argc, argv, &i, "pid", 'p', &v)) {
			if (*pid)
				usage_error("watch", "%s", "watch follows one process: give one --pid");
			*pid = cli_parse_pid("watch", v);
		} else if (cli_opt("watch", argc, argv, &i, "interval", 'i', &v)) {
			*interval_ms = cli_parse_duration("watch", v);
		} else if (cli_opt("watch", argc, argv, &i, "build-id", 0, &v)) {
			if ((k = cli_pick(v, modes, 5)) < 0)
				usage_error("watch",
					    "unknown build-ID mode '%s' (auto, native, mtime, none, htlhash)",
					    v);
			ro->build_id = k;
		} else if (cli_opt("watch", argc, argv, &i, "mappings", 0, &v)) {
			if ((k = cli_pick(v, sets, 2)) < 0)
				usage_error("watch", "unknown mapping set '%s' (exec, all)", v);
			ro->mappings = k;
		} else if (cli_opt("watch", argc, argv, &i, "source", 0, &v)) {
			if ((k = cli_pick(v, sources, 3)) < 0)
				usage_error("watch", "unknown source '%s' (auto, query, maps)", v);
			ro->source = k;
		} else if (cli_opt("watch", argc, argv, &i, "procfs", 0, &v)) {
			ro->procfs = v;
		} else if (cli_opt("watch", argc, argv, &i, "read-fuse", 0, NULL)) {
			ro->read_fuse = 1;
		} else if (cli_opt("watch", argc, argv, &i, "timeout", 0, &v)) {
			ro->timeout_ms = cli_parse_duration("watch", v);
		} else {
			usage_error("watch", "unknown argument '%s'", argv[i]);
		}
	}
	if (!*pid)
		usage_error("watch", "%s", "give the process to follow: --pid PID");
	if (ro->procfs)
		cli_check_procfs("watch", ro->procfs);
}

/*
 * Writes the nev events of the last poll, each line whole and flushed
 * before the next; a stop ends the run after the current line, the reader
 * left whole lines only. Sets *exited at the exit event. EXIT_OK, or
 * EXIT_PARTIAL when output failed (said on stderr).
 */
static int write_events(struct modmap_watch *w, struct modmap_output *out, size_t nev,
			int *exited)
{
	struct modmap_error err;
	for (size_t i = 0; i < nev && !stop_requested; i++) {
		struct modmap_event ev;
		modmap_watch_event(w, i, &ev);
		*exited |= ev.kind == MODMAP_EVENT_EXIT;
		int rc = modmap_watch_write(w, i, modmap_output_write, out, &err);
		if (rc == 0)
			rc = modmap_output_flush(out, &err);
		if (rc < 0) {
			fprintf(stderr, "modmap: %s\n", err.message);
			return EXIT_PARTIAL;
		}
	}
	return EXIT_OK;
}

int cmd_watch(int argc, char **argv)
{
	struct modmap_options ro = { 0 };
	uint64_t pid = 0, interval_ms = 100;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	parse_args(argc, argv, &ro, &pid, &interval_ms);

	struct modmap_error err;
	struct modmap_watch *w;
	if (modmap_watch_new(pid, &ro, &w, &err) < 0) {
		fprintf(stderr, "modmap: %s\n", err.message);
		return EXIT_PARTIAL;
	}
	struct modmap_output *out;
	if (modmap_output_open(NULL, &out, &err) < 0) {
		fprintf(stderr, "modmap: %s\n", err.message);
		modmap_watch_free(w);
		return EXIT_PARTIAL;
	}
	term_on_stop(on_stop);

	int status = EXIT_OK;
	while (!stop_requested) {
		long long nev = modmap_watch_poll(w, &err);
		if (nev < 0) {
			fprintf(stderr, "modmap: %s%s\n", err.message,
				err.code == MODMAP_ERR_UNSUPPORTED && ro.source == MODMAP_SOURCE_QUERY
					? "; --source maps reads the text instead"
					: "");
			/* The first read (no such process, denied), or a later one
			 * that failed for another reason than the end (denied
			 * after an exec of a set-user-ID program, no memory). */
			status = EXIT_PARTIAL;
			break;
		}
		int exited = 0;
		status = write_events(w, out, (size_t)nev, &exited);
		if (exited || status != EXIT_OK)
			break;
		term_sleep_ms(interval_ms, &stop_requested);
	}
	if (modmap_output_commit(out, &err) < 0 && status == EXIT_OK) {
		fprintf(stderr, "modmap: %s\n", err.message);
		status = EXIT_PARTIAL;
	}
	modmap_watch_free(w);
	return status;
}
