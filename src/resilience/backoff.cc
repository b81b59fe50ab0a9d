#include "resilience/backoff.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace keel::resilience {
namespace {

using std::chrono::milliseconds;

// The draw, forced into [0, 1): a bad random source must not produce a delay
// above the cap or below zero.
double clampDraw(double draw) {
  if (!(draw >= 0.0)) return 0.0;  // also catches NaN
  if (draw >= 1.0) return std::nextafter(1.0, 0.0);
  return draw;
}

// initial * 2^(retryNumber-1), capped at `cap`. Doubling stops as soon as
// the cap is reached, so retryNumber 1000 costs nothing and cannot overflow.
int64_t exponentialBase(int64_t initial, int retryNumber, int64_t cap) {
  int64_t base = initial;
  for (int i = 1; i < retryNumber && base < cap; ++i) {
    if (base == 0) break;
    base = base > cap / 2 ? cap : base * 2;
  }
  return std::min(base, cap);
}

// Rounds down, and never leaves [0, cap].
int64_t toMillis(double value, int64_t cap) {
  if (!(value > 0.0)) return 0;
  if (value >= static_cast<double>(cap)) return cap;
  return static_cast<int64_t>(std::floor(value));
}

}  // namespace

milliseconds backoffDelay(const RetryPolicy& p, int retryNumber, milliseconds previousDelay,
                          double draw) {
  const int64_t cap = std::max<int64_t>(0, p.max.count());
  const int64_t initial = std::clamp<int64_t>(p.initial.count(), 0, cap);
  const double d = clampDraw(draw);
  retryNumber = std::max(1, retryNumber);

  if (p.jitter == Jitter::kDecorrelated) {
    int64_t prev = previousDelay.count();
    if (retryNumber == 1 || prev <= 0) prev = initial;
    prev = std::clamp(prev, initial, cap);
    // prev*3 in double: prev <= cap, so this is exact far beyond any real delay.
    double spread = static_cast<double>(prev) * 3.0 - static_cast<double>(initial);
    return milliseconds(toMillis(static_cast<double>(initial) + d * spread, cap));
  }

  const int64_t base =
      p.backoff == Backoff::kFixed ? initial : exponentialBase(initial, retryNumber, cap);
  const double b = static_cast<double>(base);
  switch (p.jitter) {
    case Jitter::kNone:
      return milliseconds(base);
    case Jitter::kFull:
      return milliseconds(toMillis(d * b, cap));
    case Jitter::kEqual:
      return milliseconds(toMillis(b / 2.0 + d * b / 2.0, cap));
    case Jitter::kDecorrelated:
      break;  // handled above
  }
  return milliseconds(base);
}

}  // namespace keel::resilience
