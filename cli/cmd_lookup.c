/*
 * cmd_lookup.c - `modmap lookup`: for each address, the mapping that holds
 * it and the address to hand a symbolizer (lookup.c does the work). Reads
 * addresses from the command line, or streams them from standard input:
 * nothing is held but one line and the output not yet written, which is
 * flushed whenever input would make it wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modmap.h"
#include "cli.h"
#include "progress.h"
#include "term.h"

enum format { FMT_TEXT, FMT_JSON, FMT_JSONL };

static const char usage_text[] =
	"usage: modmap lookup (--pid PID | --snapshot FILE) [-f text|json|jsonl]\n"
	"                     [--symbolize [--debug-dir DIR ...]] [--jit]\n"
	"                     [--max-size N] [--procfs DIR] [-q] [ADDR ...]\n"
	"\n"
	"For each address, which mapping of the process holds it and the address\n"
	"to hand a symbolizer: file_offset (address - start + offset), elf_vaddr\n"
	"for ELF files (what 'addr2line -e FILE' and llvm-symbolizer take), rva\n"
	"for PE modules (address minus the module's base). ADDRs are hexadecimal,\n"
	"with or without 0x; with none given, one per line from standard input,\n"
	"answered as they come.\n"
	"\n"
	"  -p, --pid PID        a running process (every mapping, not only code)\n"
	"  -s, --snapshot FILE  a snapshot saved with 'modmap --format pprof' (or\n"
	"                       cbor); elf_vaddr only where the file at the path\n"
	"                       still has the mapping's build ID\n"
	"  -f, --format FMT     text (one line an address), json (an array in the\n"
	"                       order asked), jsonl (one object a line)\n"
	"                                                        (default text)\n"
	"      --max-size N     largest snapshot, also decompressed; suffix k, M\n"
	"                       or G                              (default 4G)\n"
	"      --symbolize      also the function, file and line of each address,\n"
	"                       innermost inlined frame first (docs/symbolize.md)\n"
	"      --debug-dir DIR  where separate debug files and collect stores are\n"
	"                       (repeatable)                (default /usr/lib/debug)\n"
	"      --jit            name addresses in JIT-compiled code from the process's\n"
	"                       perf map and jitdump, or a snapshot saved with --jit\n"
	"                       (docs/jit.md)\n"
	"      --procfs DIR     with --pid: read it through the proc filesystem at\n"
	"                       DIR (a host's /proc in a sidecar) (default /proc)\n"
	"  -q, --quiet          no progress line (--symbolize draws one on standard\n"
	"                       error when it is a terminal and the output is not)\n"
	"  -h, --help           this text\n"
	"\n"
	"An address no mapping holds is answered as unmapped; when most of 8 or\n"
	"more are, a warning says they are likely relative to their module (as\n"
	"'perf script' prints callchains: 'perf script -F ip -G' gives absolute\n"
	"addresses, docs/lookup.md). A line that is not an address is named on\n"
	"standard error and the others are still answered.\n"
	"Exit status: 0 every address answered, 1 a line was not an address or\n"
	"the process or snapshot could not be read, 2 usage.\n";

struct lookup_args {
	uint64_t pid;
	const char *snapshot;
	uint64_t max;
	const char *procfs;	/* --procfs, with --pid */
	enum format format;
	char **addrs;		/* the ADDR arguments */
	int naddrs;
	int symbolize, jit, quiet;
	const char **debug_dirs;	/* --debug-dir, in order */
	size_t ndebug_dirs;
};

/* Output not yet written: grows as needed; out of memory is sticky. */
struct outbuf {
	char *p;
	size_t len, cap;
	int oom;
};

/* A modmap_sink that appends to an outbuf. */
static int out_put(void *ctx, const void *p, size_t len, struct modmap_error *err)
{
	struct outbuf *b = ctx;
	(void)err;
	if (b->oom)
		return 0;
	if (b->cap - b->len < len) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len < len)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return 0;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

static void out_puts(struct outbuf *b, const char *s)
{
	out_put(b, s, strlen(s), NULL);
}

/* What answering needs: the snapshot, the output so far, and the status. */
struct answerer {
	struct modmap_snapshot *s;
	enum format format;
	struct outbuf out;
	size_t answered;
	struct modmap_symbolizer *z;	/* --symbolize */
	int jit;			/* --jit */
	struct modmap_frame frames[64];
	size_t unmapped;	/* ... of which no mapping held */
	int bad;		/* a line was not an address */
	int failed;		/* output could not be written */
};

