// libFuzzer entry point; one executable per target, chosen at compile time by ONNXQ_FUZZ_TARGET
// (fuzz/CMakeLists.txt), so each binary links only the readers it exercises.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  onnxquant::fuzz::ONNXQ_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
