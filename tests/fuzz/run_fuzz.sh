#!/bin/sh
# Builds the wire-protocol fuzzer with libFuzzer + ASan + UBSan and runs it.
#
# usage: run_fuzz.sh [SECONDS] [HOVERSLAM_WIRE] [WORK_DIR]
#   SECONDS         fuzzing time, default 30
#   HOVERSLAM_WIRE  the hoverslam-wire tool; its `encode` writes the seed corpus
#   WORK_DIR        where the binary, corpus and crash files go (default: a temp dir)
# Exits 0 when the run ends clean, 1 on any finding (crash, leak, timeout, OOM,
# sanitizer report, round-trip mismatch), 77 when clang++ is missing (a skip).
set -eu

seconds=${1:-30}
tool=${2:-}
work=${3:-$(mktemp -d /tmp/hoverslam-fuzz-XXXXXX)}
root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${CXX_FUZZ:-clang++}

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "SKIP: $cxx not found (install clang and libclang-rt-dev for libFuzzer)"
  exit 77
fi

mkdir -p "$work"
bin="$work/fuzz_protocol"
sources="$root/tests/fuzz/fuzz_protocol.cc $root/common/protocol.cc"
stale=0
[ -x "$bin" ] || stale=1
for f in $sources "$root/common/protocol.h" "$root/common/msgpack_fields.h" \
         "$root/common/outcome.h" "$0"; do
  [ "$stale" = 1 ] || [ "$f" -nt "$bin" ] && stale=1
done
if [ "$stale" = 1 ]; then
  echo "building $bin"
  # shellcheck disable=SC2086
  "$cxx" -std=c++17 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -O1 -g \
    -I"$root" -DMSGPACK_NO_BOOST $sources -o "$bin.tmp"
  mv "$bin.tmp" "$bin"
fi

# Seed corpus: valid messages of both types, so mutations start inside the format.
seeds="$work/seeds"
corpus="$work/corpus"
artifacts="$work/artifacts"
rm -rf "$seeds" "$corpus" "$artifacts"
mkdir -p "$seeds" "$corpus" "$artifacts"
if [ -n "$tool" ] && [ -x "$tool" ]; then
  for seed in 1 2 3 4 5 6 7 8; do
    "$tool" encode trajectory "$seed" "$seeds/trajectory-$seed" >/dev/null
    "$tool" encode weights "$seed" "$seeds/weights-$seed" >/dev/null
  done
else
  echo "warning: no hoverslam-wire tool given; starting from an empty corpus"
fi

# Every key and enum string of the protocol, and the msgpack headers of wide ints.
dict="$work/protocol.dict"
: >"$dict"
for word in proto type run env trajectory weights rocket actor policy_version num_steps \
            num_envs obs_dim act_dim obs actions logp rewards terminated truncated final_idx \
            final_obs episodes return length outcome landed crashed out_of_bounds timeout \
            activation tanh elu relu layers in out w b log_std obs_mean obs_var obs_clip; do
  echo "\"$word\"" >>"$dict"
done
printf '%s\n' '"\xcc"' '"\xcd"' '"\xce"' '"\xcf"' '"\xca"' '"\xcb"' '"\xc4"' '"\xc5"' '"\xc6"' \
  '"\xd9"' '"\xdc"' '"\xde"' '"\x7f\x80\x00\x00"' '"\x00\x00\xc0\x7f"' >>"$dict"

log="$work/fuzz.log"
echo "fuzzing for ${seconds}s in $work"
set +e
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=1024 \
  -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
  "$corpus" "$seeds" >"$log" 2>&1
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
echo "fuzz_protocol: no findings"
