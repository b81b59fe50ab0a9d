// SHA-256 as lower-case hex, for content digests (workflow versions) and
// the audit log's hash chain.
#pragma once

#include <string>
#include <string_view>

namespace keel {

// Hex SHA-256 of `bytes` (lower case, 64 characters). Aborts if libcrypto
// cannot hash (memory exhausted or the library broken): nothing that needs
// a digest can go on without one.
std::string sha256Hex(std::string_view bytes);

}  // namespace keel
