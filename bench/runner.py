#!/usr/bin/python3
"""runner.py: times commands against each other in one run, alternating.

    runner.py JOB [--runs N] [--warmup N] [--mem] [--cmp A/B:TARGET ...]
              [--memcmp NAME:TARGET ...]
              -- NAME CMD [NAME CMD ...]

Each round runs every command once, in an order rotated by one each round,
so a drift in the machine's load falls on all of them alike. A command is
split like a shell word list and run directly (stdout to /dev/null); one
starting with "sh:" goes through sh -c (for pipelines). The time of a run
is its wall time from spawn to exit. --cmp A/B:TARGET prints the ratio of
A's time to B's: the median over rounds of the per-round ratio (each
round's A and B ran side by side), with TARGET a bound like "<=1.15" or
"-" for none; --cmp-cpu the same for CPU time (user + system, children
included: a pipeline's stages run in parallel, so its wall time hides
work). --mem measures each command's peak RSS once more under
/usr/bin/time -f %M; --memcmp NAME:TARGET also prints NAME's peak in MiB
as a line of its own, against TARGET (e.g. "<=16").

Human detail goes to stderr; stdout gets one TSV line per comparison:
job, compared-with, ratio, target, detail."""
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def argv_of(cmd):
    return ["sh", "-c", cmd[3:]] if cmd.startswith("sh:") else shlex.split(cmd)


def run_once(cmd):
    """Wall time and CPU time (user + system, the command's and its waited-
    for children's: a pipeline under sh counts every stage) of one run."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv_of(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    t = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"runner: exit status {p.returncode}: {cmd}")
    return t, ru.ru_utime + ru.ru_stime


def peak_kib(cmd):
    with tempfile.NamedTemporaryFile() as f:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name, *argv_of(cmd)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return int(f.read().split()[-1])


def meets(ratio, target):
    if target in ("", "-"):
        return ""
    op, bound = target[:2], float(target[2:])
    return "yes" if (ratio <= bound if op == "<=" else ratio >= bound) else "NO"


def main():
    args = sys.argv[1:]
    job, args = args[0], args[1:]
    runs, warmup, mem, cmps, memcmps = 20, 2, False, [], []
    while args and args[0] != "--":
        a = args.pop(0)
        if a == "--runs":
            runs = int(args.pop(0))
        elif a == "--warmup":
            warmup = int(args.pop(0))
        elif a == "--mem":
            mem = True
        elif a == "--memcmp":
            n, t = args.pop(0).split(":", 1)
            memcmps.append((n, t))
            mem = True
        elif a == "--cmp":
            cmps.append(args.pop(0))
        elif a == "--cmp-cpu":
            cmps.append("cpu:" + args.pop(0))
        else:
            sys.exit(f"runner: unknown option {a}")
    args = args[1:]
    names, cmds = args[0::2], dict(zip(args[0::2], args[1::2]))
    for _ in range(warmup):
        for n in names:
            run_once(cmds[n])
    times = {n: [] for n in names}
    cpu = {n: [] for n in names}
    for r in range(runs):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            t, c = run_once(cmds[n])
            times[n].append(t)
            cpu[n].append(c)
    peaks = {n: peak_kib(cmds[n]) for n in names} if mem else {}
    print(f"== {job}: {runs} alternating rounds", file=sys.stderr)
    for n in names:
        t = times[n]
        extra = f", peak {peaks[n] / 1024:.1f} MiB" if n in peaks else ""
        print(f"  {n:24} median {statistics.median(t) * 1e3:9.2f} ms  "
              f"(min {min(t) * 1e3:.2f}, max {max(t) * 1e3:.2f}; "
              f"CPU {statistics.median(cpu[n]) * 1e3:.2f}){extra}   {cmds[n]}",
              file=sys.stderr)
    for c in cmps:
        kind, series = ("cpu", cpu) if c.startswith("cpu:") else ("", times)
        pair, target = c.removeprefix("cpu:").split(":", 1)
        a, b = pair.split("/")
        ratio = statistics.median(x / y for x, y in zip(series[a], series[b]))
        ok = meets(ratio, target)
        detail = (f"{a} {statistics.median(series[a]) * 1e3:.2f} ms vs {b} "
                  f"{statistics.median(series[b]) * 1e3:.2f} ms{' of CPU' if kind else ''}, "
                  f"{runs} rounds")
        if a in peaks:
            detail += f"; peak {a} {peaks[a] / 1024:.1f} MiB"
        print(f"  {a} / {b} = {ratio:.3f} (target {target}{' ' + ok if ok else ''})",
              file=sys.stderr)
        print(f"{job}:{a}\t{b}{' (cpu)' if kind else ''}\t{ratio:.3f}\t{target}\t{detail}",
              flush=True)
    for n, target in memcmps:
        mib = peaks[n] / 1024
        ok = meets(mib, target)
        print(f"  {n} peak RSS {mib:.1f} MiB (target {target}{' ' + ok if ok else ''})",
              file=sys.stderr)
        print(f"{job}:{n}\tpeak MiB\t{mib:.1f}\t{target}\t/usr/bin/time -f %M, one run",
              flush=True)


main()
