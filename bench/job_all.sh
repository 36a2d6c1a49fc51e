#!/usr/bin/env bash
# job_all.sh - every process on the machine: modmap --all against
# eu-unstrip run once per process (5 rounds: the loop takes seconds), and
# modmap's peak memory before and after $EXTRA more processes of 1,000
# mappings each are started: --all -f json holds every snapshot until the
# document is written, so it grows; -f jsonl (when this build has it)
# should not.
# shellcheck source=/dev/null
. "$(dirname "$0")/common.sh"
EXTRA=${EXTRA:-50}

# shellcheck disable=SC2016 # the loop is expanded by sh -c, not here
$RUNNER all --runs 5 --warmup 1 --cmp "modmap/eu-unstrip-loop:-" -- \
	modmap "$MODMAP --all -f json" \
	eu-unstrip-loop 'sh:for p in /proc/[0-9]*; do eu-unstrip -n -p ${p#/proc/} >/dev/null 2>&1; done; true'

formats=(json)
if "$MODMAP" --self -f jsonl >/dev/null 2>&1; then formats+=(jsonl); fi

peak() { # peak RSS in KiB of modmap --all -f $1
	/usr/bin/time -f %M -o "$BENCH/run/all.peak" "$MODMAP" --all -f "$1" >/dev/null 2>&1 || true
	tail -1 "$BENCH/run/all.peak"
}
# One process of the size to come is there from the start, so the second
# measure differs by the number of processes, not by the largest one.
start_target all0 "$BENCH/manymaps" 1000 build/fixtures/libfix.so
declare -A before
for f in "${formats[@]}"; do before[$f]=$(peak "$f"); done
n0=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
for i in $(seq 1 "$EXTRA"); do start_target "all$i" "$BENCH/manymaps" 1000 build/fixtures/libfix.so; done
n1=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
for f in "${formats[@]}"; do
	after=$(peak "$f")
	ratio=$(awk -v a="$after" -v b="${before[$f]}" 'BEGIN { printf "%.3f", a / b }')
	target=-
	[ "$f" = jsonl ] && target="<=1.1"
	echo "all -f $f: peak $((before[$f] / 1024)) MiB with $n0 processes, $((after / 1024)) MiB with $n1 ($EXTRA more, 1,000 mappings each)" >&2
	printf 'all-%s:peak\tfewer processes\t%s\t%s\t%s KiB with %s processes, %s KiB with %s\n' \
		"$f" "$ratio" "$target" "${before[$f]}" "$n0" "$after" "$n1"
done
