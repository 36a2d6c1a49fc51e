"""What a user reads agrees with what the parser takes.

The parser's table is read from its source (every cli_opt() call of
cli/*.c names a command's long option and its short letter), so this
test does not ask modmap what it accepts. Against it: each command's
`--help` option list and its usage lines, the usage lines of the
top-level `modmap --help`, README's usage block, and the man page's
SYNOPSIS and option lists. libmodmap(3)'s NAME and SYNOPSIS are checked
against the functions the public header exports, and both man pages
against `mandoc -Tlint`. Usage errors are two lines, as README says.
"""
import re
import subprocess

import pytest

from conftest import ROOT, needs, run_modmap

COMMANDS = ("", "attach", "collect", "lookup", "watch")   # "": the snapshot


def parser_table():
    """{command: {long: short or None}} from the cli_opt() calls."""
    table = {c: {} for c in COMMANDS}
    call = re.compile(r'cli_opt\(\s*(NULL|"(\w+)")\s*,\s*argc\s*,\s*argv\s*,\s*&i\s*,\s*'
                      r'"([a-z][a-z-]*)"\s*,\s*(0|\'(.)\')')
    for src in sorted((ROOT / "cli").rglob("*.c")):
        for m in call.finditer(src.read_text()):
            cmd = m.group(2) or ""
            assert cmd in table, f"{src}: cli_opt for unknown command {cmd!r}"
            table[cmd][m.group(3)] = m.group(5)
    for cmd, opts in table.items():
        assert opts, f"no cli_opt() calls found for {cmd or 'modmap'}: the parser moved?"
        # cli_wants_help() takes -h and --help anywhere on the line.
        opts["help"] = "h"
    return table


TABLE = parser_table()


def flags(cmd):
    """Every spelling the parser takes: {'--pid', '-p', ...}."""
    out = set()
    for lng, shrt in TABLE[cmd].items():
        out.add("--" + lng)
        if shrt:
            out.add("-" + shrt)
    return out


def canon(cmd, spelled):
    """-p -> --pid; an option the parser does not know stays as written."""
    for lng, shrt in TABLE[cmd].items():
        if spelled in ("--" + lng, "-" + (shrt or "")):
            return "--" + lng
    return spelled


def help_text(cmd):
    p = run_modmap(*([cmd] if cmd else []), "--help")
    assert p.returncode == 0
    return p.stdout.decode()


def listed_options(text):
    """The option list of a --help: lines that start with two spaces and an
    option, as '  -p, --pid PID' or '      --self'."""
    got = set()
    for line in text.splitlines():
        m = re.match(r"  (?:(-\w), )?\s*(--[a-z][a-z-]*)", line)
        if m:
            got.add(m.group(2))
            if m.group(1):
                got.add(m.group(1))
    return got


def usage_block(text):
    """The usage lines: from 'usage:' to the first blank line."""
    lines = text.split("\n\n", 1)[0].splitlines()
    assert lines[0].startswith("usage: "), lines[0]
    return lines


