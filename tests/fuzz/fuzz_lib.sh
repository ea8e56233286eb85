# shellcheck shell=sh disable=SC2154,SC3013
# What run_fuzz.sh and run_fuzz_keys.sh share; sourced by them after setting
# `root` (the repository), `cxx` (the clang++ to use) and `work` (the work dir): hence
# SC2154 off; SC3013 too, as dash and bash both have `test -nt`.

# Exits 77 (a skip to ctest) when $cxx is missing.
fuzz_require_cxx() {
  if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "SKIP: $cxx not found (install clang and libclang-rt-dev for libFuzzer)"
    exit 77
  fi
}

# fuzz_build BIN "SOURCES" "HEADERS" [EXTRA_ARGS...]: builds BIN with libFuzzer, ASan and
# UBSan unless it is newer than every source, header, the calling script and this file.
fuzz_build() {
  bin=$1 sources=$2 headers=$3
  shift 3
  stale=0
  [ -x "$bin" ] || stale=1
  for f in $sources $headers "$0" "$root/tests/fuzz/fuzz_lib.sh"; do
    [ "$stale" = 1 ] || [ "$f" -nt "$bin" ] && stale=1
  done
  if [ "$stale" = 1 ]; then
    echo "building $bin"
    # shellcheck disable=SC2086
    "$cxx" -std=c++17 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -O1 -g \
      -I"$root" $sources "$@" -o "$bin.tmp"
    mv "$bin.tmp" "$bin"
  fi
}

# Sets `seeds`, `corpus` and `artifacts` under $work, each empty.
fuzz_fresh_dirs() {
  seeds="$work/seeds"
  corpus="$work/corpus"
  artifacts="$work/artifacts"
  rm -rf "$seeds" "$corpus" "$artifacts"
  mkdir -p "$seeds" "$corpus" "$artifacts"
}

# fuzz_run NAME BIN SECONDS [LIBFUZZER_ARGS...]: fuzzes from $corpus and $seeds and prints
# the summary; exits 1 on any finding (crash, leak, timeout, OOM, sanitizer report).
fuzz_run() {
  name=$1 bin=$2 seconds=$3
  shift 3
  log="$work/fuzz.log"
  echo "fuzzing for ${seconds}s in $work"
  set +e
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" "$corpus" "$seeds" >"$log" 2>&1
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
  echo "$name: no findings"
}
