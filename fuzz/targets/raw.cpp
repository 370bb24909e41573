// Raw float32 .bin folders as calibration data. The fuzz input is split into what a user controls: the
// model input's type and shape (as a hostile model would declare them), an optional --raw-shape, and the
// file's bytes. The feed checks the file size against the shape and reads the sample.
#include "core/errors.h"
#include "io/source_raw.h"
#include "targets.h"
#include "targets/scratch_file.h"

namespace onnxquant::fuzz {

namespace {

class ByteCursor {
 public:
  explicit ByteCursor(std::string_view bytes) : bytes_(bytes) {}
  uint8_t u8() { return pos_ < bytes_.size() ? static_cast<uint8_t>(bytes_[pos_++]) : 0; }
  // Small dims most of the time, with -1 (symbolic) and huge values reachable, as a hostile file could declare.
  int64_t dim() {
    const uint8_t lo = u8(), hi = u8();
    if (hi == 0xff) return -1;
    if (hi >= 0xf0) return int64_t{1} << (30 + (hi - 0xf0) * 2);  // 2^30 .. 2^60
    return (int64_t{hi} << 8) | lo;
  }
  std::string_view rest() const { return bytes_.substr(std::min(pos_, bytes_.size())); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

constexpr DType kInputTypes[] = {DType::Float32, DType::Float16, DType::BFloat16, DType::Float64, DType::Int64};

}  // namespace

void raw(std::string_view bytes) {
  ByteCursor in(bytes);
  IoInfo input;
  input.name = "x";
  input.dtype = kInputTypes[in.u8() % std::size(kInputTypes)];
  const int rank = in.u8() % 5;
  for (int i = 0; i < rank; ++i) {
    input.shape.push_back(in.dim());
    input.dim_names.push_back(input.shape.back() < 0 ? "d" + std::to_string(i) : "");
  }
  InputOptions options;
  const int raw_rank = in.u8() % 6;  // 0: no --raw-shape, the model's shape decides
  if (raw_rank > 0) {
    Shape shape;
    for (int i = 1; i < raw_rank; ++i) shape.push_back(in.dim());
    options.raw_shapes[""] = shape;
  }
  if (in.u8() & 1) options.dims["d1"] = in.dim();
  try {
    const auto feed = sources::raw_folder_feed(input, {scratch_file(in.rest(), "sample.bin")}, options);
    NamedTensors sample;
    feed->fill(0, sample);
  } catch (const Error&) {
  }
}

}  // namespace onnxquant::fuzz
