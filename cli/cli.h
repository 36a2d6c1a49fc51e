/*
 * cli.h - what the subcommands of the modmap command share: the command
 * table's entry, exit statuses, and option parsing. Everything a command
 * does beyond parsing and printing lives in the library (lib/).
 */
#ifndef MODMAP_CLI_H
#define MODMAP_CLI_H

#include <stdint.h>

#ifdef __MINGW32__
#define CLI_PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#else
#define CLI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#endif

/* What a build without libcbor says when asked for CBOR. */
#define CLI_CBOR_MISSING "this build of modmap has no CBOR support (built without libcbor)"

enum { EXIT_OK = 0, EXIT_PARTIAL = 1, EXIT_USAGE = 2 };

/* One subcommand: `modmap NAME ...`, or the default command (name NULL). */
struct cli_command {
	const char *name;
	const char *usage;	/* the synopsis line(s), for `modmap --help` */
	int (*run)(int argc, char **argv);	/* argv[0] is the command's name */
};

/* The commands, one cmd_<name>.c each. */
int cmd_snapshot(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/*
 * Prints "modmap: [CMD: ]MESSAGE" and where help is, then exits 2. cmd is
 * the subcommand ("attach"), or NULL for the default command.
 */
CLI_PRINTF(2, 3) __attribute__((noreturn)) void usage_error(const char *cmd,
							       const char *fmt, ...);

/*
 * Matches argv[*i] against a long (--name, --name=value) or short (-c,
 * -cvalue) option; for one that takes a value (val not NULL), sets *val
 * from the same or the next argument. Returns 1 on a match.
 */
int cli_opt(const char *cmd, int argc, char **argv, int *i, const char *lng, char shrt,
	    const char **val);

/* Index of arg in names[0..n), or -1. */
int cli_pick(const char *arg, const char *const *names, int n);

/* A PID (decimal, 1..2^32-1), or a usage error. */
uint64_t cli_parse_pid(const char *cmd, const char *arg);

/* A byte count with an optional k, M or G (powers of 1024), or a usage error. */
uint64_t cli_parse_size(const char *cmd, const char *arg);

/*
 * DIR, when it is a proc filesystem (--procfs); else one line naming it
 * and why, and exit 2, before anything is read.
 */
const char *cli_check_procfs(const char *cmd, const char *dir);

/* A duration "100ms" or "2s" (1ms to a day), in milliseconds, or a usage error. */
uint64_t cli_parse_duration(const char *cmd, const char *arg);

/*
 * Does argv hold -h or --help as an option (before any "--")? Then the
 * command shows its help whatever else is on the line.
 */
int cli_wants_help(int argc, char **argv);

#endif
