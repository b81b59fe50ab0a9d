#include "store/workflow_digest.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

namespace keel::store {

std::string workflowSha256(std::string_view yaml, std::string_view workdir) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const char nul = '\0';
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), yaml.data(), yaml.size()) == 1 &&
            EVP_DigestUpdate(ctx.get(), &nul, 1) == 1 &&
            EVP_DigestUpdate(ctx.get(), workdir.data(), workdir.size()) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), digest, &size) == 1;
  // SHA-256 in libcrypto fails only when memory is exhausted or the library
  // is broken; there is no sensible way to go on without versioning.
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

}  // namespace keel::store
