#!/usr/bin/env bash
# Installs the Debian packages weir needs to build, test and benchmark.
# Idempotent: prints nothing and changes nothing when everything is present.
# Usage: scripts/setup.sh [build|test|bench|fuzz]   (default: test; test and bench include the ones before them;
#        fuzz: build + clang, for scripts/fuzz.sh)
set -euo pipefail

profile="${1:-test}"

build_pkgs=(build-essential cmake ninja-build pkg-config
  librdkafka-dev libyaml-cpp-dev rapidjson-dev libspdlog-dev libfmt-dev
  libpqxx-dev libpq-dev libcli11-dev catch2 libre2-dev libcpp-httplib-dev libsystemd-dev libjemalloc-dev)
test_pkgs=(postgresql kcat clang-format systemd procps util-linux python3 dpkg-dev file)
bench_pkgs=(python3-confluent-kafka valgrind time)
fuzz_pkgs=(clang)

want=("${build_pkgs[@]}")
case "$profile" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  fuzz) want+=("${fuzz_pkgs[@]}") ;;
  *) echo "setup.sh: unknown profile '$profile' (build|test|bench|fuzz)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
