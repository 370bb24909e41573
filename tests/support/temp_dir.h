// A fresh temporary folder per test, removed afterwards (the library's own TempDir).
#pragma once
#include "core/temp_dir.h"

namespace onnxquant::test {

class TempDir : public onnxquant::TempDir {
 public:
  TempDir() : onnxquant::TempDir("onnxq-test") {}
};

}  // namespace onnxquant::test
