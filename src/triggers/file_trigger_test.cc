// File arrival: stability on a manual clock (no sleeps), name matching,
// the params and the run key; listDirectory on a real temporary directory.
#include "triggers/file_trigger.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace keel::triggers {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

FileEntry file(const std::string& name, uint64_t size, int64_t mtimeNs, uint64_t inode = 7) {
  return {name, "/in/" + name, size, mtimeNs, inode};
}

std::vector<std::string> names(const std::vector<FileEntry>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.name);
  return out;
}

TEST(StabilityTracker, AGrowingFileNeverSettlesThenFiresOnce) {
  ManualClock clock;
  StabilityTracker t(seconds(10));
  // Written in pieces: each listing sees a new size and mtime.
  for (int i = 0; i < 30; ++i) {
    EXPECT_TRUE(t.observe({file("a.csv", 100 * i, 1000 + i)}, clock.monoNow()).empty()) << i;
    clock.advance(seconds(2));
  }
  // Settles: unchanged for stable_for, reported exactly once.
  EXPECT_TRUE(t.observe({file("a.csv", 3000, 2000)}, clock.monoNow()).empty());
  clock.advance(seconds(9));
  EXPECT_TRUE(t.observe({file("a.csv", 3000, 2000)}, clock.monoNow()).empty());
  EXPECT_EQ(t.nextSettle(), clock.monoNow() + seconds(1));
  clock.advance(seconds(1));
  EXPECT_EQ(names(t.observe({file("a.csv", 3000, 2000)}, clock.monoNow())),
            std::vector<std::string>{"a.csv"});
  EXPECT_FALSE(t.nextSettle().has_value());
  for (int i = 0; i < 5; ++i) {
    clock.advance(seconds(30));
    EXPECT_TRUE(t.observe({file("a.csv", 3000, 2000)}, clock.monoNow()).empty());
  }
}

TEST(StabilityTracker, AReplacedFileFiresAgain) {
  ManualClock clock;
  StabilityTracker t(seconds(5));
  t.observe({file("a", 1, 1)}, clock.monoNow());
  clock.advance(seconds(5));
  EXPECT_EQ(t.observe({file("a", 1, 1)}, clock.monoNow()).size(), 1u);
  // Rewritten in place (new mtime, same size) or replaced (new inode).
  clock.advance(seconds(1));
  EXPECT_TRUE(t.observe({file("a", 1, 2)}, clock.monoNow()).empty());
  clock.advance(seconds(5));
  EXPECT_EQ(t.observe({file("a", 1, 2)}, clock.monoNow()).size(), 1u);
  clock.advance(seconds(1));
  EXPECT_TRUE(t.observe({file("a", 1, 2, 8)}, clock.monoNow()).empty());
  clock.advance(seconds(5));
  EXPECT_EQ(t.observe({file("a", 1, 2, 8)}, clock.monoNow()).size(), 1u);
}

TEST(StabilityTracker, DeletedBeforeSettlingNeverFires) {
  ManualClock clock;
  StabilityTracker t(seconds(5));
  t.observe({file("a", 1, 1), file("b", 1, 1)}, clock.monoNow());
  clock.advance(seconds(4));
  std::vector<std::string> gone;
  EXPECT_TRUE(t.observe({file("b", 1, 1)}, clock.monoNow(), &gone).empty());
  EXPECT_EQ(gone, std::vector<std::string>{"/in/a"});
  clock.advance(seconds(1));
  EXPECT_EQ(names(t.observe({file("b", 1, 1)}, clock.monoNow())), std::vector<std::string>{"b"});
  // Coming back with the same identity counts from its return.
  t.observe({file("a", 1, 1), file("b", 1, 1)}, clock.monoNow());
  clock.advance(seconds(4));
  EXPECT_TRUE(t.observe({file("a", 1, 1), file("b", 1, 1)}, clock.monoNow()).empty());
  clock.advance(seconds(60));
  EXPECT_TRUE(t.observe({}, clock.monoNow()).empty());
  EXPECT_EQ(t.tracked(), 0u);
}

