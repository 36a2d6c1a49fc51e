/*
 * cmd_attach.c - `modmap attach`: gives a pprof profile the mapping table
 * of its process (attach_run in the library does the work) and prints the
 * summary line.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modmap.h"
#include "cli.h"
#include "progress.h"
#include "term.h"

static const char usage_text[] =
	"usage: modmap attach (--pid PID | --snapshot FILE) PROFILE [-o OUT] [--jit]\n"
	"                     [--symbolize [--debug-dir DIR ...]] [--max-size N]\n"
	"                     [--collect DIR] [--procfs DIR] [-q]\n"
	"\n"
	"Gives a pprof profile the module map of its process: the mappings of the\n"
	"running process PID, or of a snapshot saved with 'modmap --format pprof'\n"
	"(or cbor). PROFILE is gzip or raw protobuf, '-' for standard input; the\n"
	"result is gzip pprof. A summary goes to standard error.\n"
	"\n"
	"  -p, --pid PID        the profiled process, still running\n"
	"  -s, --snapshot FILE  its module map, saved earlier\n"
	"  -o, --output FILE    write FILE atomically; may be PROFILE itself\n"
	"                       (default: standard output, never a terminal)\n"
	"      --jit            name locations in JIT-compiled code: the JIT\n"
	"                       symbols of PID (perf map, jitdump) or of a snapshot\n"
	"                       saved with --jit become functions (docs/jit.md)\n"
	"      --symbolize      name every location of a mapping whose symbols are\n"
	"                       found: functions, files, lines, inlined frames, so\n"
	"                       viewers need no binaries (docs/symbolize.md)\n"
	"      --debug-dir DIR  where separate debug files and collect stores are\n"
	"                       (repeatable)                (default /usr/lib/debug)\n"
	"      --max-size N     largest input, also decompressed; suffix k, M or G\n"
	"                       (powers of 1024)                       (default 4G)\n"
	"      --collect DIR    with --pid: also keep the process's binaries in DIR,\n"
	"                       as 'modmap collect' does, to symbolize it later\n"
	"      --procfs DIR     with --pid: read it through the proc filesystem at DIR\n"
	"                       (a host's /proc in a sidecar)          (default /proc)\n"
	"  -q, --quiet          no progress line (drawn on standard error when it\n"
	"                       is a terminal)\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 done, 1 failed or (--collect) a binary not kept, 2 usage.\n"
	"Bad input writes nothing. A later failure (a write error, PROFILE changed\n"
	"while read) leaves no output file, but standard output may have had part\n"
	"of the profile.\n";

struct attach_args {
	int symbolize, quiet;
	const char **debug_dirs;
	size_t ndebug_dirs;
};

static void parse_args(int argc, char **argv, struct modmap_attach_options *o,
		       const char **collect, struct attach_args *x)
{
	const char *v;
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		exit(0);
	}
	if (!(x->debug_dirs = calloc((size_t)argc, sizeof *x->debug_dirs))) {
		fputs("modmap: attach: out of memory\n", stderr);
		exit(EXIT_PARTIAL);
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
			if (o->profile)
				usage_error("attach", "one PROFILE only ('%s' and '%s')", o->profile,
					    argv[i]);
			o->profile = argv[i];
		} else if (cli_opt("attach", argc, argv, &i, "pid", 'p', &v)) {
			if (o->pid)
				usage_error("attach", "%s", "--pid given twice: one process only");
			o->pid = cli_parse_pid("attach", v);
		} else if (cli_opt("attach", argc, argv, &i, "snapshot", 's', &v)) {
			if (o->snapshot)
				usage_error("attach", "%s", "--snapshot given twice: one snapshot only");
			o->snapshot = v;
		} else if (cli_opt("attach", argc, argv, &i, "output", 'o', &v)) {
			o->output = v;
		} else if (cli_opt("attach", argc, argv, &i, "jit", 0, NULL)) {
			o->jit = 1;
		} else if (cli_opt("attach", argc, argv, &i, "symbolize", 0, NULL)) {
			x->symbolize = 1;
		} else if (cli_opt("attach", argc, argv, &i, "debug-dir", 0, &v)) {
			if (!*v)
				usage_error("attach", "%s", "empty --debug-dir");
			x->debug_dirs[x->ndebug_dirs++] = v;
		} else if (cli_opt("attach", argc, argv, &i, "collect", 0, &v)) {
			if (!*v)
				usage_error("attach", "%s", "empty directory name");
			*collect = v;
		} else if (cli_opt("attach", argc, argv, &i, "procfs", 0, &v)) {
			o->procfs = v;
		} else if (cli_opt("attach", argc, argv, &i, "quiet", 'q', NULL)) {
			x->quiet = 1;
		} else if (cli_opt("attach", argc, argv, &i, "max-size", 0, &v)) {
			o->max_size = cli_parse_size("attach", v);
		} else {
			usage_error("attach", "unknown argument '%s'", argv[i]);
		}
	}
	if (!o->pid == !o->snapshot)
		usage_error("attach", "%s", "give one of --pid PID or --snapshot FILE");
	if (!o->profile)
		usage_error("attach", "%s", "no PROFILE given");
	if (*collect && !o->pid)
		usage_error("attach", "%s", "--collect needs --pid: the binaries come from the process");
	if ((o->output && !*o->output) || (o->snapshot && !*o->snapshot) || !*o->profile)
		usage_error("attach", "%s", "empty file name");
	if (o->snapshot && strcmp(o->snapshot, "-") == 0 && strcmp(o->profile, "-") == 0)
		usage_error("attach", "%s",
			    "the snapshot and PROFILE cannot both be standard input");
	if (x->ndebug_dirs && !x->symbolize)
		usage_error("attach", "%s", "--debug-dir needs --symbolize: it says where symbols are");
	if (o->procfs && !o->pid)
		usage_error("attach", "%s", "--procfs needs --pid: it says where the process is");
	if (o->procfs)
		cli_check_procfs("attach", o->procfs);
	if (o->output && strcmp(o->output, "-") == 0)
		o->output = NULL;
	if (o->output ? term_path_is_terminal(o->output) : term_stdout_is_terminal())
		usage_error("attach", "%s",
			    "not writing a binary profile to a terminal; use -o FILE");
}

/* The progress line: the profile's pass and bytes, and (--symbolize) the
 * modules opened so far (progress.h). */
