/*
 * main.c - the command line: parses options, asks the OS backend for each
 * process's snapshot, hands them to the chosen writer and writes the result
 * atomically. The only place that prints to stderr or picks an exit status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "buf.h"
#include "buildid.h"
#include "emit.h"
#include "gz.h"
#include "modmap.h"
#include "platform.h"

enum { EXIT_PARTIAL = 1, EXIT_USAGE = 2 };

enum format { FMT_TEXT, FMT_JSON, FMT_CBOR, FMT_PPROF };

struct options {
	uint64_t *pids;
	size_t npids;
	int self, all;
	enum format format;
	const char *output;
	struct read_opts read;
};

static const char usage_text[] =
	"usage: modmap [OPTIONS] --pid PID [--pid PID ...]\n"
	"       modmap [OPTIONS] --self\n"
	"       modmap [OPTIONS] --all\n"
	"       modmap attach (--pid PID | --snapshot FILE) PROFILE [-o OUT]\n"
	"       modmap --help | --version\n"
	"\n"
	"Prints the module map of a process: every mapping with its build ID.\n"
	"\n"
	"  -p, --pid PID        process to snapshot; may be repeated\n"
	"      --self           modmap's own process\n"
	"  -a, --all            every process the caller may read\n"
	"  -f, --format FMT     text, json, cbor, pprof          (default text)\n"
	"  -o, --output FILE    write FILE atomically instead of standard output\n"
	"                       ('-': standard output); cbor and pprof are\n"
	"                       binary: never written to a terminal\n"
	"      --build-id MODE  auto, native, mtime, none        (default auto)\n"
	"      --mappings SET   exec (what pprof wants), all     (default exec)\n"
	"      --source SRC     auto, query (PROCMAP_QUERY), maps (default auto)\n"
	"  -h, --help           this text\n"
	"  -V, --version        the version\n"
	"\n"
	"json and cbor hold the same document (cbor: addresses as integers);\n"
	"pprof is a gzip-compressed profile of one process: its mapping table,\n"
	"main executable first, for `go tool pprof` and `modmap attach`.\n"
	"\n"
	"Exit status: 0 every process was read, 1 at least one was not, 2 usage.\n";

MODMAP_PRINTF(1, 2) __attribute__((noreturn)) static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("modmap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'modmap --help'.\n", stderr);
	exit(EXIT_USAGE);
}

static int pick(const char *arg, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	return -1;
}

static uint64_t parse_pid(const char *arg)
{
	uint64_t v = 0;
	const char *p = arg;
	if (!*p)
		usage_error("invalid PID '%s'", arg);
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT32_MAX - 9) / 10)
			usage_error("invalid PID '%s'", arg);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v == 0)
		usage_error("invalid PID '%s'", arg);
	return v;
}

/*
 * Matches argv[*i] against a long (--name, --name=value) or short (-c,
 * -cvalue) option; for one that takes a value, sets *val from the same or
 * the next argument. Returns 1 on a match.
 */
