#!/bin/sh
# Builds the wire-protocol fuzzer (every decoder: trajectory, weights, grant, and the
# learner's ready-or-trajectory) with libFuzzer + ASan + UBSan and runs it.
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

. "$root/tests/fuzz/fuzz_lib.sh"
fuzz_require_cxx
mkdir -p "$work"
bin="$work/fuzz_protocol"
fuzz_build "$bin" "$root/tests/fuzz/fuzz_protocol.cc $root/common/protocol.cc" \
  "$root/common/protocol.h $root/common/msgpack_fields.h $root/common/outcome.h" \
  -DMSGPACK_NO_BOOST

# Seed corpus: valid messages of every type, so mutations start inside the format.
fuzz_fresh_dirs
if [ -n "$tool" ] && [ -x "$tool" ]; then
  for seed in 1 2 3 4 5 6 7 8; do
    "$tool" encode trajectory "$seed" "$seeds/trajectory-$seed" >/dev/null
    "$tool" encode weights "$seed" "$seeds/weights-$seed" >/dev/null
    "$tool" encode ready "$seed" "$seeds/ready-$seed" >/dev/null
    "$tool" encode grant "$seed" "$seeds/grant-$seed" >/dev/null
  done
else
  echo "warning: no hoverslam-wire tool given; starting from an empty corpus"
fi

# Every key and enum string of the protocol, and the msgpack headers of wide ints.
dict="$work/protocol.dict"
: >"$dict"
for word in proto type run env trajectory weights ready grant rocket actor policy_version \
            transitions num_steps num_envs obs_dim act_dim obs actions logp rewards terminated \
            truncated final_idx final_obs episodes return length outcome landed crashed \
            out_of_bounds timeout activation tanh elu relu layers in out w b log_std obs_mean \
            obs_var obs_clip; do
  echo "\"$word\"" >>"$dict"
done
printf '%s\n' '"\xcc"' '"\xcd"' '"\xce"' '"\xcf"' '"\xca"' '"\xcb"' '"\xc4"' '"\xc5"' '"\xc6"' \
  '"\xd9"' '"\xdc"' '"\xde"' '"\x7f\x80\x00\x00"' '"\x00\x00\xc0\x7f"' >>"$dict"

fuzz_run fuzz_protocol "$bin" "$seconds" -malloc_limit_mb=1024 -dict="$dict"
