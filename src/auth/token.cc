#include "auth/token.h"

#include <sodium.h>

#include <cstdlib>

#include <fmt/format.h>

#include "core/quote.h"

namespace keel::auth {
namespace {

void initSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) std::abort();
}

}  // namespace

std::string newTokenSecret() {
  initSodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string encoded(sodium_base64_ENCODED_LEN(sizeof bytes, kVariant), '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), bytes, sizeof bytes, kVariant);
  encoded.resize(std::char_traits<char>::length(encoded.c_str()));
  sodium_memzero(bytes, sizeof bytes);
  return kTokenPrefix + encoded;
}

std::string tokenHash(std::string_view secret) {
  initSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  std::string hex(sizeof digest * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest, sizeof digest);
  hex.pop_back();
  return hex;
}

Status checkTokenName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("token name {}: {}", quoteForMessage(name), why));
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > 64) return bad("is longer than 64 characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return bad("may hold only a-z, 0-9, '.', '_' and '-'");
  }
  if (name.front() == '.' || name.front() == '_' || name.front() == '-')
    return bad("must start with a letter or a digit");
  return okStatus();
}

}  // namespace keel::auth