static int opt(int argc, char **argv, int *i, const char *lng, char shrt, const char **val)
{
	const char *a = argv[*i];
	const char *v = NULL;
	if (a[0] == '-' && a[1] == '-' && lng) {
		size_t n = strlen(lng);
		if (strncmp(a + 2, lng, n) != 0 || (a[2 + n] && a[2 + n] != '='))
			return 0;
		if (a[2 + n] == '=') {
			if (!val)
				usage_error("option '--%s' takes no value", lng);
			v = a + 3 + n;
		}
	} else if (a[0] == '-' && shrt && a[1] == shrt) {
		if (a[2]) {
			if (!val)
				return 0;
			v = a + 2;
		}
	} else {
		return 0;
	}
	if (val) {
		if (!v) {
			if (*i + 1 >= argc)
				usage_error("option '%s' needs a value", a);
			v = argv[++*i];
		}
		*val = v;
	}
	return 1;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const char *const formats[] = { "text", "json", "cbor", "pprof" };
	static const char *const modes[] = { "auto", "native", "mtime", "none" };
	static const char *const sets[] = { "exec", "all" };
	static const char *const sources[] = { "auto", "query", "maps" };
	const char *v;
	int k;

	for (int i = 1; i < argc; i++) {
		if (opt(argc, argv, &i, "pid", 'p', &v)) {
			uint64_t *p = realloc(o->pids, (o->npids + 1) * sizeof *p);
			if (!p) {
				fputs("modmap: out of memory\n", stderr);
				exit(EXIT_PARTIAL);
			}
			o->pids = p;
			o->pids[o->npids++] = parse_pid(v);
		} else if (opt(argc, argv, &i, "self", 0, NULL)) {
			o->self = 1;
		} else if (opt(argc, argv, &i, "all", 'a', NULL)) {
			o->all = 1;
		} else if (opt(argc, argv, &i, "format", 'f', &v)) {
			if ((k = pick(v, formats, 4)) < 0)
				usage_error("unknown format '%s' (text, json, cbor, pprof)", v);
			o->format = (enum format)k;
		} else if (opt(argc, argv, &i, "output", 'o', &v)) {
			o->output = v;
		} else if (opt(argc, argv, &i, "build-id", 0, &v)) {
			if ((k = pick(v, modes, 4)) < 0)
				usage_error("unknown build-ID mode '%s' (auto, native, mtime, none)", v);
			o->read.bid = (enum bid_mode)k;
		} else if (opt(argc, argv, &i, "mappings", 0, &v)) {
			if ((k = pick(v, sets, 2)) < 0)
				usage_error("unknown mapping set '%s' (exec, all)", v);
			o->read.set = (enum mapset)k;
		} else if (opt(argc, argv, &i, "source", 0, &v)) {
			if ((k = pick(v, sources, 3)) < 0)
				usage_error("unknown source '%s' (auto, query, maps)", v);
			o->read.source = (enum source)k;
		} else if (opt(argc, argv, &i, "help", 'h', NULL)) {
			fputs(usage_text, stdout);
			if (!emit_cbor_supported())
				puts("\nNote: " CBOR_MISSING ".");
			exit(0);
		} else if (opt(argc, argv, &i, "version", 'V', NULL)) {
			puts("modmap " MODMAP_VERSION);
			exit(0);
		} else {
			usage_error("unknown argument '%s'", argv[i]);
		}
	}
	if ((o->npids > 0) + o->self + o->all != 1)
		usage_error("%s", "give one of --pid PID, --self or --all");
	if (o->output && !*o->output)
		usage_error("%s", "empty output file name");
	if (o->output && strcmp(o->output, "-") == 0)
		o->output = NULL;	/* "-o -": standard output, as attach reads "-" */
	/* Refused before any process is read, so nothing is wasted. */
	if (o->format == FMT_CBOR && !emit_cbor_supported()) {
		fputs("modmap: " CBOR_MISSING "\n", stderr);
		exit(EXIT_USAGE);
	}
	if (o->format == FMT_PPROF && (o->all || o->npids > 1))
		usage_error("%s", "a pprof profile holds one process: give one --pid or --self "
			    "(json holds several)");
	if ((o->format == FMT_CBOR || o->format == FMT_PPROF) && !o->output &&
	    platform_stdout_is_terminal())
		usage_error("refusing to write binary %s output to a terminal; use -o FILE "
			    "or redirect standard output", formats[o->format]);
}

/* ---- modmap attach ------------------------------------------------------ */

static const char attach_usage_text[] =
	"usage: modmap attach (--pid PID | --snapshot FILE) PROFILE [-o OUT] [--max-size N]\n"
	"\n"
	"Gives a pprof profile the module map of its process: the mappings of the\n"
	"running process PID, or of a snapshot saved with 'modmap --format pprof'.\n"
	"PROFILE is gzip or raw protobuf, '-' for standard input; the result is\n"
	"gzip pprof. A summary goes to standard error.\n"
	"\n"
	"  -p, --pid PID        the profiled process, still running\n"
	"  -s, --snapshot FILE  its module map, saved earlier\n"
	"  -o, --output FILE    write FILE atomically; may be PROFILE itself\n"
	"      --max-size N     largest input, also decompressed; suffix k, M or G\n"
	"                       (powers of 1024)                       (default 4G)\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 done, 1 failed (nothing written), 2 usage.\n";

