// NumPy .npz archives (zip of .npy files; stored or deflated, zip64 aware): one array per name.
#pragma once
#include <filesystem>

#include "core/tensor.h"

namespace onnxquant {

// Keys are the member names without the ".npy" suffix; folder entries are skipped and any other member is
// an error (numpy only writes NAME.npy). Throws DataError naming the file and member.
NamedTensors read_npz(const std::filesystem::path& path);
void write_npz(const std::filesystem::path& path, const NamedTensors& arrays);  // stored (no compression), atomic

}  // namespace onnxquant
