#include "cli/credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace keel::cli {
namespace {

std::string trimmed(std::string s) {
  const char* space = " \t\r\n";
  s.erase(0, s.find_first_not_of(space));
  auto last = s.find_last_not_of(space);
  s.erase(last == std::string::npos ? 0 : last + 1);
  return s;
}

// The first line of the file, trimmed; nullopt if it cannot be opened.
std::optional<std::string> readTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  return trimmed(line);
}

}  // namespace

CredentialSources credentialSourcesFromEnvironment() {
  CredentialSources sources;
  if (const char* t = std::getenv("KEEL_TOKEN")) sources.envToken = t;
  if (const char* f = std::getenv("KEEL_TOKEN_FILE")) sources.envTokenFile = f;
  return sources;
}

Result<ClientCredentials> resolveCredentials(const CredentialSources& sources) {
  ClientCredentials credentials;
  credentials.caFile = sources.caFile;
  if (!trimmed(sources.envToken).empty()) {
    credentials.token = trimmed(sources.envToken);
    return credentials;
  }
  if (!sources.envTokenFile.empty()) {
    auto token = readTokenFile(sources.envTokenFile);
    if (!token)
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("cannot read the token file {} named by KEEL_TOKEN_FILE",
                               sources.envTokenFile));
    if (token->empty())
      return Error(
          ErrorCode::kInvalidArgument,
          fmt::format("the token file {} named by KEEL_TOKEN_FILE is empty", sources.envTokenFile));
    credentials.token = *token;
    return credentials;
  }
  if (auto token = readTokenFile(sources.defaultTokenFile)) credentials.token = *token;
  return credentials;
}

}  // namespace keel::cli
