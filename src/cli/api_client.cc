#include "cli/api_client.h"

#include <httplib.h>

namespace keel::cli {
namespace {

// Connection setup is quick on a working network; a trigger may legitimately
// wait for the engine up to its 60 s safety limit before answering.
constexpr time_t kConnectTimeoutSeconds = 5;
constexpr time_t kReadTimeoutSeconds = 75;

std::string describe(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "connection refused or host unreachable";
    case httplib::Error::SSLConnection:
      return "the TLS handshake failed (is it an https server?)";
    case httplib::Error::SSLServerVerification:
      return "the server's TLS certificate is not trusted (pass its CA with --ca-file)";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::Read:
      return "no answer (the connection closed or the read timed out)";
    case httplib::Error::Write:
      return "the request could not be sent";
    default:
      return "HTTP error: " + httplib::to_string(error);
  }
}

Result<ApiResponse> toResponse(const httplib::Result& result) {
  if (!result) return Error(ErrorCode::kUnavailable, describe(result.error()));
  ApiResponse response;
  response.status = result->status;
  response.text = result->body;
  response.body = nlohmann::json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  return response;
}

std::unique_ptr<httplib::Client> makeClient(const ServerUrl& url) {
  bool v6 = url.host.find(':') != std::string::npos;
  std::string origin = (url.tls ? "https://" : "http://") + std::string(v6 ? "[" : "") + url.host +
                       (v6 ? "]" : "") + ":" + std::to_string(url.port);
  return std::make_unique<httplib::Client>(origin);
}

}  // namespace

ApiClient::ApiClient(ServerUrl url, ClientCredentials credentials)
    : url_(std::move(url)), http_(makeClient(url_)) {
  http_->set_connection_timeout(kConnectTimeoutSeconds);
  http_->set_read_timeout(kReadTimeoutSeconds);
  if (!credentials.token.empty()) http_->set_bearer_token_auth(credentials.token.c_str());
  if (!credentials.actor.empty()) http_->set_default_headers({{"X-Keel-Actor", credentials.actor}});
  if (url_.tls) {
    http_->enable_server_certificate_verification(true);
    if (!credentials.caFile.empty()) http_->set_ca_cert_path(credentials.caFile.c_str());
  }
}

ApiClient::~ApiClient() = default;

Result<ApiResponse> ApiClient::get(const std::string& path) {
  return toResponse(http_->Get((url_.basePath + path).c_str()));
}

Result<ApiResponse> ApiClient::post(const std::string& path, const std::string& body,
                                    const std::string& contentType, const HeaderList& headers) {
  httplib::Headers h;
  for (const auto& [name, value] : headers) h.emplace(name, value);
  return toResponse(http_->Post((url_.basePath + path).c_str(), h, body, contentType.c_str()));
}

}  // namespace keel::cli
