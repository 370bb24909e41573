#include "exec/executor.h"

#include <onnxruntime_cxx_api.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "core/errors.h"
#include "core/temp_dir.h"
#include "ir/external_data.h"
#include "ir/model.h"

namespace onnxquant {

namespace {

// Above this, sessions are created from a temp file with external data instead of serialized bytes: the
// file costs a write of the weights, bytes cost three copies of them in memory (measured on ORT 1.30: an
// inline 1.1 GiB model peaked at 3.5 GiB, the same weights as external data at 1.1 GiB plus one tensor).
constexpr uint64_t kSessionFromFileBytes = uint64_t{256} << 20;

Ort::Env& ort_env() {
  // One environment per process: ORT's logging and thread pools are global. Warnings about unused
  // initializers and the like are noise for our users, so only errors are logged.
  static Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "onnxquant");
  return env;
}

GraphOptimizationLevel to_ort(GraphOptimization level) {
  switch (level) {
    case GraphOptimization::Disabled: return ORT_DISABLE_ALL;
    case GraphOptimization::Basic: return ORT_ENABLE_BASIC;
    case GraphOptimization::Extended: return ORT_ENABLE_EXTENDED;
    case GraphOptimization::All: return ORT_ENABLE_ALL;
  }
  return ORT_ENABLE_ALL;
}

Ort::SessionOptions make_session_options(const ExecOptions& o) {
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(o.intra_op_threads);
  so.SetInterOpNumThreads(1);
  if (!o.spin_wait) so.AddConfigEntry("session.intra_op.allow_spinning", "0");
  so.SetGraphOptimizationLevel(to_ort(o.optimization));
  if (o.memory == MemoryPolicy::Lean) {
    so.DisableCpuMemArena();
    so.DisableMemPattern();
  }
  if (!o.optimized_model_path.empty()) so.SetOptimizedModelFilePath(o.optimized_model_path.c_str());
  return so;
}

IoInfo io_info(const std::string& name, const Ort::TypeInfo& type) {
  IoInfo info;
  info.name = name;
  if (type.GetONNXType() != ONNX_TYPE_TENSOR) return info;  // sequences/maps: dtype stays Undefined
  auto tt = type.GetTensorTypeAndShapeInfo();
  info.dtype = dtype_from_onnx(static_cast<int32_t>(tt.GetElementType()));
  info.shape = tt.GetShape();
  const size_t rank = info.shape.size();
  std::vector<const char*> names(rank, nullptr);
  if (rank) tt.GetSymbolicDimensions(names.data(), rank);
  for (size_t i = 0; i < rank; ++i) info.dim_names.emplace_back(names[i] ? names[i] : "");
  return info;
}

void check_input(const IoInfo& want, const Tensor& t) {
  if (t.dtype != want.dtype)
    throw DataError("input '" + want.name + "': got " + dtype_name(t.dtype) + ", the model wants " + dtype_name(want.dtype));
  if (t.shape.size() != want.shape.size())
    throw DataError("input '" + want.name + "': got shape " + shape_string(t.shape) + " (rank " + std::to_string(t.shape.size()) +
                    "), the model wants rank " + std::to_string(want.shape.size()) + " " + shape_string(want.shape));
  for (size_t i = 0; i < t.shape.size(); ++i)
    if (want.shape[i] >= 0 && want.shape[i] != t.shape[i])
      throw DataError("input '" + want.name + "': got shape " + shape_string(t.shape) + ", the model wants " + shape_string(want.shape) +
                      " (dim " + std::to_string(i) + ")");
  if (t.bytes.size() != static_cast<size_t>(t.elements()) * dtype_size(t.dtype))
    throw DataError("input '" + want.name + "': byte count does not match shape " + shape_string(t.shape));
}

}  // namespace

Tensor OutputView::copy() const {
  Tensor t(dtype, shape);
  if (!t.bytes.empty()) std::memcpy(t.bytes.data(), bytes.data(), t.bytes.size());
  return t;
}

OutputView OutputView::holding(Tensor t) {
  auto held = std::make_shared<const Tensor>(std::move(t));
  OutputView view;
  view.dtype = held->dtype;
  view.shape = held->shape;
  view.bytes = {held->bytes.data(), held->bytes.size()};
  view.owner = std::move(held);
  return view;
}

struct Executor::Impl {
  Ort::Session session{nullptr};
  std::vector<IoInfo> inputs, outputs;
  double create_ms = 0;

  void init(const std::function<Ort::Session()>& create) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      session = create();
    } catch (const Ort::Exception& e) {
      throw RuntimeError(std::string("ONNX Runtime refused the model: ") + e.what());
    }
    create_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    Ort::AllocatorWithDefaultOptions alloc;
    for (size_t i = 0; i < session.GetInputCount(); ++i)
      inputs.push_back(io_info(session.GetInputNameAllocated(i, alloc).get(), session.GetInputTypeInfo(i)));
    for (size_t i = 0; i < session.GetOutputCount(); ++i)
      outputs.push_back(io_info(session.GetOutputNameAllocated(i, alloc).get(), session.GetOutputTypeInfo(i)));
  }
};

namespace {

bool session_from_file(const Model& model) { return model.has_deferred_data() || model.byte_size() > kSessionFromFileBytes; }

}  // namespace

