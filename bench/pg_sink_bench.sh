#!/usr/bin/env bash
# PostgreSQL sink throughput (issue 6 figure): bash bench/pg_sink_bench.sh [ROWS_PER_BATCH [BATCHES]]
# Builds the release preset's weir-pg-sink-bench (bench/pg_sink_bench.cc), starts a throwaway local PostgreSQL
# with tests/tools/pg-harness.sh (fsync on, as in the tests), prints rows/s per connection for append and
# upsert, and removes the server. Figures: docs/recovery-figures.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build build/release -j2 --target weir-pg-sink-bench >/dev/null
dir=$(mktemp -d "${TMPDIR:-/tmp}/weir-pg-bench.XXXXXX")
chmod 755 "$dir"  # the server runs as user postgres when we are root
trap 'bash tests/tools/pg-harness.sh stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
dsn=$(bash tests/tools/pg-harness.sh start "$dir" | sed -n 's/^DSN=//p')
echo "PostgreSQL $(psql -X -At -d "$dsn" -c 'SHOW server_version'), one connection, batches of ${1:-100000} rows:"
build/release/bench/weir-pg-sink-bench "$dsn" "${1:-100000}" "${2:-5}"