#define OUT_FLUSH (64 * 1024)
#define LINE_SHOWN 64		/* bytes of a bad line named in its message */
#define LINE_MAX_BYTES 4096	/* a longer line is not an address */

static void flush(struct answerer *a)
{
	int errnum = 0;
	progress_clear();	/* the answers so far are there: nothing to wait for */
	if (a->failed || a->out.len == 0)
		return;
	if (a->out.oom) {
		fputs("modmap: lookup: out of memory\n", stderr);
		a->failed = 1;
	} else if (term_write_stdout(a->out.p, a->out.len, &errnum) < 0) {
		fprintf(stderr, "modmap: lookup: standard output: %s\n", strerror(errnum));
		a->failed = 1;
	}
	a->out.len = 0;
}

static void parse_args(int argc, char **argv, struct lookup_args *o)
{
	static const char *const formats[] = { "text", "json", "jsonl" };
	const char *v;
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		exit(0);
	}
	o->addrs = calloc((size_t)argc, sizeof *o->addrs);
	o->debug_dirs = calloc((size_t)argc, sizeof *o->debug_dirs);
	if (!o->addrs || !o->debug_dirs) {
		fputs("modmap: lookup: out of memory\n", stderr);
		exit(EXIT_PARTIAL);
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-') {
			o->addrs[o->naddrs++] = argv[i];
		} else if (cli_opt("lookup", argc, argv, &i, "pid", 'p', &v)) {
			if (o->pid)
				usage_error("lookup", "%s", "--pid given twice: one process only");
			o->pid = cli_parse_pid("lookup", v);
		} else if (cli_opt("lookup", argc, argv, &i, "snapshot", 's', &v)) {
			if (o->snapshot)
				usage_error("lookup", "%s", "--snapshot given twice: one snapshot only");
			if (!*v)
				usage_error("lookup", "%s", "empty file name");
			o->snapshot = v;
		} else if (cli_opt("lookup", argc, argv, &i, "format", 'f', &v)) {
			int k = cli_pick(v, formats, 3);
			if (k < 0)
				usage_error("lookup", "unknown format '%s' (text, json, jsonl)", v);
			o->format = (enum format)k;
		} else if (cli_opt("lookup", argc, argv, &i, "symbolize", 0, NULL)) {
			o->symbolize = 1;
		} else if (cli_opt("lookup", argc, argv, &i, "jit", 0, NULL)) {
			o->jit = 1;
		} else if (cli_opt("lookup", argc, argv, &i, "debug-dir", 0, &v)) {
			if (!*v)
				usage_error("lookup", "%s", "empty --debug-dir");
			o->debug_dirs[o->ndebug_dirs++] = v;
		} else if (cli_opt("lookup", argc, argv, &i, "quiet", 'q', NULL)) {
			o->quiet = 1;
		} else if (cli_opt("lookup", argc, argv, &i, "procfs", 0, &v)) {
			o->procfs = v;
		} else if (cli_opt("lookup", argc, argv, &i, "max-size", 0, &v)) {
			o->max = cli_parse_size("lookup", v);
		} else {
			usage_error("lookup", "unknown argument '%s'", argv[i]);
		}
	}
	if (!o->pid == !o->snapshot)
		usage_error("lookup", "%s", "give one of --pid PID or --snapshot FILE");
	if (o->ndebug_dirs && !o->symbolize)
		usage_error("lookup", "%s", "--debug-dir needs --symbolize: it says where symbols are");
	if (o->procfs && !o->pid)
		usage_error("lookup", "%s", "--procfs needs --pid: it says where the process is");
	if (o->procfs)
		cli_check_procfs("lookup", o->procfs);
	if (o->snapshot && strcmp(o->snapshot, "-") == 0 && !o->naddrs)
		usage_error("lookup", "%s",
			    "the snapshot comes from standard input: give the ADDRs as arguments");
}

