/*
 * cmd_snapshot.c - the default command, `modmap --pid PID`: reads each
 * process's module map through the library and writes it in one format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modmap.h"
#include "cli.h"
#include "progress.h"
#include "term.h"

/* The formats, as --format names them, with what the command must know. */
struct cli_format {
	const char *name;
	int id;			/* MODMAP_FORMAT_* */
	int binary;		/* never written to a terminal */
	int multi;		/* holds several processes (pprof holds one) */
	int stream;		/* process after process, each written as soon as read */
};

static const struct cli_format cli_formats[] = {
	{ "text", MODMAP_FORMAT_TEXT, 0, 1, 1 },
	{ "json", MODMAP_FORMAT_JSON, 0, 1, 0 },
	{ "cbor", MODMAP_FORMAT_CBOR, 1, 1, 0 },
	{ "pprof", MODMAP_FORMAT_PPROF, 1, 0, 0 },
	{ "jsonl", MODMAP_FORMAT_JSONL, 0, 1, 1 },
	{ NULL, 0, 0, 0, 0 },
};

static const struct cli_format *format_find(const char *name)
{
	for (const struct cli_format *f = cli_formats; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

struct options {
	uint64_t *pids;
	size_t npids;
	int self, all, quiet;
	const struct cli_format *format;
	const char *output;
	struct modmap_options read;
};

static const char usage_text[] =
	"usage: modmap [OPTIONS] --pid PID [--pid PID ...]\n"
	"       modmap [OPTIONS] --self\n"
	"       modmap [OPTIONS] --all\n"
	"       modmap attach (--pid PID | --snapshot FILE) PROFILE [-o OUT] [--jit]\n"
	"                     [--symbolize [--debug-dir DIR ...]]\n"
	"                     [--max-size N] [--collect DIR] [--procfs DIR] [-q]\n"
	"       modmap collect (--pid PID ... | --self | --all) [-o DIR]\n"
	"                      [--max-file-size N] [--max-total N] [--procfs DIR] [-q]\n"
	"       modmap lookup (--pid PID | --snapshot FILE) [-f text|json|jsonl]\n"
	"                     [--symbolize [--debug-dir DIR ...]] [--jit]\n"
	"                     [--max-size N] [--procfs DIR] [-q] [ADDR ...]\n"
	"       modmap watch --pid PID [--interval DURATION] [--mappings SET]\n"
	"                    [--build-id MODE] [--source SRC] [--procfs DIR]\n"
	"                    [--read-fuse] [--timeout DURATION]\n"
	"       modmap COMMAND --help | --help | --version\n"
	"\n"
	"Prints the module map of a process: every mapping with its build ID.\n"
	"\n"
	"  -p, --pid PID        process to snapshot; may be repeated\n"
	"      --self           modmap's own process\n"
	"  -a, --all            every process the caller may read\n"
	"  -f, --format FMT     text, json, jsonl, cbor, pprof   (default text)\n"
	"  -o, --output FILE    write FILE atomically instead of standard output\n"
	"                       ('-': standard output); cbor and pprof are\n"
	"                       binary: never written to a terminal\n"
	"      --build-id MODE  auto, native, mtime, none, htlhash (the\n"
	"                       OpenTelemetry file ID)          (default auto)\n"
	"      --mappings SET   exec (what pprof wants), all     (default exec)\n"
	"      --source SRC     auto, query (PROCMAP_QUERY), maps (default auto)\n"
	"      --procfs DIR     read processes through the proc filesystem at DIR\n"
	"                       (a host's /proc in a sidecar); --self still reads\n"
	"                       modmap through its own /proc   (default /proc)\n"
	"      --jit            also the symbols of JIT-compiled code, from the\n"
	"                       runtime's perf map and jitdump (docs/jit.md);\n"
	"                       the regions holding them are mappings named [jit]\n"
	"      --read-fuse      also read files on FUSE and network file systems\n"
	"                       for build IDs (their server may never answer:\n"
	"                       each read runs in a child, bounded by --timeout)\n"
	"      --timeout TIME   with --read-fuse, the most one process's reads\n"
	"                       of such files may take (100ms, 2s); then it is\n"
	"                       named on stderr and skipped    (default 5s)\n"
	"  -q, --quiet          no progress line (--all draws one on standard\n"
	"                       error when it is a terminal and the output is not)\n"
	"  -h, --help           this text\n"
	"  -V, --version        the version\n"
	"\n"
	"json and cbor hold the same document (cbor: addresses as integers);\n"
	"pprof is a gzip-compressed profile of one process: its mapping table,\n"
	"main executable first, for `go tool pprof` and `modmap attach`.\n"
	"\n"
	"Commands (each has --help):\n"
	"  attach               give a pprof profile its process's mapping table\n"
	"  collect              keep the binaries of processes, by build ID\n"
	"  lookup               which module holds an address, and the address to\n"
	"                       hand a symbolizer (file offset, ELF vaddr, PE RVA)\n"
	"  watch                follow one process's loads and unloads (JSON Lines)\n"
	"\n"
	"Exit status: 0 every process was read, 1 at least one was not, 2 usage.\n";

static void show_help(void)
{
	fputs(usage_text, stdout);
	if (!modmap_format_supported(MODMAP_FORMAT_CBOR))
		puts("\nNote: " CLI_CBOR_MISSING ".");
	exit(0);
}

/* Does arg look like a bare PID, as in `modmap 1234`? */
static int looks_like_pid(const char *arg)
{
	if (!*arg)
		return 0;
	for (; *arg; arg++)
		if (*arg < '0' || *arg > '9')
			return 0;
	return 1;
}

/* What the options say together: one choice of processes, a format that
 * holds them, no binary output to a terminal. A usage error exits 2. */
static void check_args(struct options *o)
{
	if ((o->npids > 0) + o->self + o->all != 1)
		usage_error(NULL, "%s", "give one of --pid PID, --self or --all");
	if (o->output && !*o->output)
		usage_error(NULL, "%s", "empty output file name");
	if (o->output && strcmp(o->output, "-") == 0)
		o->output = NULL;	/* "-o -": standard output, as attach reads "-" */
	/* Refused before any process is read, so nothing is wasted. */
	if (o->read.procfs)
		cli_check_procfs(NULL, o->read.procfs);
	/* --self is modmap, whose PID is its own namespace's: its own /proc. */
	if (o->self)
		o->read.procfs = NULL;
	if (!o->format)
		o->format = &cli_formats[0];
	if (!modmap_format_supported(o->format->id)) {
		fputs("modmap: " CLI_CBOR_MISSING "\n", stderr);
		exit(EXIT_USAGE);
	}
	if (!o->format->multi && (o->all || o->npids > 1))
		usage_error(NULL, "%s",
			    "a pprof profile holds one process: give one --pid or --self "
			    "(json holds several)");
	if (o->format->binary &&
	    (o->output ? term_path_is_terminal(o->output) : term_stdout_is_terminal()))
		usage_error(NULL,
			    "refusing to write binary %s output to a terminal; use -o FILE "
			    "or redirect standard output",
			    o->format->name);
}


static void parse_args(int argc, char **argv, struct options *o)
{
	static const char *const modes[] = { "auto", "native", "mtime", "none", "htlhash" };
	static const char *const sets[] = { "exec", "all" };
	static const char *const sources[] = { "auto", "query", "maps" };
	const char *v;
	int k;

	if (cli_wants_help(argc, argv))
		show_help();
	for (int i = 1; i < argc; i++) {
		if (cli_opt(NULL, argc, argv, &i, "pid", 'p', &v)) {
			uint64_t *p = realloc(o->pids, (o->npids + 1) * sizeof *p);
			if (!p) {
				fputs("modmap: out of memory\n", stderr);
				exit(EXIT_PARTIAL);
			}
			o->pids = p;
			o->pids[o->npids++] = cli_parse_pid(NULL, v);
		} else if (cli_opt(NULL, argc, argv, &i, "self", 0, NULL)) {
			o->self = 1;
		} else if (cli_opt(NULL, argc, argv, &i, "all", 'a', NULL)) {
			o->all = 1;
		} else if (cli_opt(NULL, argc, argv, &i, "format", 'f', &v)) {
			if (!(o->format = format_find(v)))
				usage_error(NULL, "unknown format '%s' (text, json, jsonl, cbor, pprof)", v);
		} else if (cli_opt(NULL, argc, argv, &i, "output", 'o', &v)) {
			o->output = v;
		} else if (cli_opt(NULL, argc, argv, &i, "build-id", 0, &v)) {
			if ((k = cli_pick(v, modes, 5)) < 0)
				usage_error(NULL,
					    "unknown build-ID mode '%s' (auto, native, mtime, none, htlhash)",
					    v);
			o->read.build_id = k;
		} else if (cli_opt(NULL, argc, argv, &i, "mappings", 0, &v)) {
			if ((k = cli_pick(v, sets, 2)) < 0)
				usage_error(NULL, "unknown mapping set '%s' (exec, all)", v);
			o->read.mappings = k;
		} else if (cli_opt(NULL, argc, argv, &i, "source", 0, &v)) {
			if ((k = cli_pick(v, sources, 3)) < 0)
				usage_error(NULL, "unknown source '%s' (auto, query, maps)", v);
			o->read.source = k;
		} else if (cli_opt(NULL, argc, argv, &i, "procfs", 0, &v)) {
			o->read.procfs = v;
		} else if (cli_opt(NULL, argc, argv, &i, "jit", 0, NULL)) {
			o->read.jit = 1;
		} else if (cli_opt(NULL, argc, argv, &i, "read-fuse", 0, NULL)) {
			o->read.read_fuse = 1;
		} else if (cli_opt(NULL, argc, argv, &i, "timeout", 0, &v)) {
			o->read.timeout_ms = cli_parse_duration(NULL, v);
		} else if (cli_opt(NULL, argc, argv, &i, "quiet", 'q', NULL)) {
			o->quiet = 1;
		} else if (cli_opt(NULL, argc, argv, &i, "version", 'V', NULL)) {
			puts("modmap " MODMAP_VERSION_STRING);
			exit(0);
		} else if (looks_like_pid(argv[i])) {
			usage_error(NULL, "unknown argument '%s' (did you mean --pid %s?)", argv[i],
				    argv[i]);
		} else {
			usage_error(NULL, "unknown argument '%s'", argv[i]);
		}
	}
	check_args(o);
}

/* --all: processes read of how many (the line only --all draws). */
static void show_processes(size_t done, size_t total)
{
	progress_show(0, "modmap: %zu of %zu processes read", done, total);
}

/*
 * Reads pid into *s. 1 when it was read; 0 when not, after naming it on
 * stderr (unless --all skips it silently) and setting *status.
 */
static int read_one(const struct options *o, uint64_t pid, struct modmap_snapshot **s,
		    int *status)
{
	struct modmap_error err;
	if (modmap_snapshot_read(pid, &o->read, s, &err) == 0)
		return 1;
	/* Under --all, processes that vanished or have no memory map are not
	 * among those asked for; unreadable ones are named. */
	if (o->all && err.code == MODMAP_ERR_NO_PROCESS)
		return 0;
	progress_clear();
	fprintf(stderr, "modmap: %s%s\n", err.message,
		err.code == MODMAP_ERR_UNSUPPORTED && o->read.source == MODMAP_SOURCE_QUERY
			? "; --source maps reads the text instead"
			: "");
	if (!o->all)
		*status = EXIT_PARTIAL;
	return 0;
}

/*
 * The streaming formats (text, jsonl): each process is written, and
 * flushed, as soon as it is read, so memory holds one snapshot at a time
 * however many processes there are. -o still replaces its file only once
 * the whole run is written.
 */
static int run_streaming(const struct options *o, const uint64_t *pids, size_t npids)
{
	struct modmap_error err;
	struct modmap_output *out;
	int status = 0, rc = 0;
	size_t written = 0;
	if (term_output_open(o->output, &out, &err) < 0) {
		fprintf(stderr, "modmap: %s\n", err.message);
		return EXIT_PARTIAL;
	}
	for (size_t i = 0; i < npids && rc == 0; i++) {
		struct modmap_snapshot *s;
		show_processes(i, npids);
		if (!read_one(o, pids[i], &s, &status))
			continue;
		const struct modmap_snapshot *one[] = { s };
		/* Text separates processes by an empty line, as one document. */
		if (written++ && o->format->id == MODMAP_FORMAT_TEXT)
			rc = modmap_output_write(out, "\n", 1, &err);
		if (rc == 0)
			rc = modmap_write_to(o->format->id, one, 1, 0, modmap_output_write, out,
					     &err);
		if (rc == 0)
			rc = modmap_output_flush(out, &err);
		modmap_snapshot_free(s);
	}
	progress_clear();
	/* Nothing read of what was asked for: no output (--all lists none). */
	if (rc == 0 && (written || o->all))
		rc = term_output_commit(out, &err);
	else
		term_output_abort(out);
	if (rc < 0) {
		fprintf(stderr, "modmap: %s\n", err.message);
		status = EXIT_PARTIAL;
	}
	return status;
}

/* The whole formats (json, cbor, pprof): every process read, then one document. */
static int run_whole(const struct options *o, const uint64_t *pids, size_t npids)
{
	struct modmap_error err;
	int status = 0;
	struct modmap_snapshot **snaps = calloc(npids ? npids : 1, sizeof(struct modmap_snapshot *));
	if (!snaps) {
		fputs("modmap: out of memory\n", stderr);
		return EXIT_PARTIAL;
	}
	size_t n = 0;
	for (size_t i = 0; i < npids; i++) {
		show_processes(i, npids);
		if (read_one(o, pids[i], &snaps[n], &status))
			n++;
	}
	progress_clear();
	if (n > 0 || o->all) {
		int as_array = o->all || o->npids > 1;
		struct modmap_output *out = NULL;
		void *doc = NULL;
		size_t len = 0;
		int rc = modmap_write(o->format->id, (const struct modmap_snapshot *const *)snaps, n,
				      as_array, &doc, &len, &err);
		if (rc == 0)
			rc = term_output_open(o->output, &out, &err);
		if (rc == 0 && (rc = modmap_output_write(out, doc, len, &err)) < 0)
			term_output_abort(out);
		else if (rc == 0)
			rc = term_output_commit(out, &err);
		free(doc);
		if (rc < 0) {
			fprintf(stderr, "modmap: %s\n", err.message);
			status = EXIT_PARTIAL;
		}
	}
	for (size_t i = 0; i < n; i++)
		modmap_snapshot_free(snaps[i]);
	free(snaps);
	return status;
}

int cmd_snapshot(int argc, char **argv)
{
	struct options o = { 0 };
	struct modmap_error err;

	parse_args(argc, argv, &o);

	uint64_t self = modmap_self_pid();
	uint64_t *pids = o.pids;
	size_t npids = o.npids;
	if (o.self) {
		pids = &self;
		npids = 1;
	} else if (o.all && modmap_list_pids(&o.read, &pids, &npids, &err) < 0) {
		fprintf(stderr, "modmap: %s\n", err.message);
		return EXIT_PARTIAL;
	}

	/* Only --all is long; text to the terminal itself would be torn. */
	progress_start(o.quiet || !o.all, !o.output && term_stdout_is_terminal());
	int status = EXIT_PARTIAL;
	if (!(o.read.cache = modmap_cache_new()))
		fputs("modmap: out of memory\n", stderr);
	else if (o.format->stream)
		status = run_streaming(&o, pids, npids);
	else
		status = run_whole(&o, pids, npids);
	modmap_cache_free(o.read.cache);
	if (pids != o.pids && pids != &self)
		free(pids);
	free(o.pids);
	return status;
}