static struct {
	int pass;
	uint64_t done, total;
	uint64_t modules;
} seen;

static void show(int force)
{
	char done[24], total[24], modules[48] = "";
	if (seen.modules)
		snprintf(modules, sizeof modules, "; %llu modules opened",
			 (unsigned long long)seen.modules);
	if (seen.total)
		progress_show(force, "modmap: attach: pass %d of 2: %s of %s read%s", seen.pass,
			      progress_size(done, sizeof done, seen.done),
			      progress_size(total, sizeof total, seen.total), modules);
	else
		progress_show(force, "modmap: attach: pass %d of 2: %s read%s", seen.pass,
			      progress_size(done, sizeof done, seen.done), modules);
}

/* The library's word (a modmap_progress_fn): attach's or the symbolizer's. */
static void show_progress(void *user, const struct modmap_progress *p)
{
	(void)user;
	int force = 0;
	if (p->stage == MODMAP_PROGRESS_ATTACH) {
		force = p->pass != seen.pass;	/* each pass is seen, however quick */
		seen.pass = p->pass;
		seen.done = p->done;
		seen.total = p->total;
	} else if (p->stage == MODMAP_PROGRESS_SYMBOLIZE) {
		seen.modules = p->done;
	}
	if (seen.pass)
		show(force);
}

static void print_skipped(void *ctx, const char *line)
{
	(void)ctx;
	progress_clear();
	fprintf(stderr, "modmap: %s\n", line);
}

/* --collect: the files kept so far (a modmap_progress_fn, as collect's). */
static void show_collect(void *user, const struct modmap_progress *p)
{
	char size[24];
	(void)user;
	if (p->size < offsetof(struct modmap_progress, skipped) + sizeof p->skipped)
		return;	/* a library without collect's counts */
	progress_show(0, "modmap: attach: collect: file %llu of %llu: %llu copied (%s), "
		      "%llu present, %llu skipped", (unsigned long long)p->done,
		      (unsigned long long)p->total, (unsigned long long)p->copied,
		      progress_size(size, sizeof size, p->bytes), (unsigned long long)p->present,
		      (unsigned long long)p->skipped);
}

