#!/usr/bin/env bash
# The one-line run: from a fresh Debian 12 machine to a trained policy and a landing GIF.
# Installs missing dependencies (apt, with sudo only when not root), builds the binaries
# (Release, Ninja, into build/; incremental, so a second run starts at once), then trains.
# Usage: deploy/local/run.sh [hoverslam-train flags]     (deploy/local/run.sh --help lists them)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
launcher="$repo/deploy/local/hoverslam-train"
build="$repo/build"

for arg in "$@"; do
  case "$arg" in -h | --help) exec "$launcher" "$@" ;; esac  # help needs no build
done

bash "$repo/.ci/install-deps.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target hoverslam-learner hoverslam-actor hoverslam-eval hoverslam-plot
exec "$launcher" --build-dir "$build" "$@"
