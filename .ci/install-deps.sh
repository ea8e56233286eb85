#!/usr/bin/env bash
# Installs everything hoverslam needs to build, test and run on Debian 12.
# Used by the README's commands and by CI; safe to run again.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  # libraries
  libbox2d-dev libeigen3-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev
  prometheus-cpp-dev libcli11-dev libspdlog-dev libgtest-dev
  libcairo2-dev libgif-dev
  # learner: LibTorch with a fast BLAS (reference BLAS is 3-5x slower)
  libtorch-dev libopenblas0-pthread
  # tests: promtool and a real Prometheus server; an independent msgpack for interop
  prometheus python3 python3-msgpack python3-numpy
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
