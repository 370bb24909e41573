#include "io/source_images.h"

#include <cstring>

#include "io/image_decode.h"
#include "io/image_preprocess.h"
#include "io/source_synthetic.h"

namespace onnxquant::sources {
namespace fs = std::filesystem;

namespace {

class ImageFolderFeed : public Feed {
 public:
  ImageFolderFeed(const IoInfo& in, const std::vector<IoInfo>& companions, std::vector<fs::path> files, const InputOptions& o)
      : in_(in), companions_(companions), files_(std::move(files)), batch_(in.shape.size() == 4 ? batch_size_of(in, o) : 1),
        limits_(o.images.limits) {
    if (in.shape.size() != 4 && in.shape.size() != 3)
      throw DataError("input '" + in.name + "' has shape " + shape_string(in.shape) + "; a folder of images feeds rank 4 (or 3) image inputs");
    if (!dtype_is_float(in.dtype))
      throw DataError("input '" + in.name + "' is " + dtype_name(in.dtype) + "; images become float tensors", "feed it from .npy files");
    recipe_ = resolve_image_preprocess(o.images, image_input_shape(in.shape));
    // Decode one sample now: a recipe that gives the wrong size or layout fails before anything runs.
    // Unreadable files met on the way are skipped with skip_bad (and skipped again, counted, when read).
    if (samples() == 0)
      throw DataError(files_.front().parent_path().string() + ": " + std::to_string(files_.size()) + " images do not fill one batch of " +
                      std::to_string(batch_) + " for input '" + in.name + "'");
    for (int64_t i = 0; i < samples(); ++i) {
      try {
        NamedTensors probe;
        fill(i, probe);
        return;
      } catch (const BadSampleFile&) {
        if (!o.skip_bad) throw;
      }
    }
    throw DataError(files_.front().parent_path().string() + ": no image in the folder could be read");
  }
  std::vector<std::string> inputs() const override {
    std::vector<std::string> names{in_.name};
    for (const auto& c : companions_) names.push_back(c.name);
    return names;
  }
  int64_t samples() const override { return static_cast<int64_t>(files_.size()) / batch_; }

  void fill(int64_t index, NamedTensors& sample) const override {
    Tensor batch;
    std::vector<std::array<double, 2>> shapes, scales;
    for (int64_t b = 0; b < batch_; ++b) {
      const fs::path& f = files_[static_cast<size_t>(index * batch_ + b)];
      Image8 image;
      try {
        image = decode_image(f, limits_);
      } catch (const DataError& e) {
        throw BadSampleFile(e.what());
      }
      PreprocessedImage p = preprocess_image(image, recipe_);
      if (in_.shape.size() == 3) p.tensor.shape.erase(p.tensor.shape.begin());  // [C,H,W] / [H,W,C] inputs have no batch axis
      if (b == 0) {
        check_fits(in_, in_.dtype, batch_shape(p.tensor.shape), f.string() + " (" + recipe_.description() + ")");
        batch = Tensor(DType::Float32, batch_shape(p.tensor.shape));
      } else if (batch_shape(p.tensor.shape) != batch.shape) {
        throw DataError(f.string() + ": becomes " + shape_string(p.tensor.shape) + ", unlike the other images of its batch " +
                        shape_string(batch.shape), "give --size so that every image has the same size, or use --dim to set batch 1");
      }
      std::memcpy(batch.bytes.data() + static_cast<size_t>(b) * p.tensor.bytes.size(), p.tensor.bytes.data(), p.tensor.bytes.size());
      const ImageGeometry& g = p.geometry;
      shapes.push_back({static_cast<double>(g.height), static_cast<double>(g.width)});
      scales.push_back({static_cast<double>(g.resized_height) / static_cast<double>(g.source_height),
                        static_cast<double>(g.resized_width) / static_cast<double>(g.source_width)});
    }
    sample[in_.name] = convert(std::move(batch));
    for (const auto& c : companions_) sample[c.name] = pairs_tensor(c, input_role(c) == InputRole::ScaleFactor ? scales : shapes);
  }

  std::string origin(int64_t index) const override {
    const std::string first = files_[static_cast<size_t>(index * batch_)].string();
    return batch_ == 1 ? first : first + " (and the next " + std::to_string(batch_ - 1) + " images)";
  }
  std::string description() const override {
    return files_.front().parent_path().string() + "/: " + std::to_string(files_.size()) + " images -> '" + in_.name + "' (" +
           recipe_.description() + ")";
  }

 private:
  Shape batch_shape(Shape one) const {
    if (in_.shape.size() == 4) one[0] = batch_;
    return one;
  }
  Tensor convert(Tensor t) const {  // the recipe gives float32; float16/bfloat16/float64 inputs get theirs
    if (in_.dtype == DType::Float32) return t;
    Tensor out(in_.dtype, t.shape);
    const auto src = t.as<float>();
    fill_elements(out, [&](int64_t i) { return static_cast<double>(src[static_cast<size_t>(i)]); });
    return out;
  }

  IoInfo in_;
  std::vector<IoInfo> companions_;
  std::vector<fs::path> files_;
  int64_t batch_ = 1;
  DecodeLimits limits_;
  ImagePreprocess recipe_;
};

}  // namespace

std::unique_ptr<Feed> image_folder_feed(const IoInfo& input, const std::vector<IoInfo>& companions, std::vector<fs::path> files,
                                        const InputOptions& options) {
  return std::make_unique<ImageFolderFeed>(input, companions, std::move(files), options);
}

}  // namespace onnxquant::sources