TEST(StabilityTracker, HardLinksUnderTwoNamesAreTwoFiles) {
  ManualClock clock;
  StabilityTracker t(seconds(1));
  t.observe({file("x", 1, 1, 42), file("y", 1, 1, 42)}, clock.monoNow());
  clock.advance(seconds(1));
  EXPECT_EQ(t.observe({file("x", 1, 1, 42), file("y", 1, 1, 42)}, clock.monoNow()).size(), 2u);
}

TEST(FileTrigger, NamesMatchTheGlobAndSkipDotFiles) {
  EXPECT_TRUE(nameMatches("*.csv", "a b.csv"));
  EXPECT_FALSE(nameMatches("*.csv", "a.csv.part"));
  EXPECT_TRUE(nameMatches("", "anything"));
  EXPECT_FALSE(nameMatches("*", ".hidden"));
  EXPECT_FALSE(nameMatches("*.csv", ".x.csv"));
  EXPECT_TRUE(nameMatches(".*.csv", ".x.csv"));
  EXPECT_TRUE(nameMatches("report-[0-9]?.txt", "report-12.txt"));
  EXPECT_FALSE(nameMatches(".*", ".."));
}

TEST(FileTrigger, ParamsKeyAndDefaults) {
  spec::TriggerSpec t;
  t.kind = spec::TriggerSpec::Kind::kFile;
  t.params = {{"f", "{{ file.path }}"},
              {"n", "{{ file.name }}"},
              {"s", "{{ file.size }}"},
              {"m", "{{ file.mtime }}"}};
  FileEntry f{"a $(x).csv", "/in/a $(x).csv", 12, 1'767'225'600'123'456'789, 9};
  auto p = renderFileParams(t, f);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ((*p)["f"], "/in/a $(x).csv");
  EXPECT_EQ((*p)["n"], "a $(x).csv");
  EXPECT_EQ((*p)["s"], "12");
  EXPECT_EQ((*p)["m"], "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(fileRunKey("load", 1, f), "file:load:1:12:1767225600123456789:9:/in/a $(x).csv");
  EXPECT_EQ(stableFor(t), seconds(10));
  EXPECT_EQ(pollInterval(t), seconds(2));
  t.fileStableFor = seconds(1);
  EXPECT_EQ(pollInterval(t), milliseconds(500));
  t.fileStableFor = milliseconds(10);
  EXPECT_EQ(pollInterval(t), milliseconds(100));
}

TEST(FileTrigger, ListDirectoryKeepsOnlyMatchingRegularFiles) {
  testing::TempDir dir;
  std::string d = dir.path();
  std::ofstream(d + "/a.csv") << "hello";
  std::ofstream(d + "/b.txt") << "x";
  std::ofstream(d + "/.c.csv") << "x";
  ASSERT_EQ(mkdir((d + "/sub.csv").c_str(), 0755), 0);
  ASSERT_EQ(symlink((d + "/a.csv").c_str(), (d + "/link.csv").c_str()), 0);
  ASSERT_EQ(mkfifo((d + "/pipe.csv").c_str(), 0600), 0);
  ASSERT_EQ(link((d + "/a.csv").c_str(), (d + "/hard.csv").c_str()), 0);
  auto files = listDirectory(d, "*.csv");
  ASSERT_TRUE(files.ok()) << files.error().message();
  EXPECT_EQ(names(*files), (std::vector<std::string>{"a.csv", "hard.csv"}));
  EXPECT_EQ(files->at(0).size, 5u);
  EXPECT_EQ(files->at(0).path, d + "/a.csv");
  EXPECT_EQ(files->at(0).inode, files->at(1).inode);
  auto missing = listDirectory(d + "/nope", "*");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find(d + "/nope"), std::string::npos);
}

}  // namespace
}  // namespace keel::triggers