def usage_of(lines, cmd):
    """The options a usage block names for cmd (continuation lines too)."""
    opts, mine = set(), False
    for line in lines:
        m = re.match(r"(?:usage:)?\s*modmap\b\s*(\S*)", line)
        if m and "modmap" in line.split("(")[0].split("[")[0]:
            word = m.group(1)
            mine = word == cmd or (cmd == "" and word.startswith(("[", "-")))
        if mine:
            opts |= {canon(cmd, o) for o in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", line)}
    return opts


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_lists_every_option_the_parser_takes_and_no_other(cmd):
    listed = listed_options(help_text(cmd))
    assert listed == flags(cmd), (
        f"modmap {cmd} --help: missing {sorted(flags(cmd) - listed)}, "
        f"unknown to the parser {sorted(listed - flags(cmd))}")


@pytest.mark.parametrize("cmd", COMMANDS[1:])
def test_usage_lines_name_every_option_of_each_command(cmd):
    want = {"--" + o for o in TABLE[cmd]} - {"--help"}
    own = usage_of(usage_block(help_text(cmd)), cmd)
    assert own == want, f"modmap {cmd} --help usage: {sorted(own ^ want)}"
    top = usage_of(usage_block(help_text("")), cmd)
    assert top == want, f"modmap --help, {cmd}'s usage line: {sorted(top ^ want)}"
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Usage", 1)[1].split("```", 2)[1].splitlines()
    assert usage_of(block, cmd) == want, f"README's usage of {cmd}"


def test_option_lines_start_in_one_column():
    for cmd in COMMANDS:
        cols = set()
        for line in help_text(cmd).splitlines():
            m = re.match(r"(  (?:-\w, |    )--[a-z-]+(?: [A-Z]+)?)( +)\S", line)
            if m:
                cols.add(len(m.group(1)) + len(m.group(2)))
        assert len(cols) == 1, f"modmap {cmd} --help: descriptions start in columns {cols}"


def man_sections(path):
    """{section name: [its lines]} of a man page."""
    out, cur = {}, None
    for line in path.read_text().splitlines():
        if line.startswith(".SH "):
            cur = line[4:].strip().strip('"')
            out[cur] = []
        elif cur:
            out[cur].append(line)
    return out


def roff_options(lines):
    """Options in roff source lines: \\-\\-pid, \\-p."""
    text = "\n".join(lines).replace("\\-", "-").replace("\\fB", " ").replace("\\fR", " ") \
        .replace("\\fI", " ").replace('"', " ")
    return set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", text))


def tagged_options(lines):
    """Options in the tags of .TP paragraphs (the line after each .TP)."""
    tags = [lines[i + 1] for i, line in enumerate(lines[:-1]) if line.startswith(".TP")]
    return roff_options(tags)


MAN_SECTION = {"": "OPTIONS", "attach": "ATTACH", "collect": "COLLECT",
               "lookup": "LOOKUP", "watch": "WATCH"}


@pytest.mark.parametrize("cmd", COMMANDS)
def test_man_page_lists_each_commands_options(cmd):
    secs = man_sections(ROOT / "docs/modmap.1")
    # -h/--help is in OPTIONS once, for every command.
    want = flags(cmd) - ({"--help", "-h"} if cmd else set())
    tagged = {canon(cmd, o) for o in tagged_options(secs[MAN_SECTION[cmd]])}
    assert tagged == {canon(cmd, o) for o in want}, (
        f"modmap(1) {MAN_SECTION[cmd]}: missing {sorted({canon(cmd, o) for o in want} - tagged)}, "
        f"not taken by the parser {sorted(tagged - {canon(cmd, o) for o in want})}")
    # Short letters as the parser has them.
    for o in tagged_options(secs[MAN_SECTION[cmd]]):
        assert o in flags(cmd), f"modmap(1) {MAN_SECTION[cmd]}: {o}"


def synopsis_commands(path):
    """SYNOPSIS as `man` renders it, one command a line: each line that
    starts with 'modmap' begins a command; lines that do not continue it."""
    lines = man_sections(path)["SYNOPSIS"]
    cmds, cur = [], None
    for line in lines:
        if line.startswith(".B modmap"):
            assert cur is None, f"modmap(1) SYNOPSIS: no .br before {line!r}"
            cur = [line]
            cmds.append(cur)
        elif line == ".br":
            cur = None
        elif cur is not None:
            cur.append(line)
        else:
            pytest.fail(f"modmap(1) SYNOPSIS: {line!r} runs on from the command before")
    return cmds


@pytest.mark.parametrize("cmd", COMMANDS[1:])
def test_man_synopsis_one_command_a_line_with_every_option(cmd):
    cmds = synopsis_commands(ROOT / "docs/modmap.1")
    mine = [c for c in cmds if c[0].split()[2:3] == [cmd]]
    assert len(mine) == 1, f"modmap(1) SYNOPSIS: {len(mine)} lines for {cmd}"
    got = {canon(cmd, o) for o in roff_options(mine[0])}
    assert got == {"--" + o for o in TABLE[cmd]} - {"--help"}, sorted(got)


@needs("mandoc")
def test_man_synopsis_separates_every_command():
    """As a reader sees it (rendered wide enough that nothing wraps): one
    command a line, three snapshot forms, four commands and help/version."""
    p = subprocess.run(["mandoc", "-T", "ascii", "-O", "width=400", str(ROOT / "docs/modmap.1")],
                       capture_output=True, timeout=60, check=True)
    text = re.sub(r".\x08", "", p.stdout.decode())
    synopsis = text.split("SYNOPSIS\n", 1)[1].split("\n\n", 1)[0].splitlines()
    lines = [line.strip() for line in synopsis]
    assert len(lines) == 8 and all(line.startswith("modmap ") for line in lines), lines
    assert all(line.count("modmap") == 1 for line in lines), lines
    words = [line.split()[1] for line in lines]
    assert words[3:7] == ["attach", "collect", "lookup", "watch"], lines


def exported_functions():
    """The calls of include/modmap.h as a program writes them: a *_sz
    function under a macro that passes the sizes (docs/library.md, "The
    ABI") goes by the macro's name."""
    text = (ROOT / "include/modmap.h").read_text()
    names = set(re.findall(r"MODMAP_API\s[^;(]*?\b(modmap_\w+)\s*\(", text))
    macros = set(re.findall(r"#define\s+(modmap_\w+)\(", text))
    return {n[:-3] if n.endswith("_sz") and n[:-3] in macros else n for n in names}


def test_libmodmap3_names_and_shows_every_exported_function():
    secs = man_sections(ROOT / "docs/libmodmap.3")
    name = " ".join(secs["NAME"]).split("\\-")[0]
    named = {n.strip() for n in name.split(",")} - {"libmodmap"}
    synopsis = set(re.findall(r"\b(modmap_\w+)\(", "\n".join(secs["SYNOPSIS"])))
    api = exported_functions()
    assert api, "no MODMAP_API functions found in include/modmap.h"
    assert named == api, f"NAME: missing {sorted(api - named)}, extra {sorted(named - api)}"
    assert synopsis == api, f"SYNOPSIS: missing {sorted(api - synopsis)}, extra {sorted(synopsis - api)}"


@needs("mandoc")
@pytest.mark.parametrize("page", ["modmap.1", "libmodmap.3"])
def test_man_pages_are_clean_under_mandoc_lint(page):
    p = subprocess.run(["mandoc", "-Tlint", "-W", "all", str(ROOT / "docs" / page)],
                       capture_output=True, timeout=60)
    out = (p.stdout + p.stderr).decode()
    assert p.returncode == 0 and out == "", out


@pytest.mark.parametrize("argv, cmd", [
    (["--procfs", "/tmp", "--all"], ""),
    (["--procfs", "", "--all"], ""),
    (["--bogus"], ""),
    (["collect", "--procfs", "/tmp", "--self"], "collect"),
    (["watch", "--pid", "1", "--procfs", "/tmp"], "watch"),
    (["lookup", "--pid", "1", "--procfs", "/tmp", "0"], "lookup"),
    (["attach", "--pid", "1", "--procfs", "/tmp", "p.pb"], "attach"),
])
def test_usage_errors_are_two_lines(argv, cmd):
    p = run_modmap(*argv, check=False)
    assert p.returncode == 2
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("modmap: " + (cmd + ": " if cmd else "")), lines
    assert lines[1] == f"Try 'modmap {cmd + ' ' if cmd else ''}--help'.", lines
