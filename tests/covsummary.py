#!/usr/bin/python3
"""make coverage: lines and branches of lib/ and cli/ (each a total), and
the files below the goal (docs/testing.md), from gcovr's JSON summary.

    tests/covsummary.py build/coverage/summary.json
"""
import json
import sys

GOAL_LINES, GOAL_BRANCHES = 90.0, 80.0


def pct(n, total):
    return 100.0 * n / total if total else 100.0


def main():
    files = json.load(open(sys.argv[1]))["files"]
    for part in ("lib/", "cli/"):
        mine = [f for f in files if f["filename"].startswith(part)]
        lc, lt = sum(f["line_covered"] for f in mine), sum(f["line_total"] for f in mine)
        bc, bt = sum(f["branch_covered"] for f in mine), sum(f["branch_total"] for f in mine)
        print(f"coverage: {part:<5} lines {pct(lc, lt):5.1f}% ({lc}/{lt}), "
              f"branches {pct(bc, bt):5.1f}% ({bc}/{bt})")
    for f in files:
        f["lines"] = pct(f["line_covered"], f["line_total"])
        f["branches"] = pct(f["branch_covered"], f["branch_total"])
    low = [f for f in files if f["lines"] < GOAL_LINES or f["branches"] < GOAL_BRANCHES]
    for f in sorted(low, key=lambda f: f["lines"]):
        print(f"coverage:   below the goal: {f['filename']:<28} lines {f['lines']:5.1f}% "
              f"branches {f['branches']:5.1f}% "
              f"({f['line_total'] - f['line_covered']} lines not run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
