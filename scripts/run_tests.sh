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
# Leak checks stay on for our code; ONNX Runtime's own process-lifetime allocations are suppressed.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$BUILD"
# Both suites always run, so one failure does not hide the other's results.
status=0
ctest --output-on-failure -j "$(nproc)" -L unit || status=1
ctest --output-on-failure -L e2e || status=1
# The Python module (tests/python, pytest) as this build made it, compared with this build's CLI.
if [ -d python/onnxquant ]; then
  py_env=(PYTHONPATH="$PWD/python" ONNXQ_CLI="$PWD/src/onnxquant" PYTHONDONTWRITEBYTECODE=1)
  if grep -q '^ONNXQ_SANITIZE:BOOL=ON' CMakeCache.txt; then
    # A sanitized extension in an unsanitized interpreter: the ASan runtime must be loaded first, with
    # libstdc++ beside it (python3 does not link it, and ASan's __cxa_throw interceptor must find the real
    # one at start-up or the first C++ exception aborts); CPython's own process-lifetime allocations are
    # not ours to report (the C++ suites check leaks).
    py_env+=(LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" ASAN_OPTIONS=detect_leaks=0)
  fi
  env "${py_env[@]}" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$ROOT/tests/python" || status=1
else
  echo "tests: the Python module was not built here (ONNXQ_BUILD_PYTHON=OFF): Python tests SKIPPED"
fi
exit $status
