// Outputs that must appear together (a model and its external data): PendingFiles publishes all or none,
// and saving with external data leaves the in-memory model as it was (its weights are only lent).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "ir/model.h"
#include "support/file_bytes.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
namespace fs = std::filesystem;

namespace {
int entries(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST(PendingFiles, AFailureBeforeCommitLeavesEveryTargetAsItWas) {
  test::TempDir dir;
  write_file_atomically(dir / "a", std::string_view("old a"));
  write_file_atomically(dir / "b", std::string_view("old b"));
  {
    PendingFiles files;
    files.add(dir / "a", std::string_view("new a"));
    EXPECT_THROW(files.add(dir / "b", [](std::ostream& out) {
                   out << "half of b";
                   throw IoError("simulated failure");
                 }),
                 IoError);
  }
  EXPECT_EQ(test::file_bytes(dir / "a"), "old a");
  EXPECT_EQ(test::file_bytes(dir / "b"), "old b");
  EXPECT_EQ(entries(dir.path()), 2) << "temp files left behind";
}

TEST(PendingFiles, CommitPublishesAll) {
  test::TempDir dir;
  PendingFiles files;
  files.add(dir / "a", std::string_view("new a"));
  files.add(dir / "b", std::string_view("new b"));
  EXPECT_FALSE(fs::exists(dir / "a"));
  files.commit();
  EXPECT_EQ(test::file_bytes(dir / "a"), "new a");
  EXPECT_EQ(test::file_bytes(dir / "b"), "new b");
  EXPECT_EQ(entries(dir.path()), 2);
}

TEST(PendingFiles, SavingWithExternalDataLeavesTheModelInMemoryUnchanged) {
  test::GraphBuilder b;
  b.input("x", DType::Float32, {1, 64}).output("y", DType::Float32, {1, 64});
  b.initializer("w", test::random_float_tensor({64, 64}, 5));
  b.node("MatMul", {"x", "w"}, {"y"});
  const Model m = b.build();
  const std::string before = m.serialize();
  test::TempDir dir;
  m.save(dir / "m.onnx", {ExternalData::Always});
  EXPECT_EQ(m.serialize(), before) << "the weights lent out for saving were not given back";
  const Model back = Model::load(dir / "m.onnx");
  EXPECT_TRUE(back.proto().graph().initializer(0).raw_data() == m.proto().graph().initializer(0).raw_data());
}
