#include "core/quote.h"

#include <fmt/format.h>

namespace keel {

std::string quoteForMessage(std::string_view value, size_t maxBytes) {
  std::string out = "'";
  size_t n = std::min(value.size(), maxBytes);
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\')
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  out += "'";
  if (value.size() > maxBytes) out += "…";
  return out;
}

}  // namespace keel
