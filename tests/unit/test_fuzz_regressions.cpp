// Replays every input under fuzz/regressions/TARGET/ (inputs that once crashed a fuzz target, kept after
// the fix) and fuzz/seeds/TARGET/ through the same target bodies the fuzzers run (fuzz/targets/), in the
// normal build: each must end in a typed onnxquant::Error or success, never anything else.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/file_bytes.h"
#include "targets.h"

namespace fs = std::filesystem;

TEST(FuzzRegressions, EveryKeptInputIsHandled) {
  int replayed = 0;
  for (const auto& target : onnxquant::fuzz::all_targets()) {
    for (const char* kind : {"regressions", "seeds"}) {
      const fs::path dir = fs::path(ONNXQ_FUZZ_DIR) / kind / target.name;
      if (!fs::is_directory(dir)) continue;
      for (const auto& entry : fs::directory_iterator(dir)) {
        SCOPED_TRACE(entry.path().string());
        const std::string bytes = onnxquant::test::file_bytes(entry.path());
        EXPECT_NO_THROW(target.run(bytes));
        ++replayed;
      }
    }
  }
  EXPECT_GT(replayed, 0) << "no inputs found under " << ONNXQ_FUZZ_DIR;
}
