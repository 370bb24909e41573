#include "pipeline/calibrate_job.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "calib/observer.h"
#include "core/errors.h"
#include "core/sha256.h"
#include "core/version.h"
#include "ir/model.h"
#include "calib/calibration_tensors.h"
#include "calib/segmented_runner.h"
#include "io/source.h"

namespace onnxquant {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// Above this many bytes of activations in one hand-off, inference and observing take turns instead of
// overlapping: holding two (one observed, one computed) would double the peak memory.
constexpr size_t kOverlapBudgetBytes = size_t{96} << 20;

// One segment's exposed tensors for one sample (calib/segmented_runner.h), handed from the inference
// thread to the observing thread.
struct Delivery {
  int64_t sample = 0;
  bool last_of_sample = false;
  NamedOutputs tensors;
};

// A one-slot hand-off between the inference thread and the observing thread. At most `max_outstanding`
// deliveries exist at any time: the producer starts a segment only when fewer are outstanding (handed
// over and not yet fully observed). It starts at 1 and becomes 2 (overlap) once the first delivery shows
// the activations fit the budget.
struct Handoff {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<Delivery> slot;
  int outstanding = 0;
  int max_outstanding = 1;
  bool done = false;
  std::exception_ptr error;
};

// Observes one tensor of a delivery; NaN/Inf is an error naming the tensor and the sample.
void observe_tensor(const std::string& name, const OutputView& view, Observer& obs, int64_t sample, bool graph_input) {
  const uint64_t before = obs.nonfinite_count();
  obs.observe(view.as<float>());
  if (obs.nonfinite_count() != before)
    throw CalibrationError("tensor '" + name + "' has " + std::to_string(obs.nonfinite_count() - before) + " NaN/Inf value(s) in sample " +
                               std::to_string(sample),
                           graph_input ? "the input data holds NaN/Inf; clean it"
                                       : "the model produces NaN/Inf on this sample; check the input data and its preprocessing");
}

// Observes a delivery's tensors on `threads` threads, each taking whole tensors (an Observer is not
// shared), the largest first onto the least loaded thread. The first error is rethrown.
template <typename IsGraphInput>
void observe_delivery(const Delivery& item, std::map<std::string, Observer>& observers, int threads, const IsGraphInput& is_graph_input) {
  std::vector<std::pair<size_t, const std::pair<const std::string, OutputView>*>> by_size;
  for (const auto& entry : item.tensors) by_size.emplace_back(entry.second.bytes.size(), &entry);
  threads = std::max(1, std::min<int>(threads, static_cast<int>(by_size.size())));
  std::vector<std::vector<const std::pair<const std::string, OutputView>*>> share(threads);
  std::vector<size_t> load(threads, 0);
  std::sort(by_size.begin(), by_size.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [bytes, entry] : by_size) {
    const size_t t = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    share[t].push_back(entry);
    load[t] += bytes;
  }
  auto observe_share = [&](int t) {
    for (const auto* entry : share[t]) observe_tensor(entry->first, entry->second, observers.at(entry->first), item.sample, is_graph_input(entry->first));
  };
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t)
    helpers.emplace_back([&, t] {
      try {
        observe_share(t);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  try {
    observe_share(0);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (auto& th : helpers) th.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Where the samples come from: the caller's provider when there is one, else the files (or synthetic
// data) of InputOptions. Both stop at InputOptions::max_samples, and both are checked against the
// model's declared inputs the same way (io/source.h): the segmented runner's sessions are built from
// the first sample and would otherwise accept shapes the model does not declare.
class SampleStream {
 public:
  SampleStream(const Model& model, const CalibrateRequest& req)
      : provider_(req.samples), limit_(req.inputs.max_samples), inputs_(declared_inputs(model)) {
    if (!provider_.next) {
      source_.emplace(inputs_, req.inputs);
      return;
    }
    if (!req.inputs.files.empty())
      throw UsageError("calibration data given twice: in memory and as files (-i)", "give one of them");
  }
  std::optional<NamedTensors> next() {
    if (source_) return source_->next();
    if (limit_ > 0 && taken_ >= limit_) return std::nullopt;
    std::optional<NamedTensors> sample = provider_.next();
    if (!sample) return sample;
    const std::string origin = "calibration sample " + std::to_string(taken_++);
    for (const auto& [name, t] : *sample) sources::check_fits(sources::find_input(inputs_, name, origin), t.dtype, t.shape, origin);
    return sample;
  }
  int64_t size() const {
    if (source_) return source_->size();
    return limit_ > 0 && (provider_.count < 0 || provider_.count > limit_) ? limit_ : provider_.count;
  }

 private:
  std::optional<InputSource> source_;
  SampleProvider provider_;
  int64_t limit_ = 0;
  int64_t taken_ = 0;
  std::vector<IoInfo> inputs_;
};

}  // namespace

CalibrateResult calibrate_model(const CalibrateRequest& req) {
  validate_range_options(req.range);
  const std::string model_hash = sha256_file_hex(req.model);
  // Only ORT's copy of the weights should be in memory while ORT builds its session: the model with
  // its extra outputs goes to a temp file (weights as external data) and is dropped before ORT reads it.
  // External weights are not even read: they are copied from their file into the temp file piece by piece.
  Model model = Model::load(req.model, {.external_data = ExternalDataLoad::Defer});
  const CalibrationTensors wanted = calibration_tensors(model, req.coverage);
  SampleStream source(model, req);
  std::optional<NamedTensors> first = source.next();
  if (!first) throw CalibrationError("no calibration samples: the data source is empty");
  // The sizes of the first sample decide how the model is cut (one segment when its activations fit).
  SegmentedRunner runner(std::move(model), wanted.node_outputs, *first, req.exec, req.segment_budget_bytes);

  // Observe what ORT says is float32 among the requested tensors (types unknown to ONNX's inference
  // are settled by the sessions), plus float32 graph inputs, which come straight from the data.
  std::vector<std::string> observed;
  for (const auto& name : wanted.graph_inputs) {
    auto it = first->find(name);
    if (it != first->end() && it->second.dtype == DType::Float32) observed.push_back(name);
  }
  auto is_graph_input = [&](const std::string& name) {
    return std::find(wanted.graph_inputs.begin(), wanted.graph_inputs.end(), name) != wanted.graph_inputs.end();
  };
  const std::vector<std::string>& fetch = runner.float_outputs();
  observed.insert(observed.end(), fetch.begin(), fetch.end());
  if (observed.empty()) throw CalibrationError(req.model.string() + ": the model has no float32 tensors to calibrate");
  std::map<std::string, Observer> observers;
  for (const auto& n : observed) observers.emplace(n, Observer{});

  CalibrateResult result;
  Progress progress("calibrating", source.size(), req.progress);
  Handoff h;
  const int observing_threads = req.exec.intra_op_threads > 0 ? req.exec.intra_op_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double inference_seconds = 0;
  const auto t0 = Clock::now();

  // Inference runs on its own thread, one segment ahead of the observers: it starts a segment only when
  // fewer than max_outstanding deliveries are held.
  std::thread producer([&] {
    try {
      const size_t segments = runner.segments().size();
      std::optional<NamedTensors> sample = std::move(first);
      for (int64_t index = 0; sample; ++index, sample = source.next()) {
        NamedTensors live = std::move(*sample);
        for (size_t s = 0; s < segments; ++s) {
          {
            std::unique_lock lock(h.mutex);
            h.changed.wait(lock, [&] { return h.outstanding < h.max_outstanding || h.error; });
            if (h.error) return;
          }
          Delivery d{index, s + 1 == segments, {}};
          if (s == 0)  // the graph inputs are observed with the first segment's tensors
            for (const auto& [name, t] : live)
              if (observers.count(name)) d.tensors.emplace(name, OutputView::holding(t));
          d.tensors.merge(runner.run_segment(s, live, inference_seconds));
          std::unique_lock lock(h.mutex);
          h.changed.wait(lock, [&] { return !h.slot || h.error; });
          if (h.error) return;
          h.slot.emplace(std::move(d));
          ++h.outstanding;
          h.changed.notify_all();
        }
      }
    } catch (...) {
      std::lock_guard lock(h.mutex);
      h.error = std::current_exception();
    }
    std::lock_guard lock(h.mutex);
    h.done = true;
    h.changed.notify_all();
  });

  try {
    bool first_delivery = true;
    while (true) {
      Delivery item;
      {
        std::unique_lock lock(h.mutex);
        h.changed.wait(lock, [&] { return h.slot || h.done; });
        if (!h.slot) break;
        item = std::move(*h.slot);
        h.slot.reset();
        h.changed.notify_all();
      }
      int overlapping;
      {
        std::lock_guard lock(h.mutex);
        overlapping = h.max_outstanding;
      }
      // Inference waits while a delivery too big to overlap is observed: its cores observe meanwhile.
      observe_delivery(item, observers, overlapping > 1 ? 1 : observing_threads, is_graph_input);
      size_t bytes = 0;
      for (const auto& [name, view] : item.tensors) bytes += view.bytes.size();
      item.tensors.clear();  // free these activations before the producer may compute more
      {
        std::lock_guard lock(h.mutex);
        --h.outstanding;
        if (first_delivery && bytes <= kOverlapBudgetBytes) h.max_outstanding = 2;
        h.changed.notify_all();
      }
      first_delivery = false;
      if (item.last_of_sample) {
        ++result.samples;
        progress.advance();
      }
    }
  } catch (...) {
    {
      std::lock_guard lock(h.mutex);
      if (!h.error) h.error = std::current_exception();
      h.changed.notify_all();
    }
    producer.join();
    throw;
  }
  producer.join();
  if (h.error) std::rethrow_exception(h.error);
  progress.finish();
  if (result.samples == 0) throw CalibrationError("no calibration samples: the data source is empty");

  result.segments = static_cast<int64_t>(runner.segments().size());
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  result.inference_seconds = inference_seconds;
  RangesFile& file = result.ranges;
  file.tool_version = ONNXQ_VERSION;
  file.model_file = req.model.filename().string();
  file.model_sha256 = model_hash;
  file.method = req.range;
  file.samples = static_cast<uint64_t>(result.samples);
  for (const auto& [name, obs] : observers) {
    if (obs.empty()) continue;  // e.g. an empty tensor in every sample: nothing to quantize
    if (obs.min() == obs.max()) result.constant_tensors.push_back(name);
    file.tensors.emplace(name, make_tensor_range(obs, select_range(obs, req.range)));
  }
  result.tensors_observed = static_cast<int64_t>(file.tensors.size());
  if (!req.output.empty()) {
    save_ranges(req.output, file, req.save);
    result.output = req.output.string();
  }
  result.peak_rss_bytes = peak_rss_bytes();
  return result;
}

nlohmann::json to_json(const CalibrateResult& r) {
  nlohmann::json j;
  j["command"] = "calibrate";
  j["schema_version"] = 1;
  j["model"] = r.ranges.model_file;
  j["model_sha256"] = r.ranges.model_sha256;
  j["method"] = method_name(r.ranges.method.method);
  j["target"] = target_name(r.ranges.method.target);
  j["samples"] = r.samples;
  j["tensors"] = r.tensors_observed;
  j["segments"] = r.segments;
  j["seconds"] = r.seconds;
  j["inference_seconds"] = r.inference_seconds;
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  j["constant_tensors"] = r.constant_tensors;
  j["output"] = r.output.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.output);
  return j;
}

}  // namespace onnxquant
