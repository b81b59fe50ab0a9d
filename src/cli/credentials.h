// Where the CLI finds its API token.
//
// In order: $KEEL_TOKEN; else the file named by $KEEL_TOKEN_FILE (an
// error if it cannot be read); else ./keel.db.token when it exists, the
// file `keel serve --db ./keel.db` writes on first start. No token at all
// is not an error here: the server answers 401 and says what to do.
// Reads the environment and files; call once per command.
#pragma once

#include <string>

#include "cli/api_client.h"
#include "core/result.h"

namespace keel::cli {

inline constexpr char kDefaultTokenFile[] = "keel.db.token";

struct CredentialSources {
  std::string envToken;      // $KEEL_TOKEN
  std::string envTokenFile;  // $KEEL_TOKEN_FILE
  std::string defaultTokenFile = kDefaultTokenFile;
  std::string caFile;  // --ca-file / $KEEL_CA_FILE
};

// Reads KEEL_TOKEN and KEEL_TOKEN_FILE from the environment.
CredentialSources credentialSourcesFromEnvironment();

// kInvalidArgument when $KEEL_TOKEN_FILE names a file that cannot be read
// or holds no token.
Result<ClientCredentials> resolveCredentials(const CredentialSources& sources);

}  // namespace keel::cli
