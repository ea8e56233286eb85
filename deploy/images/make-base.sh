#!/usr/bin/env bash
# Makes the Debian base image the Containerfiles start FROM, locally, for machines that reach
# Debian's mirror but no container registry: a minbase bookworm made by mmdebstrap and imported
# as docker.io/library/debian:bookworm-slim (about 80 MB, under a minute).
#
#   deploy/images/make-base.sh [--engine podman|docker] [--force]
#
# Skips when the image already exists, unless --force. Needs root (or fakeroot) for mmdebstrap.
set -euo pipefail

engine=podman
force=0
image=docker.io/library/debian:bookworm-slim
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine="$2"; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "make-base: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ "$force" -eq 0 ] && "$engine" image inspect "$image" >/dev/null 2>&1; then
  echo "make-base: $image exists (--force remakes it)"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "make-base: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# merged-usr as in Debian's own images (without the hook usrmerge pulls in perl: 170 MB);
# no docs, man pages or locales; no apt lists, like bookworm-slim.
mmdebstrap --variant=minbase \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm "$work/rootfs.tar"
"$engine" import --change 'CMD ["bash"]' "$work/rootfs.tar" "$image"
echo "make-base: imported $image"
