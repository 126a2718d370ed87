#!/usr/bin/env bash
# Sets everything up and runs the demo job (generator source, console sink; needs no Kafka or PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
cmake --preset dev >/dev/null
cmake --build --preset dev --target weir
exec build/dev/cmd/weir run jobs/demo.yaml "$@"
