#include "cli/config_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <toml++/toml.h>

#include "core/errors.h"

namespace onnxquant::cli {

namespace {

// One key of the file before it is checked against the command tree.
struct RawItem {
  std::string section;  // command name, or "" for a global option
  std::string key;
  std::vector<std::string> values;
  int line = 0;
  int section_line = 0;
};

[[noreturn]] void fail(const std::filesystem::path& file, int line, const std::string& what) {
  throw UsageError(fmt::format("config {} line {}: {}", file.string(), line, what));
}

// ---- YAML ---------------------------------------------------------------------------------------------
std::vector<std::string> yaml_values(const YAML::Node& v, const std::filesystem::path& file, const std::string& key) {
  const int line = v.Mark().line + 1;
  if (v.IsScalar()) return {v.as<std::string>()};
  if (v.IsNull()) fail(file, line, "'" + key + "' has no value");
  if (v.IsSequence()) {
    std::vector<std::string> out;
    for (const auto& e : v) {
      if (!e.IsScalar()) fail(file, e.Mark().line + 1, "'" + key + "' must be a list of plain values");
      out.push_back(e.as<std::string>());
    }
    return out;
  }
  fail(file, line, "'" + key + "' must be a value or a list of values, not a mapping");
}

// A `models:` entry of the batch section: {exclude: [a, b], keep-fp32-head: true} -> "--exclude a --exclude b --keep-fp32-head true".
std::string yaml_model_options(const YAML::Node& options, const std::filesystem::path& file, const std::string& model) {
  if (!options.IsMap()) fail(file, options.Mark().line + 1, "models: '" + model + "' must map option names to values");
  std::string args;
  for (const auto& kv : options) {
    const std::string key = kv.first.as<std::string>();
    for (const auto& v : yaml_values(kv.second, file, key)) args += " --" + key + " " + v;
  }
  return args;
}

std::vector<RawItem> read_yaml(std::istream& in, const std::filesystem::path& file) {
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::Exception& e) {
    fail(file, e.mark.line + 1, "not valid YAML: " + e.msg);
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) fail(file, root.Mark().line + 1, "the top level must map command names (or global options) to values");
  std::vector<RawItem> items;
  for (const auto& top : root) {
    const std::string name = top.first.as<std::string>();
    if (!top.second.IsMap()) {
      items.push_back({"", name, yaml_values(top.second, file, name), top.first.Mark().line + 1, 0});
      continue;
    }
    const int section_line = top.first.Mark().line + 1;
    for (const auto& kv : top.second) {
      const std::string key = kv.first.as<std::string>();
      const int line = kv.first.Mark().line + 1;
      if (name == "batch" && key == "models") {
        if (!kv.second.IsMap()) fail(file, line, "batch: 'models' must map model file names to their options");
        for (const auto& m : kv.second) {
          const std::string model = m.first.as<std::string>();
          items.push_back({name, "per-model", {model + "=" + yaml_model_options(m.second, file, model)}, m.first.Mark().line + 1, section_line});
        }
        continue;
      }
      items.push_back({name, key, yaml_values(kv.second, file, key), line, section_line});
    }
  }
  return items;
}

// ---- TOML ---------------------------------------------------------------------------------------------
int toml_line(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

std::string toml_scalar(const toml::node& n, const std::filesystem::path& file, const std::string& key) {
  if (auto s = n.as_string()) return s->get();
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto f = n.as_floating_point()) return fmt::format("{}", f->get());
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  fail(file, toml_line(n), "'" + key + "' must be a string, number or boolean");
}

std::vector<std::string> toml_values(const toml::node& n, const std::filesystem::path& file, const std::string& key) {
  if (auto a = n.as_array()) {
    std::vector<std::string> out;
    for (const auto& e : *a) out.push_back(toml_scalar(e, file, key));
    return out;
  }
  if (n.is_table()) fail(file, toml_line(n), "'" + key + "' must be a value or a list of values, not a table");
  return {toml_scalar(n, file, key)};
}

std::vector<RawItem> read_toml(std::istream& in, const std::filesystem::path& file) {
  toml::table root;
  try {
    root = toml::parse(in, file.string());
  } catch (const toml::parse_error& e) {
    fail(file, static_cast<int>(e.source().begin.line), "not valid TOML: " + std::string(e.description()));
  }
  std::vector<RawItem> items;
  for (const auto& [name_key, node] : root) {
    const std::string name(name_key.str());
    const auto* section = node.as_table();
    if (!section) {
      items.push_back({"", name, toml_values(node, file, name), toml_line(node), 0});
      continue;
    }
    const int section_line = toml_line(node);
    for (const auto& [key_key, value] : *section) {
      const std::string key(key_key.str());
      if (name == "batch" && key == "models") {
        const auto* models = value.as_table();
        if (!models) fail(file, toml_line(value), "batch: 'models' must be a table of model file names");
        for (const auto& [model_key, options] : *models) {
          const std::string model(model_key.str());
          const auto* t = options.as_table();
          if (!t) fail(file, toml_line(options), "models: '" + model + "' must be a table of options");
          std::string args;
          for (const auto& [k, v] : *t)
            for (const auto& x : toml_values(v, file, std::string(k.str()))) args += " --" + std::string(k.str()) + " " + x;
          items.push_back({name, "per-model", {model + "=" + args}, toml_line(options), section_line});
        }
        continue;
      }
      items.push_back({name, key, toml_values(value, file, key), toml_line(value), section_line});
    }
  }
  return items;
}

}  // namespace

