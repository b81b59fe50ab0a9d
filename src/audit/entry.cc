#include "audit/entry.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

namespace keel::audit {

namespace {

void field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
  out += '\n';
}

int64_t unixMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string canonical(const Entry& e) {
  std::string out = "keel-audit-1\n";
  field(out, std::to_string(e.seq));
  field(out, std::to_string(unixMillis(e.at)));
  field(out, e.actor);
  field(out, e.action);
  field(out, e.target);
  field(out, e.reason);
  field(out, e.requestId);
  field(out, e.detailJson);
  return out;
}

std::string sha256Hex(std::string_view bytes) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), digest, &size) == 1;
  // SHA-256 fails only when memory is exhausted or libcrypto is broken; an
  // audit log that cannot hash cannot be written, so stop.
  if (!ok) std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string computeHash(const Entry& e) { return sha256Hex(canonical(e) + e.prevHash); }

Head seal(Entry& e, const Head& head) {
  e.at = WallTime(
      std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(unixMillis(e.at))));
  e.seq = head.seq + 1;
  e.prevHash = head.hash;
  e.hash = computeHash(e);
  return Head{e.seq, e.hash};
}

}  // namespace keel::audit
