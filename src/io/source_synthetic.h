// Synthetic inputs: what a model gets when no data is given for an input. Values are plausible for
// what the input most likely is, so that multi-input models run without help:
//   - float data: N(0,1) clipped to [-2.5, 2.5], the range of normalized images and features;
//   - integer data: small non-negative integers (0..9), never float noise; bool: false;
//   - by name (the conventions of the exporters that produce such inputs; see input_role()):
//       im_shape / image_shape / img_shape / im_size / image_size / orig_size / orig_target_sizes
//         -> height and width of the sample's image (PaddleDetection, RT-DETR);
//       scale_factor -> 1.0 (PaddleDetection: the image was not resized);
//       an integer scalar named sr / sample_rate / sampling_rate -> 16000 (Silero-style audio models);
//       float recurrent state (names with state / hidden / cache, past*, h, c, h0, c0, hx, cx) -> zeros,
//         the state a recurrent model starts from.
//   --input-value NAME=v1,v2,... fills an input with exactly those values (repeated to the shape).
// Shapes: --input-shape NAME=..., else fixed dims as declared, symbolic dims from --dim NAME=N, else a
// symbolic dim that is a leading (batch) dim of any input, or has "batch" in its name, is 1 everywhere
// it appears, and any other open dim is kDefaultSyntheticDim (224).
#pragma once
#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "io/source.h"

namespace onnxquant::sources {

enum class InputRole { Data, ImageShape, ScaleFactor, SampleRate, RecurrentState };
InputRole input_role(const IoInfo& input);

// The input a folder of images feeds when none is named: the only input, else the only float input of
// rank 4 (or 3); nullptr when that is ambiguous.
const IoInfo* primary_image_input(const std::vector<IoInfo>& inputs);

Shape synthetic_shape(const IoInfo& input, const std::vector<IoInfo>& all_inputs, const InputOptions& options);

std::unique_ptr<Feed> synthetic_feed(const IoInfo& input, const std::vector<IoInfo>& all_inputs, const InputOptions& options);

// A tensor for an image-describing input (im_shape, scale_factor): one (a, b) pair per batch item,
// shaped [items, 2] for a rank-2 input and [2] for rank 1, converted to the input's element type.
Tensor pairs_tensor(const IoInfo& input, const std::vector<std::array<double, 2>>& pairs);

// Converts value_at(i) into element i of t (any numeric type).
void fill_elements(Tensor& t, const std::function<double(int64_t)>& value_at);

}  // namespace onnxquant::sources