/* The process's binaries into dir, as `modmap collect --pid` keeps them. */
static int collect_binaries(uint64_t pid, const char *procfs, const char *dir)
{
	struct modmap_options ro = { .build_id = MODMAP_BUILD_ID_NATIVE,
				     .mappings = MODMAP_MAPPINGS_EXEC, .procfs = procfs };
	struct modmap_collect_options co = { .dir = dir, .skipped = print_skipped,
					     .progress = show_collect };
	struct modmap_collector *c = NULL;
	struct modmap_snapshot *s = NULL;
	struct modmap_error err;
	int rc = 0;
	if (modmap_snapshot_read(pid, &ro, &s, &err) < 0 ||
	    modmap_collector_new(&co, &c, &err) < 0 || modmap_collector_add(c, s, &err) < 0) {
		progress_clear();
		fprintf(stderr, "modmap: %s\n", err.message);
		rc = -1;
	} else {
		struct modmap_collect_stats st;
		modmap_collector_stats(c, &st);
		progress_clear();	/* the summary on a line of its own */
		fprintf(stderr,
			"modmap: collected into %s: %llu files copied (%llu bytes), %llu already "
			"present, %llu skipped\n",
			dir, (unsigned long long)st.copied, (unsigned long long)st.bytes,
			(unsigned long long)st.present, (unsigned long long)st.skipped);
		rc = st.skipped ? -1 : 0;
	}
	modmap_collector_free(c);
	modmap_snapshot_free(s);
	return rc;
}

static int attach_report(const struct modmap_attach_options *jp, const char *collect);

int cmd_attach(int argc, char **argv)
{
	/* A killed run leaves no temporary file. */
	struct modmap_attach_options j = { .temp_file = term_temp_file };
	struct modmap_error err;
	const char *collect = NULL;
	struct attach_args x = { 0 };
	int rc;

	parse_args(argc, argv, &j, &collect, &x);
	if (x.symbolize) {
		struct modmap_symbolize_options so = { .debug_dirs = x.debug_dirs,
						       .n_debug_dirs = x.ndebug_dirs,
						       .warn = print_skipped,
						       .progress = show_progress };
		if (modmap_symbolizer_new(&so, &j.symbolizer, &err) < 0) {
			fprintf(stderr, "modmap: attach: %s\n", err.message);
			free(x.debug_dirs);
			return EXIT_PARTIAL;
		}
	}
	progress_start(x.quiet, 0);	/* the profile never goes to a terminal */
	j.progress = show_progress;
	rc = attach_report(&j, collect);
	modmap_symbolizer_free(j.symbolizer);
	free(x.debug_dirs);
	return rc;
}

/* Runs the attach and prints its summary line (and --collect's). */
static int attach_report(const struct modmap_attach_options *jp, const char *collect)
{
	struct modmap_attach_options j = *jp;
	struct modmap_attach_stats st;
	struct modmap_error err;
	int rc = modmap_attach(&j, &st, &err);
	progress_clear();
	if (rc < 0) {
		const char *hint = err.code == MODMAP_ERR_TOO_LARGE ? "; a larger --max-size allows more"
				   : err.code == MODMAP_ERR_UNSUPPORTED ? " (modmap --format pprof)"
									: "";
		fprintf(stderr, "modmap: %s%s\n", err.message, hint);
		return EXIT_PARTIAL;
	}
	fprintf(stderr, "modmap: attached %llu mappings from ", (unsigned long long)st.mappings);
	if (j.pid)
		fprintf(stderr, "pid %llu", (unsigned long long)j.pid);
	else
		fputs(strcmp(j.snapshot, "-") == 0 ? "standard input" : j.snapshot, stderr);
	fprintf(stderr, ": %llu of %llu locations mapped", (unsigned long long)st.mapped,
		(unsigned long long)st.locations);
	if (st.kept)
		fprintf(stderr, ", %llu more kept in %llu old mappings",
			(unsigned long long)st.kept_locations, (unsigned long long)st.kept);
	if (j.jit)
		fprintf(stderr, "; %llu named by %llu JIT symbols",
			(unsigned long long)st.jit_named, (unsigned long long)st.jit_functions);
	if (j.symbolizer)
		fprintf(stderr, "; %llu symbolized with %llu functions",
			(unsigned long long)st.symbolized, (unsigned long long)st.sym_functions);
	fputc('\n', stderr);
	if (collect && collect_binaries(j.pid, j.procfs, collect) < 0)
		return EXIT_PARTIAL;
	return EXIT_OK;
}
