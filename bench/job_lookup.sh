#!/usr/bin/env bash
# job_lookup.sh - `modmap lookup` answering a million addresses from
# standard input, against its floor: `cat` reading the same addresses
# (SPEC: "about as long as reading them"). Runs alternate (cat, modmap,
# cat, modmap, ...) so load on the machine falls on both alike; the ratio
# is of medians. Peak memory comes from GNU time (%M), at a million and at
# ten thousand addresses: it must not grow with the input.
#
# Human detail goes to standard error; standard output gets one TSV line
# per comparison: job, compared-with, ratio, target, detail.
# Knobs: MODMAP, LOOKUP_RUNS (rounds, at least 10), LOOKUP_N (addresses).
set -euo pipefail
cd "$(dirname "$0")/.."
MODMAP=${MODMAP:-build/modmap}
RUNS=${LOOKUP_RUNS:-11}
N=${LOOKUP_N:-1000000}
OUT=build/bench
mkdir -p "$OUT"
[ "$RUNS" -ge 10 ] || { echo "job_lookup: LOOKUP_RUNS must be at least 10" >&2; exit 2; }

# The target: lookupfix with its library, waiting on a FIFO held open here.
fifo=$OUT/lookup-target.in
rm -f "$fifo"
mkfifo "$fifo"
build/fixtures/lookupfix build/fixtures/lookuplib.so <"$fifo" >"$OUT/lookup-target.out" &
pid=$!
# shellcheck disable=SC2034 # hold is used: the trap closes it by name
exec {hold}>"$fifo"
trap 'exec {hold}>&-; kill $pid 2>/dev/null || true' EXIT
deadline=$((SECONDS + 60))
until grep -q '^exe=' "$OUT/lookup-target.out"; do
	kill -0 "$pid" 2>/dev/null || { echo "job_lookup: lookupfix exited" >&2; exit 1; }
	[ "$SECONDS" -lt "$deadline" ] || { echo "job_lookup: lookupfix not ready" >&2; exit 1; }
	sleep 0.05
done

/usr/bin/python3 - "$MODMAP" "$pid" "$OUT" "$RUNS" "$N" <<'PY'
import os, re, statistics, subprocess, sys, tempfile, time

modmap, pid, out, runs, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
ready = open(f"{out}/lookup-target.out").read()
exe, lib = (int(x, 16) for x in re.findall(r"=(0x[0-9a-f]+)", ready))

# Addresses as a profiler has them: most in code (the executable's and the
# library's text), some in data, some unmapped.
def write_addrs(path, count):
    with open(path, "w") as f:
        for i in range(count):
            k = i % 16
            a = exe + (i * 7) % 512 if k < 7 else lib + (i * 13) % 4096 if k < 14 \
                else 0x1000 + i if k == 14 else lib - 0x100000
            f.write(f"{a:x}\n")

big, small = f"{out}/lookup-1M.txt", f"{out}/lookup-10k.txt"
write_addrs(big, n)
write_addrs(small, 10_000)
size = os.path.getsize(big)

def timed(argv, stdin):
    """Wall time and CPU time (user + system) of one run."""
    with open(stdin, "rb") as f, open(os.devnull, "wb") as null:
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdin=f, stdout=null)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        sys.exit(f"job_lookup: {argv[0]} exited {p.returncode}")
    return dt, ru.ru_utime + ru.ru_stime

def peak_kb(argv, stdin):
    with tempfile.NamedTemporaryFile() as t, open(stdin, "rb") as f:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", t.name, *argv], stdin=f,
                       stdout=subprocess.DEVNULL, check=True)
        return int(t.read().split()[-1])

label = f"lookup {n // 1000000}M addrs" if n % 1000000 == 0 else f"lookup {n} addrs"
print(f"job_lookup: {n} addresses ({size} bytes) on standard input, pid {pid}, "
      f"{runs} alternating runs", file=sys.stderr)
for fmt in ["text", "jsonl"]:
    look = [modmap, "lookup", "--pid", pid, "-f", fmt]
    floor = ["cat"]
    timed(floor, big), timed(look, big)          # warm the page cache and the binary
    tf, tm = [], []
    for _ in range(runs):
        tf.append(timed(floor, big))
        tm.append(timed(look, big))
    mf, mm = (statistics.median(w for w, _ in t) for t in (tf, tm))
    cf, cm = (statistics.median(c for _, c in t) for t in (tf, tm))
    rss_big, rss_small = peak_kb(look, big), peak_kb(look, small)
    ratio = mm / mf
    print(f"  -f {fmt}: modmap median {mm * 1000:.1f} ms wall, {cm * 1000:.1f} ms CPU; "
          f"cat median {mf * 1000:.1f} ms wall, {cf * 1000:.1f} ms CPU: {ratio:.1f}x wall, "
          f"{cm / max(cf, 1e-4):.1f}x CPU; {cm / n * 1e9:.0f} ns CPU an address; "
          f"peak {rss_big / 1024:.1f} MB at {n}, {rss_small / 1024:.1f} MB at 10000",
          file=sys.stderr)
    name = label if fmt == "text" else f"{label} jsonl"
    print(f"{name}\tcat\t{ratio:.1f}\t<=2\tpeak {rss_big / 1024:.1f} MB "
          f"({rss_small / 1024:.1f} MB at 10k); CPU {cm * 1000:.0f} ms vs {cf * 1000:.0f} ms",
          flush=True)
PY
