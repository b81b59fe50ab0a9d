// ServerUrl: where the CLI finds `keel serve` (--server / KEEL_SERVER).
//
// Accepted: "http://HOST[:PORT][/BASE]", or the same without "http://";
// HOST may be a name, an IPv4 address or a bracketed IPv6 address
// ("[::1]:7070"). The port defaults to 80 with "http://" and to 7070 when
// the scheme is left out (a bare "localhost" means keel's default port).
// https is refused for now (keel serves plain HTTP; put a TLS proxy in front
// and reach it on the proxy's host). Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace keel::cli {

struct ServerUrl {
  std::string host;  // without brackets
  int port = 7070;
  std::string basePath;  // "" or "/prefix", no trailing slash
  // "http://host:port/base", brackets restored around IPv6 hosts.
  std::string toString() const;
};

Result<ServerUrl> parseServerUrl(std::string_view text);

}  // namespace keel::cli
