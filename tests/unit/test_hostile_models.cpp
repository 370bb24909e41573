// Hostile and malformed model files (issue 10): each is refused at load with a LoadError naming the file
// and the node or tensor, never a crash, a hang or an allocation sized by a declaration. The CLI side
// (exit code 3, one line) is in e2e/test_hostile_models_cli.cpp.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "analysis/inspect.h"
#include "core/errors.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "ir/shape_inference.h"
#include "support/graph_builder.h"
#include "support/hostile_models.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;
namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

// The LoadError's message, or a test failure when loading succeeds or throws something else.
std::string load_error(const fs::path& path) {
  try {
    Model::load(path);
  } catch (const LoadError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": expected LoadError, got " << typeid(e).name() << ": " << e.what();
    return {};
  }
  ADD_FAILURE() << path << " loaded without error";
  return {};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Load, index, order, infer shapes and inspect, as `onnxquant inspect` and the pipelines do.
double load_and_walk_seconds(const std::string& bytes) {
  const auto start = std::chrono::steady_clock::now();
  Model m = Model::from_bytes(bytes, "chain.onnx");
  const Graph g(m.proto().graph());
  EXPECT_EQ(static_cast<int>(g.topological_order().size()), g.node_count());
  EXPECT_EQ(infer_shapes(m), "");
  inspect_model(m);
  return seconds_since(start);
}

}  // namespace

TEST(HostileModels, EachIsRefusedWithAMessageNamingFileAndCulprit) {
  test::TempDir dir;
  for (const auto& bad : test::hostile_models()) {
    SCOPED_TRACE(bad.name);
    const fs::path path = dir / (bad.name + ".onnx");
    write_bytes(path, bad.proto.SerializeAsString());
    const std::string message = load_error(path);
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(bad.fragment), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
}

TEST(HostileModels, NodesOutOfOrderLoadAndAreOrderedByDependency) {
  // ONNX wants nodes in topological order, but ORT sorts them itself; so do we (every stage walks
  // topological_order()), so such a model is accepted rather than refused.
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 4}).output("y", DType::Float32, {1, 4});
  b.node("Relu", {"h"}, {"y"}, "reads_h_first");
  b.node("Neg", {"x"}, {"h"}, "produces_h");
  test::TempDir dir;
  write_bytes(dir / "unordered.onnx", b.proto().SerializeAsString());
  const Model m = Model::load(dir / "unordered.onnx");
  EXPECT_EQ(Graph(m.proto().graph()).topological_order(), (std::vector<int>{1, 0}));
}

TEST(HostileModels, ZeroByteAndTruncatedFiles) {
  test::TempDir dir;
  write_bytes(dir / "empty.onnx", "");
  EXPECT_NE(load_error(dir / "empty.onnx").find("file is empty"), std::string::npos);
  const std::string good = test::chain_model(20).SerializeAsString();
  // Every cut point: each must be a LoadError (not a crash), most "truncated or corrupt".
  for (size_t cut = 1; cut < good.size(); cut += 7) {
    write_bytes(dir / "cut.onnx", good.substr(0, cut));
    EXPECT_THROW(Model::load(dir / "cut.onnx"), LoadError) << "cut at " << cut;
  }
}

TEST(HostileModels, AbsurdDeclaredShapesAreOnlyReportedNeverAllocated) {
  // A graph input or value_info may declare 2^40 elements: that is a shape, not data, and loading or
  // inspecting the model allocates nothing for it.
  GraphBuilder b;
  const int64_t huge = int64_t{1} << 40;
  b.input("x", DType::Float32, {huge, huge}).output("y", DType::Float32, {huge, huge});
  b.node("Relu", {"x"}, {"y"}, "relu");
  const Model m = Model::from_bytes(b.proto().SerializeAsString(), "huge_shapes.onnx");
  const ModelSummary s = inspect_model(m);
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.parameters.total.bytes, 0u);
}

// Tensors sharing external bytes (tied weights, overlaps) are accepted up to a bound: test_external_data.

TEST(HostileModels, SymlinkedFolderOutOfTheModelFolderIsRefused) {
  // test_model_io covers "..", absolute paths and a symlinked file; here a folder inside the model's
  // folder is a symlink to somewhere else.
  test::TempDir dir;
  fs::create_directories(dir / "model");
  fs::create_directories(dir / "elsewhere");
  write_bytes(dir / "elsewhere" / "w.bin", std::string(16, '\0'));
  fs::create_directory_symlink(dir / "elsewhere", dir / "model" / "weights");
  write_bytes(dir / "model" / "m.onnx", test::with_external_location("weights/w.bin").SerializeAsString());
  const std::string message = load_error(dir / "model" / "m.onnx");
  EXPECT_NE(message.find("outside the model's folder"), std::string::npos) << message;
}

TEST(HostileModels, HundredThousandNodeChainLoadsInLinearTime) {
  // Load (with the structure checks), index, order, shape inference and inspect of a 100k-node chain.
  // The bound is generous for Debug and sanitizer builds on a shared machine; the ratio to a 25k chain
  // is what would expose a quadratic path (x16 instead of x4).
  const std::string small = test::chain_model(25'000).SerializeAsString();
  const std::string large = test::chain_model(100'000).SerializeAsString();
  const double t_small = load_and_walk_seconds(small);
  const double t_large = load_and_walk_seconds(large);
  RecordProperty("seconds_25k", std::to_string(t_small));
  RecordProperty("seconds_100k", std::to_string(t_large));
  std::cout << "100k-node chain: " << t_large << " s (25k: " << t_small << " s)\n";
  EXPECT_LT(t_large, 30.0);
  EXPECT_LT(t_large, 10.0 * t_small + 1.0) << "grows faster than linear";
}
