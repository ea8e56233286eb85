#!/usr/bin/env bash
# Installs what hoverslam needs on Debian 12: to build and run it (deploy/local/run.sh), and
# with --tests also to test it (.ci/test.sh, CI): podman, Node and the schema packages of the
# deployment tests. Safe to run again.
#   .ci/install-deps.sh [--tests]
set -euo pipefail
tests=0
[ "${1:-}" = "--tests" ] && tests=1

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  # libraries
  libbox2d-dev libeigen3-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev
  prometheus-cpp-dev libcli11-dev libspdlog-dev libgtest-dev
  libcairo2-dev libgif-dev
  # learner: BLAKE2b checksums of checkpoints
  libsodium-dev
  # learner: LibTorch with a fast BLAS (reference BLAS is 3-5x slower)
  libtorch-dev libopenblas0-pthread
  # tests: promtool and a real Prometheus server; an independent msgpack for interop
  prometheus python3 python3-msgpack python3-numpy python3-zmq
)
if [ "$tests" -eq 1 ]; then
  # the real-pod test (tests/deploy/pods): podman with runc, a locally made base image
  packages+=(podman runc catatonit netavark aardvark-dns iptables uidmap slirp4netns
             fuse-overlayfs mmdebstrap
             # the fault suite's network cases: network namespaces, veth pairs, dropped packets
             iproute2)
  # Manifest checks run on Node (Debian's, unless the machine already has one).
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi

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

[ "$tests" -eq 1 ] || exit 0

# The node packages of the manifest checks (Kubernetes schemas) and of the dashboard check
# (Grafana's schema types, TypeScript, Prometheus' PromQL parser), exactly as locked; npm writes
# node_modules/.package-lock.json on install, so one newer than the lock file means they are in
# place.
root="$(cd "$(dirname "$0")/.." && pwd)"
for dir in "$root/tests/deploy/k8s" "$root/tests/dashboards"; do
  if [ ! "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

# kubectl renders the kustomize overlays. Debian 12 ships none new enough (its
# kubernetes-client 1.20 predates kustomize Components): take it from the Kubernetes
# project's own packages if this machine lacks it.
command -v kubectl >/dev/null ||
  echo "install-deps: warning: no kubectl (1.27 or newer): the k8s tests will fail" >&2
