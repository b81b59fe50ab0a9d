// ApiClient: the CLI's calls to a running `keel serve`.
//
// get()/post() return the answer whatever its status (the caller decides
// what a 404 means), with the body parsed as JSON when it is JSON; an Error
// (kUnavailable) only when no answer came at all: refused, unreachable,
// timed out. Paths are relative to the server URL's base path and must be
// already URL-encoded. Every request carries the bearer token, when there
// is one; https URLs verify the server's certificate against the system's
// CAs, or against caFile when given. One client per command; not
// thread-safe.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/server_url.h"
#include "core/result.h"

namespace httplib {
class Client;
}

namespace keel::cli {

struct ApiResponse {
  int status = 0;
  nlohmann::json body;  // discarded (is_discarded()) when the body is not JSON
  std::string text;     // the raw body
  bool ok() const { return status >= 200 && status < 300; }
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ClientCredentials {
  std::string token;   // empty: no Authorization header
  std::string caFile;  // PEM file of CAs to trust for https; empty: the system's
  // Sent as X-Keel-Actor on every request: the person an admin token acts
  // for (--as, else $USER); empty: none.
  std::string actor;
};

class ApiClient {
 public:
  explicit ApiClient(ServerUrl url, ClientCredentials credentials = {});
  ~ApiClient();

  Result<ApiResponse> get(const std::string& path);
  Result<ApiResponse> post(const std::string& path, const std::string& body,
                           const std::string& contentType, const HeaderList& headers = {});

  const ServerUrl& url() const { return url_; }

 private:
  ServerUrl url_;
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace keel::cli
