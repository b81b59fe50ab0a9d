#include "exec/stream_capture.h"

#include <gtest/gtest.h>

#include <string>

#include "core/random.h"

namespace keel::exec {
namespace {

// Feeds `data` in random-sized chunks, so chunking cannot change the result.
void feed(StreamCapture& c, const std::string& data, uint64_t seed) {
  SeededRandom random(seed);
  size_t i = 0;
  while (i < data.size()) {
    size_t n = 1 + static_cast<size_t>(random.uniform01() * 9);
    c.append(std::string_view(data).substr(i, n));
    i += n;
  }
}

std::string alphabet() { return "abcdefghijklmnopqrstuvwxyz"; }

TEST(StreamCaptureTest, UnderTheCapKeepsEverything) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    StreamCapture c(26, 4);
    feed(c, alphabet(), seed);
    EXPECT_EQ(c.text(), alphabet());
    EXPECT_EQ(c.totalBytes(), 26);
  }
}

TEST(StreamCaptureTest, OverTheCapKeepsHeadAndTail) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    StreamCapture c(10, 4);
    feed(c, alphabet(), seed);
    EXPECT_EQ(c.text(), "abcdef\n[... 16 bytes omitted ...]\nwxyz") << seed;
    EXPECT_EQ(c.totalBytes(), 26);
  }
}

TEST(StreamCaptureTest, OneByteOverTheCap) {
  StreamCapture c(25, 4);
  c.append(alphabet());
  EXPECT_EQ(c.text(), "abcdefghijklmnopqrstu\n[... 1 bytes omitted ...]\nwxyz");
}

TEST(StreamCaptureTest, LongTailIsBoundedAcrossManyAppends) {
  StreamCapture c(8, 4);
  std::string all;
  for (int i = 0; i < 10000; ++i) {
    std::string piece = std::to_string(i) + ",";
    all += piece;
    c.append(piece);
  }
  EXPECT_EQ(c.totalBytes(), static_cast<int64_t>(all.size()));
  EXPECT_EQ(c.text(), all.substr(0, 4) + "\n[... " + std::to_string(all.size() - 8) +
                          " bytes omitted ...]\n" + all.substr(all.size() - 4));
}

TEST(StreamCaptureTest, CapSmallerThanTheTail) {
  StreamCapture c(3);  // tail 64 KiB by default: everything kept is tail
  c.append(alphabet());
  EXPECT_EQ(c.text(), "\n[... 23 bytes omitted ...]\nxyz");
}

TEST(StreamCaptureTest, ZeroCapKeepsOnlyTheCount) {
  StreamCapture c(0);
  c.append("hello");
  EXPECT_EQ(c.text(), "\n[... 5 bytes omitted ...]\n");
  EXPECT_EQ(c.totalBytes(), 5);
  StreamCapture empty(0);
  EXPECT_EQ(empty.text(), "");
}

TEST(StreamCaptureTest, NeverSplitsAUtf8Character) {
  // "é" is two bytes, "€" three: the cuts fall inside them.
  const std::string text = "aé" + std::string(20, 'x') + "€b";
  StreamCapture c(5, 3);  // head 2 bytes: "a" + half of "é"; tail 3: two thirds of "€" + "b"
  c.append(text);
  const int64_t omitted = static_cast<int64_t>(text.size()) - 1 - 1;
  EXPECT_EQ(c.text(), "a\n[... " + std::to_string(omitted) + " bytes omitted ...]\nb");
  StreamCapture whole(7, 4);  // head "aé" complete, tail "€b" complete
  whole.append(text);
  EXPECT_EQ(whole.text(),
            "aé\n[... " + std::to_string(text.size() - 7) + " bytes omitted ...]\n€b");
}

}  // namespace
}  // namespace keel::exec
