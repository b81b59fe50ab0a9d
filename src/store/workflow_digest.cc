#include "store/workflow_digest.h"

#include <string>

#include "core/sha256.h"

namespace keel::store {

std::string workflowSha256(std::string_view yaml, std::string_view workdir) {
  std::string bytes;
  bytes.reserve(yaml.size() + 1 + workdir.size());
  bytes.append(yaml);
  bytes.push_back('\0');
  bytes.append(workdir);
  return sha256Hex(bytes);
}

}  // namespace keel::store