// ORT given bytes parses them into its own protobuf and then copies every initializer out of it, and we
// hold the serialized string meanwhile: 3-4 copies of the weights at once. Given a file whose weights
// are external data it reads (or maps) each tensor once, and deferred tensors are copied to that file
// piece by piece, never into our memory. Over 2 GB there is no other way anyway.
Executor::Executor(const Model& model, const ExecOptions& options) : impl_(std::make_unique<Impl>()) {
  if (session_from_file(model)) {
    const TempDir dir("onnxquant-exec");
    model.save(dir / "model.onnx", {ExternalData::Always});
    *this = Executor(dir / "model.onnx", options);  // ORT has read (or mapped) the file: it may go
    return;
  }
  const std::string bytes = model.serialize();
  impl_->init([&] {
    auto so = make_session_options(options);
    return Ort::Session(ort_env(), bytes.data(), bytes.size(), so);
  });
}

Executor::Executor(Model&& model, const ExecOptions& options) : impl_(std::make_unique<Impl>()) {
  if (!session_from_file(model)) {
    *this = Executor(static_cast<const Model&>(model), options);
    return;
  }
  const TempDir dir("onnxquant-exec");
  model.save(dir / "model.onnx", {ExternalData::Always});
  model = Model();
  *this = Executor(dir / "model.onnx", options);
}

Executor::Executor(const std::filesystem::path& model_file, const ExecOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->init([&] {
    auto so = make_session_options(options);
    return Ort::Session(ort_env(), model_file.c_str(), so);
  });
}

Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;
Executor::~Executor() = default;

const std::vector<IoInfo>& Executor::inputs() const { return impl_->inputs; }
const std::vector<IoInfo>& Executor::outputs() const { return impl_->outputs; }
double Executor::session_create_ms() const { return impl_->create_ms; }

NamedOutputs Executor::run_in_place(const NamedTensors& feeds, const std::vector<std::string>& output_names) {
  for (const auto& [name, t] : feeds) {
    bool known = false;
    for (const auto& in : impl_->inputs) known = known || in.name == name;
    if (!known) throw DataError("input '" + name + "' is not an input of the model");
  }
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<const char*> in_names;
  std::vector<Ort::Value> in_values;
  for (const auto& want : impl_->inputs) {
    auto it = feeds.find(want.name);
    if (it == feeds.end()) throw DataError("input '" + want.name + "' is missing (the model needs " + std::to_string(impl_->inputs.size()) + " inputs)");
    const Tensor& t = it->second;
    check_input(want, t);
    in_names.push_back(want.name.c_str());
    // ORT only reads inputs; the const_cast is the C API's signature, not a write.
    in_values.push_back(Ort::Value::CreateTensor(mem, const_cast<std::byte*>(t.bytes.data()), t.bytes.size(), t.shape.data(),
                                                 t.shape.size(), static_cast<ONNXTensorElementDataType>(t.dtype)));
  }
  std::vector<std::string> outs = output_names;
  if (outs.empty())
    for (const auto& o : impl_->outputs) outs.push_back(o.name);
  std::vector<const char*> out_names;
  for (const auto& o : outs) out_names.push_back(o.c_str());

  std::vector<Ort::Value> results;
  try {
    results = impl_->session.Run(Ort::RunOptions{nullptr}, in_names.data(), in_values.data(), in_values.size(), out_names.data(),
                                 out_names.size());
  } catch (const Ort::Exception& e) {
    throw RuntimeError(std::string("ONNX Runtime failed to run the model: ") + e.what());
  }
  NamedOutputs out;
  for (size_t i = 0; i < results.size(); ++i) {
    auto value = std::make_shared<Ort::Value>(std::move(results[i]));
    if (!value->IsTensor()) throw UnsupportedOpError("output '" + outs[i] + "' is not a tensor (sequence or map outputs are not supported)");
    auto info = value->GetTensorTypeAndShapeInfo();
    OutputView view;
    view.dtype = dtype_from_onnx(static_cast<int32_t>(info.GetElementType()));
    if (dtype_size(view.dtype) == 0)
      throw UnsupportedOpError("output '" + outs[i] + "' has element type " + dtype_name(view.dtype) + ", which cannot be read");
    view.shape = info.GetShape();
    const auto size = static_cast<size_t>(byte_count(view.dtype, view.shape));
    if (size) view.bytes = {static_cast<const std::byte*>(value->GetTensorRawData()), size};
    view.owner = std::move(value);
    out.emplace(outs[i], std::move(view));
  }
  return out;
}

NamedTensors Executor::run(const NamedTensors& feeds, const std::vector<std::string>& output_names) {
  NamedOutputs views = run_in_place(feeds, output_names);
  NamedTensors out;
  // Each of ORT's buffers is released as soon as it is copied: with many outputs (calibration exposes
  // nearly every activation) holding all of them until the end would double the peak memory.
  while (!views.empty()) {
    auto node = views.extract(views.begin());
    out.emplace(node.key(), node.mapped().copy());
  }
  return out;
}

Executor open_loaded_model(const Model& model, const std::filesystem::path& file, const ExecOptions& options) {
  return model.has_deferred_data() ? Executor(file, options) : Executor(model, options);
}

std::string runtime_version() { return Ort::GetVersionString(); }

}  // namespace onnxquant