struct attach_options {
	uint64_t pid;
	const char *snapshot, *profile, *output;
	uint64_t max;
};

static uint64_t parse_size(const char *arg)
{
	uint64_t v = 0;
	const char *p = arg;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			usage_error("size '%s' is too large", arg);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	static const char units[] = "kMG";
	const char *u = *p ? strchr(units, *p) : NULL;
	if (p == arg || (*p && (!u || p[1])) || v == 0)
		usage_error("invalid size '%s' (a number of bytes, with k, M or G)", arg);
	int shift = u ? 10 * (int)(u - units + 1) : 0;
	if (v > UINT64_MAX >> shift)
		usage_error("size '%s' is too large", arg);
	return v << shift;
}

static void attach_parse_args(int argc, char **argv, struct attach_options *o)
{
	const char *v;
	for (int i = 2; i < argc; i++) {
		if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
			if (o->profile)
				usage_error("attach: one PROFILE only ('%s' and '%s')", o->profile,
					    argv[i]);
			o->profile = argv[i];
		} else if (opt(argc, argv, &i, "pid", 'p', &v)) {
			o->pid = parse_pid(v);
		} else if (opt(argc, argv, &i, "snapshot", 's', &v)) {
			o->snapshot = v;
		} else if (opt(argc, argv, &i, "output", 'o', &v)) {
			o->output = v;
		} else if (opt(argc, argv, &i, "max-size", 0, &v)) {
			o->max = parse_size(v);
		} else if (opt(argc, argv, &i, "help", 'h', NULL)) {
			fputs(attach_usage_text, stdout);
			exit(0);
		} else {
			usage_error("attach: unknown argument '%s'", argv[i]);
		}
	}
	if (!o->pid == !o->snapshot)
		usage_error("%s", "attach: give one of --pid PID or --snapshot FILE");
	if (!o->profile)
		usage_error("%s", "attach: no PROFILE given");
	if ((o->output && !*o->output) || (o->snapshot && !*o->snapshot) || !*o->profile)
		usage_error("%s", "attach: empty file name");
	if (o->output && strcmp(o->output, "-") == 0)
		o->output = NULL;
}

static const char *file_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "standard input" : path;
}

/*
 * The mapping table to attach: the live process's or a CBOR snapshot's,
 * whose records s then owns, or a pprof snapshot's, which borrows from raw.
 */
static int attach_table(const struct attach_options *o, struct snapshot *s, struct buf *file,
			struct buf *raw, struct attach_mapping **table, size_t *n,
			struct errmsg *err)
{
	if (o->pid) {
		struct read_opts ro = { .cache = bid_cache_new() };
		enum read_status r = snapshot_read(s, o->pid, &ro, err);
		bid_cache_free(ro.cache);
		return r == READ_OK ? attach_table_from_snapshot(s, table, n, err) : -1;
	}
	const unsigned char *p;
	size_t len;
	struct errmsg why;
	if (platform_read_file(o->snapshot, file, o->max, err) < 0)
		return -1;
	if (attach_unpack(file->p, file->len, o->max, raw, &p, &len, &why) < 0)
		goto bad;
	if (attach_is_cbor(p, len)) {
		if (attach_read_cbor(p, len, s, &why) < 0 ||
		    attach_table_from_snapshot(s, table, n, &why) < 0)
			goto bad;
	} else if (attach_table_from_profile(p, len, table, n, &why) < 0) {
		goto bad;
	}
	return 0;
bad:
	err_set(err, "%s: %s", file_name(o->snapshot), why.text);
	return -1;
}

/* The decompressed profile goes by in pieces of this size, twice. */
enum { ATTACH_WINDOW = 256 * 1024 };

/* Where the rewritten profile goes: compressed, into the output file. */
struct attach_sink {
	struct platform_out *file;
	struct gz_writer *gz;
};

static int sink_compress(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	return gz_writer_write(((struct attach_sink *)ctx)->gz, p, len, err);
}

static int sink_write(void *ctx, const void *p, size_t len, struct errmsg *err)
{
	return platform_out_write(ctx, p, len, err);
}

