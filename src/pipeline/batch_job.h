// `onnxquant batch`: quantize many models, each in a child process of its own (`onnxquant quantize` with
// the same options), N at a time. A model that fails (or crashes ORT) does not stop the others; the
// summary lists every model with its status, and the exit code says whether all succeeded.
//
// Spreading a large collection over many machines needs no scheduler of ours: `--shard K/N` takes a
// deterministic share (models sorted by path, every N-th from the K-th), so N runs of an existing job
// runner (a Slurm array, a Kubernetes indexed Job, GNU parallel over ssh) together cover every model
// exactly once; `--skip-existing` makes reruns cheap.
//
// JSON (`to_json`): docs/json-output.md, section `batch`.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"

namespace onnxquant {

// Share K of N (1-based), "K/N" on the command line.
struct Shard {
  int index = 1;
  int count = 1;
};
Shard parse_shard(const std::string& text);  // UsageError unless 1 <= K <= N

struct BatchItem {
  std::filesystem::path model;
  std::filesystem::path output;  // OUTDIR/<model file name>
};

// Every .onnx file among `inputs` (files as given; folders scanned without recursion, hidden files
// skipped), sorted by path and deduplicated. Throws DataError for a missing input or when nothing is
// found, UsageError when two models would write the same output file or OUTDIR is a file.
std::vector<BatchItem> collect_batch_models(const std::vector<std::string>& inputs, const std::filesystem::path& output_dir);
// The models of one shard: positions K-1, K-1+N, K-1+2N, ... of the sorted list.
std::vector<BatchItem> select_shard(const std::vector<BatchItem>& all, const Shard& shard);

struct BatchRequest {
  std::vector<std::string> inputs;      // model files and folders
  std::filesystem::path output_dir;
  int jobs = 1;                         // models quantized at the same time
  Shard shard;
  bool skip_existing = false;           // a model whose output exists is not quantized again
  std::filesystem::path executable;     // the onnxquant binary that runs each model
  std::vector<std::string> quantize_args;                          // options for every model's `quantize`
  std::map<std::string, std::vector<std::string>> per_model_args;  // model file name -> more options (win)
  ProgressMode progress = ProgressMode::Auto;
};

struct BatchEntry {
  std::string model, output;
  std::string status;          // "ok", "failed", "skipped"
  int exit_code = 0;
  double seconds = 0;
  std::string error;           // first line of the child's error output, for failures
  nlohmann::json result;       // the child's `quantize --format json` document (null unless ok)
};

struct BatchResult {
  std::vector<BatchEntry> entries;  // in model order
  int models_found = 0;             // before sharding
  Shard shard;
  int succeeded = 0, failed = 0, skipped = 0;
  bool all_succeeded() const { return failed == 0; }
};

BatchResult run_batch(const BatchRequest& request);
nlohmann::json to_json(const BatchResult& result);

}  // namespace onnxquant
