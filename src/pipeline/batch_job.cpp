#include "pipeline/batch_job.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <set>
#include <cstring>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/temp_dir.h"

extern char** environ;

namespace onnxquant {

namespace fs = std::filesystem;

Shard parse_shard(const std::string& text) {
  Shard s;
  char slash = 0;
  std::istringstream in(text);
  if (!(in >> s.index >> slash >> s.count) || slash != '/' || !in.eof() || s.count < 1 || s.index < 1 || s.index > s.count)
    throw UsageError("--shard '" + text + "': expected K/N with 1 <= K <= N, e.g. 3/8");
  return s;
}

std::vector<BatchItem> collect_batch_models(const std::vector<std::string>& inputs, const fs::path& output_dir) {
  std::error_code ec;
  if (fs::exists(output_dir, ec) && !fs::is_directory(output_dir, ec))
    throw UsageError("batch: the output folder '" + output_dir.string() + "' is a file");
  std::set<fs::path> models;
  for (const auto& text : inputs) {
    const fs::path p(text);
    if (!fs::exists(p, ec)) throw DataError(text + ": no such file or folder");
    if (!fs::is_directory(p, ec)) {
      models.insert(fs::weakly_canonical(p));
      continue;
    }
    for (const auto& e : fs::directory_iterator(p)) {
      const std::string name = e.path().filename().string();
      if (name.empty() || name[0] == '.' || !e.is_regular_file(ec) || e.path().extension() != ".onnx") continue;
      models.insert(fs::weakly_canonical(e.path()));
    }
  }
  if (models.empty()) throw DataError("batch: no .onnx model in " + (inputs.empty() ? std::string("the inputs") : inputs.front()));
  std::vector<BatchItem> items;
  std::map<fs::path, fs::path> owner;
  for (const auto& m : models) {
    const fs::path out = output_dir / m.filename();
    if (auto it = owner.find(out); it != owner.end())
      throw UsageError("batch: '" + it->second.string() + "' and '" + m.string() + "' would both write " + out.string(),
                       "run the two folders as separate batches with different output folders");
    if (fs::exists(out, ec) && fs::equivalent(out, m, ec)) throw UsageError("batch: the output " + out.string() + " would overwrite its own model");
    owner.emplace(out, m);
    items.push_back({m, out});
  }
  return items;
}

std::vector<BatchItem> select_shard(const std::vector<BatchItem>& all, const Shard& shard) {
  std::vector<BatchItem> mine;
  for (size_t i = static_cast<size_t>(shard.index - 1); i < all.size(); i += static_cast<size_t>(shard.count)) mine.push_back(all[i]);
  return mine;
}

namespace {

using Clock = std::chrono::steady_clock;

struct Running {
  size_t entry;
  Clock::time_point start;
  fs::path out_file, err_file;
};

pid_t spawn_quantize(const BatchRequest& req, const BatchItem& item, const fs::path& out_file, const fs::path& err_file) {
  std::vector<std::string> args{req.executable.string(), "quantize", item.model.string(), "-o", item.output.string(), "--format", "json"};
  args.insert(args.end(), req.quantize_args.begin(), req.quantize_args.end());
  if (auto it = req.per_model_args.find(item.model.filename().string()); it != req.per_model_args.end())
    args.insert(args.end(), it->second.begin(), it->second.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw RuntimeError("batch: cannot start " + req.executable.string() + " for " + item.model.string() + ": " + std::strerror(rc));
  return pid;
}

std::string first_error_line(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line.rfind("hint:", 0) != 0) return line;
  return {};
}

void finish(BatchEntry& e, int status, const Running& run) {
  e.seconds = std::chrono::duration<double>(Clock::now() - run.start).count();
  const std::string out = read_file(run.out_file, size_t{256} << 20), err = read_file(run.err_file, size_t{1} << 20);
  if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
  else e.exit_code = 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (e.exit_code == 0) {
    try {
      e.result = nlohmann::json::parse(out);
      e.status = "ok";
      return;
    } catch (const nlohmann::json::exception&) {
      e.error = "quantize printed no JSON result";
    }
  } else if (WIFSIGNALED(status)) {
    e.error = "quantize was killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    e.error = first_error_line(err);
    if (e.error.empty()) e.error = "quantize exited with code " + std::to_string(e.exit_code);
  }
  e.status = "failed";
}

}  // namespace

BatchResult run_batch(const BatchRequest& req) {
  if (req.jobs < 1) throw UsageError("batch: --jobs must be at least 1");
  const std::vector<BatchItem> all = collect_batch_models(req.inputs, req.output_dir);
  BatchResult r;
  r.models_found = static_cast<int>(all.size());
  r.shard = req.shard;
  const std::vector<BatchItem> items = select_shard(all, req.shard);
  std::error_code ec;
  fs::create_directories(req.output_dir, ec);
  if (ec) throw IoError("batch: cannot create the output folder " + req.output_dir.string() + ": " + ec.message());
  TempDir logs("onnxquant-batch");
  Progress progress("quantizing models", static_cast<int64_t>(items.size()), req.progress);

  for (const auto& item : items) r.entries.push_back({item.model.string(), item.output.string(), "", 0, 0, "", nullptr});
  std::map<pid_t, Running> running;
  size_t next = 0;
  auto reap_one = [&] {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, 0)) < 0 && errno == EINTR) {
    }
    if (pid < 0) throw InternalError("batch: waitpid failed: " + std::string(std::strerror(errno)));
    auto it = running.find(pid);
    if (it == running.end()) return;  // not one of ours
    finish(r.entries[it->second.entry], status, it->second);
    running.erase(it);
    progress.advance();
  };
  while (next < items.size() || !running.empty()) {
    while (next < items.size() && static_cast<int>(running.size()) < req.jobs) {
      const size_t i = next++;
      if (req.skip_existing && fs::exists(items[i].output, ec)) {
        r.entries[i].status = "skipped";
        progress.advance();
        continue;
      }
      Running run{i, Clock::now(), logs / (std::to_string(i) + ".json"), logs / (std::to_string(i) + ".err")};
      const pid_t pid = spawn_quantize(req, items[i], run.out_file, run.err_file);
      running.emplace(pid, std::move(run));
    }
    if (!running.empty()) reap_one();
  }
  progress.finish();
  for (const auto& e : r.entries) {
    if (e.status == "ok") ++r.succeeded;
    else if (e.status == "failed") ++r.failed;
    else ++r.skipped;
  }
  return r;
}

nlohmann::json to_json(const BatchResult& r) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& e : r.entries) {
    nlohmann::json m{{"model", e.model}, {"output", e.output}, {"status", e.status}, {"exit_code", e.exit_code}, {"seconds", e.seconds},
                     {"error", e.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.error)}, {"result", e.result}};
    models.push_back(std::move(m));
  }
  return {{"command", "batch"},
          {"schema_version", 1},
          {"models_found", r.models_found},
          {"shard", {{"index", r.shard.index}, {"count", r.shard.count}}},
          {"succeeded", r.succeeded},
          {"failed", r.failed},
          {"skipped", r.skipped},
          {"models", models}};
}

}  // namespace onnxquant
