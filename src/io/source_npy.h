// NumPy data sources: a .npy file (a stack or batches of one input), a .npz file (one array per input
// name), a folder of .npy files (one sample of one input per file) and a folder of .npz files (one sample
// of several inputs per file). Files are read when their sample is asked for; headers are checked
// against the model when the source is built.
#pragma once
#include <filesystem>
#include <memory>
#include <vector>

#include "io/source.h"

namespace onnxquant::sources {

std::unique_ptr<Feed> npy_file_feed(const IoInfo& input, const std::filesystem::path& file, const InputOptions& options);

// Every member of the .npz feeds the input of its name; with `only` set, just that member.
std::vector<std::unique_ptr<Feed>> npz_file_feeds(const std::vector<IoInfo>& inputs, const std::filesystem::path& file,
                                                  const std::string& only, const InputOptions& options);

// One sample per file. An array of the input's rank is the sample; one rank lower, it gets a leading
// batch axis of 1. Every file's header is checked up front (unreadable ones are skipped when
// options.skip_bad is set, reported by skipped()).
std::unique_ptr<Feed> npy_folder_feed(const IoInfo& input, std::vector<std::filesystem::path> files, const InputOptions& options);

// One sample per file; the first file's members name the inputs every file must supply.
std::unique_ptr<Feed> npz_folder_feed(const std::vector<IoInfo>& inputs, std::vector<std::filesystem::path> files,
                                      const InputOptions& options);

// Shape of one sample of `input` from an array of `shape` (same rank, or one lower: leading 1 added).
Shape per_file_sample_shape(const IoInfo& input, const Shape& shape);

}  // namespace onnxquant::sources
