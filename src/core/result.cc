#include "core/result.h"

namespace keel {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kIdempotencyConflict:
      return "idempotency_conflict";
    case ErrorCode::kLeaseLost:
      return "lease_lost";
    case ErrorCode::kFailedPrecondition:
      return "failed_precondition";
    case ErrorCode::kTooLarge:
      return "too_large";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kIo:
      return "io_error";
    case ErrorCode::kUnimplemented:
      return "unimplemented";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Error::toString() const {
  std::string out = message_;
  for (const auto& d : details_) {
    out += "\n";
    out += d;
  }
  return out;
}

}  // namespace keel
