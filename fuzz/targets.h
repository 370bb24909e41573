// The fuzz targets' bodies, shared by the libFuzzer executables (fuzz/libfuzzer_main.cpp) and the unit
// test that replays fuzz/regressions/ with the normal GCC build (tests/unit/test_fuzz_regressions.cpp).
// Each feeds untrusted bytes to one reader the way the CLI does. A typed onnxquant::Error is the expected
// answer to bad input and is swallowed; anything else escaping (std::out_of_range, bad_alloc, a crash, a
// sanitizer report) is a finding.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace onnxquant::fuzz {

// Model::from_bytes, Graph indices and topological order of every graph, shape inference, inspect.
void model(std::string_view bytes);
// .npy: parse_npy on the bytes, and NpyReader reading rows from the same bytes as a file.
void npy(std::string_view bytes);
// .npz: the zip reader and read_npz on the bytes as a file.
void npz(std::string_view bytes);
// .safetensors: SafetensorsReader on the bytes as a file, reading every tensor and its first row.
void safetensors(std::string_view bytes);
// Raw float32 .bin folder: a model input and --raw-shape taken from the first bytes, the rest is the file.
void raw(std::string_view bytes);
// JPEG/PNG decoding (with EXIF orientation) of the bytes.
void image(std::string_view bytes);

struct Target {
  const char* name;  // also the folder name under fuzz/seeds/ and fuzz/regressions/
  void (*run)(std::string_view);
};
const std::vector<Target>& all_targets();

}  // namespace onnxquant::fuzz
