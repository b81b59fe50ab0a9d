// Notification channels: a YAML document with `kind: channel` saying where
// keel sends what a person must look at (an escalated or resolved incident),
// and which owner teams it serves.
//
//   kind: channel
//   name: data-oncall
//   type: webhook                 # webhook | alertmanager | email
//   teams: [data-platform]        # the owner teams it serves; or default: true
//   url: https://hooks.example.com/keel
//   headers: { Authorization: Bearer abc }
//
//   type: alertmanager: url is Alertmanager's base URL (keel POSTs
//   {url}/api/v2/alerts); headers as for webhook.
//   type: email: smtp_url (smtp:// or smtps://, no password in it), from,
//   to: [...], optional username and password_env (the NAME of an
//   environment variable of `keel serve` holding the password: a password
//   is never written in a channel, stored or shown).
//
// Every type also takes `retry` (defaults: 8 attempts, exponential from 1s
// to 5m, full jitter) and `timeout` (per attempt, default 10s).
//
// channelsFor() is the resolver: the channels that serve a team. Pure and
// thread-safe: no shared state.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/retry_policy.h"
#include "spec/parser.h"

namespace keel::spec {

enum class ChannelType { kWebhook, kAlertmanager, kEmail };
std::string_view toString(ChannelType type);

struct ChannelSpec {
  std::string name;
  ChannelType type = ChannelType::kWebhook;
  std::vector<std::string> teams;  // the owner teams it serves
  bool isDefault = false;          // serves every team no channel lists
  // webhook, alertmanager
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
  // email
  std::string smtpUrl;  // smtp:// or smtps://, never with a password
  std::string from;
  std::vector<std::string> to;
  std::string username;
  std::string passwordEnv;  // an environment variable's name; empty: none
  RetryPolicy retry;
  Millis timeout{10'000};  // per attempt
};

// The default retry policy of a channel (as a subscription's).
RetryPolicy defaultChannelRetry();

// Parses one `kind: channel` document; every problem as
// "FILE:LINE:COL: message" in the error's details (kInvalidArgument).
Result<ChannelSpec> parseChannel(std::string_view yaml, const ParseOptions& options = {});

// The channels serving `team`: those that list it, else the default ones
// (none: nobody is reachable for that team). In the order given.
std::vector<ChannelSpec> channelsFor(const std::vector<ChannelSpec>& channels,
                                     std::string_view team);
// The channel called `name`, or nullptr.
const ChannelSpec* channelNamed(const std::vector<ChannelSpec>& channels, std::string_view name);

// `url` with the password of its user info replaced by *** (for listings
// and logs); unchanged when it has none.
std::string redactUrl(const std::string& url);

}  // namespace keel::spec
