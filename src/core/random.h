// Random: keel's only source of randomness (jitter, identifiers).
//
// Production code receives a Random&; tests use SeededRandom so that every
// draw, and so every jittered delay, is reproducible. Not thread-safe: each
// owner (the engine loop, a test) keeps its own.
#pragma once

#include <cstdint>
#include <random>

namespace keel {

class Random {
 public:
  virtual ~Random() = default;
  // A draw in [0, 1).
  virtual double uniform01() = 0;
  virtual uint64_t next64() = 0;
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : gen_(seed) {}
  double uniform01() override { return std::uniform_real_distribution<double>(0.0, 1.0)(gen_); }
  uint64_t next64() override { return gen_(); }

 private:
  std::mt19937_64 gen_;
};

// Seeded once from the operating system's entropy.
class SystemRandom final : public Random {
 public:
  SystemRandom() : gen_(std::random_device{}()) {}
  double uniform01() override { return std::uniform_real_distribution<double>(0.0, 1.0)(gen_); }
  uint64_t next64() override { return gen_(); }

 private:
  std::mt19937_64 gen_;
};

}  // namespace keel
