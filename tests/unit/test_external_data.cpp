// External data read lazily (ExternalDataLoad::Defer) and copied piece by piece when saved, against the
// eager path that reads every tensor into the model: the same model, the same saved bytes, the same ORT
// results. And tensors sharing bytes in the data file (tied weights, overlaps): accepted, within a bound.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "exec/executor.h"
#include "ir/model.h"
#include "support/file_bytes.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;
namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }
// y = ((x @ w_big) + b_small) @ w_odd: a tensor of 5 MiB (more than one 4 MiB copy piece), one under the
// 1 KiB external threshold, one whose size is not a multiple of the page, and a Constant node's tensor.
Model mixed_model() {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 1152}).output("y", DType::Float32, {1, 3});
  b.initializer("w_big", test::random_float_tensor({1152, 1152}, 1));  // 5.06 MiB
  b.initializer("b_small", test::random_float_tensor({1152}, 2));      // 4.5 KiB
  b.initializer("s", test::random_float_tensor({1}, 3));               // 4 bytes, stays inline
  b.node("MatMul", {"x", "w_big"}, {"h"}, "mm1");
  b.node("Add", {"h", "b_small"}, {"h2"}, "add");
  b.node("Mul", {"h2", "s"}, {"h3"}, "mul");
  onnx::NodeProto c;
  c.set_op_type("Constant");
  c.set_name("odd");
  c.add_output("w_odd");
  auto* attr = c.add_attribute();
  attr->set_name("value");
  attr->set_type(onnx::AttributeProto::TENSOR);
  const Tensor odd = test::random_float_tensor({1152, 3}, 4);  // 13.5 KiB
  auto* t = attr->mutable_t();
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(1152);
  t->add_dims(3);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(odd.bytes.data()), odd.bytes.size()));
  *b.proto().mutable_graph()->add_node() = c;
  b.node("MatMul", {"h3", "w_odd"}, {"y"}, "mm2");
  return b.build();
}

Model load_deferred(const fs::path& p) { return Model::load(p, {.external_data = ExternalDataLoad::Defer}); }

// x + w1 + w2 over float32 [1, n], w1 and w2 read from `file` at the given byte offsets.
void write_two_views(const fs::path& model, const std::string& file, int64_t n, uint64_t offset1, uint64_t offset2) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, n}).output("y", DType::Float32, {1, n});
  for (auto [name, offset] : {std::pair{"w1", offset1}, std::pair{"w2", offset2}}) {
    auto* t = b.proto().mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(1);
    t->add_dims(n);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    for (auto [k, v] : {std::pair<std::string, std::string>{"location", file}, {"offset", std::to_string(offset)},
                        {"length", std::to_string(n * 4)}}) {
      auto* kv = t->add_external_data();
      kv->set_key(k);
      kv->set_value(v);
    }
  }
  b.node("Add", {"x", "w1"}, {"s"}, "add1");
  b.node("Add", {"s", "w2"}, {"y"}, "add2");
  write_bytes(model, b.proto().SerializeAsString());
}

// float32 values 0, 1, 2, ... as a data file.
std::string counting_floats(int64_t count) {
  std::string bytes(static_cast<size_t>(count) * 4, '\0');
  for (int64_t i = 0; i < count; ++i) {
    const float v = static_cast<float>(i);
    std::memcpy(bytes.data() + i * 4, &v, 4);
  }
  return bytes;
}

}  // namespace

TEST(ExternalData, DeferredLoadReadsNothingUntilAskedAndThenMatchesTheEagerLoad) {
  test::TempDir dir;
  mixed_model().save(dir / "m.onnx", {ExternalData::Always});
  const Model eager = Model::load(dir / "m.onnx");
  Model deferred = load_deferred(dir / "m.onnx");
  EXPECT_FALSE(eager.has_deferred_data());
  EXPECT_TRUE(deferred.has_deferred_data());
  EXPECT_EQ(deferred.proto().graph().initializer(0).raw_data().size(), 0u);  // w_big is still on disk
  EXPECT_NEAR(static_cast<double>(deferred.byte_size()), static_cast<double>(eager.byte_size()), 1024);  // up to the references
  deferred.load_deferred_data();
  EXPECT_FALSE(deferred.has_deferred_data());
  EXPECT_EQ(deferred.serialize(), eager.serialize());
}

TEST(ExternalData, StreamedSaveWritesExactlyTheBytesOfTheEagerSave) {
  test::TempDir dir;
  fs::create_directories(dir / "eager");
  fs::create_directories(dir / "streamed");
  mixed_model().save(dir / "m.onnx", {ExternalData::Always});
  Model::load(dir / "m.onnx").save(dir / "eager" / "out.onnx", {ExternalData::Always});
  load_deferred(dir / "m.onnx").save(dir / "streamed" / "out.onnx");  // deferred tensors: external data always
  for (const char* name : {"out.onnx", "out.onnx.data"}) {
    SCOPED_TRACE(name);
    const std::string a = test::file_bytes(dir / "eager" / name), b = test::file_bytes(dir / "streamed" / name);
    EXPECT_GT(a.size(), 0u);
    EXPECT_TRUE(a == b) << a.size() << " vs " << b.size() << " bytes";
  }
  // Over a model that was itself written by the streamed save, once more: nothing drifts.
  load_deferred(dir / "streamed" / "out.onnx").save(dir / "again.onnx");
  EXPECT_EQ(test::file_bytes(dir / "again.onnx.data"), test::file_bytes(dir / "eager" / "out.onnx.data"));
}

