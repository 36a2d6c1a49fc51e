/*
 * options.c - option parsing shared by every subcommand, and the one
 * shape of a usage error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modmap.h"
#include "cli.h"

void usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("modmap: ", stderr);
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nTry 'modmap %s --help'.\n", cmd);
	else
		fputs("\nTry 'modmap --help'.\n", stderr);
	exit(EXIT_USAGE);
}

int cli_pick(const char *arg, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	return -1;
}

uint64_t cli_parse_pid(const char *cmd, const char *arg)
{
	uint64_t v = 0;
	const char *p = arg;
	if (!*p)
		usage_error(cmd, "invalid PID '%s'", arg);
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT32_MAX - 9) / 10)
			usage_error(cmd, "invalid PID '%s'", arg);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v == 0)
		usage_error(cmd, "invalid PID '%s'", arg);
	return v;
}

uint64_t cli_parse_size(const char *cmd, const char *arg)
{
	uint64_t v = 0;
	const char *p = arg;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			usage_error(cmd, "size '%s' is too large", arg);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	static const char units[] = "kMG";
	const char *u = *p ? strchr(units, *p) : NULL;
	if (p == arg || (*p && (!u || p[1])) || v == 0)
		usage_error(cmd, "invalid size '%s' (a number of bytes, with k, M or G)", arg);
	int shift = u ? 10 * (int)(u - units + 1) : 0;
	if (v > UINT64_MAX >> shift)
		usage_error(cmd, "size '%s' is too large", arg);
	return v << shift;
}

int cli_opt(const char *cmd, int argc, char **argv, int *i, const char *lng, char shrt,
	    const char **val)
{
	const char *a = argv[*i];
	const char *v = NULL;
	if (a[0] == '-' && a[1] == '-' && lng) {
		size_t n = strlen(lng);
		if (strncmp(a + 2, lng, n) != 0 || (a[2 + n] && a[2 + n] != '='))
			return 0;
		if (a[2 + n] == '=') {
			if (!val)
				usage_error(cmd, "option '--%s' takes no value", lng);
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
				usage_error(cmd, "option '%s' needs a value", a);
			v = argv[++*i];
		}
		*val = v;
	}
	return 1;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

const char *cli_check_procfs(const char *cmd, const char *dir)
{
	struct modmap_error err;
	if (!*dir)
		usage_error(cmd, "%s", "empty --procfs directory");
	/* A usage error like any other: the directory and why, then where
	 * the help is. */
	if (modmap_check_procfs(dir, &err) < 0)
		usage_error(cmd, "--procfs %s", err.message);
	return dir;
}

uint64_t cli_parse_duration(const char *cmd, const char *arg)
{
	uint64_t v = 0;
	const char *p = arg;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > 86400000)
			usage_error(cmd, "interval '%s' is too long (at most a day)", arg);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	uint64_t ms;
	if (p == arg)
		usage_error(cmd, "invalid interval '%s' (a number with ms or s, e.g. 100ms)", arg);
	if (strcmp(p, "ms") == 0)
		ms = v;
	else if (strcmp(p, "s") == 0)
		ms = v * 1000;
	else
		usage_error(cmd, "invalid interval '%s' (a number with ms or s, e.g. 100ms)", arg);
	if (ms == 0)
		usage_error(cmd, "interval '%s' must be at least 1ms", arg);
	if (ms > 86400000)
		usage_error(cmd, "interval '%s' is too long (at most a day)", arg);
	return ms;
}
