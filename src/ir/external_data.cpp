#include "ir/external_data.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <map>
#include <tuple>
#include <vector>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "ir/graph_walk.h"

namespace onnxquant {
namespace fs = std::filesystem;

namespace {

struct ExternalRef {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

uint64_t parse_u64(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    const unsigned long long v = std::stoull(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    throw LoadError(what + ": external data " + s + " is not a number");
  }
}

ExternalRef parse_ref(const onnx::TensorProto& t, const std::string& where) {
  ExternalRef ref;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") ref.location = kv.value();
    else if (kv.key() == "offset") ref.offset = parse_u64(kv.value(), where);
    else if (kv.key() == "length") ref.length = parse_u64(kv.value(), where);
  }
  if (ref.location.empty()) throw LoadError(where + ": external data without a location");
  return ref;
}

// The resolved file, refused when it escapes the model folder (by "..", an absolute path or a symlink).
fs::path resolve_inside(const fs::path& base_dir, const std::string& location, const std::string& where, bool allow_outside) {
  const fs::path rel(location);
  if (!allow_outside) {
    if (rel.is_absolute()) throw LoadError(where + ": external data path '" + location + "' is absolute; it must be relative to the model's folder");
    for (const auto& part : rel)
      if (part == "..") throw LoadError(where + ": external data path '" + location + "' leaves the model's folder");
  }
  const fs::path full = rel.is_absolute() ? rel : base_dir / rel;
  std::error_code ec;
  if (!fs::exists(full, ec)) throw LoadError(where + ": external data file " + full.string() + " is missing");
  if (!allow_outside) {
    const fs::path real_base = fs::canonical(base_dir, ec);
    const fs::path real_file = fs::canonical(full, ec);
    if (ec) throw LoadError(where + ": cannot resolve external data file " + full.string());
    const auto base_s = real_base.string() + "/";
    if (real_file.string().rfind(base_s, 0) != 0)
      throw LoadError(where + ": external data file " + full.string() + " resolves outside the model's folder (symlink?)");
  }
  return full;
}

void set_external(onnx::TensorProto& t, const std::string& location, uint64_t offset, uint64_t length) {
  t.clear_external_data();
  auto add = [&](const char* k, const std::string& v) {
    auto* e = t.add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  add("offset", std::to_string(offset));
  add("length", std::to_string(length));
  t.clear_raw_data();
  t.set_data_location(onnx::TensorProto::EXTERNAL);
}

// Open files by path, so that a model with hundreds of tensors in one file opens it once.
class FileReader {
 public:
  std::ifstream& open(const fs::path& file, const std::string& where) {
    auto [it, inserted] = files_.try_emplace(file);
    if (inserted) it->second.open(file, std::ios::binary);
    if (!it->second) throw LoadError(where + ": cannot open " + file.string());
    return it->second;
  }
  // Reads [offset, offset + length) of `file` into `out` (which is resized).
  void read(const fs::path& file, uint64_t offset, uint64_t length, std::string& out, const std::string& where) {
    auto& in = open(file, where);
    out.assign(length, '\0');
    in.clear();
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(out.data(), static_cast<std::streamsize>(length));
    if (static_cast<uint64_t>(in.gcount()) != length) throw LoadError(where + ": short read from " + file.string());
  }

 private:
  std::map<fs::path, std::ifstream> files_;
};

}  // namespace

void load_external_data(onnx::ModelProto& model, const fs::path& base_dir, const std::string& origin, bool allow_outside,
                        ExternalDataLoad mode) {
  FileReader reader;
  std::map<fs::path, uint64_t> referenced;  // bytes referenced in each file so far, shared bytes counted again
  for_each_tensor(*model.mutable_graph(), [&](onnx::TensorProto& t) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) return;
    const std::string where = origin + ": tensor '" + t.name() + "'";
    const ExternalRef ref = parse_ref(t, where);
    const fs::path file = resolve_inside(base_dir, ref.location, where, allow_outside);
    std::error_code ec;
    const uint64_t file_size = fs::file_size(file, ec);
    if (ec) throw LoadError(where + ": cannot read " + file.string());
    const uint64_t length = ref.length ? *ref.length : (ref.offset <= file_size ? file_size - ref.offset : 0);
    if (ref.offset > file_size || length > file_size - ref.offset)
      throw LoadError(where + ": external data range [" + std::to_string(ref.offset) + ", +" + std::to_string(length) +
                      ") is beyond the end of " + file.string() + " (" + std::to_string(file_size) + " bytes)");
    uint64_t& total = referenced[file];
    total += length;  // no overflow: each length is at most the file size, and the sum is capped below
    if (total > kMaxExternalReadsPerFile * file_size)
      throw LoadError(where + ": external data ranges in " + file.string() + " add up to more than " +
                      std::to_string(kMaxExternalReadsPerFile) + " times its " + std::to_string(file_size) +
                      " bytes (tensors overlapping again and again)");
    if (mode == ExternalDataLoad::Defer) {
      // The absolute path is checked now; later readers must not resolve the relative one again.
      set_external(t, fs::absolute(file).lexically_normal().string(), ref.offset, length);
      return;
    }
    reader.read(file, ref.offset, length, *t.mutable_raw_data(), where);
    t.clear_external_data();
    t.set_data_location(onnx::TensorProto::DEFAULT);
  });
}

std::optional<uint64_t> deferred_bytes(const onnx::TensorProto& t) {
  if (t.data_location() != onnx::TensorProto::EXTERNAL) return std::nullopt;
  for (const auto& kv : t.external_data())
    if (kv.key() == "length") return parse_u64(kv.value(), "tensor '" + t.name() + "'");
  return std::nullopt;
}

