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
  # the real-pod test (tests/deploy/pods): podman with runc, a locally made base image
  podman runc catatonit netavark aardvark-dns iptables uidmap slirp4netns fuse-overlayfs mmdebstrap
)
# Manifest checks run on Node (Debian's, unless the machine already has one).
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The Kubernetes schema packages, exactly as locked (tests/deploy/k8s/package-lock.json).
repo="$(cd "$(dirname "$0")/.." && pwd)"
npm ci --prefix "$repo/tests/deploy/k8s" --no-audit --no-fund --loglevel=error

# kubectl renders the kustomize overlays. Debian 12 ships none new enough (its
# kubernetes-client 1.20 predates kustomize Components): take it from the Kubernetes
# project's own packages if this machine lacks it.
command -v kubectl >/dev/null ||
  echo "install-deps: warning: no kubectl (1.27 or newer): the k8s tests will fail" >&2
