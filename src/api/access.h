// AccessPolicy: who may reach a route, checked before any handler runs.
//
// In order: the Host a request is addressed to (a server listening on a
// loopback address answers only to loopback names, so a web page cannot
// reach it through a DNS name rebound to 127.0.0.1); the Origin a browser
// attaches (a request from a page of another origin is refused, so no page
// can make a browser act on keel); the bearer token (every route but the
// open ones, /healthz, /readyz and /metrics). Refusals are 401 or 403 JSON
// whose message says what to change. Thread-safe after configure().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <httplib.h>

#include "api/reply.h"
#include "api/router.h"
#include "auth/authenticator.h"

namespace keel::api {

enum class AuthMode {
  kToken,  // every non-open route needs a bearer token (the default)
  kNone,   // no token: for local experiments, on a loopback address only
};

struct AccessOptions {
  AuthMode auth = AuthMode::kToken;
  // Origins ("https://keel.example.com", "http://localhost:8080") allowed
  // besides the server's own; host names in them are also accepted in Host.
  std::vector<std::string> allowedOrigins;
};

class AccessPolicy {
 public:
  AccessPolicy(store::Store& store, AccessOptions options);

  // Once the address is bound: the scheme, the listening host and port
  // decide which origins and Host names are the server's own.
  void configure(const std::string& scheme, const std::string& host, int port);

  std::optional<Reply> check(const httplib::Request& request, const RouteOptions& route,
                             RequestContext& context) const;

 private:
  std::optional<Reply> checkHost(const httplib::Request& request) const;
  std::optional<Reply> checkOrigin(const httplib::Request& request) const;
  std::optional<Reply> checkOnBehalfOf(const httplib::Request& request,
                                       RequestContext& context) const;

  auth::Authenticator authenticator_;
  AccessOptions options_;
  bool loopback_ = false;
  std::vector<std::string> hostNames_;  // accepted in Host when loopback_, lower case
  std::vector<std::string> origins_;    // accepted in Origin
};

// The header by which an admin token acts on behalf of a named person (the
// CLI sends --as or $USER); any other token's requests keep the token's own
// name. A name that checkActorName() refuses is answered 400.
inline constexpr const char* kActorHeader = "X-Keel-Actor";

// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(const std::string& host);

}  // namespace keel::api
