#include "api/framing.h"

#include <cctype>

#include <fmt/format.h>

#include "core/quote.h"

namespace keel::api {
namespace {

constexpr const char* kSingletons[] = {"Host",           "Authorization",    "Content-Type",
                                       "Origin",         "Idempotency-Key",  "X-Keel-Source",
                                       "Content-Length", "Transfer-Encoding"};

Reply badFraming(const std::string& message) {
  auto reply = errorReply(400, "invalid_argument", message);
  return reply;
}

bool isDecimal(const std::string& value) {
  if (value.empty() || value.size() > 18) return false;
  for (char c : value)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool equalsNoCase(std::string_view a, const char* b) {
  size_t i = 0;
  for (; i < a.size() && b[i]; ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return i == a.size() && !b[i];
}

// Headers whose value may not be empty.
constexpr const char* kNonEmpty[] = {"host",           "authorization",    "content-type",
                                     "origin",         "idempotency-key",  "x-keel-source",
                                     "content-length", "transfer-encoding"};

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<Reply> checkRawHead(std::string_view head) {
  size_t pos = head.find('\n');  // past the request line
  while (pos != std::string_view::npos && pos + 1 < head.size()) {
    size_t end = head.find('\n', pos + 1);
    std::string_view line =
        head.substr(pos + 1, end == std::string_view::npos ? end : end - pos - 1);
    pos = end;
    if (trimmed(line).empty()) break;  // the blank line that ends the head
    if (line.front() == ' ' || line.front() == '\t')
      return badFraming(
          "a header line folded onto the previous one is not accepted (RFC 9112 5.2)");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // httplib refuses those itself
    std::string_view name = trimmed(line.substr(0, colon));
    for (const char* wanted : kNonEmpty)
      if (equalsNoCase(name, wanted) && trimmed(line.substr(colon + 1)).empty())
        return badFraming(fmt::format("the {} header is empty; leave it out, or give a value",
                                      std::string(name)));
  }
  return std::nullopt;
}

}  // namespace

std::optional<Reply> checkFraming(const httplib::Request& request, std::string_view rawHead) {
  if (auto refused = checkRawHead(rawHead)) return refused;
  for (const char* name : kSingletons) {
    if (request.get_header_value_count(name) > 1)
      return badFraming(fmt::format("the {} header is given more than once", name));
  }
  bool hasLength = request.has_header("Content-Length");
  bool hasCoding = request.has_header("Transfer-Encoding");
  if (hasLength && hasCoding)
    return badFraming(
        "a request may not have both Content-Length and Transfer-Encoding (RFC 9112 6.3)");
  if (hasLength) {
    std::string length = request.get_header_value("Content-Length");
    if (!isDecimal(length))
      return badFraming(fmt::format("Content-Length must be a decimal number of bytes, got {}",
                                    quoteForMessage(length)));
  }
  if (hasCoding) {
    std::string coding = request.get_header_value("Transfer-Encoding");
    if (!equalsNoCase(coding, "chunked"))
      return badFraming(fmt::format("Transfer-Encoding {} is not supported; only 'chunked' is",
                                    quoteForMessage(coding)));
  }
  return std::nullopt;
}

}  // namespace keel::api