TEST(ExternalData, SessionsOfDeferredModelsComputeWhatTheEagerModelComputes) {
  test::TempDir dir;
  mixed_model().save(dir / "m.onnx", {ExternalData::Always});
  const auto x = test::random_float_tensor({1, 1152}, 9);
  const Model deferred = load_deferred(dir / "m.onnx");
  const Tensor want = Executor(Model::load(dir / "m.onnx")).run({{"x", x}}).at("y");
  EXPECT_EQ(Executor(deferred).run({{"x", x}}).at("y").bytes, want.bytes);
  EXPECT_EQ(open_loaded_model(deferred, dir / "m.onnx").run({{"x", x}}).at("y").bytes, want.bytes);
}

TEST(ExternalData, TiedAndOverlappingTensorsShareTheFile) {
  // Exports that tie weights point two initializers at one range; overlapping views are as harmless,
  // since the file is only read. Both load, in both modes, with the right values, and ORT runs them.
  test::TempDir dir;
  const int64_t n = 1024;
  write_bytes(dir / "w.bin", counting_floats(2 * n));
  write_two_views(dir / "tied.onnx", "w.bin", n, 0, 0);
  write_two_views(dir / "overlap.onnx", "w.bin", n, 0, 2048);  // w2 starts at float 512, inside w1
  const Tensor x = test::random_float_tensor({1, n}, 5);
  for (const auto& [file, second] : {std::pair{"tied.onnx", 0}, std::pair{"overlap.onnx", 512}}) {
    SCOPED_TRACE(file);
    const Model m = Model::load(dir / file);
    const Tensor y = Executor(m).run({{"x", x}}).at("y");
    for (int64_t i = 0; i < n; i += 97) EXPECT_FLOAT_EQ(y.as<float>()[i], x.as<float>()[i] + static_cast<float>(i) + static_cast<float>(second + i));
    EXPECT_EQ(Executor(load_deferred(dir / file)).run({{"x", x}}).at("y").bytes, y.bytes);
  }
  // Saved from the deferred model, the tied pair is stored once: both references point at one range.
  load_deferred(dir / "tied.onnx").save(dir / "tied_out.onnx");
  EXPECT_EQ(fs::file_size(dir / "tied_out.onnx.data"), uint64_t(n) * 4);
  EXPECT_EQ(Executor(Model::load(dir / "tied_out.onnx")).run({{"x", x}}).at("y").bytes, Executor(Model::load(dir / "tied.onnx")).run({{"x", x}}).at("y").bytes);
}

TEST(ExternalData, ReadingOneFileOverAndOverIsRefused) {
  // A few KB of model must not make us read a big file again and again: the ranges into one file may
  // add up to kMaxExternalReadsPerFile times its size, not more.
  test::TempDir dir;
  const int64_t n = 1024;
  write_bytes(dir / "w.bin", counting_floats(n));
  GraphBuilder b;
  b.input("x", DType::Float32, {1, n}).output("y", DType::Float32, {1, n});
  std::string previous = "x";
  for (uint64_t i = 0; i <= kMaxExternalReadsPerFile; ++i) {
    const std::string name = "w" + std::to_string(i);
    auto* t = b.proto().mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(1);
    t->add_dims(n);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value("w.bin");
    const std::string out = i == kMaxExternalReadsPerFile ? "y" : "s" + std::to_string(i);
    b.node("Add", {previous, name}, {out}, "add" + std::to_string(i));
    previous = out;
  }
  write_bytes(dir / "reread.onnx", b.proto().SerializeAsString());
  for (auto mode : {ExternalDataLoad::Read, ExternalDataLoad::Defer}) {
    try {
      Model::load(dir / "reread.onnx", {.external_data = mode});
      FAIL() << "loaded";
    } catch (const LoadError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("tensor 'w" + std::to_string(kMaxExternalReadsPerFile) + "'"), std::string::npos) << message;
      EXPECT_NE(message.find("times its 4096 bytes"), std::string::npos) << message;
    }
  }
}

TEST(ExternalData, RangesOutsideTheFileAreStillRefused) {
  test::TempDir dir;
  const int64_t n = 1024;
  write_bytes(dir / "w.bin", counting_floats(n + 10));
  write_two_views(dir / "past_end.onnx", "w.bin", n, 0, 44);  // w2 ends 4 bytes past the end
  for (auto mode : {ExternalDataLoad::Read, ExternalDataLoad::Defer}) {
    try {
      Model::load(dir / "past_end.onnx", {.external_data = mode});
      FAIL() << "loaded";
    } catch (const LoadError& e) {
      EXPECT_NE(std::string(e.what()).find("tensor 'w2'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("beyond the end"), std::string::npos) << e.what();
    }
  }
}
