#!/usr/bin/env bash
# job_snapshot.sh - one snapshot with build IDs, from each source, against
# its floor (bench/floor_query.c, bench/floor_maps.c) and its peers
# (eu-unstrip -n -p reads the same build IDs; pmap only the listing), on
# two processes: $LIBS shared objects with distinct build IDs (copies of
# libfix.so with patched notes, so no cache hides the cost of an ID), and
# $MAPS mappings of one file (bench/manymaps.c). Then, for --source auto,
# which source is cheaper when no build ID is wanted or every mapping is
# (ratio query/maps: below 1, the query is).
# shellcheck source=/dev/null
. "$(dirname "$0")/common.sh"

instructions() { # instructions NAME ARGS: callgrind's count for one snapshot (repeatable under load)
	local n b args
	read -ra args <<<"$2"
	n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$MODMAP" --pid "$pid" \
		"${args[@]}" 2>&1 >/dev/null | sed -n 's/.*Collected : //p')
	if [ -n "$BEFORE" ]; then
		b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BEFORE" --pid "$pid" \
			"${args[@]}" 2>&1 >/dev/null | sed -n 's/.*Collected : //p')
		printf 'instr-%s:modmap\tbefore\t%s\t<=1.0\t%s vs %s instructions (callgrind)\n' "$1" \
			"$(awk -v a="$n" -v b="$b" 'BEGIN { printf "%.3f", a / b }')" "$n" "$b"
	fi
	echo "instructions, $1: $n${b:+ (before: $b)}" >&2
}

sources() { # sources NAME: query vs maps on $pid where auto might prefer the text
	local what
	for what in "--build-id none --mappings all" "--build-id none" \
		"--build-id mtime --mappings all" "--build-id mtime" "--mappings all"; do
		local tag=${what//--build-id /}
		tag=${tag//--mappings /}
		$RUNNER "source-$1-${tag// /-}" --runs "$RUNS" --cmp "query/maps:-" -- \
			query "$MODMAP --pid $pid -f json --source query $what" \
			maps "$MODMAP --pid $pid -f json --source maps $what"
	done
}
LIBS=${LIBS:-2000}
MAPS=${MAPS:-60000}

/usr/bin/python3 bench/mklibs.py build/fixtures/libfix.so "$BENCH/libs" "$LIBS"
args=()
for i in $(seq 1 "$LIBS"); do args+=("load:$BENCH/libs/lib$i.so"); done
start_target libs build/fixtures/mapper "${args[@]}"
pid=$TARGET_PID
echo "target 1: pid $pid, $LIBS extra libraries, $(wc -l <"/proc/$pid/maps") mappings" >&2

compare "query-${LIBS}libs" "<=1.15" --runs "$RUNS" -- \
	floor "$BENCH/floor_query $pid" modmap "--pid $pid --source query -f json" \
	eu-unstrip "eu-unstrip -n -p $pid" pmap "pmap $pid"
compare "maps-${LIBS}libs" "<=1.5" --runs "$RUNS" -- \
	floor "$BENCH/floor_maps $pid" modmap "--pid $pid --source maps -f json" \
	eu-unstrip "eu-unstrip -n -p $pid"
sources "${LIBS}libs"
instructions "query-${LIBS}libs" "--source query -f json"
instructions "maps-${LIBS}libs" "--source maps -f json"
instructions "text-${LIBS}libs" "--source query"
stop_targets

start_target maps "$BENCH/manymaps" "$MAPS" build/fixtures/libfix.so
pid=$TARGET_PID
echo "target 2: pid $pid, $(wc -l <"/proc/$pid/maps") mappings" >&2

compare "query-${MAPS}maps" "<=1.15" --runs "$RUNS" -- \
	floor "$BENCH/floor_query $pid" modmap "--pid $pid --source query -f json" \
	eu-unstrip "eu-unstrip -n -p $pid" pmap "pmap $pid"
compare "query-${MAPS}maps-all" "<=1.15" --runs "$RUNS" -- \
	floor "$BENCH/floor_query $pid all" modmap "--pid $pid --source query --mappings all -f json"
compare "maps-${MAPS}maps" "<=1.5" --runs "$RUNS" -- \
	floor "$BENCH/floor_maps $pid" modmap "--pid $pid --source maps -f json"
sources "${MAPS}maps"
instructions "query-${MAPS}maps-all" "--source query --mappings all -f json"
instructions "maps-${MAPS}maps-all" "--source maps --mappings all -f json"
instructions "text-${MAPS}maps-all" "--source query --mappings all"
