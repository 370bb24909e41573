#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "exec/executor.h"
#include "ir/model.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;
namespace fs = std::filesystem;

namespace {
Model small_model() {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 4}).output("y", DType::Float32, {1, 4});
  b.initializer("w", test::random_float_tensor({4, 4}, 3));
  b.node("MatMul", {"x", "w"}, {"y"});
  return b.build();
}
void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }
}  // namespace

TEST(ModelIo, SaveLoadRoundTripIsByteIdentical) {
  test::TempDir dir;
  Model m = small_model();
  m.save(dir / "m.onnx");
  Model back = Model::load(dir / "m.onnx");
  EXPECT_EQ(back.serialize(), m.serialize());
  EXPECT_EQ(back.opset(), 13);
  EXPECT_EQ(back.opset("ai.onnx"), 13);
  EXPECT_EQ(back.opset("com.microsoft"), 0);
}

TEST(ModelIo, ErrorsNameTheFile) {
  test::TempDir dir;
  auto expect_load_error = [&](const fs::path& p, const std::string& fragment) {
    try {
      Model::load(p);
      FAIL() << "no error for " << p;
    } catch (const LoadError& e) {
      EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_load_error(dir / "missing.onnx", "no such file");
  write_bytes(dir / "empty.onnx", "");
  expect_load_error(dir / "empty.onnx", "empty");
  const std::string good = small_model().serialize();
  write_bytes(dir / "truncated.onnx", good.substr(0, good.size() / 2));
  expect_load_error(dir / "truncated.onnx", "not a valid ONNX file");
  write_bytes(dir / "text.onnx", "hello, this is not a model\n");
  expect_load_error(dir / "text.onnx", "ONNX");
  std::string corrupt = good;
  for (size_t i = 10; i < corrupt.size(); i += 7) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  write_bytes(dir / "corrupt.onnx", corrupt);
  EXPECT_THROW(Model::load(dir / "corrupt.onnx"), LoadError);
  expect_load_error(dir.path(), "folder");
}

TEST(ModelIo, ExternalDataLoadsAndSaves) {
  test::TempDir dir;
  Model m = small_model();
  m.save(dir / "ext.onnx", {ExternalData::Always});
  ASSERT_TRUE(fs::exists(dir / "ext.onnx.data"));
  // Tensors under 1 KiB stay inline; make one big enough to move.
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 64}).output("y", DType::Float32, {1, 64});
  b.initializer("w", test::random_float_tensor({64, 64}, 5));
  b.node("MatMul", {"x", "w"}, {"y"});
  Model big = b.build();
  big.save(dir / "big.onnx", {ExternalData::Always});
  EXPECT_LT(fs::file_size(dir / "big.onnx"), 1024u);
  EXPECT_GE(fs::file_size(dir / "big.onnx.data"), 64u * 64u * 4u);
  Model back = Model::load(dir / "big.onnx");
  EXPECT_EQ(back.proto().graph().initializer(0).raw_data(), big.proto().graph().initializer(0).raw_data());
  // ORT computes the same thing from the reloaded model and from the original.
  auto x = test::random_float_tensor({1, 64}, 9);
  auto a = Executor(big).run({{"x", x}}).at("y");
  auto c = Executor(back).run({{"x", x}}).at("y");
  EXPECT_EQ(a.bytes, c.bytes);
}

TEST(ModelIo, ExternalDataMayNotEscapeTheModelFolder) {
  test::TempDir dir;
  fs::create_directories(dir / "models");
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 64}).output("y", DType::Float32, {1, 64});
  b.initializer("w", test::random_float_tensor({64, 64}, 5));
  b.node("MatMul", {"x", "w"}, {"y"});
  auto with_location = [&](const std::string& location, uint64_t length) {
    Model m = b.build();
    auto* t = m.proto().mutable_graph()->mutable_initializer(0);
    t->clear_raw_data();
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    kv = t->add_external_data();
    kv->set_key("length");
    kv->set_value(std::to_string(length));
    write_bytes(dir / "models" / "m.onnx", m.serialize());
  };
  write_bytes(dir / "secret.bin", std::string(64 * 64 * 4, 'x'));
  with_location("../secret.bin", 64 * 64 * 4);
  EXPECT_THROW(Model::load(dir / "models" / "m.onnx"), LoadError);
  with_location((dir / "secret.bin").string(), 64 * 64 * 4);
  EXPECT_THROW(Model::load(dir / "models" / "m.onnx"), LoadError);
  fs::create_symlink(dir / "secret.bin", dir / "models" / "link.bin");
  with_location("link.bin", 64 * 64 * 4);
  try {
    Model::load(dir / "models" / "m.onnx");
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("outside"), std::string::npos) << e.what();
  }
  with_location("missing.bin", 16);
  EXPECT_THROW(Model::load(dir / "models" / "m.onnx"), LoadError);
  write_bytes(dir / "models" / "short.bin", "abc");
  with_location("short.bin", 64 * 64 * 4);
  try {
    Model::load(dir / "models" / "m.onnx");
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("beyond the end"), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, FailedWriteLeavesExistingFileUntouched) {
  test::TempDir dir;
  write_file_atomically(dir / "out.txt", std::string_view("original"));
  EXPECT_THROW(write_file_atomically(dir / "out.txt", [](std::ostream& out) {
                 out << "partial";
                 throw IoError("simulated failure");
               }),
               IoError);
  std::ifstream in(dir / "out.txt");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "original");
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1) << "temp file left behind";
  EXPECT_THROW(write_file_atomically(dir / "no" / "such" / "dir.txt", std::string_view("x")), IoError);
}
