#!/usr/bin/env bash
# Builds hoverslam's images from the repository root.
#
#   deploy/images/build.sh [--engine podman|docker] [--tag T] [--registry R] [actor|learner|learner-cuda|all]
#
# Images are named hoverslam-actor:T, hoverslam-learner:T (T defaults to latest), with R/ in
# front when --registry is given; "all" is actor and learner (learner-cuda needs a registry that
# serves the PyTorch CUDA images, so it is built only when named). Extra engine flags go after --.
set -euo pipefail

engine=podman
tag=latest
registry=""
targets=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --registry) registry="${2%/}/"; shift 2 ;;
    actor|learner|learner-cuda) targets+=("$1"); shift ;;
    all) targets+=(actor learner); shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "${#targets[@]}" -gt 0 ] || targets=(actor learner)

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# Shown by hoverslam_build_info{commit}; "-dirty" when the tree has changes or untracked files
# (they go into the image's build context).
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[ "$commit" = unknown ] || [ -z "$(git status --porcelain 2>/dev/null)" ] || commit="$commit-dirty"
for t in "${targets[@]}"; do
  image="${registry}hoverslam-${t}:${tag}"
  start=$(date +%s)
  "$engine" build -f "deploy/images/${t}.Containerfile" -t "$image" \
    --build-arg "HOVERSLAM_COMMIT=$commit" "${extra[@]}" .
  echo "build.sh: $image built in $(( $(date +%s) - start )) s"
done
