// A folder of raw .bin files: little-endian float32, C order, no header, one sample per file, all of one
// shape given by --raw-shape (or the model input's shape when it is fully fixed). Every file's size is
// checked against the shape when the source is built, so a wrong shape fails before anything runs.
#pragma once
#include <filesystem>
#include <memory>
#include <vector>

#include "io/source.h"

namespace onnxquant::sources {

// The shape of one file for `input`: --raw-shape NAME=..., else the unnamed --raw-shape, else the
// model's shape when every dim is known (symbolic ones from --dim; an open batch dim is 1). Throws
// UsageError when none applies.
Shape raw_file_shape(const IoInfo& input, const InputOptions& options);

std::unique_ptr<Feed> raw_folder_feed(const IoInfo& input, std::vector<std::filesystem::path> files, const InputOptions& options);

}  // namespace onnxquant::sources
