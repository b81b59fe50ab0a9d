// Result<T> and Error: keel's error values.
//
// Every fallible operation returns a Result. An Error carries a code, a
// human message (which says what and where), optional details (one line
// each, e.g. every validation problem found in one pass) and whether the
// operation may succeed if simply tried again. Exceptions thrown by
// libraries are caught at the adapter that calls them and turned into Errors.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace keel {

enum class ErrorCode {
  kInvalidArgument,  // bad input from a user: never retried
  kNotFound,
  kAlreadyExists,
  kConflict,  // the state does not allow this now
  // An idempotency key reused with a different request; the message names
  // the run the key belongs to.
  kIdempotencyConflict,
  // A task worker reported on an attempt it no longer holds (its lease
  // lapsed, the attempt ended, or another worker holds it): nothing changed.
  kLeaseLost,
  kFailedPrecondition,  // e.g. database written by a newer keel
  kTooLarge,
  kUnavailable,  // transient: may succeed later
  kCorrupt,      // stored data is damaged
  kIo,
  kUnimplemented,     // a feature this version of keel does not have
  kUnauthenticated,   // no credentials, or credentials keel does not know
  kPermissionDenied,  // known credentials that may not do this
  kInternal,
};

const char* errorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message, std::vector<std::string> details = {})
      : code_(code), message_(std::move(message)), details_(std::move(details)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<std::string>& details() const { return details_; }
  bool retryable() const { return code_ == ErrorCode::kUnavailable || code_ == ErrorCode::kIo; }
  // "message" followed by each detail on its own line.
  std::string toString() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::vector<std::string> details_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status okStatus() { return Status(); }

}  // namespace keel

// Propagate an error from an expression returning Result<...>.
#define KEEL_TRY(expr)                                 \
  do {                                                 \
    auto keel_try_r_ = (expr);                         \
    if (!keel_try_r_.ok()) return keel_try_r_.error(); \
  } while (0)
