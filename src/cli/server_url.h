// ServerUrl: where the CLI finds `keel serve` (--server / KEEL_SERVER).
//
// Accepted: "http://HOST[:PORT][/BASE]", "https://…", or the same without a
// scheme (then http); HOST may be a name, an IPv4 address or a bracketed
// IPv6 address ("[::1]:7070"). The port defaults to 80 with "http://", 443
// with "https://" and to 7070 when the scheme is left out (a bare
// "localhost" means keel's default port). Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace keel::cli {

struct ServerUrl {
  bool tls = false;  // https
  std::string host;  // without brackets
  int port = 7070;
  std::string basePath;  // "" or "/prefix", no trailing slash
  // "http[s]://host:port/base", brackets restored around IPv6 hosts.
  std::string toString() const;
};

Result<ServerUrl> parseServerUrl(std::string_view text);

}  // namespace keel::cli
