// StreamCapture: keeps a bounded copy of one output stream of a process.
//
// A step may write gigabytes; keel keeps at most `cap` bytes of each stream:
// the first (cap - tail) bytes and always the last `tail` bytes (64 KiB by
// default), because the start shows what the step was doing and the end
// shows why it failed. When bytes were dropped, text() puts the line
// "\n[... N bytes omitted ...]\n" between the two parts. The cut points are
// moved by at most three bytes so that a UTF-8 character is never split
// (the omitted count includes those bytes). Memory stays within about
// 2 * cap whatever the volume. Not thread-safe: one reader thread owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keel::exec {

class StreamCapture {
 public:
  static constexpr size_t kDefaultTail = 64 * 1024;

  explicit StreamCapture(size_t cap, size_t tail = kDefaultTail);

  void append(std::string_view data);
  // Every byte ever appended, kept or not.
  int64_t totalBytes() const { return total_; }
  // The kept text, with the omitted marker if bytes were dropped.
  std::string text() const;

 private:
  size_t headCap_;
  size_t tailCap_;
  std::string head_;
  std::string tail_;  // grows to 2 * tailCap_, then drops its oldest half
  int64_t total_ = 0;
};

}  // namespace keel::exec
