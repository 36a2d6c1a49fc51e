#!/usr/bin/env bash
# job_attach.sh - modmap attach on a large profile ($ATTACH_MB MB of
# protobuf, bench/bigprof.py) against its floor, a gzip round trip of the
# same file (gzip -dc | gzip -1: attach reads and rewrites it the same
# way; its two stages run in parallel, so CPU time is compared too), and
# against go tool pprof -proto (which parses and rewrites it);
# and attach's peak memory at two profile sizes (it must not grow).
# Fewer rounds than the short jobs: each run takes seconds.
# shellcheck source=/dev/null
. "$(dirname "$0")/common.sh"
ATTACH_MB=${ATTACH_MB:-120}
SMALL_MB=12

start_target attach build/fixtures/mapper
pid=$TARGET_PID
"$MODMAP" --pid "$pid" -f pprof -o "$BENCH/attach-snap.pb.gz"
range=$("$MODMAP" --pid "$pid" -f json | /usr/bin/python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["mappings"] if m["main"]][0]
print(m["start"], m["limit"])')
stop_targets
for mb in "$ATTACH_MB" "$SMALL_MB"; do
	# The addresses only need to fall in the range; ASLR moves it per run,
	# so the profile is remade (a few seconds per 100 MB).
	/usr/bin/python3 bench/bigprof.py "$BENCH/prof-$mb.pb.gz" "$mb" "${range% *}" "${range#* }"
done
big=$BENCH/prof-$ATTACH_MB.pb.gz small=$BENCH/prof-$SMALL_MB.pb.gz
echo "profile: $big, $(stat -c %s "$big") bytes compressed, $ATTACH_MB MB of protobuf" >&2

$RUNNER "attach-${ATTACH_MB}MB" --runs "${ATTACH_RUNS:-7}" --warmup 1 \
	--cmp "modmap/gzip:<=1.0" --cmp-cpu "modmap/gzip:<=1.0" --memcmp "modmap:<=16" -- \
	gzip "sh:gzip -dc $big | gzip -1" \
	modmap "$MODMAP attach --snapshot $BENCH/attach-snap.pb.gz $big"
$RUNNER "attach-${ATTACH_MB}MB" --runs 3 --warmup 0 --cmp "modmap/go-pprof:<=0.1" \
	--cmp-cpu "modmap/go-pprof:<=0.1" -- \
	go-pprof "go tool pprof -proto $big" \
	modmap "$MODMAP attach --snapshot $BENCH/attach-snap.pb.gz $big"
$RUNNER "attach-${SMALL_MB}MB" --runs 3 --warmup 0 --memcmp "modmap:<=16" -- \
	modmap "$MODMAP attach --snapshot $BENCH/attach-snap.pb.gz $small"