uint64_t deferred_bytes(const onnx::ModelProto& model) {
  uint64_t total = 0;
  for_each_tensor(model.graph(), [&](const onnx::TensorProto& t) { total += deferred_bytes(t).value_or(0); });
  return total;
}

void read_deferred_data(onnx::ModelProto& model) {
  FileReader reader;
  for_each_tensor(*model.mutable_graph(), [&](onnx::TensorProto& t) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) return;
    const std::string where = "tensor '" + t.name() + "'";
    const ExternalRef ref = parse_ref(t, where);
    if (!ref.length) throw InternalError(where + ": deferred external data without a length");
    reader.read(ref.location, ref.offset, *ref.length, *t.mutable_raw_data(), where);
    t.clear_external_data();
    t.set_data_location(onnx::TensorProto::DEFAULT);
  });
}

namespace {

constexpr size_t kMinExternalBytes = 1024;
constexpr uint64_t kCopyChunkBytes = uint64_t{4} << 20;
constexpr uint64_t kAlignment = 4096;  // each tensor starts on a page, so the runtime can memory-map it

// The large tensors' bytes, lent out of a model (by swap, no copy) while its structure is copied and given
// back on destruction, exceptions included: saving a 2 GB model then holds one copy of its weights, not two.
class LentTensorBytes {
 public:
  explicit LentTensorBytes(onnx::ModelProto& model) : model_(model) {
    size_t index = 0;
    for_each_tensor(*model_.mutable_graph(), [&](onnx::TensorProto& t) {
      if (t.has_raw_data() && t.raw_data().size() >= kMinExternalBytes) {
        lent_.emplace(index, std::string());
        lent_[index].swap(*t.mutable_raw_data());
      }
      ++index;
    });
  }
  ~LentTensorBytes() {
    size_t index = 0;
    for_each_tensor(*model_.mutable_graph(), [&](onnx::TensorProto& t) {
      if (auto it = lent_.find(index++); it != lent_.end()) t.mutable_raw_data()->swap(it->second);
    });
  }
  LentTensorBytes(const LentTensorBytes&) = delete;
  LentTensorBytes& operator=(const LentTensorBytes&) = delete;
  // Bytes of the index-th tensor in for_each_tensor order, or nullptr when it was not lent (small).
  const std::string* bytes(size_t index) const {
    auto it = lent_.find(index);
    return it == lent_.end() ? nullptr : &it->second;
  }

 private:
  onnx::ModelProto& model_;
  std::map<size_t, std::string> lent_;
};

// Appends tensors to the data file, each on a page boundary.
class DataWriter {
 public:
  explicit DataWriter(std::ostream& out) : out_(out) {}
  uint64_t append(std::string_view bytes) {
    const uint64_t at = align();
    write(bytes);
    return at;
  }
  // Copies a deferred tensor's range from its file; a range already copied is not copied again.
  uint64_t copy(FileReader& reader, const ExternalRef& ref, const std::string& where) {
    const auto key = std::make_tuple(ref.location, ref.offset, *ref.length);
    if (auto it = copied_.find(key); it != copied_.end()) return it->second;
    const uint64_t at = align();
    std::string chunk;
    for (uint64_t done = 0; done < *ref.length;) {
      const uint64_t n = std::min(kCopyChunkBytes, *ref.length - done);
      reader.read(ref.location, ref.offset + done, n, chunk, where);
      write(chunk);
      done += n;
    }
    copied_.emplace(key, at);
    return at;
  }

 private:
  uint64_t align() {
    const uint64_t aligned = (offset_ + kAlignment - 1) / kAlignment * kAlignment;
    static const std::string zeros(kAlignment, '\0');
    out_.write(zeros.data(), static_cast<std::streamsize>(aligned - offset_));
    offset_ = aligned;
    return offset_;
  }
  void write(std::string_view bytes) {
    out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    offset_ += bytes.size();
  }
  std::ostream& out_;
  uint64_t offset_ = 0;
  std::map<std::tuple<std::string, uint64_t, uint64_t>, uint64_t> copied_;
};

}  // namespace

void save_with_external_data(const onnx::ModelProto& model, const fs::path& path, PendingFiles& files) {
  // The model is logically const: its bytes are only borrowed for the duration of this call.
  const LentTensorBytes weights(const_cast<onnx::ModelProto&>(model));
  onnx::ModelProto copy = model;  // structure only, the large tensors' bytes are lent out
  const std::string data_name = path.filename().string() + ".data";
  const fs::path data_path = path.parent_path() / data_name;
  // Both files are published together: a failure or an interrupt leaves an existing model and its data
  // file as they were, never a new data file beside an old model.
  files.add(data_path, [&](std::ostream& out) {
    DataWriter data(out);
    FileReader reader;
    size_t index = 0;
    for_each_tensor(*copy.mutable_graph(), [&](onnx::TensorProto& t) {
      if (const std::string* raw = weights.bytes(index++)) {
        set_external(t, data_name, data.append(*raw), raw->size());
      } else if (t.data_location() == onnx::TensorProto::EXTERNAL) {
        const std::string where = "tensor '" + t.name() + "'";
        const ExternalRef ref = parse_ref(t, where);
        if (!ref.length) throw InternalError(where + ": deferred external data without a length");
        set_external(t, data_name, data.copy(reader, ref, where), *ref.length);
      }
    });
  });
  std::string bytes;
  if (copy.ByteSizeLong() > kMaxInlineModelBytes || !copy.SerializeToString(&bytes))
    throw IoError(path.string() + ": graph too large to serialize even with external data");
  files.add(path, bytes);
}

}  // namespace onnxquant