/* Names a line that is not an address: its first bytes, escaped. */
static void bad_line(struct answerer *a, const char *where, const char *line, size_t len,
		     size_t total)
{
	char shown[4 * LINE_SHOWN + 4];
	size_t k = 0;
	for (size_t i = 0; i < len && i < LINE_SHOWN; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
			shown[k++] = (char)c;
		else
			k += (size_t)snprintf(shown + k, 5, "\\x%02x", c);
	}
	if (total > LINE_SHOWN)
		k += (size_t)snprintf(shown + k, 4, "...");
	shown[k] = '\0';
	flush(a);	/* the answers before it come first */
	fprintf(stderr, "modmap: lookup: %s: not an address: '%s'\n", where, shown);
	a->bad = 1;
}

static void warn_line(void *ctx, const char *line)
{
	(void)ctx;
	progress_clear();
	fprintf(stderr, "modmap: %s\n", line);
}

/* --symbolize: the modules opened so far, and the last (a modmap_progress_fn). */
static void show_modules(void *user, const struct modmap_progress *p)
{
	(void)user;
	progress_show(0, "modmap: lookup: %llu modules opened (%s)", (unsigned long long)p->done,
		      p->name ? progress_base(p->name) : "");
}

static void answer(struct answerer *a, uint64_t addr)
{
	struct modmap_lookup ans;
	struct modmap_error err;
	if (modmap_lookup(a->s, addr, &ans, &err) < 0) {
		a->out.oom = 1;	/* memory ran out: the only way it fails */
		return;
	}
	if (ans.mapping < 0)
		a->unmapped++;
	if (a->format == FMT_JSON)
		out_puts(&a->out, a->answered ? ",\n" : "\n");
	int fmt = a->format == FMT_TEXT ? MODMAP_FORMAT_TEXT : MODMAP_FORMAT_JSON;
	const char *jit = NULL;
	size_t n = 0;
	if (a->jit && modmap_jit_frame(a->s, addr, &a->frames[0], &jit)) {
		n = 1;
	} else if (a->z && ans.mapping >= 0 &&
		   modmap_symbolize(a->z, a->s, addr, a->frames, 64, &n, &err) < 0) {
		a->out.oom = 1;
		return;
	}
	if (jit || (a->z && ans.mapping >= 0))
		modmap_lookup_write_frames(fmt, a->s, &ans, a->frames, n, jit, out_put, &a->out,
					   &err);
	else
		modmap_lookup_write(fmt, a->s, &ans, out_put, &a->out, &err);
	if (a->format != FMT_JSON)
		out_put(&a->out, "\n", 1, NULL);
	a->answered++;
	if (a->out.len >= OUT_FLUSH)
		flush(a);
}

/* A line of total bytes, of which the first len are at line. */
static void answer_line(struct answerer *a, const char *line, size_t len, size_t total,
			uint64_t lineno)
{
	uint64_t addr;
	size_t i = 0;
	if (len == total && len && line[len - 1] == '\r')
		total = --len;	/* a CRLF line end */
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	if (i == len && len == total)
		return;	/* a blank line asks nothing */
	if (len == total && len <= LINE_MAX_BYTES && modmap_parse_address(line, len, &addr) == 0) {
		answer(a, addr);
		return;
	}
	char where[48];
	snprintf(where, sizeof where, "line %llu", (unsigned long long)lineno);
	bad_line(a, where, line, len, total);
}

/*
 * Standard input, line by line, in a fixed window: a line longer than the
 * window is not an address, and only its first bytes are kept to name it.
 */
static int answer_stdin(struct answerer *a)
{
	enum { WINDOW = 64 * 1024 };
	char *w = malloc(WINDOW);
	size_t have = 0;	/* bytes of an unfinished line at w */
	size_t dropped = 0;	/* ... and how many more of it were not kept */
	uint64_t lineno = 0;
	int errnum = 0;
	int rc = 0;
	if (!w) {
		fputs("modmap: lookup: out of memory\n", stderr);
		return -1;
	}
	for (;;) {
		size_t got;
		flush(a);	/* before waiting for more */
		if (a->failed)
			break;
		if (term_stdin_read(w + have, WINDOW - have, &got, &errnum) < 0) {
			fprintf(stderr, "modmap: lookup: standard input: %s\n", strerror(errnum));
			rc = -1;
			break;
		}
		if (got == 0) {
			if (have || dropped)
				answer_line(a, w, have, have + dropped, ++lineno);
			break;
		}
		char *p = w, *end = w + have + got;
		char *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			/* The unfinished line's head is at w; dropped bytes followed it. */
			size_t len = (size_t)(nl - p);
			answer_line(a, p, len, len + (p == w ? dropped : 0), ++lineno);
			if (p == w)
				dropped = 0;
			p = nl + 1;
		}
		have = (size_t)(end - p);
		memmove(w, p, have);
		if (have == WINDOW) {
			/* No newline in a whole window: keep its head, count the rest. */
			dropped += have - LINE_SHOWN - 1;
			have = LINE_SHOWN + 1;
		}
	}
	free(w);
	return rc;
}

