#!/usr/bin/env bash
# The README's test command: installs dependencies (Debian 12), configures,
# builds and runs every test. Usage: bash .ci/test.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"

bash .ci/install-deps.sh --tests
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure --timeout 600
