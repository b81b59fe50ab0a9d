#include "auth/authenticator.h"

#include <cctype>

#include "auth/token.h"

namespace keel::auth {
namespace {

Error unauthenticated(std::string message) {
  return Error(ErrorCode::kUnauthenticated, std::move(message));
}

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

Result<Principal> Authenticator::authenticate(std::string_view authorization) const {
  if (authorization.empty())
    return unauthenticated(
        "this request needs a token: send 'Authorization: Bearer TOKEN' (keel serve wrote an "
        "admin token to its token file, by default the database path followed by .token)");
  if (!startsWithNoCase(authorization, "bearer "))
    return unauthenticated("the Authorization header must be 'Bearer TOKEN'");
  std::string_view secret = authorization.substr(7);
  while (!secret.empty() && secret.front() == ' ') secret.remove_prefix(1);
  while (!secret.empty() && secret.back() == ' ') secret.remove_suffix(1);
  if (secret.empty()) return unauthenticated("the Authorization header holds no token");
  auto row = store_.findTokenByHash(tokenHash(secret));
  if (!row.ok())
    return Error(ErrorCode::kUnavailable,
                 "cannot check the token: the database cannot be read: " + row.error().message());
  if (!*row || (*row)->revokedAt)
    return unauthenticated(
        "the token is not valid on this server (unknown, revoked, or from another keel)");
  return Principal{(*row)->name, (*row)->role};
}

}  // namespace keel::auth