static int profile_read(void *ctx, void *p, size_t cap, size_t *got, struct errmsg *err)
{
	return platform_in_read(ctx, p, cap, got, err);
}

/*
 * One pass over the decompressed profile: the first (scan) or the second
 * (write). *total counts its bytes. The gzip layer's errors come before
 * the profile's, as when the whole was decompressed first: after bad
 * protobuf the first pass still reads on through gzip, so a gzip bomb of
 * zeros is told as too large and a cut gzip stream as truncated; raw bytes
 * stop at the first bad field (a pipe of garbage is not spooled whole).
 */
static int attach_pass(struct platform_in *in, uint64_t max, struct attach_stream *a,
		       int second, unsigned char *window, uint64_t *total, struct errmsg *err)
{
	struct gz_reader *g = gz_reader_new(profile_read, in, max, err);
	struct errmsg bad;
	int rc = g ? 0 : -1, is_bad = 0;
	*total = 0;
	while (rc == 0) {
		size_t got;
		if ((rc = gz_reader_read(g, window, ATTACH_WINDOW, &got, err)) < 0 || got == 0)
			break;
		*total += got;
		/* Raw protobuf has no later gzip error to find: stop at once. */
		if (is_bad && !gz_reader_is_gzip(g))
			break;
		if (is_bad)
			continue;
		if (second)
			rc = attach_stream_write(a, window, got, err);
		else if (attach_stream_scan(a, window, got, &bad) < 0)
			is_bad = 1;
	}
	gz_reader_free(g);
	if (rc == 0 && is_bad) {
		*err = bad;
		rc = -1;
	}
	return rc;
}

/*
 * Reads PROFILE twice, as a stream: once to check it and plan the new
 * tables, once to write the result through gzip into the output. Nothing
 * is opened for output until the input has proved good; on failure the
 * output file is removed (standard output may have had part of it).
 */
