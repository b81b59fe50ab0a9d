// Authenticator: who is calling, from the request's bearer token.
//
// A token is looked up by the SHA-256 of its secret in the Store on every
// request, so a revoked token stops working at once (the SQLite store keeps
// live tokens in memory and forgets them all when a token is added or
// revoked, in the process that alone writes the file). The Principal names the token; that name is
// the actor of what the request does. Thread-safe: the Store's reads are.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "store/store.h"

namespace keel::auth {

struct Principal {
  std::string name;  // the token's name: the actor
  std::string role;  // "admin"; roles per namespace come later
};

class Authenticator {
 public:
  explicit Authenticator(store::Store& store) : store_(store) {}

  // `authorization` is the Authorization header's value ("" when absent).
  // kUnauthenticated when it is missing, not "Bearer <secret>", or names
  // no live token; kUnavailable when the store cannot be read.
  Result<Principal> authenticate(std::string_view authorization) const;

 private:
  store::Store& store_;
};

}  // namespace keel::auth
