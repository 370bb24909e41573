// Internal to the io layer: what every kind of data source implements for InputSource (model_inputs.h),
// and the checks they share. A Feed supplies some of the model's inputs for sample i; InputSource asks
// every feed in turn (file feeds before synthetic ones, so derived synthetic inputs can look at the
// tensors already in the sample).
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/tensor.h"
#include "exec/executor.h"
#include "io/model_inputs.h"

namespace onnxquant::sources {

class Feed {
 public:
  virtual ~Feed() = default;
  virtual std::vector<std::string> inputs() const = 0;  // the model inputs this feed supplies
  virtual int64_t samples() const = 0;                  // -1: as many as asked (synthetic)
  virtual void fill(int64_t index, NamedTensors& sample) const = 0;
  // The file sample `index` comes from, for messages: "photos/cat.jpg", "x.npy", "d.npz:x".
  virtual std::string origin(int64_t index) const = 0;
  virtual std::string description() const = 0;  // one line: what this feed reads
  // Files dropped while building the feed because they could not be read (only with skip_bad), as
  // "file: reason" lines.
  virtual std::vector<std::string> skipped() const { return {}; }
};

// One file of a folder source that cannot be read or decoded. InputSource skips such samples when
// InputOptions::skip_bad is set; every other DataError stops the run.
class BadSampleFile : public DataError {
 public:
  using DataError::DataError;
};

// Batch size of a model input: its fixed first dim, else the --dim value of its name, else 1.
int64_t batch_size_of(const IoInfo& input, const InputOptions& options);

// Throws DataError (naming `origin` and the input) when data of this dtype and per-sample shape cannot
// feed the input: wrong dtype, rank, or a fixed dim that differs.
void check_fits(const IoInfo& input, DType dtype, const Shape& sample_shape, const std::string& origin);

const IoInfo& find_input(const std::vector<IoInfo>& inputs, const std::string& name, const std::string& origin);

// An array read by rows of its first axis (a .npy file, a safetensors tensor, an in-memory .npz member).
class RowArray {
 public:
  virtual ~RowArray() = default;
  virtual DType dtype() const = 0;
  virtual const Shape& shape() const = 0;
  virtual Tensor read_rows(int64_t first, int64_t count) const = 0;  // 0-d: (0, 1) gives the scalar
  virtual std::string origin() const = 0;
};

// How an array becomes samples of `input`: one rank higher than the input, axis 0 counts samples (each
// sample whole); the same rank, axis 0 is cut into batches of the input's batch size; a 0-d array for a
// 0-d input is one sample. The fit is checked here, from the array's header.
std::unique_ptr<Feed> make_array_feed(const IoInfo& input, std::unique_ptr<RowArray> array, const InputOptions& options);

// Regular files of a folder with one of `extensions` (lower case, with the dot; matched case-insensitively),
// hidden files excluded, sorted by file name so that every run sees the same order.
std::vector<std::filesystem::path> list_files(const std::filesystem::path& dir, const std::vector<std::string>& extensions);
std::string lower_extension(const std::filesystem::path& path);

}  // namespace onnxquant::sources
