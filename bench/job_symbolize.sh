#!/usr/bin/env bash
# job_symbolize.sh - attach --symbolize on a profile of SYM_ADDRS distinct
# addresses over SYM_LIBS libraries (-O2 -g, an inlined helper in each
# function), live: against google/pprof's `pprof -symbolize=local` on the
# same profile with its mapping table (it runs a symbolizer over the same
# files), and against one llvm-symbolizer --inlining batch over the same
# addresses; and attach's peak memory at the full and a tenth of the
# addresses (it goes with the modules' debug info, not the profile).
# Knobs: SYM_LIBS (50), SYM_FUNCS (400), SYM_ADDRS (100000), SYM_RUNS (3).
# shellcheck source=/dev/null
. "$(dirname "$0")/common.sh"
SYM_LIBS=${SYM_LIBS:-50}
SYM_FUNCS=${SYM_FUNCS:-400}
SYM_ADDRS=${SYM_ADDRS:-100000}
dir=$BENCH/symlibs
[ -f "$dir/libsym$((SYM_LIBS - 1)).so" ] ||
	/usr/bin/python3 bench/symprep.py libs "$dir" "$SYM_LIBS" "$SYM_FUNCS"
[ -x build/pprof ] || make -s build/pprof
libs=()
for ((k = 0; k < SYM_LIBS; k++)); do libs+=("$dir/libsym$k.so"); done
start_target symhost /usr/bin/python3 bench/symprep.py host "${libs[@]}"
pid=$TARGET_PID
/usr/bin/python3 bench/symprep.py addrs "$pid" "$BENCH/sym" "$SYM_ADDRS"
/usr/bin/python3 bench/symprep.py addrs "$pid" "$BENCH/sym-small" "$((SYM_ADDRS / 10))"
# pprof needs the mapping table to find the files: attach's, without names.
"$MODMAP" attach --pid "$pid" "$BENCH/sym.pb" -o "$BENCH/sym-mapped.pb.gz"

$RUNNER "symbolize-${SYM_ADDRS}" --runs "${SYM_RUNS:-3}" --warmup 0 \
	--cmp "modmap/pprof-local:<=0.1" --cmp "modmap/llvm-symbolizer:<=1.0" \
	--cmp-cpu "modmap/llvm-symbolizer:<=1.0" --memcmp "modmap:-" -- \
	modmap "$MODMAP attach --symbolize --pid $pid $BENCH/sym.pb -o $BENCH/sym-named.pb.gz" \
	pprof-local "sh:PPROF_BINARY_PATH=/nonexistent build/pprof -symbolize=local -proto $BENCH/sym-mapped.pb.gz >/dev/null" \
	llvm-symbolizer "sh:llvm-symbolizer --inlining <$BENCH/sym.llvm >/dev/null"
$RUNNER "symbolize-$((SYM_ADDRS / 10))" --runs 1 --warmup 0 --memcmp "modmap:-" -- \
	modmap "$MODMAP attach --symbolize --pid $pid $BENCH/sym-small.pb -o $BENCH/sym-small-named.pb.gz"
