// API token secrets: how they are made, hashed and named.
//
// A secret is "keel_" followed by 43 characters of URL-safe base64 (32
// random bytes from libsodium). keel stores only its SHA-256 (hex), so a
// copy of the database grants nothing. Token names are short identifiers
// that become the actor of everything done with the token. Pure functions
// (newTokenSecret draws from the system's random source); any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace keel::auth {

inline constexpr char kTokenPrefix[] = "keel_";

// A fresh secret. Aborts if the system has no random source (libsodium
// cannot initialise), which is no state to serve from.
std::string newTokenSecret();

// Hex SHA-256 of the secret, as stored.
std::string tokenHash(std::string_view secret);

// Names: 1 to 64 of [a-z0-9._-], starting with a letter or digit. The
// error says what is wrong with `name`, quoting it safely.
Status checkTokenName(std::string_view name);

}  // namespace keel::auth
