#!/usr/bin/python3
"""make mutate: plants each deliberate bug of tests/mutants/*.mut in a
scratch copy of the tree and runs the tests that should catch it.

A .mut file holds entries of this form (see docs/testing.md):

    ## short-id: what bug this plants
    file: lib/attach.c
    find: exact text of one line (or part of one) as it is now
    replace: the buggy text
    tests: unit:test_attach e2e:tests/e2e/test_attach.py::test_name

The real tree is never edited: the tracked files (and build/, so only what
a mutant touches is rebuilt) are copied to a scratch directory once; each
mutant is applied there, its tests built and run, and the file restored.
A mutant is caught when at least one of its tests fails (or hangs). Exit
status 1 when any mutant survives, does not apply (its `find` text is not
in the file exactly once), does not build, or its tests fail unmutated.

    tests/mutate.py [-k SUBSTRING] [--each] [--keep] [MUTFILE ...]

With --random N (make mutate-random), the mutants are made here instead:
one-line operator mutants (comparisons and && / || flipped, constants off
by one, checks dropped, conditions negated, two arguments swapped) on N
lines drawn with --seed from the lines of lib/ and cli/ the tests run
(build/coverage/coverage.json from `make coverage`, else every line of
code), each run against its file's tests (tests/mutants/areas.txt). A
survivor listed in tests/mutants/accepted.txt (an equivalent mutant) is
reported as accepted; any other fails the run.
"""
import argparse
import fnmatch
import json
import random
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
TIMEOUT = 600  # seconds for one mutant's tests: a hang counts as caught


class Mutant:
    def __init__(self, src, ident, what):
        self.src, self.ident, self.what = src, ident, what
        self.file = self.find = self.replace = None
        self.tests = []
        self.line = None  # --random: the line (1-based) find is on


def parse(path):
    """The mutants of one .mut file; raises ValueError on a malformed one."""
    out = []
    cur = None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        where = f"{path.relative_to(ROOT)}:{n}"
        if line.startswith("## "):
            m = re.match(r"## ([A-Za-z0-9_.-]+):\s*(.*)$", line)
            if not m:
                raise ValueError(f"{where}: expected '## id: description'")
            cur = Mutant(where, m.group(1), m.group(2))
            out.append(cur)
        elif not line.strip() or line.startswith("#"):
            continue
        else:
            key, sep, val = line.partition(":")
            if not sep or cur is None or key not in ("file", "find", "replace", "tests"):
                raise ValueError(f"{where}: expected file:, find:, replace: or tests:")
            val = val[1:] if val.startswith(" ") else val
            if key == "tests":
                cur.tests += val.split()
            else:
                setattr(cur, key, val)
    for m in out:
        for key in ("file", "find", "replace"):
            if getattr(m, key) is None:
                raise ValueError(f"{m.src}: {m.ident} has no {key}:")
        if not m.tests:
            raise ValueError(f"{m.src}: {m.ident} names no tests")
        for t in m.tests:
            if not re.match(r"(unit:test_\w+|e2e:tests/e2e/\S+)$", t):
                raise ValueError(f"{m.src}: {m.ident}: bad test {t!r}")
        if m.find == m.replace:
            raise ValueError(f"{m.src}: {m.ident}: replace equals find")
    return out


def apply(m, text):
    """text with m planted, or None when it does not apply: find must occur
    once in the file (or, for a mutant of --random, be its line)."""
    if m.line is not None:
        lines = text.split("\n")
        if m.line > len(lines) or lines[m.line - 1] != m.find:
            return None
        lines[m.line - 1] = m.replace
        return "\n".join(lines)
    if text.count(m.find) != 1:
        return None
    return text.replace(m.find, m.replace)


def make_targets(tests):
    """What make must build for these tests."""
    t = set()
    for name in tests:
        if name.startswith("unit:"):
            t.add("build/tests/" + name[5:])
        else:
            t.add("build/modmap")
            # Fixtures that link the library (apiprobe) rebuild with it.
            t.add("fixtures")
            if "test_windows" in name:
                t.add("win-fixtures")
            if "test_cbor" in name:
                t.add("build/nocbor/modmap")
            if "test_seam" in name:
                t.add("build/osnone/modmap")
    return sorted(t)


