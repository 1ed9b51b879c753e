#!/bin/sh
# The differential reading test at full size: every pair of boundary fragments times every tail, every quoting
# mode and character set, on the local PostgreSQL and MariaDB (test/integration/reading-differential.test.ts).
set -e
cd "$(dirname "$0")/.."
DIFF_SIZE=full exec npx vitest run test/integration/reading-differential.test.ts "$@"
