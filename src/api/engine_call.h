// awaitEngine(): waits for an answer from the engine's Control on an HTTP
// worker thread, bounded by a safety timeout.
//
// Control futures resolve once the transition is durable (G1). If the
// engine does not answer in time, the caller gets kUnavailable, whose
// message says that the outcome is unknown: for a trigger, the run may yet
// be committed, and retrying with the same idempotency key is the safe way
// to find out (G2). A broken promise (the engine stopped) is kUnavailable
// too. Any thread.
#pragma once

#include <chrono>
#include <future>
#include <string>

#include <fmt/format.h>

#include "core/result.h"

namespace keel::api {

template <typename T>
Result<T> awaitEngine(std::future<Result<T>> future, std::chrono::milliseconds timeout) {
  if (!future.valid()) return Error(ErrorCode::kInternal, "the engine returned no answer");
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("the engine did not answer within {} ms; the outcome is unknown "
                             "(retry with the same idempotency key to find out)",
                             timeout.count()));
  }
  try {
    return future.get();
  } catch (const std::future_error& e) {
    return Error(ErrorCode::kUnavailable, std::string("the engine is stopping: ") + e.what());
  }
}

}  // namespace keel::api
