#!/bin/bash
# Where each bench cell's CPU goes: runs one cell at a time through pg-bench.ts or mysql-bench.ts (dbwarden only, or
# the bare relay for reference) with the proxy under `perf record -g` from the end of the warm-up until it exits,
# and writes bench/perf-summary.ts's tables for every cell into OUT/profiles.md and one row per cell (CPU µs/tx split
# into io, audit, protocol, core, sql, gc, jit: see perf-summary.ts) into OUT/rows.md.
# Usage: bench/profile-cells.sh OUT [SECONDS] [CELL...]   (needs perf; run on an otherwise idle machine)
# Cells: pg-simple-1 pg-simple-16 pg-extended-1 pg-extended-16 pg-prepared-1 pg-prepared-16, the same with
# pg-masked- instead of pg- (pii-masking in force, a masked column not selected), pg-masked-stream, relay-simple-1
# relay-simple-16 relay-prepared-1, my-point_select-disable-1 (…-16, read_only, auto) and my-relay-point_select-disable-1.
set -euo pipefail
OUT=${1:?usage: bench/profile-cells.sh OUT [SECONDS] [CELL...]}
SECS=${2:-4}
shift $(( $# >= 2 ? 2 : 1 ))
CELLS=("$@")
[ ${#CELLS[@]} -gt 0 ] || CELLS=(relay-simple-1 relay-simple-16 pg-simple-1 pg-simple-16 pg-extended-1 pg-extended-16 pg-prepared-1 pg-prepared-16 \
  pg-masked-simple-1 pg-masked-simple-16 pg-masked-prepared-1 pg-masked-prepared-16 pg-masked-stream \
  my-relay-point_select-disable-1 my-point_select-disable-1 my-point_select-disable-16 my-read_only-disable-1 my-read_only-disable-16 my-read_only-auto-1 my-point_select-auto-1)
REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
[ -f "$OUT/rows.md" ] || printf '| cell | CPU µs/tx | io | audit | protocol | core | sql | gc | jit | other |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n' > "$OUT/rows.md"
cd "$REPO"
COMMON=(--rounds 2 --seconds "$SECS" --warmup 3 --no-results)
for cell in "${CELLS[@]}"; do
  IFS=- read -r kind a b c d <<< "$cell"
  who=broker start=measuring
  case $kind in
    relay) who=relay; args=(bench/pg-bench.ts --paths relay --modes "$a" --clients "$b" --no-throughput) ;;
    pg) if [ "$a" = masked ] && [ "$b" = stream ]; then
          args=(bench/pg-bench.ts --paths dbwarden --modes simple --clients 1 --masked-column --masked-select --rulesets safe-defaults,pii-masking)
          start='streaming: SELECT \* FROM big_masked'
        elif [ "$a" = masked ]; then
          args=(bench/pg-bench.ts --paths dbwarden --modes "$b" --clients "$c" --masked-column --rulesets safe-defaults,pii-masking --no-throughput)
        else
          args=(bench/pg-bench.ts --paths dbwarden --modes "$a" --clients "$b" --no-throughput)
        fi ;;
    my) if [ "$a" = relay ]; then who=relay; args=(bench/mysql-bench.ts --paths relay --tests "oltp_$b" --ps-modes "$c" --threads "$d")
        else args=(bench/mysql-bench.ts --paths dbwarden --tests "oltp_$a" --ps-modes "$b" --threads "$c"); fi ;;
    *) echo "unknown cell $cell" >&2; exit 2 ;;
  esac
  log="$OUT/$cell.log"
  env BENCH_BROKER_NODE_ARGS=--perf-basic-prof BENCH_RELAY_NODE_ARGS=--perf-basic-prof npx tsx "${args[@]}" "${COMMON[@]}" > "$log" 2>&1 &
  bench=$!
  pid=
  for _ in $(seq 1 1200); do
    pid=$(grep -o "$who pid [0-9]*" "$log" | awk '{print $3}' || true)
    [ -n "$pid" ] && grep -q "$start" "$log" && break
    kill -0 $bench 2>/dev/null || break
    sleep 0.25
  done
  if [ -z "$pid" ] || ! grep -q "$start" "$log"; then echo "$cell: the bench did not reach '$start' (see $log)" >&2; wait $bench || true; continue; fi
  perf record -F 999 -g -p "$pid" -o "$OUT/$cell.data" > /dev/null 2>&1 &
  rec=$!
  wait $bench || echo "$cell: bench exited $? (see $log)" >&2
  wait $rec || true
  # per-transaction figures from the bench's table; the streaming cell's recording covers the stream only (shares)
  perlog=("$log" dbwarden); [ $who = relay ] && perlog=("$log" relay); [ "$cell" = pg-masked-stream ] && perlog=()
  { npx tsx bench/perf-summary.ts "$OUT/$cell.data" "$cell" 12 "${perlog[@]}"; echo; } >> "$OUT/profiles.md"
  PERF_SUMMARY_ROW=1 npx tsx bench/perf-summary.ts "$OUT/$cell.data" "$cell" 12 "${perlog[@]}" >> "$OUT/rows.md"
  echo "$cell done"
done
