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
"""
import argparse
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


def make_targets(tests):
    """What make must build for these tests."""
    t = set()
    for name in tests:
        if name.startswith("unit:"):
            t.add("build/tests/" + name[5:])
        else:
            t.add("build/modmap")
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
        # Not the fuzzers, nor the Wine prefix (~700 MB) unless a Windows
        # test runs (without it the Wine fixture makes a new one).
        skip = {"fuzz", "wintest"} | (set() if wine else {"wineprefix"})
        (scratch / "build").mkdir()
        for entry in sorted((ROOT / "build").iterdir()):
            if entry.name not in skip:
                subprocess.run(["cp", "-a", str(entry), str(scratch / "build")], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="the .mut files (default: all)")
    ap.add_argument("-k", dest="only", help="only mutants whose id contains this")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copy")
    ap.add_argument("--each", action="store_true",
                    help="run every listed test of a mutant, not only up to the first "
                         "failure, and name the ones that catch it")
    args = ap.parse_args()

    files = [f.resolve() for f in args.files] or sorted((ROOT / "tests/mutants").glob("*.mut"))
    mutants = []
    try:
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
    print(f"mutate: {len(mutants)} mutants; scratch copy {scratch}, log {logpath}")
    results = []
    try:
        copy_tree(scratch, any("test_windows" in t for m in mutants for t in m.tests))
        with open(logpath, "w") as log:
            # The listed tests must pass on the unmutated tree, or a "caught"
            # would mean nothing.
            alltests = sorted({t for m in mutants for t in m.tests})
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
            for m in mutants:
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
                count = text.count(m.find)
                if count != 1:
                    results.append((m, "NO-APPLY", f"find: text occurs {count} times", 0))
                    continue
                path.write_text(text.replace(m.find, m.replace))
                try:
                    fixture = ["fixtures"] if m.file.startswith("tests/fixtures/") else []
                    if not build(scratch, make_targets(m.tests) + fixture, log):
                        # A mutant that does not compile tests nothing.
                        status, why = "NO-BUILD", "does not build (see the log)"
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
                results.append((m, status, why, time.monotonic() - t0))
                print(f"  {m.ident:<28} {status:<9} {why} ({time.monotonic() - t0:.0f}s)",
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
    bad = [r for r in results if r[1] != "caught"]
    print()
    print(f"mutate: {len(results) - len(bad)} of {len(results)} caught")
    for m, status, why, _ in bad:
        print(f"mutate: {status}: {m.ident} ({m.src}): {m.what} -- {why}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
