#!/bin/sh
# Builds the CURVE key-file fuzzer with libFuzzer + ASan + UBSan and runs it.
#
# usage: run_fuzz_keys.sh [SECONDS] [WORK_DIR]
#   SECONDS   fuzzing time, default 20
#   WORK_DIR  where the binary, corpus and crash files go (default: a temp dir)
# Exits 0 when the run ends clean, 1 on any finding, 77 when clang++ or libzmq's
# headers are missing (a skip).
set -eu

seconds=${1:-20}
work=${2:-$(mktemp -d /tmp/hoverslam-fuzz-keys-XXXXXX)}
root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${CXX_FUZZ:-clang++}

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "SKIP: $cxx not found (install clang and libclang-rt-dev for libFuzzer)"
  exit 77
fi

mkdir -p "$work"
bin="$work/fuzz_keys"
sources="$root/tests/fuzz/fuzz_keys.cc $root/common/curve.cc"
stale=0
[ -x "$bin" ] || stale=1
for f in $sources "$root/common/curve.h" "$0"; do
  [ "$stale" = 1 ] || [ "$f" -nt "$bin" ] && stale=1
done
if [ "$stale" = 1 ]; then
  echo "building $bin"
  # shellcheck disable=SC2086
  "$cxx" -std=c++17 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -O1 -g \
    -I"$root" $sources -lzmq -o "$bin.tmp"
  mv "$bin.tmp" "$bin"
fi

# Seeds: a real key with the endings files have, and near misses.
seeds="$work/seeds"
corpus="$work/corpus"
artifacts="$work/artifacts"
rm -rf "$seeds" "$corpus" "$artifacts"
mkdir -p "$seeds" "$corpus" "$artifacts"
key='rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7'
printf '%s\n' "$key" >"$seeds/newline"
printf '%s' "$key" >"$seeds/bare"
printf '%s \r\n\t\n' "$key" >"$seeds/whitespace"
printf '%s\n%s\n' "$key" "$key" >"$seeds/two"
printf '#####%s\n' "$(echo "$key" | cut -c6-)" >"$seeds/overflow"

log="$work/fuzz.log"
echo "fuzzing for ${seconds}s in $work"
set +e
"$bin" -max_total_time="$seconds" -timeout=10 -max_len=256 -rss_limit_mb=2560 \
  -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "$seeds" >"$log" 2>&1
rc=$?
set -e
grep -E '^(INFO: (Running|Loaded|seed corpus)|#[0-9]+[[:space:]]+(INITED|DONE))|^stat::|^Done' "$log" || true

found=$(find "$artifacts" -type f | head -n 20)
if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
  echo "FAIL: fuzzer exit code $rc; findings:"
  for f in $found; do
    echo "  $f ($(wc -c <"$f") bytes): $(od -An -tx1 -N64 "$f" | tr -s ' \n' ' ')"
  done
  tail -n 60 "$log"
  exit 1
fi
echo "fuzz_keys: no findings"
