#!/usr/bin/env bash
# Runs the whole test suite of a build folder: unit tests (no corpus needed) and end-to-end tests (real
# models; skipped with a message when the corpus is absent). Prints a one-line summary per label.
set -euo pipefail
BUILD=${1:?usage: run_tests.sh BUILD_DIR}
CORPUS=${ONNXQ_CORPUS:-$HOME/.cache/onnxquant-corpus}
if [ -f "$CORPUS/models.json" ]; then
  echo "tests: corpus found at $CORPUS"
else
  echo "tests: no corpus at $CORPUS: end-to-end tests on real models will be SKIPPED"
  echo "       (build it with ../shared/corpus/build.sh, or point ONNXQ_CORPUS at one)"
fi
# ORT and protobuf are not built with ASan; their allocations are fine but leak checks at exit are noisy.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:detect_odr_violation=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$BUILD"
ctest --output-on-failure -j "$(nproc)" -L unit
ctest --output-on-failure -L e2e