static int attach_main(int argc, char **argv)
{
	struct attach_options o = { .max = ATTACH_MAX_SIZE };
	struct buf snap_file = { 0 }, snap_raw = { 0 };
	struct snapshot s;
	struct attach_mapping *table = NULL;
	size_t n = 0;
	struct attach_stats st;
	struct attach_stream *a = NULL;
	struct attach_sink sink = { 0 };
	struct platform_in *in = NULL;
	unsigned char *window = NULL;
	uint64_t total;
	struct errmsg err, why;
	int rc = -1, in_bad = 0;	/* in_bad: why is about PROFILE */

	attach_parse_args(argc, argv, &o);
	if (!o.output && platform_stdout_is_terminal()) {
		fputs("modmap: attach: not writing a binary profile to a terminal; use -o FILE\n",
		      stderr);
		return EXIT_USAGE;	/* as the snapshot command's refusal */
	}
	snapshot_init(&s);
	in_bad = 1;
	if (!(in = platform_in_open(o.profile, o.max, &why)))
		goto done;
	in_bad = 0;
	if (attach_table(&o, &s, &snap_file, &snap_raw, &table, &n, &err) < 0)
		goto done;
	in_bad = 1;
	if (!(window = malloc(ATTACH_WINDOW))) {
		err_set(&why, "out of memory");
		goto done;
	}
	if (!(a = attach_stream_new(table, n, sink_compress, &sink, &why)) ||
	    attach_pass(in, o.max, a, 0, window, &total, &why) < 0)
		goto done;
	if (total == 0) {
		err_set(&why, "empty: not a pprof profile");
		goto done;
	}
	if (attach_stream_plan(a, &st, &why) < 0 || platform_in_rewind(in, &why) < 0)
		goto done;

	in_bad = 0;
	if (!(sink.file = platform_out_open(o.output, &err)) ||
	    !(sink.gz = gz_writer_new(sink_write, sink.file, &err)))
		goto done;
	if (attach_pass(in, o.max, a, 1, window, &total, &why) < 0 ||
	    attach_stream_finish(a, &why) < 0) {
		in_bad = !attach_stream_output_failed(a);
		if (!in_bad)
			err = why;
		goto done;
	}
	if (gz_writer_finish(sink.gz, &err) < 0)
		goto done;
	/* Closed first: Windows renames nothing over a file still open. */
	platform_in_close(in);
	in = NULL;
	rc = platform_out_commit(sink.file, &err);
	sink.file = NULL;
	if (rc < 0)
		goto done;

	fprintf(stderr, "modmap: attached %llu mappings from ", (unsigned long long)st.mappings);
	if (o.pid)
		fprintf(stderr, "pid %llu", (unsigned long long)o.pid);
	else
		fputs(file_name(o.snapshot), stderr);
	fprintf(stderr, ": %llu of %llu locations mapped", (unsigned long long)st.mapped,
		(unsigned long long)st.locations);
	if (st.kept)
		fprintf(stderr, ", %llu more kept in %llu old mappings",
			(unsigned long long)st.kept_locations, (unsigned long long)st.kept);
	fputc('\n', stderr);
done:
	if (rc < 0 && in_bad)
		fprintf(stderr, "modmap: %s: %s\n", file_name(o.profile), why.text);
	else if (rc < 0)
		fprintf(stderr, "modmap: %s\n", err.text);
	platform_out_abort(sink.file);
	gz_writer_free(sink.gz);
	platform_in_close(in);
	attach_stream_free(a);
	free(window);
	free(table);
	snapshot_free(&s);
	buf_free(&snap_file);
	buf_free(&snap_raw);
	return rc < 0 ? EXIT_PARTIAL : 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct errmsg err;
	int status = 0;

	platform_args(&argc, &argv);
	if (argc > 1 && strcmp(argv[1], "attach") == 0)
		return attach_main(argc, argv);
	parse_args(argc, argv, &o);

	uint64_t self = snapshot_self_pid();
	uint64_t *pids = o.pids;
	size_t npids = o.npids;
	if (o.self) {
		pids = &self;
		npids = 1;
	} else if (o.all && snapshot_list_pids(&pids, &npids, &err) < 0) {
		fprintf(stderr, "modmap: %s\n", err.text);
		return EXIT_PARTIAL;
	}

	o.read.cache = bid_cache_new();
	struct snapshot *snaps = calloc(npids ? npids : 1, sizeof *snaps);
	if (!o.read.cache || !snaps) {
		fputs("modmap: out of memory\n", stderr);
		return EXIT_PARTIAL;
	}

	size_t n = 0;
	for (size_t i = 0; i < npids; i++) {
		struct snapshot *s = &snaps[n];
		snapshot_init(s);
		enum read_status r = snapshot_read(s, pids[i], &o.read, &err);
		if (r == READ_OK) {
			n++;
			continue;
		}
		snapshot_free(s);
		/* Under --all, processes that vanished or have no memory map
		 * are not among those asked for; unreadable ones are named. */
		if (o.all && r == READ_SKIP)
			continue;
		fprintf(stderr, "modmap: %s\n", err.text);
		if (!o.all)
			status = EXIT_PARTIAL;
	}

	struct buf out = { 0 };
	int as_array = o.all || o.npids > 1;
	int rc = 0;
	if (n > 0 || o.all) {
		switch (o.format) {
		case FMT_TEXT:
			rc = emit_text(&out, snaps, n, &err);
			break;
		case FMT_JSON:
			rc = emit_json(&out, snaps, n, as_array, &err);
			break;
		case FMT_CBOR:
			rc = emit_cbor(&out, snaps, n, as_array, &err);
			break;
		case FMT_PPROF:
			rc = emit_pprof(&out, snaps, n, &err);
			break;
		}
		if (rc == 0)
			rc = o.output ? platform_write_file(o.output, out.p, out.len, &err)
				      : platform_write_stdout(out.p, out.len, &err);
		if (rc < 0) {
			fprintf(stderr, "modmap: %s\n", err.text);
			status = EXIT_PARTIAL;
		}
	}

	buf_free(&out);
	for (size_t i = 0; i < n; i++)
		snapshot_free(&snaps[i]);
	free(snaps);
	bid_cache_free(o.read.cache);
	if (pids != o.pids && pids != &self)
		free(pids);
	free(o.pids);
	return status;
}
