#include "exec/stream_capture.h"

#include <algorithm>

#include <fmt/format.h>

namespace keel::exec {
namespace {

bool isContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The length of `head` without a trailing, incomplete UTF-8 sequence.
size_t utf8SafeHeadLength(std::string_view head) {
  size_t n = head.size();
  size_t back = 0;
  while (back < 3 && back < n && isContinuationByte(head[n - 1 - back])) ++back;
  if (back == n) return n;  // only continuation bytes: not UTF-8 at all, keep as is
  const auto lead = static_cast<unsigned char>(head[n - 1 - back]);
  size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (need == 1) return n;         // ASCII (or stray bytes): nothing to trim
  if (back + 1 >= need) return n;  // the last character is complete
  return n - back - 1;             // drop the partial character
}

// The number of leading continuation bytes (at most 3) of `tail`.
size_t utf8SafeTailStart(std::string_view tail) {
  size_t i = 0;
  while (i < 3 && i < tail.size() && isContinuationByte(tail[i])) ++i;
  return i == tail.size() ? 0 : i;
}

}  // namespace

StreamCapture::StreamCapture(size_t cap, size_t tail)
    : headCap_(cap - std::min(cap, tail)), tailCap_(std::min(cap, tail)) {}

void StreamCapture::append(std::string_view data) {
  total_ += static_cast<int64_t>(data.size());
  const size_t toHead = std::min(data.size(), headCap_ - head_.size());
  head_.append(data.substr(0, toHead));
  data.remove_prefix(toHead);
  if (data.empty() || tailCap_ == 0) return;
  if (data.size() >= tailCap_) {
    tail_.assign(data.substr(data.size() - tailCap_));
    return;
  }
  tail_.append(data);
  // Trimming only when twice the size keeps appends amortised O(1).
  if (tail_.size() >= 2 * tailCap_) tail_.erase(0, tail_.size() - tailCap_);
}

std::string StreamCapture::text() const {
  std::string_view tail(tail_);
  if (tail.size() > tailCap_) tail.remove_prefix(tail.size() - tailCap_);
  const int64_t kept = static_cast<int64_t>(head_.size() + tail.size());
  if (kept == total_) return head_ + std::string(tail);

  std::string_view head(head_);
  head = head.substr(0, utf8SafeHeadLength(head));
  tail.remove_prefix(utf8SafeTailStart(tail));
  const int64_t omitted = total_ - static_cast<int64_t>(head.size() + tail.size());
  std::string out;
  out.reserve(head.size() + tail.size() + 48);
  out.append(head);
  out.append(fmt::format("\n[... {} bytes omitted ...]\n", omitted));
  out.append(tail);
  return out;
}

}  // namespace keel::exec
