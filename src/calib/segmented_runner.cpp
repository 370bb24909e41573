#include "calib/segmented_runner.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "core/errors.h"
#include "core/temp_dir.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "ir/shape_inference.h"
#include "rewrite/expose_tensors.h"
#include "rewrite/extract_segment.h"

namespace onnxquant {

namespace {

// Fixes the graph inputs' dims to the sample's shapes and re-runs shape inference from scratch, so that
// value_info holds concrete sizes (symbolic dims would leave every activation's size unknown).
void infer_shapes_for_sample(Model& model, const NamedTensors& sample) {
  auto& graph = *model.proto().mutable_graph();
  for (auto& in : *graph.mutable_input()) {
    auto it = sample.find(in.name());
    if (it == sample.end() || !in.type().has_tensor_type()) continue;
    auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->clear_dim();
    for (int64_t d : it->second.shape) shape->add_dim()->set_dim_value(d);
  }
  graph.clear_value_info();
  infer_shapes(model);
}

std::optional<int64_t> known_bytes(const Graph& g, const std::string& name) {
  const auto type = g.value_type(name);
  if (!type || !type->shape || dtype_size(type->dtype) == 0) return std::nullopt;
  int64_t elements = 1;
  for (const auto& d : *type->shape) {
    if (!d.value || *d.value < 0) return std::nullopt;
    elements *= *d.value;
  }
  return elements * static_cast<int64_t>(dtype_size(type->dtype));
}

}  // namespace

struct SegmentedRunner::Impl {
  struct Segment {
    std::unique_ptr<Executor> session;
    std::vector<std::string> inputs;   // fed from the live tensors
    std::vector<std::string> outputs;  // fetched: exposed ones and the ones later segments read
  };
  std::vector<Segment> segments;
  std::vector<SegmentInfo> info;
  std::vector<std::string> float_outputs;
  std::set<std::string> delivered;             // float32 exposed tensors
  std::map<std::string, size_t> last_reader;   // tensor -> index of the last segment that reads it
};

SegmentedRunner::SegmentedRunner(Model model, const std::vector<std::string>& exposed, const NamedTensors& first_sample,
                                 const ExecOptions& exec, int64_t budget_bytes)
    : impl_(std::make_unique<Impl>()) {
  infer_shapes_for_sample(model, first_sample);
  std::vector<std::vector<int>> groups;
  std::vector<std::vector<std::string>> group_outputs;
  std::vector<std::set<std::string>> group_reads;
  {
    const Graph g(model.proto().graph());
    const std::set<std::string> wanted(exposed.begin(), exposed.end());
    int64_t largest = 0;
    for (const auto& name : exposed)
      if (auto b = known_bytes(g, name)) largest = std::max(largest, *b);
    const std::vector<int> order = g.topological_order();
    int64_t current = 0;
    for (int i : order) {
      int64_t bytes = 0;
      int count = 0;
      for (const auto& o : g.node(i).output())
        if (wanted.count(o)) {
          bytes += known_bytes(g, o).value_or(largest);
          ++count;
        }
      if (groups.empty() || (current > 0 && current + bytes > budget_bytes)) {
        groups.emplace_back();
        impl_->info.emplace_back();
        current = 0;
      }
      groups.back().push_back(i);
      current += bytes;
      impl_->info.back().nodes += 1;
      impl_->info.back().exposed += count;
      impl_->info.back().estimated_bytes += bytes;
    }
    // Each segment fetches its exposed tensors and whatever a later segment reads.
    for (const auto& nodes : groups) {
      std::set<std::string> reads;
      for (int i : nodes)
        reads.merge(Graph::names_read(g.node(i)));
      group_reads.push_back(std::move(reads));
    }
    for (size_t s = 0; s < groups.size(); ++s) {
      std::vector<std::string> outs;
      for (int i : groups[s])
        for (const auto& o : g.node(i).output()) {
          if (o.empty()) continue;
          bool later = false;
          for (size_t t = s + 1; t < groups.size() && !later; ++t) later = group_reads[t].count(o) > 0;
          if (wanted.count(o) || later) outs.push_back(o);
        }
      group_outputs.push_back(std::move(outs));
    }
    // A segment with nothing to hand out or pass on (the tail after the last exposed tensor) is not run.
    for (size_t s = groups.size(); s-- > 0;)
      if (group_outputs[s].empty()) {
        groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(s));
        group_outputs.erase(group_outputs.begin() + static_cast<std::ptrdiff_t>(s));
        impl_->info.erase(impl_->info.begin() + static_cast<std::ptrdiff_t>(s));
      }
  }
  // Segment models go through files (weights as external data) and each is dropped before ORT reads
  // it, so at most one extra copy of one segment's weights exists besides ORT's.
  TempDir dir("onnxquant-segments");
  std::vector<std::filesystem::path> files;
  if (groups.empty()) throw CalibrationError("nothing to calibrate: no node produces a tensor to observe");
  if (groups.size() == 1) {
    // One segment: the model itself with the wanted tensors as extra outputs, no copy of its weights.
    ExposeTensors(group_outputs[0]).run(model);
    files.push_back(dir / "whole.onnx");
    model.save(files.back(), {ExternalData::Always});
  } else {
    for (size_t s = 0; s < groups.size(); ++s) {
      files.push_back(dir / ("segment" + std::to_string(s) + ".onnx"));
      extract_segment(model, groups[s], group_outputs[s]).save(files.back(), {ExternalData::Always});
    }
  }
  { Model drop = std::move(model); }  // only ORT's copy of the weights from here on
  ExecOptions lean = exec;
  lean.memory = MemoryPolicy::Lean;
  lean.spin_wait = false;  // the observing thread needs a core while ORT computes the next segment
  for (size_t s = 0; s < groups.size(); ++s) {
    Impl::Segment seg;
    seg.session = std::make_unique<Executor>(files[s], lean);
    for (const auto& in : seg.session->inputs()) seg.inputs.push_back(in.name);
    seg.outputs = group_outputs[s];
    for (const auto& o : seg.session->outputs())
      if (o.dtype == DType::Float32 && std::find(exposed.begin(), exposed.end(), o.name) != exposed.end()) {
        impl_->float_outputs.push_back(o.name);
        impl_->delivered.insert(o.name);
      }
    for (const auto& in : seg.inputs) impl_->last_reader[in] = s;
    impl_->segments.push_back(std::move(seg));
  }
}

