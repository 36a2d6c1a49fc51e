# shellcheck shell=bash
# common.sh - what every bench/job_*.sh shares (sourced, never run).
# Knobs: MODMAP (the binary), RUNS (rounds for the short jobs), BEFORE (an
# older modmap to compare with, e.g. one built from main), LIBS, MAPS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODMAP=${MODMAP:-build/modmap}
RUNS=${RUNS:-20}
BEFORE=${BEFORE:-}
BENCH=build/bench
RUNNER="/usr/bin/python3 bench/runner.py"
mkdir -p "$BENCH/run"
TARGET_PIDS=()
TARGET_FDS=()

stop_targets() {
	local fd
	for fd in "${TARGET_FDS[@]}"; do exec {fd}>&-; done
	for pid in "${TARGET_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	TARGET_PIDS=()
	TARGET_FDS=()
}
trap stop_targets EXIT

# start_target NAME CMD...: runs CMD with its standard input a FIFO held
# open here (the fixtures exit when it closes), waits up to 300 s for the
# line "ready..." it prints when everything is mapped, and sets TARGET_PID.
start_target() {
	local name=$1 fd
	shift
	local in=$BENCH/run/$name.in out=$BENCH/run/$name.out
	rm -f "$in"
	: >"$out"
	mkfifo "$in"
	"$@" <"$in" >"$out" &
	TARGET_PID=$!
	TARGET_PIDS+=("$TARGET_PID")
	exec {fd}>"$in"
	TARGET_FDS+=("$fd")
	local deadline=$((SECONDS + 300))
	until grep -q '^ready' "$out"; do
		kill -0 "$TARGET_PID" 2>/dev/null || { echo "bench: $name exited before ready" >&2; exit 1; }
		[ "$SECONDS" -lt "$deadline" ] || { echo "bench: $name not ready in 300 s" >&2; exit 1; }
		sleep 0.1
	done
}

# compare JOB TARGET OPTS... -- floor CMD modmap ARGS [NAME CMD...]: runs
# runner.py on the floor, modmap (ARGS after $MODMAP) and the peers given,
# comparing modmap with the floor against TARGET (wall and CPU time) and with each peer
# (informational); with BEFORE set, also an older binary on the same ARGS.
compare() {
	local job=$1 target=$2
	shift 2
	local opts=() cmds=() cmps=(--cmp "modmap/floor:$target" --cmp-cpu "modmap/floor:$target")
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	cmds+=("$1" "$2" "$3" "$MODMAP $4")
	local args=$4
	shift 4
	while [ $# -gt 0 ]; do
		cmds+=("$1" "$2")
		cmps+=(--cmp "modmap/$1:-")
		shift 2
	done
	if [ -n "$BEFORE" ]; then
		cmds+=(before "$BEFORE $args")
		cmps+=(--cmp "modmap/before:<=1.05")
	fi
	$RUNNER "$job" "${opts[@]}" "${cmps[@]}" -- "${cmds[@]}"
}
