/*
 * main.c - the modmap command: a table of subcommands, and the dispatch
 * to one. Each command parses its own options (cmd_<name>.c) and calls
 * the library; this file does nothing else.
 */
#include <string.h>

#include "cli.h"
#include "term.h"

static const struct cli_command commands[] = {
	{ "attach", "attach (--pid PID | --snapshot FILE) PROFILE [-o OUT] [--max-size N]",
	  cmd_attach },
	{ "collect", "collect (--pid PID ... | --self | --all) [-o DIR]", cmd_collect },
	{ "lookup", "lookup (--pid PID | --snapshot FILE) [-f text|json|jsonl] [ADDR ...]",
	  cmd_lookup },
	{ "watch", "watch --pid PID [--interval DURATION] [--procfs DIR]", cmd_watch },
	{ NULL, "[OPTIONS] (--pid PID ... | --self | --all)", cmd_snapshot },
};

int main(int argc, char **argv)
{
	term_args(&argc, &argv);
	const struct cli_command *c = commands;
	for (; c->name; c++)
		if (argc > 1 && strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	return c->run(argc, argv);
}
