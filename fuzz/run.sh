#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, build/fuzz) and runs each for SECONDS seconds, starting
# from fuzz/seeds/TARGET plus the corpus grown by earlier runs (build/fuzz/corpus/TARGET). A crash, leak,
# sanitizer report or stray exception stops that target, leaves the input in build/fuzz/crashes/TARGET/
# and makes the script exit 1 after the others have run. Usage: fuzz/run.sh SECONDS [TARGET...]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_PER_TARGET=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(model npy npz safetensors raw image)
BUILD=${ONNXQ_FUZZ_BUILD:-$ROOT/build/fuzz}
JOBS=${JOBS:-$(nproc)}

command -v clang++ >/dev/null || { echo "fuzz: ERROR: clang++ not found (scripts/setup.sh installs clang and libclang-rt-14-dev)" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONNXQ_FUZZ=ON \
  -DONNXQ_BUILD_TESTS=OFF >/dev/null
ninja -C "$BUILD" -j "$JOBS" "${TARGETS[@]/#/fuzz_}" >/dev/null

# Process-lifetime allocations of ONNX's schema registry are not leaks of ours.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for target in "${TARGETS[@]}"; do
  corpus=$BUILD/corpus/$target crashes=$BUILD/crashes/$target log=$BUILD/logs/$target.log
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  # -rss_limit_mb: a reader that allocates what a header claims instead of what the file holds is a finding.
  "$BUILD/fuzz/fuzz_$target" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=20 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$ROOT/fuzz/seeds/$target" >"$log" 2>&1 &
  pid=$!
  code=0
  wait $pid || code=$?
  rm -rf "/dev/shm/onnxq-fuzz-$pid"  # the target's scratch folder, left behind when it crashed
  if [ $code = 0 ]; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
    echo "fuzz: $target: ok, $runs runs in ${SECONDS_PER_TARGET}s, $cov edges covered, corpus $(ls "$corpus" | wc -l) files"
  else
    status=1
    echo "fuzz: $target: FAILED, input kept in $crashes/ (log: $log):"
    grep -E 'ERROR: |runtime error|terminate called|what\(\)|SUMMARY' "$log" | head -5 | sed 's/^/  /'
  fi
done
exit $status