/*
 * Most addresses in no mapping: the answers are right, but the addresses
 * are likely not the process's. The usual cause is addresses relative to
 * their module, as perf script prints callchain entries.
 */
#define UNMAPPED_MIN 8		/* fewer addresses: the answers speak for themselves */

static void warn_unmapped(const struct answerer *a, const struct lookup_args *o)
{
	if (a->answered < UNMAPPED_MIN || a->unmapped * 2 <= a->answered)
		return;
	char whose[64];
	if (o->pid)
		snprintf(whose, sizeof whose, "pid %llu", (unsigned long long)o->pid);
	else
		snprintf(whose, sizeof whose, "the snapshot");
	fprintf(stderr,
		"modmap: lookup: warning: %zu of %zu addresses are in no mapping of %s; "
		"addresses relative to their module (perf script prints callchain entries "
		"so) are not the process's: see docs/lookup.md\n",
		a->unmapped, a->answered, whose);
}

int cmd_lookup(int argc, char **argv)
{
	struct lookup_args o = { 0 };
	struct modmap_snapshot *s = NULL;
	struct modmap_error err;
	struct answerer a = { 0 };
	int rc = EXIT_OK;

	parse_args(argc, argv, &o);
	if (o.pid) {
		struct modmap_options ro = { .mappings = MODMAP_MAPPINGS_ALL,
					     .cache = modmap_cache_new(), .procfs = o.procfs,
					     .jit = o.jit };
		int r = ro.cache ? modmap_snapshot_read(o.pid, &ro, &s, &err) : -1;
		if (!ro.cache)
			snprintf(err.message, sizeof err.message, "out of memory");
		modmap_cache_free(ro.cache);
		if (r < 0) {
			fprintf(stderr, "modmap: %s\n", err.message);
			rc = EXIT_PARTIAL;
			goto done;
		}
	} else if ((o.jit ? modmap_snapshot_load_jit(o.snapshot, o.max, &s, &err)
			  : modmap_snapshot_load(o.snapshot, o.max, &s, &err)) < 0) {
		const char *hint =
			err.code == MODMAP_ERR_TOO_LARGE ? "; a larger --max-size allows more" : "";
		fprintf(stderr, "modmap: %s%s\n", err.message, hint);
		rc = EXIT_PARTIAL;
		goto done;
	}
	a.s = s;
	a.format = o.format;
	a.jit = o.jit;
	if (o.symbolize) {
		struct modmap_symbolize_options so = { .debug_dirs = o.debug_dirs,
						       .n_debug_dirs = o.ndebug_dirs,
						       .warn = warn_line,
						       .progress = show_modules };
		if (modmap_symbolizer_new(&so, &a.z, &err) < 0) {
			fprintf(stderr, "modmap: lookup: %s\n", err.message);
			rc = EXIT_PARTIAL;
			goto done;
		}
	}
	/* The answers on the terminal itself: no line between them. */
	progress_start(o.quiet || !o.symbolize, term_stdout_is_terminal());
	if (a.format == FMT_JSON)
		out_put(&a.out, "[", 1, NULL);
	if (o.naddrs) {
		for (int i = 0; i < o.naddrs; i++) {
			uint64_t addr;
			const char *arg = o.addrs[i];
			if (modmap_parse_address(arg, strlen(arg), &addr) == 0)
				answer(&a, addr);
			else
				bad_line(&a, "argument", arg, strlen(arg), strlen(arg));
		}
	} else if (answer_stdin(&a) < 0) {
		rc = EXIT_PARTIAL;
	}
	if (a.format == FMT_JSON)
		out_puts(&a.out, a.answered ? "\n]\n" : "]\n");
	flush(&a);
	warn_unmapped(&a, &o);
	if (a.bad || a.failed)
		rc = EXIT_PARTIAL;
done:
	free(a.out.p);
	modmap_symbolizer_free(a.z);
	modmap_snapshot_free(s);
	free(o.addrs);
	free(o.debug_dirs);
	return rc;
}
