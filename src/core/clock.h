// Clock: keel's only source of time.
//
// Monotonic time (MonoTime) measures intervals: timeouts, backoff delays,
// timers. Wall time (WallTime) is what gets recorded and shown: created_at,
// the time a retry is due. They are distinct types so one cannot be passed
// for the other. Production code receives a Clock&; tests use ManualClock,
// which only moves when told to. Any thread may call a Clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace keel {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime monoNow() const = 0;
  virtual WallTime wallNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  MonoTime monoNow() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
};

// A clock that stands still until advanced. Wall and monotonic time advance
// together. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(WallTime start = WallTime(std::chrono::seconds(1'767'225'600)))
      : wallNs_(start.time_since_epoch().count()) {}
  MonoTime monoNow() const override { return MonoTime(std::chrono::nanoseconds(monoNs_.load())); }
  WallTime wallNow() const override {
    return WallTime(
        std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(wallNs_.load())));
  }
  void advance(std::chrono::nanoseconds d) {
    monoNs_ += d.count();
    wallNs_ += std::chrono::duration_cast<WallTime::duration>(d).count();
  }
  // Steps the wall clock alone (negative: back), as an operator or NTP
  // does; the monotonic clock does not move.
  void stepWall(std::chrono::nanoseconds d) {
    wallNs_ += std::chrono::duration_cast<WallTime::duration>(d).count();
  }

 private:
  std::atomic<int64_t> monoNs_{1'000'000'000};
  std::atomic<int64_t> wallNs_;
};

// Milliseconds since the Unix epoch: how wall times are stored.
inline int64_t toUnixMillis(WallTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}
inline WallTime fromUnixMillis(int64_t ms) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(Millis(ms)));
}
// RFC 3339 in UTC with milliseconds: "2026-11-23T07:03:00.123Z".
std::string formatRfc3339(WallTime t);

}  // namespace keel