def run_tests(scratch, tests, log):
    """Runs tests in scratch; returns (failed, why)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("MODMAP", None)
    units = [t[5:] for t in tests if t.startswith("unit:")]
    e2e = [t[4:] for t in tests if t.startswith("e2e:")]
    deadline = time.monotonic() + TIMEOUT
    for u in units:
        try:
            p = subprocess.run([f"build/tests/{u}"], cwd=scratch, env=env, stdout=log,
                               stderr=subprocess.STDOUT, timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return True, f"{u}: timed out"
        if p.returncode != 0:
            return True, f"{u} failed"
    if e2e:
        try:
            p = subprocess.run([PYTHON, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                "-o", "addopts=", *e2e], cwd=scratch, env=env, stdout=log,
                               stderr=subprocess.STDOUT,
                               timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return True, "pytest: timed out"
        if p.returncode == 1:
            return True, "pytest: a test failed"
        if p.returncode != 0:
            # 2-5: interrupted, internal error, usage, no tests: the list is wrong.
            raise RuntimeError(f"pytest exited {p.returncode} (is every test id right?)")
    return False, "all passed"


def build(scratch, targets, log):
    p = subprocess.run(["make", "-j2", "--no-print-directory", *targets], cwd=scratch,
                       stdout=log, stderr=subprocess.STDOUT)
    return p.returncode == 0


def copy_tree(scratch, wine):
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.split(b"\0")
    for f in files:
        if not f:
            continue
        src = ROOT / os.fsdecode(f)
        if not src.exists():  # deleted in the work tree
            continue
        dst = scratch / os.fsdecode(f)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)
    if (ROOT / "build").is_dir():
        # cp -a keeps times, so make rebuilds only what a mutant changes.
        # Not the fuzzers, the coverage and sanitizer builds, nor the Wine
        # prefix (~700 MB) unless a Windows test runs (without it the Wine
        # fixture makes a new one).
        skip = {"fuzz", "wintest", "cov", "coverage", "asan"} | (set() if wine else {"wineprefix"})
        (scratch / "build").mkdir()
        for entry in sorted((ROOT / "build").iterdir()):
            if entry.name not in skip:
                subprocess.run(["cp", "-a", str(entry), str(scratch / "build")], check=True)


# ---- --random: mutants nobody chose ------------------------------------------

AREAS = ROOT / "tests/mutants/areas.txt"
ACCEPTED = ROOT / "tests/mutants/accepted.txt"
COVERAGE = ROOT / "build/coverage/coverage.json"
KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "defined", "_Alignof"}


def read_areas():
    """[(glob, [tests])] from tests/mutants/areas.txt, in its order."""
    out = []
    for n, line in enumerate(AREAS.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        pat, sep, tests = line.partition(":")
        if not sep:
            raise ValueError(f"{AREAS.name}:{n}: expected 'PATTERN: TESTS'")
        tests = tests.split()
        if tests == ["-"]:
            tests = []
        for t in tests:
            if not re.match(r"(unit:test_\w+|e2e:tests/e2e/\S+)$", t):
                raise ValueError(f"{AREAS.name}:{n}: bad test {t!r}")
        out.append((pat.strip(), tests))
    return out


def area_tests(path, areas):
    for pat, tests in areas:
        if fnmatch.fnmatch(path, pat):
            return tests
    return None


def read_accepted():
    """[{file, after, find, replace, why}]: survivors judged equivalent
    (tests/mutants/accepted.txt, docs/testing.md)."""
    out, cur = [], None
    if not ACCEPTED.exists():
        return out
    for n, line in enumerate(ACCEPTED.read_text().splitlines(), 1):
        if line.startswith("## "):
            cur = {"why": line[3:].strip(), "after": []}
            out.append(cur)
        elif line.strip() and not line.startswith("#"):
            key, sep, val = line.partition(":")
            if not sep or cur is None or key not in ("file", "after", "find", "replace"):
                raise ValueError(f"{ACCEPTED.name}:{n}: expected file:, after:, find: or "
                                 "replace:")
            if key == "after":
                cur["after"].append(val.strip())
            else:
                cur[key] = val.strip()
    for a in out:
        if not all(k in a for k in ("file", "find", "replace")):
            raise ValueError(f"{ACCEPTED.name}: '{a['why']}' lacks file:, find: or replace:")
    return out


def accepted_why(m, accepted, text):
    """The reason m is accepted as equivalent, or None. An entry's after:
    lines (those before it, in order, for a line that occurs more than
    once) must match."""
    lines = text.split("\n")
    for a in accepted:
        n = len(a["after"])
        before = [l.strip() for l in lines[max(0, m.line - 1 - n):m.line - 1]] if m.line else []
        if (a["file"], a["find"], a["replace"]) == (m.file, m.find.strip(), m.replace.strip()) \
                and a["after"] == before:
            return a["why"]
    return None


def executed_lines():
    """{file: set of line numbers run at least once} from `make coverage`
    (gcovr's JSON), or None when there is none."""
    if not COVERAGE.exists():
        return None
    data = json.loads(COVERAGE.read_text())
    return {f["file"]: {l["line_number"] for l in f["lines"] if l["count"] > 0}
            for f in data["files"]}


def code_only(line, in_comment):
    """line with string and character literals and comments blanked (same
    length), and whether a /* comment continues past it."""
    out, i = [], 0
    while i < len(line):
        if in_comment:
            end = line.find("*/", i)
            if end < 0:
                out.append(" " * (len(line) - i))
                return "".join(out), True
            out.append(" " * (end + 2 - i))
            i, in_comment = end + 2, False
        elif line.startswith("/*", i):
            in_comment = True
        elif line.startswith("//", i):
            out.append(" " * (len(line) - i))
            break
        elif line[i] in "\"'":
            q, j = line[i], i + 1
            while j < len(line) and line[j] != q:
                j += 2 if line[j] == "\\" else 1
            out.append(" " * (min(j, len(line) - 1) + 1 - i))
            i = j + 1
        else:
            out.append(line[i])
            i += 1
    return "".join(out)[:len(line)], in_comment


def matching_paren(code, open_at):
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == "(":
            depth += 1
        elif code[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


FLIP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==",
        "&&": "||", "||": "&&"}


def line_mutants(line, code):
    """(operator, mutated line) for one line of C; code is the line with
    literals and comments blanked, so only code is touched."""
    out = []

    def at(i, j, new):
        return line[:i] + new + line[j:]
    # comparison flips and && <-> ||
    for m in re.finditer(r"&&|\|\||<=|>=|==|!=|(?<![<>\-])[<>](?![<>=])", code):
        tok = m.group()
        if tok in "<>" and re.match(r"\s*#\s*include", code):
            continue
        out.append((f"'{tok}' -> '{FLIP[tok]}'", at(m.start(), m.end(), FLIP[tok])))
    # off-by-one constants (decimal, not part of a name or a float)
    for m in re.finditer(r"(?<![\w.])(\d+)(?![\w.])", code):
        n = int(m.group(1))
        out.append((f"{n} -> {n + 1}", at(m.start(), m.end(), str(n + 1))))
        if n > 0:
            out.append((f"{n} -> {n - 1}", at(m.start(), m.end(), str(n - 1))))
    # dropped checks: a condition that never holds, or always
    for m in re.finditer(r"\b(if|while)\s*\(", code):
        close = matching_paren(code, m.end() - 1)
        if close is None:
            continue
        cond = line[m.end():close]
        if m.group(1) == "if":
            out.append(("check dropped", at(m.end(), close, f"0 && ({cond})")))
        out.append(("condition negated", at(m.end(), close, f"!({cond})")))
    # swapped arguments of a two-argument call, and swapped operands of -
    for m in re.finditer(r"\b(\w+)\s*\(([\w.\->\[\]]+), ([\w.\->\[\]]+)\)", code):
        if m.group(1) in KEYWORDS or m.group(2) == m.group(3):
            continue
        out.append((f"{m.group(1)}: arguments swapped",
                    at(m.start(2), m.end(3), f"{m.group(3)}, {m.group(2)}")))
    return out


def random_mutants(rng, areas, executed, only_files=None):
    """Every candidate mutant of lib/ and cli/, grouped by line: {(file,
    line number): [Mutant]}, each with its area's tests."""
    by_line = {}
    files = sorted(p for p in ROOT.glob("lib/**/*.c")) + sorted(ROOT.glob("cli/*.c"))
    for path in files:
        rel = str(path.relative_to(ROOT))
        tests = area_tests(rel, areas)
        if not tests or (only_files and rel not in only_files):
            continue
        ran = executed.get(rel) if executed is not None else None
        in_comment = False
        for n, line in enumerate(path.read_text().split("\n"), 1):
            code, in_comment = code_only(line, in_comment)
            if not code.strip() or code.lstrip().startswith("#"):
                continue
            if ran is not None and n not in ran:
                continue
            muts = []
            for op, new in line_mutants(line, code):
                mut = Mutant(f"{rel}:{n}", f"{rel}:{n}", op)
                mut.file, mut.find, mut.replace, mut.line = rel, line, new, n
                mut.tests = tests
                muts.append(mut)
            if muts:
                by_line[(rel, n)] = muts
    return by_line


def pick_random(by_line, rng, count):
    """count lines, at random, and one mutant on each: the order to try
    them in (a mutant that does not build gives way to the next)."""
    keys = sorted(by_line)
    rng.shuffle(keys)
    return [rng.choice(by_line[k]) for k in keys[:count]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="the .mut files (default: all)")
    ap.add_argument("-k", dest="only", help="only mutants whose id contains this")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copy")
    ap.add_argument("--each", action="store_true",
                    help="run every listed test of a mutant, not only up to the first "
                         "failure, and name the ones that catch it")
    ap.add_argument("--random", type=int, metavar="N",
                    help="instead of the .mut files: N mutants made at random (one per "
                         "line) on lines of lib/ and cli/ the tests run (build/coverage from "
                         "`make coverage`, else every line of code), each run against its "
                         "file's tests (tests/mutants/areas.txt)")
    ap.add_argument("--seed", help="with --random: the seed, decimal or hex (a commit id); "
                                   "default: the time")
    ap.add_argument("--source", action="append", metavar="FILE",
                    help="with --random: only this source file (repeatable)")
    args = ap.parse_args()

    accepted = []
    try:
        if args.random:
            seed = int(time.time()) if args.seed is None else \
                int(args.seed, 10) if args.seed.isdigit() else int(args.seed, 16)
            executed = executed_lines()
            by_line = random_mutants(random.Random(seed), read_areas(), executed,
                                     set(args.source or []) or None)
            mutants = pick_random(by_line, random.Random(seed), len(by_line))
            accepted = read_accepted()
            print(f"mutate: --random {args.random} --seed {seed}: {len(by_line)} lines to "
                  f"choose from ({'executed, from ' + str(COVERAGE.relative_to(ROOT)) if executed is not None else 'every line of code: no coverage data'})")
        else:
            files = [f.resolve() for f in args.files] or \
                sorted((ROOT / "tests/mutants").glob("*.mut"))
            mutants = []
            for f in files:
                mutants += parse(f)
    except ValueError as e:
        print(f"mutate: {e}", file=sys.stderr)
        return 2
    ids = [m.ident for m in mutants]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        print(f"mutate: mutant ids used twice: {', '.join(sorted(dup))}", file=sys.stderr)
        return 2
    if args.only:
        mutants = [m for m in mutants if args.only in m.ident]
    if not mutants:
        print("mutate: no mutants", file=sys.stderr)
        return 2

    scratch = Path(tempfile.mkdtemp(prefix="modmap-mutate-"))
    logpath = scratch.with_suffix(".log")
    print(f"mutate: {args.random or len(mutants)} mutants; scratch copy {scratch}, log {logpath}")
    results = []
    try:
        copy_tree(scratch, any("test_windows" in t for m in mutants for t in m.tests))
        with open(logpath, "w") as log:
            # The listed tests must pass on the unmutated tree, or a "caught"
            # would mean nothing.
            # (--random: each area's tests the first time a mutant needs them.)
            alltests = sorted({t for m in mutants for t in m.tests}) if not args.random else []
            log.write("==== baseline\n")
            log.flush()
            base = ["all"] + make_targets(alltests)
            if not build(scratch, base + ["fixtures"], log):
                print(f"mutate: the unmutated tree does not build (see {logpath})")
                return 1
            failed, why = run_tests(scratch, alltests, log)
            if failed:
                print(f"mutate: the tests fail on the unmutated tree: {why} (see {logpath})")
                return 1
            verified = set(alltests)
            ran = 0
            for m in mutants:
                if args.random and ran >= args.random:
                    break
                fresh = [t for t in m.tests if t not in verified]
                if fresh:
                    log.write(f"==== baseline of {' '.join(fresh)}\n")
                    log.flush()
                    if not build(scratch, make_targets(fresh), log) or \
                            run_tests(scratch, fresh, log)[0]:
                        print(f"mutate: {' '.join(fresh)} fail on the unmutated tree "
                              f"(see {logpath})")
                        return 1
                    verified.update(fresh)
                t0 = time.monotonic()
                path = scratch / m.file
                log.write(f"==== {m.ident} ({m.src})\n")
                log.flush()
                try:
                    orig = path.read_bytes()
                except OSError as e:
                    results.append((m, "NO-APPLY", str(e), 0))
                    continue
                text = orig.decode()
                mutated = apply(m, text)
                if mutated is None:
                    results.append((m, "NO-APPLY", f"find: text occurs {text.count(m.find)} "
                                    "times", 0))
                    continue
                path.write_text(mutated)
                try:
                    fixture = ["fixtures"] if m.file.startswith("tests/fixtures/") else []
                    if not build(scratch, make_targets(m.tests) + fixture, log):
                        # A mutant that does not compile tests nothing (made
                        # at random, it is simply not counted).
                        status, why = ("no-build" if args.random else "NO-BUILD",
                                       "does not build (see the log)")
                    elif args.each:
                        catchers = [t for t in m.tests if run_tests(scratch, [t], log)[0]]
                        status = "caught" if catchers else "SURVIVED"
                        why = "by " + " ".join(catchers) if catchers else "all passed"
                    else:
                        failed, why = run_tests(scratch, m.tests, log)
                        status = "caught" if failed else "SURVIVED"
                except RuntimeError as e:
                    status, why = "ERROR", str(e)
                finally:
                    path.write_bytes(orig)  # a newer mtime: make rebuilds it next time
                if status == "SURVIVED" and accepted_why(m, accepted, text):
                    status, why = "accepted", accepted_why(m, accepted, text)
                if status != "no-build":
                    ran += 1
                results.append((m, status, why, time.monotonic() - t0))
                print(f"  {m.ident:<28} {status:<9} {why} ({time.monotonic() - t0:.0f}s)",
                      flush=True)
                if args.random and status in ("SURVIVED", "accepted"):
                    print(f"    {m.what}: {m.find.strip()}\n    ->  {m.replace.strip()}",
                          flush=True)
    finally:
        if args.keep:
            print(f"mutate: scratch copy kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(f"{'mutant':<28} {'status':<9} {'secs':>5}  file / bug")
    for m, status, why, secs in results:
        print(f"{m.ident:<28} {status:<9} {secs:5.0f}  {m.file}: {m.what}")
    bad = [r for r in results if r[1] not in ("caught", "accepted", "no-build")]
    counted = [r for r in results if r[1] != "no-build"]
    print()
    print(f"mutate: {sum(r[1] == 'caught' for r in counted)} of {len(counted)} caught"
          + (f", {sum(r[1] == 'accepted' for r in counted)} accepted as equivalent "
             f"({ACCEPTED.relative_to(ROOT)}), {len(results) - len(counted)} did not build; "
             f"seed {seed}" if args.random else ""))
    for m, status, why, _ in bad:
        print(f"mutate: {status}: {m.ident} ({m.src}): {m.what} -- {why}")
        if args.random:
            prev = (ROOT / m.file).read_text().split("\n")[m.line - 2].strip() \
                if m.line >= 2 else ""
            print(f"  file: {m.file}\n  after: {prev}\n  find: {m.find.strip()}\n"
                  f"  replace: {m.replace.strip()}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
