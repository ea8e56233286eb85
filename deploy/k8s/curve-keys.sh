#!/usr/bin/env bash
# Makes and rotates the CURVE keys of a hoverslam deployment, as the Secrets that
# components/curve mounts (see its kustomization.yaml for the table).
#
#   curve-keys.sh init   [--namespace NS] [--dry-run]   new keys for learner, actors, evaluator
#   curve-keys.sh rotate actor|evaluator [--namespace NS]
#
# init refuses to replace existing Secrets (delete them first to start over: every client then
# needs the new learner key). --dry-run prints the Secrets as YAML instead of applying them.
# rotate makes a new key pair for the actors (or the evaluator) without stopping training:
#   1. the new public key is added to hoverslam-curve-clients; the learner re-reads it within
#      a second of the kubelet updating the volume (up to a minute or so),
#   2. the client's Secret gets the new secret key and its pods are restarted (rolling),
#   3. once the rollout is done, the old public keys of that client are removed, and the learner
#      is restarted (it writes a final checkpoint on SIGTERM and resumes from it in seconds): the
#      learner checks keys when a client connects, so this cuts any connection admitted under an
#      old key. A copy of the old secret key is then worthless.
# Keys are made by hoverslam-keygen (set HOVERSLAM_KEYGEN to its path if it is not on PATH) in
# a private temporary directory that is removed at exit; secret keys never touch other disks.
set -euo pipefail

keygen=${HOVERSLAM_KEYGEN:-hoverslam-keygen}
namespace=hoverslam
dry_run=0
cmd=${1:-}
shift || true
who=""
if [ "$cmd" = rotate ]; then
  who=${1:-}
  shift || true
  case "$who" in actor | evaluator) ;; *) echo "rotate: say actor or evaluator" >&2; exit 2 ;; esac
fi
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$cmd" in init | rotate) ;; *) sed -n '2,17p' "$0" >&2; exit 2 ;; esac
keygen=$(command -v "$keygen") || {
  echo "hoverslam-keygen not found: build it, or set HOVERSLAM_KEYGEN" >&2
  exit 2
}
case "$keygen" in /*) ;; *) keygen="$PWD/$keygen" ;; esac # keys are made in another directory

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
stamp=$(date -u +%Y%m%dt%H%M%S)

kube() { kubectl --namespace "$namespace" "$@"; }

# secret NAME FILE...: the Secret as YAML, applied or (--dry-run) printed.
secret() {
  local name=$1
  shift
  local args=()
  for f in "$@"; do args+=("--from-file=$f"); done
  local yaml
  yaml=$(kubectl create secret generic "$name" --namespace "$namespace" "${args[@]}" \
    --dry-run=client -o yaml)
  if [ "$dry_run" = 1 ]; then
    printf -- '---\n%s\n' "$yaml"
  else
    printf '%s\n' "$yaml" | kubectl apply -f - >/dev/null
    echo "applied Secret $namespace/$name" >&2
  fi
}

if [ "$cmd" = init ]; then
  if [ "$dry_run" = 0 ] && kube get secret hoverslam-learner-curve >/dev/null 2>&1; then
    echo "Secret $namespace/hoverslam-learner-curve exists; delete the four Secrets to start over" >&2
    exit 1
  fi
  (cd "$work" && "$keygen" learner >/dev/null && "$keygen" actor >/dev/null &&
    "$keygen" evaluator >/dev/null)
  cp "$work/actor.pub" "$work/actor-$stamp.pub"
  cp "$work/evaluator.pub" "$work/evaluator-$stamp.pub"
  secret hoverslam-learner-curve "$work/learner.key"
  secret hoverslam-curve-clients "$work/actor-$stamp.pub" "$work/evaluator-$stamp.pub"
  secret hoverslam-actor-curve "$work/actor.key" "$work/learner.pub"
  secret hoverslam-evaluator-curve "$work/evaluator.key" "$work/learner.pub"
  exit 0
fi

# rotate actor|evaluator
[ "$dry_run" = 0 ] || { echo "rotate has no --dry-run" >&2; exit 2; }
old=$(kube get secret hoverslam-curve-clients \
  -o go-template='{{range $k, $v := .data}}{{$k}}{{"\n"}}{{end}}' | grep "^$who-" || true)
server=$(kube get secret "hoverslam-$who-curve" -o go-template='{{index .data "learner.pub"}}')
printf '%s' "$server" | base64 -d >"$work/learner.pub"
(cd "$work" && "$keygen" "$who" >/dev/null)
new="$who-$stamp.pub"
kube patch secret hoverslam-curve-clients --type merge \
  -p "{\"data\":{\"$new\":\"$(base64 -w0 <"$work/$who.pub")\"}}" >/dev/null
echo "authorized $new; waiting 90 s for the kubelet to update the learner's volume" >&2
sleep 90 # the kubelet's Secret sync period (about 60 s) plus the learner's 1 s re-read
secret "hoverslam-$who-curve" "$work/$who.key" "$work/learner.pub"
kube rollout restart "deployment/hoverslam-$who"
kube rollout status "deployment/hoverslam-$who" --timeout=10m
for key in $old; do
  kube patch secret hoverslam-curve-clients --type json \
    -p "[{\"op\":\"remove\",\"path\":\"/data/$key\"}]" >/dev/null
  echo "removed $key" >&2
done
echo "waiting 90 s for the learner's volume, then restarting it to cut old connections" >&2
sleep 90
kube rollout restart statefulset/hoverslam-learner
kube rollout status statefulset/hoverslam-learner --timeout=10m
