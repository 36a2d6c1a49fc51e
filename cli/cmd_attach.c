/*
 * cmd_attach.c - `modmap attach`: gives a pprof profile the mapping table
 * of its process (attach_run in the library does the work) and prints the
 * summary line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "platform.h"

static const char usage_text[] =
	"usage: modmap attach (--pid PID | --snapshot FILE) PROFILE [-o OUT] [--jit]\n"
	"                     [--max-size N]\n"
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
	"      --max-size N     largest input, also decompressed; suffix k, M or G\n"
	"                       (powers of 1024)                       (default 4G)\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 done, 1 failed, 2 usage. On failure no output file is\n"
	"left; standard output may already have had part of the profile.\n";

static void parse_args(int argc, char **argv, struct attach_job *o)
{
	const char *v;
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		exit(0);
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
		} else if (cli_opt("attach", argc, argv, &i, "max-size", 0, &v)) {
			o->max = cli_parse_size("attach", v);
		} else {
			usage_error("attach", "unknown argument '%s'", argv[i]);
		}
	}
	if (!o->pid == !o->snapshot)
		usage_error("attach", "%s", "give one of --pid PID or --snapshot FILE");
	if (!o->profile)
		usage_error("attach", "%s", "no PROFILE given");
	if ((o->output && !*o->output) || (o->snapshot && !*o->snapshot) || !*o->profile)
		usage_error("attach", "%s", "empty file name");
	if (o->output && strcmp(o->output, "-") == 0)
		o->output = NULL;
	if (o->output ? platform_path_is_terminal(o->output) : platform_stdout_is_terminal())
		usage_error("attach", "%s",
			    "not writing a binary profile to a terminal; use -o FILE");
}

int cmd_attach(int argc, char **argv)
{
	struct attach_job j = { 0 };
	struct attach_stats st;
	struct errmsg err;

	parse_args(argc, argv, &j);
	if (attach_run(&j, &st, &err) < 0) {
		const char *hint = err.code == ERR_TOO_LARGE	 ? "; a larger --max-size allows more"
				   : err.code == ERR_UNSUPPORTED ? " (modmap --format pprof)"
								 : "";
		fprintf(stderr, "modmap: %s%s\n", err.text, hint);
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
	fputc('\n', stderr);
	return EXIT_OK;
}
