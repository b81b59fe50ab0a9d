#include "http/classify.h"

namespace keel::http {
namespace {

bool expected(int status, const StatusRanges& expect) {
  if (expect.empty()) return status >= 200 && status <= 299;
  for (const auto& [lo, hi] : expect)
    if (status >= lo && status <= hi) return true;
  return false;
}

FailureClass ofTransport(TransportFailureKind kind) {
  switch (kind) {
    case TransportFailureKind::kConnectionRefused:
    case TransportFailureKind::kDns:
    case TransportFailureKind::kTls:
      return FailureClass::kDependencyUnavailable;
    case TransportFailureKind::kTimeout:
      return FailureClass::kTimeout;
    case TransportFailureKind::kCancelled:
      return FailureClass::kCancelled;
    case TransportFailureKind::kInvalidRequest:
      return FailureClass::kBadInput;
    case TransportFailureKind::kTooManyRedirects:
    case TransportFailureKind::kOther:
      return FailureClass::kError;
  }
  return FailureClass::kError;
}

std::optional<WallTime> retryAfter(const HttpResponse& r, WallTime now) {
  auto value = findHeader(r.headers, "Retry-After");
  if (!value) return std::nullopt;
  return parseRetryAfter(*value, now);
}

}  // namespace

Classification classify(const HttpResult& result, const StatusRanges& expect, WallTime now) {
  if (result.failure) return {ofTransport(result.failure->kind), std::nullopt};
  const HttpResponse& r = result.response;
  int s = r.status;
  if (expected(s, expect)) return {FailureClass::kNone, std::nullopt};
  if (s == 429) return {FailureClass::kRateLimited, retryAfter(r, now)};
  if (s == 503) return {FailureClass::kDependencyUnavailable, retryAfter(r, now)};
  if (s == 502 || s == 504) return {FailureClass::kDependencyUnavailable, std::nullopt};
  if (s >= 500 && s <= 599) return {FailureClass::kError, std::nullopt};
  if (s >= 400 && s <= 499) return {FailureClass::kBadInput, std::nullopt};
  return {FailureClass::kError, std::nullopt};
}

}  // namespace keel::http
