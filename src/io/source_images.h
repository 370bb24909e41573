// A folder of JPEG/PNG images as a data source for one image input. Images are decoded one at a time when
// their sample is asked for (memory holds one image, never the folder), in file-name order, and turned
// into tensors by an ImagePreprocess recipe (image_preprocess.h) resolved from --preset, the explicit
// image options and the model's input shape. The first image is decoded when the source is built, so a
// recipe that does not fit the model fails before anything runs. With a model batch of B, each sample
// holds B consecutive images (a remainder that does not fill a batch is left out).
// PaddleDetection-style companions: inputs whose role (source_synthetic.h) is image size or scale
// factor, and that nothing else feeds, are filled from each image's real geometry: im_shape = the tensor's
// [H, W], scale_factor = [resized H / original H, resized W / original W].
#pragma once
#include <filesystem>
#include <memory>
#include <vector>

#include "io/source.h"

namespace onnxquant::sources {

std::unique_ptr<Feed> image_folder_feed(const IoInfo& input, const std::vector<IoInfo>& companions,
                                        std::vector<std::filesystem::path> files, const InputOptions& options);

}  // namespace onnxquant::sources
