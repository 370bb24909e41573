// `onnxquant batch`: which models a run takes (folders, sorting, shards) and what it refuses before
// starting. The CLI run itself is in tests/e2e/test_batch_cli.cpp.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "core/errors.h"
#include "pipeline/batch_job.h"
#include "support/expect_helpers.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {

void touch(const std::filesystem::path& p, const std::string& text = "x") {
  std::ofstream(p) << text;
}

}  // namespace

TEST(Batch, ShardsCoverEveryModelExactlyOnce) {
  test::TempDir dir;
  for (int i = 0; i < 23; ++i) touch(dir / ("m" + std::to_string(i) + ".onnx"));
  const auto all = collect_batch_models({dir.path().string()}, dir / "out");
  ASSERT_EQ(all.size(), 23u);
  for (int n : {1, 2, 5, 23, 40}) {
    std::multiset<std::string> seen;
    size_t largest = 0, smallest = all.size();
    for (int k = 1; k <= n; ++k) {
      const auto mine = select_shard(all, {k, n});
      largest = std::max(largest, mine.size());
      smallest = std::min(smallest, mine.size());
      for (const auto& m : mine) seen.insert(m.model.string());
    }
    EXPECT_EQ(seen.size(), all.size()) << n << " shards";
    for (const auto& m : all) EXPECT_EQ(seen.count(m.model.string()), 1u) << m.model << " with " << n << " shards";
    EXPECT_LE(largest - smallest, 1u) << "shards are balanced";
  }
  // Deterministic: the same listing in another order gives the same shards.
  const auto again = collect_batch_models({(dir / "m3.onnx").string(), dir.path().string()}, dir / "out");
  ASSERT_EQ(again.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(again[i].model, all[i].model);
}

TEST(Batch, FoldersSkipHiddenAndOtherFiles) {
  test::TempDir dir;
  touch(dir / "a.onnx");
  touch(dir / ".hidden.onnx");
  touch(dir / "notes.txt");
  std::filesystem::create_directories(dir / "sub");
  touch(dir / "sub" / "b.onnx");  // folders are not scanned recursively
  const auto items = collect_batch_models({dir.path().string()}, dir / "out");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].model.filename(), "a.onnx");
  EXPECT_EQ(items[0].output, dir / "out" / "a.onnx");
}

TEST(Batch, RefusesBadRequestsBeforeStarting) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "x");
  std::filesystem::create_directories(dir / "y");
  touch(dir / "x" / "m.onnx");
  touch(dir / "y" / "m.onnx");
  touch(dir / "file");
  test::expect_error<UsageError>([&] { collect_batch_models({(dir / "x").string(), (dir / "y").string()}, dir / "out"); }, "would both write");
  test::expect_error<UsageError>([&] { collect_batch_models({(dir / "x").string()}, dir / "file"); }, "is a file");
  test::expect_error<DataError>([&] { collect_batch_models({(dir / "missing").string()}, dir / "out"); }, "no such file");
  std::filesystem::create_directories(dir / "empty");
  test::expect_error<DataError>([&] { collect_batch_models({(dir / "empty").string()}, dir / "out"); }, "no .onnx model");
  test::expect_error<UsageError>([&] { collect_batch_models({(dir / "x").string()}, dir / "x"); }, "overwrite its own model");
  for (const char* bad : {"0/3", "4/3", "3", "a/b", "1/0", "2/3x"}) test::expect_error<UsageError>([&] { parse_shard(bad); }, "--shard");
  EXPECT_EQ(parse_shard("3/8").index, 3);
  EXPECT_EQ(parse_shard("3/8").count, 8);
}

