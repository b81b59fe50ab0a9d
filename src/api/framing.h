// checkFraming: refuses a request whose head could be read two ways.
//
// RFC 9112 section 6: a message with two Content-Length headers, with
// both Content-Length and Transfer-Encoding, with a Content-Length that is
// not a plain decimal number, or with a transfer coding other than
// "chunked" has no single length; a proxy in front of keel may read it
// differently from keel (request smuggling). Headers that name one thing
// (Host, Authorization, Content-Type, Origin, Idempotency-Key,
// X-Keel-Source) may not be repeated, nor be present but empty: an empty
// Idempotency-Key (a shell variable that was not set) would otherwise read
// as no key at all. httplib drops empty header lines as it parses, so
// those are found in the raw head as it came off the wire. Lines folded
// onto the previous one (obsolete in RFC 9112) are refused. Pure; any
// thread.
#pragma once

#include <optional>
#include <string_view>

#include <httplib.h>

#include "api/reply.h"

namespace keel::api {

// A 400 reply naming the problem, or nothing when the head is sound.
// `rawHead` is the request head as received (request line and header
// lines up to the blank line), or empty when it is not known.
std::optional<Reply> checkFraming(const httplib::Request& request, std::string_view rawHead);

}  // namespace keel::api
