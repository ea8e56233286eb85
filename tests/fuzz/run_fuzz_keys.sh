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

. "$root/tests/fuzz/fuzz_lib.sh"
fuzz_require_cxx
mkdir -p "$work"
bin="$work/fuzz_keys"
fuzz_build "$bin" "$root/tests/fuzz/fuzz_keys.cc $root/common/curve.cc" "$root/common/curve.h" -lzmq

# Seeds: a real key with the endings files have, and near misses.
fuzz_fresh_dirs
key='rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7'
printf '%s\n' "$key" >"$seeds/newline"
printf '%s' "$key" >"$seeds/bare"
printf '%s \r\n\t\n' "$key" >"$seeds/whitespace"
printf '%s\n%s\n' "$key" "$key" >"$seeds/two"
printf '#####%s\n' "$(echo "$key" | cut -c6-)" >"$seeds/overflow"

fuzz_run fuzz_keys "$bin" "$seconds" -max_len=256
