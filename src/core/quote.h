// quoteForMessage: a value a caller sent, made safe to put in an error
// message or a log line. Pure; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keel {

// 'value' in single quotes, with control characters, DEL, quotes and
// backslashes written as \xNN, and cut after `maxBytes` bytes of input
// (then "…" follows the closing quote). Bytes from 0x80 up pass unchanged,
// so UTF-8 text reads as written.
std::string quoteForMessage(std::string_view value, size_t maxBytes = 64);

}  // namespace keel
