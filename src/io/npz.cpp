// .npz = a zip of .npy members, as np.savez / np.savez_compressed write it.
#include "io/npz.h"

#include "core/atomic_file.h"
#include "core/errors.h"
#include "io/npy.h"
#include "io/zip_archive.h"

namespace onnxquant {

namespace {
constexpr std::string_view kSuffix = ".npy";
}

NamedTensors read_npz(const std::filesystem::path& path) {
  const zip::Reader archive(path);
  NamedTensors out;
  for (const zip::Entry& e : archive.entries()) {
    const std::string where = path.string() + ": member '" + e.name + "'";
    if (!e.name.empty() && e.name.back() == '/') continue;  // a folder entry holds no data
    if (e.name.size() <= kSuffix.size() || !e.name.ends_with(kSuffix))
      throw DataError(where + " is not a .npy array (an .npz holds only NAME.npy members)");
    const std::string key = e.name.substr(0, e.name.size() - kSuffix.size());
    if (out.count(key)) throw DataError(where + " appears twice in the archive");
    out.emplace(key, parse_npy(archive.read(e), where));
  }
  return out;
}

void write_npz(const std::filesystem::path& path, const NamedTensors& arrays) {
  // Build every header first: an unwritable tensor fails before a temp file exists.
  std::vector<std::string> headers;
  for (const auto& [key, tensor] : arrays) {
    if (key.empty()) throw DataError("cannot write " + path.string() + ": an array has an empty name");
    try {
      headers.push_back(npy_header(tensor));
    } catch (const DataError& e) {
      throw DataError(path.string() + ": array '" + key + "': " + e.what());
    }
  }
  write_file_atomically(path, [&](std::ostream& out) {
    zip::Writer writer(out);
    size_t i = 0;
    for (const auto& [key, tensor] : arrays) {
      const std::string_view data(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size());
      writer.add(key + std::string(kSuffix), {headers[i++], data});
    }
    writer.finish();
  });
}

}  // namespace onnxquant
