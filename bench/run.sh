#!/usr/bin/env bash
# run.sh - `make bench`: runs every bench/job_*.sh (or those in JOBS), each
# of which prints its human detail on stderr and, on stdout, one TSV line
# per comparison: job, compared-with, ratio, target, detail. Ends with one
# summary table of them all. Ratios are between commands of one run,
# alternating, medians (bench/runner.py); timings are never asserted by
# any test. Knobs: JOBS, RUNS, BEFORE, LIBS, MAPS, ATTACH_MB, EXTRA
# (bench/README.md).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
mkdir -p build/bench
results=build/bench/results.tsv
: >"$results"
status=0
for job in ${JOBS:-bench/job_*.sh}; do
	echo "=== $job" >&2
	if ! bash "$job" >>"$results"; then
		echo "bench: $job failed" >&2
		status=1
	fi
done

echo
echo "summary (ratio = time of the first / time of the second, median of"
echo "alternating rounds; 'peak MiB' rows give megabytes; all in $results):"
awk -F'\t' '
	BEGIN { printf "%-36s %-18s %8s %8s  %s\n", "job", "compared with", "ratio", "target", "met" }
	{
		met = ""
		if ($4 ~ /^<=/) met = ($3 + 0 <= substr($4, 3) + 0) ? "yes" : "NO"
		else if ($4 ~ /^>=/) met = ($3 + 0 >= substr($4, 3) + 0) ? "yes" : "NO"
		printf "%-36s %-18s %8s %8s  %s\n", $1, $2, $3, $4, met
	}' "$results"
exit $status