SegmentedRunner::SegmentedRunner(SegmentedRunner&&) noexcept = default;
SegmentedRunner::~SegmentedRunner() = default;

const std::vector<SegmentInfo>& SegmentedRunner::segments() const { return impl_->info; }
const std::vector<std::string>& SegmentedRunner::float_outputs() const { return impl_->float_outputs; }

NamedOutputs SegmentedRunner::run_segment(size_t s, NamedTensors& live, double& ort_seconds) {
  auto& seg = impl_->segments.at(s);
  NamedTensors feeds;
  for (const auto& name : seg.inputs) {
    auto it = live.find(name);
    if (it == live.end()) throw InternalError("segment " + std::to_string(s) + " reads '" + name + "', which no earlier segment kept");
    feeds.insert(live.extract(it));
  }
  const auto t0 = std::chrono::steady_clock::now();
  NamedOutputs out = seg.session->run_in_place(feeds, seg.outputs);
  ort_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Inputs a later segment still reads go back to the live set; the rest are freed now.
  for (auto& [name, t] : feeds)
    if (impl_->last_reader.at(name) > s) live.emplace(name, std::move(t));
  feeds.clear();
  NamedOutputs part;
  for (auto& [name, view] : out) {
    // Only the tensors that cross into a later segment are copied; the observed ones are read in place.
    auto reader = impl_->last_reader.find(name);
    if (reader != impl_->last_reader.end() && reader->second > s) live.emplace(name, view.copy());
    if (impl_->delivered.count(name)) part.emplace(name, std::move(view));
  }
  return part;
}

}  // namespace onnxquant
