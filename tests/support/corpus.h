// Where the real-model corpus is (../shared/corpus/build.sh), for end-to-end tests. Tests that need it
// call ONNXQ_REQUIRE_CORPUS(), which skips them with a clear message when it is absent.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace onnxquant::test {

inline std::filesystem::path corpus_dir() {
  if (const char* env = std::getenv("ONNXQ_CORPUS"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache/onnxquant-corpus";
  return {};
}

inline bool corpus_available() { return std::filesystem::exists(corpus_dir() / "models.json"); }

}  // namespace onnxquant::test

#define ONNXQ_REQUIRE_CORPUS()                                                                            \
  do {                                                                                                    \
    if (!::onnxquant::test::corpus_available())                                                        \
      GTEST_SKIP() << "corpus not found at " << ::onnxquant::test::corpus_dir()                        \
                   << " (build it with ../shared/corpus/build.sh or set ONNXQ_CORPUS)";                   \
  } while (0)
