// HttpRunner: `http:` steps (see engine/step_runner.h).
//
// prepare() renders the step's request (spec::renderHttpRequest: URL values
// percent-encoded for their place, `json:` built as a value) and adds what
// keel sends on every attempt: `Idempotency-Key` (the step key, RUN/STEP,
// the same on every attempt), `X-Keel-Run-Id` and a W3C `traceparent` whose
// trace id is the run id's 128 bits. start() hands it to the HttpClient; the
// outcome is classified by http::classify (status in `expect` -> success;
// refused, DNS, TLS, 502-504 -> dependency_unavailable; 429 ->
// rate_limited; a timeout -> timeout; other 5xx -> error; other 4xx ->
// bad_input) with Retry-After as the earliest next attempt. The response
// (status, chosen headers, body) is kept as the attempt's log; on success
// the output is {"status", "headers", "body"}, the body parsed when it is
// JSON. A call in flight when keel stopped cannot be found again: attach()
// reports it lost, and its retry carries the same Idempotency-Key.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "core/clock.h"
#include "engine/step_runner.h"
#include "http/client.h"

namespace keel::runners {

class HttpRunner final : public engine::StepRunner {
 public:
  HttpRunner(http::HttpClient& client, const Clock& clock) : client_(client), clock_(clock) {}

  Result<std::shared_ptr<const engine::PreparedAttempt>> prepare(
      const engine::AttemptInput& in) override;
  Handle start(std::shared_ptr<const engine::PreparedAttempt> attempt, Done done) override;
  void stop(Handle handle, FailureClass why) override;
  Handle attach(const exec::AttemptRef& ref, std::shared_ptr<const engine::PreparedAttempt>,
                Done done) override;
  void discard(const exec::AttemptRef&) override {}
  void sweep(const std::vector<exec::AttemptRef>&) override {}

  // The traceparent's trace id for a run: its id's 128 bits as 32 hex
  // digits (a hash of the id when it is not a run id).
  static std::string traceId(const std::string& runId);

 private:
  struct Call;
  http::HttpClient& client_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<Handle, std::shared_ptr<Call>> calls_;  // in flight, by our handle
  Handle next_ = 1;
};

}  // namespace keel::runners
