// `--config FILE`: every option of every command from a YAML (.yaml, .yml) or TOML (.toml) file, for
// repeatable runs. Sections are command names, keys are long option names without the dashes, values
// are scalars or lists (a repeatable option); top-level keys outside a section are global options.
// Options given on the command line win over the file. Unknown sections or keys, and values of the
// wrong shape, are usage errors naming the file, the line and the key.
//
//   quantize:                 [quantize]
//     static-int8: true       static-int8 = true
//     method: entropy         method = "entropy"
//     exclude: [Softmax]      exclude = ["Softmax"]
//
// In the `batch` section, `models:` maps a model file name to quantize options for that model only
// (they become --per-model entries). Examples: examples/*.yaml, examples/*.toml.
#pragma once
#include <CLI/CLI.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace onnxquant::cli {

// The value of `--config FILE` / `--config=FILE` in argv, if any (needed before parsing: the format
// comes from the file's extension).
std::optional<std::filesystem::path> find_config_argument(int argc, char** argv);

class ConfigFileReader : public CLI::Config {
 public:
  // `app`: the whole command tree, to check every key against the options it defines.
  ConfigFileReader(const CLI::App& app, std::filesystem::path file);
  std::string to_config(const CLI::App*, bool, bool, std::string) const override;
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
  // " (config FILE line N)" when `message` (a CLI11 error) names an option the file set, else "".
  std::string locate(const std::string& message) const;

 private:
  const CLI::App& app_;
  std::filesystem::path file_;
  mutable std::map<std::string, int> lines_;  // option name -> line, filled while reading
};

}  // namespace onnxquant::cli
