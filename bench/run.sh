#!/usr/bin/env bash
# Benchmarks modmap against its peers on the same process in the same run,
# and reports ratios (hyperfine's "N times faster than" lines). Timings are
# never asserted anywhere: machines here are noisy.
#
# The target loads $LIBS copies of a small shared object, so it has a module
# map the size of a large application's.
set -euo pipefail
cd "$(dirname "$0")/.."
MODMAP=${MODMAP:-build/modmap}
LIBS=${LIBS:-300}
RUNS=${RUNS:-30}
out=build/bench
mkdir -p "$out/libs"

for i in $(seq 1 "$LIBS"); do
	[ -e "$out/libs/lib$i.so" ] || cp build/fixtures/libfix.so "$out/libs/lib$i.so"
done
args=()
for i in $(seq 1 "$LIBS"); do args+=("load:$out/libs/lib$i.so"); done

coproc TARGET { exec build/fixtures/mapper "${args[@]}"; }
read -r _ <&"${TARGET[0]}"
pid=$TARGET_PID
trap 'kill $pid 2>/dev/null || true' EXIT
echo "target: pid $pid with $(wc -l <"/proc/$pid/maps") mappings, $LIBS extra libraries"

echo
echo "== one process, with build IDs: modmap vs eu-unstrip"
hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$out/one.md" \
	"$MODMAP --pid $pid --source query" \
	"$MODMAP --pid $pid --source maps" \
	"eu-unstrip -n -p $pid"

echo
echo "== one process, no build IDs: modmap vs reading the text"
hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$out/plain.md" \
	"$MODMAP --pid $pid --build-id none --mappings all --source query" \
	"$MODMAP --pid $pid --build-id none --mappings all --source maps" \
	"cat /proc/$pid/maps"

echo
echo "== every process: modmap --all vs eu-unstrip per process"
hyperfine --warmup 1 --runs 5 --export-markdown "$out/all.md" \
	"$MODMAP --all -f json -o /dev/null" \
	"for p in /proc/[0-9]*; do eu-unstrip -n -p \${p#/proc/} >/dev/null 2>&1 || true; done"

echo
echo "instructions for one snapshot (callgrind, repeatable on a noisy machine):"
for src in query maps; do
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$MODMAP" --pid "$pid" \
		--source $src -o /dev/null 2>&1 | sed -n "s/.*Collected : /  $src: /p"
done