std::optional<std::filesystem::path> find_config_argument(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (a == "--config" && i + 1 < argc) return std::filesystem::path(argv[i + 1]);
    if (a.rfind("--config=", 0) == 0) return std::filesystem::path(a.substr(9));
  }
  return std::nullopt;
}

ConfigFileReader::ConfigFileReader(const CLI::App& app, std::filesystem::path file) : app_(app), file_(std::move(file)) {}

std::string ConfigFileReader::to_config(const CLI::App*, bool, bool, std::string) const {
  throw UsageError("writing a config file is not supported; write it by hand (see examples/)");
}

std::vector<CLI::ConfigItem> ConfigFileReader::from_config(std::istream& input) const {
  const std::string ext = file_.extension().string();
  std::vector<RawItem> raw;
  if (ext == ".yaml" || ext == ".yml") raw = read_yaml(input, file_);
  else if (ext == ".toml") raw = read_toml(input, file_);
  else throw UsageError("config " + file_.string() + ": unknown format; use a .yaml, .yml or .toml file");

  std::vector<CLI::ConfigItem> items;
  for (const auto& r : raw) {
    const CLI::App* scope = &app_;
    if (!r.section.empty()) {
      scope = nullptr;
      for (const auto* sub : app_.get_subcommands([](const CLI::App*) { return true; }))
        if (sub->get_name() == r.section) scope = sub;
      if (!scope) fail(file_, r.section_line, "unknown section '" + r.section + "' (sections are command names: quantize, calibrate, ...)");
    }
    if (r.key == "config" || r.key == "help") fail(file_, r.line, "'" + r.key + "' cannot be set in a config file");
    const CLI::Option* op = scope->get_option_no_throw("--" + r.key);
    if (!op || op->get_lnames().empty())
      fail(file_, r.line, fmt::format("unknown option '{}'{}", r.key, r.section.empty() ? " (global options: format, quiet, verbose)" : " for '" + r.section + "'"));
    lines_[r.key] = r.line;
    CLI::ConfigItem item;
    if (!r.section.empty()) item.parents = {r.section};
    item.name = r.key;
    item.inputs = r.values;
    items.push_back(std::move(item));
  }
  return items;
}

std::string ConfigFileReader::locate(const std::string& message) const {
  for (const auto& [name, line] : lines_)
    if (message.find("--" + name) != std::string::npos || message.find(" " + name + " ") != std::string::npos)
      return fmt::format(" (config {} line {})", file_.string(), line);
  return "";
}

}  // namespace onnxquant::cli
