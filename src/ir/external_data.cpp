#include "ir/external_data.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <map>
#include <optional>

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

}  // namespace

void load_external_data(onnx::ModelProto& model, const fs::path& base_dir, const std::string& origin, bool allow_outside) {
  std::map<fs::path, std::ifstream> open_files;
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
    auto [it, inserted] = open_files.try_emplace(file);
    if (inserted) it->second.open(file, std::ios::binary);
    auto& in = it->second;
    if (!in) throw LoadError(where + ": cannot open " + file.string());
    std::string bytes(length, '\0');
    in.clear();
    in.seekg(static_cast<std::streamoff>(ref.offset));
    in.read(bytes.data(), static_cast<std::streamsize>(length));
    if (static_cast<uint64_t>(in.gcount()) != length) throw LoadError(where + ": short read from " + file.string());
    t.set_raw_data(std::move(bytes));
    t.clear_external_data();
    t.set_data_location(onnx::TensorProto::DEFAULT);
  });
}

void save_with_external_data(const onnx::ModelProto& model, const fs::path& path) {
  constexpr size_t kMinExternalBytes = 1024;
  onnx::ModelProto copy = model;  // graph structure is small; tensors are moved out below
  const std::string data_name = path.filename().string() + ".data";
  const fs::path data_path = path.parent_path() / data_name;
  write_file_atomically(data_path, [&](std::ostream& out) {
    uint64_t offset = 0;
    for_each_tensor(*copy.mutable_graph(), [&](onnx::TensorProto& t) {
      if (!t.has_raw_data() || t.raw_data().size() < kMinExternalBytes) return;
      // Align each tensor to 4 KiB so the runtime can memory-map it.
      const uint64_t aligned = (offset + 4095) / 4096 * 4096;
      for (; offset < aligned; ++offset) out.put('\0');
      const std::string& raw = t.raw_data();
      out.write(raw.data(), static_cast<std::streamsize>(raw.size()));
      auto add = [&](const char* k, const std::string& v) {
        auto* e = t.add_external_data();
        e->set_key(k);
        e->set_value(v);
      };
      add("location", data_name);
      add("offset", std::to_string(offset));
      add("length", std::to_string(raw.size()));
      offset += raw.size();
      t.clear_raw_data();
      t.set_data_location(onnx::TensorProto::EXTERNAL);
    });
  });
  std::string bytes;
  if (copy.ByteSizeLong() > kMaxInlineModelBytes || !copy.SerializeToString(&bytes))
    throw IoError(path.string() + ": graph too large to serialize even with external data");
  write_file_atomically(path, bytes);
}

}  // namespace onnxquant
