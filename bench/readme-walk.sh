#!/usr/bin/env bash
# The README's quick start exactly as printed, in a fresh clone: `npm ci && npm start` (a real install, minutes),
# the printed psql line, each example of the "Try, inside psql" block, then Ctrl-C (SIGINT to the process group)
# and the exit code. test/integration/readme-walk.test.ts checks the same walk with node_modules hard-linked and
# free ports; this script is the one that runs the README's own command, on the demo's default ports 7432/7080.
#
# Usage: bench/readme-walk.sh [REPO (default: this checkout)]   Needs: git, npm with registry access, psql.
set -euo pipefail
REPO=$(cd "${1:-$(dirname "$0")/..}" && pwd)
DIR=$(mktemp -d /tmp/dbw-readme-walk.XXXXXX)
PGID=
cleanup() { [ -n "$PGID" ] && kill -KILL -- "-$PGID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
git clone -q "$REPO" "$DIR/dbwarden"
cd "$DIR/dbwarden"
echo "== npm ci"
time npm ci --no-audit --no-fund >/dev/null
echo "== npm start"
setsid bash -c 'exec npm start' > "$DIR/start.log" 2>&1 &
PGID=$!
for _ in $(seq 1 600); do grep -q 'connect:' "$DIR/start.log" && break; sleep 0.5; done
LINE=$(grep -o 'PGPASSFILE=\S* psql "[^"]*"' "$DIR/start.log") || { cat "$DIR/start.log"; exit 1; }
echo "printed: $LINE"
sed -n '/Try, inside psql:/,/^```$/p' README.md | sed '1,2d;$d' | while IFS= read -r example; do
  sql=${example%%;*}\;
  echo "-- $example"
  bash -c "$LINE -XA -c \"$sql\"" 2>&1 | sed 's/^/   /' || true
done
kill -INT -- "-$PGID"
rc=0; wait "$PGID" || rc=$?
for _ in $(seq 1 100); do kill -0 -- "-$PGID" 2>/dev/null || break; sleep 0.2; done
# npm itself ends by the SIGINT (130), as every npm script does on Ctrl-C; dbwarden must have drained
echo "== npm start ended with $rc after SIGINT"
grep -q 'SIGINT: draining' "$DIR/start.log" || { echo "no drain"; exit 1; }
if kill -0 -- "-$PGID" 2>/dev/null; then echo "processes left behind"; exit 1; fi
PGID=
npx --no-install dbwarden audit verify .dbwarden/demo/audit.jsonl
