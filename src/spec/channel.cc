// parseChannel(): the `kind: channel` document, and the team resolver.
#include "spec/channel.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

#include "spec/diagnostics.h"
#include "spec/http_step.h"
#include "spec/parse_state.h"
#include "spec/workflow.h"
#include "spec/yaml_read.h"

namespace keel::spec {
namespace {

using detail::Diagnostics;

const std::vector<std::string> kChannelKeys = {
    "kind", "name", "type",     "teams",        "default",  "url",   "headers", "smtp_url",
    "from", "to",   "username", "password_env", "password", "retry", "timeout"};
const std::vector<std::string> kHttpOnly = {"url", "headers"};
const std::vector<std::string> kEmailOnly = {"smtp_url", "from", "to", "username", "password_env"};

std::string asciiLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// Why `url` (with one of `schemes`) cannot be used, or empty when it can.
std::string urlProblem(const std::string& url, const std::vector<std::string>& schemes) {
  std::string lower = asciiLower(url);
  size_t rest = 0;
  for (const auto& s : schemes)
    if (lower.starts_with(s + "://")) rest = s.size() + 3;
  if (rest == 0) {
    std::string list;
    for (const auto& s : schemes) list += (list.empty() ? "" : " or ") + s + "://";
    return "must start with " + list;
  }
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f) return "cannot hold spaces or control characters";
  if (rest >= url.size() || url[rest] == '/' || url[rest] == '?' || url[rest] == '#')
    return "names no host";
  return "";
}

// The user info of a URL ("user:pass" in scheme://user:pass@host/...).
std::string userInfo(const std::string& url) {
  size_t start = url.find("://");
  if (start == std::string::npos) return "";
  start += 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  size_t at = authority.rfind('@');
  return at == std::string::npos ? "" : authority.substr(0, at);
}

// An address as keel writes it in MAIL FROM, RCPT TO and the headers.
std::string addressProblem(const std::string& a) {
  if (a.empty()) return "is empty";
  if (hasControl(a) || a.find(' ') != std::string::npos)
    return "cannot hold spaces, line breaks or control characters";
  if (a.find_first_of("<>,;\"") != std::string::npos)
    return "must be a bare address (name@example.com), without <>, quotes, commas or ;";
  size_t at = a.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == a.size() ||
      a.find('@', at + 1) != std::string::npos)
    return "is not an address (name@example.com)";
  return "";
}

bool isPasswordEnvName(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isupper(c) || std::isdigit(c) || c == '_';
  });
}

void readHeaders(const detail::MapReader& r, ChannelSpec& out, Diagnostics& diag) {
  auto headers = r.mapping("headers");
  if (!headers) return;
  std::map<std::string, std::string> seen;
  for (auto it = headers->begin(); it != headers->end(); ++it) {
    std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
    if (!isHttpToken(name)) {
      diag.add(detail::posOf(it->first),
               r.subject("headers") + ": " + detail::describe(it->first) +
                   " is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)");
      continue;
    }
    std::string subject = r.subject("headers") + ": " + name;
    std::string low = asciiLower(name);
    if (low == "content-type" || low == "idempotency-key" || low == "content-length" ||
        low == "host") {
      diag.add(detail::posOf(it->first),
               subject + " cannot be set: keel sets it on every delivery");
      continue;
    }
    auto [first, fresh] = seen.emplace(low, name);
    if (!fresh) {
      diag.add(detail::posOf(it->first), subject + " is set twice (as '" + first->second +
                                             "' too; header names ignore case)");
      continue;
    }
    auto value = detail::readString(it->second, r.subject("headers." + name), diag, true);
    if (!value) continue;
    if (value->find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      diag.add(detail::posOf(it->second),
               r.subject("headers." + name) + ": a header value cannot hold a line break or NUL");
      continue;
    }
    out.headers.emplace_back(name, *value);
  }
}

void readHttp(const detail::MapReader& r, ChannelSpec& out, Diagnostics& diag) {
  if (!r.has("url")) diag.add(r.pos(), r.subject("url") + ": missing (the URL keel POSTs to)");
  if (auto url = r.string("url")) {
    if (std::string why = urlProblem(*url, {"http", "https"}); !why.empty())
      diag.add(detail::posOf(*r.find("url")),
               r.subject("url") + ": \"" + redactUrl(url->substr(0, 200)) + "\" " + why);
    out.url = *url;
  }
  readHeaders(r, out, diag);
}

void readEmail(const detail::MapReader& r, ChannelSpec& out, Diagnostics& diag) {
  for (const char* key : {"smtp_url", "from", "to"})
    if (!r.has(key)) diag.add(r.pos(), r.subject(key) + ": missing (an email channel needs it)");
  if (auto url = r.string("smtp_url")) {
    std::string why = urlProblem(*url, {"smtp", "smtps"});
    if (why.empty() && userInfo(*url).find(':') != std::string::npos)
      why = "holds a password: name an environment variable with password_env instead";
    if (!why.empty())
      diag.add(detail::posOf(*r.find("smtp_url")),
               r.subject("smtp_url") + ": \"" + redactUrl(url->substr(0, 200)) + "\" " + why);
    out.smtpUrl = *url;
  }
  if (auto from = r.string("from")) {
    if (std::string why = addressProblem(*from); !why.empty())
      diag.add(detail::posOf(*r.find("from")),
               r.subject("from") + ": \"" + from->substr(0, 200) + "\" " + why);
    out.from = *from;
  }
  if (const YAML::Node* to = r.find("to")) {
    auto list =
        detail::readStringList(*to, r.subject("to"), diag, true, "a list of email addresses");
    if (list) {
      if (list->empty()) diag.add(detail::posOf(*to), r.subject("to") + ": names no address");
      for (const auto& [address, pos] : *list) {
        if (std::string why = addressProblem(address); !why.empty())
          diag.add(pos, r.subject("to") + ": \"" + address.substr(0, 200) + "\" " + why);
        else
          out.to.push_back(address);
      }
    }
  }
  if (auto user = r.string("username")) {
    if (hasControl(*user))
      diag.add(detail::posOf(*r.find("username")),
               r.subject("username") + ": cannot hold line breaks or control characters");
    out.username = *user;
  }
  if (auto env = r.string("password_env")) {
    if (!isPasswordEnvName(*env))
      diag.add(detail::posOf(*r.find("password_env")),
               r.subject("password_env") + ": \"" + env->substr(0, 200) +
                   "\" is not an environment variable name (A-Z, 0-9 and _, not starting "
                   "with a digit)");
    out.passwordEnv = *env;
  }
}

// Keys that belong to another type of channel.
void refuseForeignKeys(const detail::MapReader& r, ChannelType type, Diagnostics& diag) {
  const auto& foreign = type == ChannelType::kEmail ? kHttpOnly : kEmailOnly;
  for (const auto& key : foreign)
    if (const YAML::Node* n = r.find(key); n != nullptr)
      diag.add(r.keyPos(key),
               r.subject(key) + ": not for a channel of type " + std::string(toString(type)));
}

void readTeams(const detail::MapReader& r, ChannelSpec& out, Diagnostics& diag) {
  if (const YAML::Node* teams = r.find("teams")) {
    auto list = detail::readStringList(*teams, r.subject("teams"), diag, false,
                                       "a list of owner team names");
    if (list) {
      std::set<std::string> seen;
      for (const auto& [team, pos] : *list) {
        if (!seen.insert(team).second)
          diag.add(pos, r.subject("teams") + ": team '" + team + "' is listed twice");
        else
          out.teams.push_back(team);
      }
    }
  }
  if (auto d = r.boolean("default")) out.isDefault = *d;
  if (out.teams.empty() && !out.isDefault)
    diag.add(r.pos(), r.where() +
                          ": serves no one: list the owner teams it serves (teams: [...]) or "
                          "make it a default channel (default: true)");
}

}  // namespace

std::string_view toString(ChannelType type) {
  switch (type) {
    case ChannelType::kWebhook:
      return "webhook";
    case ChannelType::kAlertmanager:
      return "alertmanager";
    case ChannelType::kEmail:
      return "email";
  }
  return "webhook";
}

RetryPolicy defaultChannelRetry() {
  RetryPolicy p;
  p.maxAttempts = 8;
  p.backoff = Backoff::kExponential;
  p.initial = std::chrono::seconds(1);
  p.max = std::chrono::minutes(5);
  p.jitter = Jitter::kFull;
  return p;
}

Result<ChannelSpec> parseChannel(std::string_view yaml, const ParseOptions& options) {
  if (yaml.size() > kMaxWorkflowBytes)
    return Error(ErrorCode::kTooLarge,
                 "channel " + options.fileName + " is too large: " + std::to_string(yaml.size()) +
                     " bytes (the limit is " + std::to_string(kMaxWorkflowBytes) + " bytes)");
  Diagnostics diag(options.fileName);
  ChannelSpec out;
  out.retry = defaultChannelRetry();
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) {
      diag.add(detail::posOf(root), "expected a mapping with kind, name and type at the top, got " +
                                        detail::describe(root));
    } else {
      detail::MapReader r(root, "channel", "", diag);
      r.checkKeys(kChannelKeys);
      for (const char* key : {"name", "type"})
        if (!r.has(key)) diag.add(r.pos(), std::string("missing '") + key + "'");
      if (auto name = r.string("name")) {
        if (!detail::isValidName(*name))
          diag.add(r.keyPos("name"),
                   "name \"" + *name + "\" is invalid: " + std::string(detail::kNameRule));
        else
          out.name = *name;
        r.setWhere("channel '" + out.name + "'");
      }
      if (r.has("password"))
        diag.add(r.keyPos("password"),
                 r.subject("password") +
                     ": a password is never written in a channel; name the environment variable "
                     "that holds it with password_env (e.g. password_env: KEEL_SMTP_PASSWORD)");
      readTeams(r, out, diag);
      auto type = r.choice("type", {"webhook", "alertmanager", "email"});
      if (type) {
        out.type = *type == "email"          ? ChannelType::kEmail
                   : *type == "alertmanager" ? ChannelType::kAlertmanager
                                             : ChannelType::kWebhook;
        refuseForeignKeys(r, out.type, diag);
        if (out.type == ChannelType::kEmail)
          readEmail(r, out, diag);
        else
          readHttp(r, out, diag);
      }
      if (const YAML::Node* retry = r.find("retry")) {
        if (!retry->IsMap()) {
          diag.add(detail::posOf(*retry),
                   r.subject("retry") + ": expected a mapping, got " + detail::describe(*retry));
        } else {
          for (const char* key : {"retry_on", "no_retry_on"})
            if ((*retry)[key])
              diag.add(detail::posOf((*retry)[key]),
                       r.subject("retry") + "." + key +
                           ": not for channels: every failed delivery is retried");
          RetryPolicy p = detail::readRetry(*retry, r.where(), diag, defaultChannelRetry());
          p.retryOn.clear();
          p.noRetryOn.clear();
          out.retry = p;
        }
      }
      if (auto t = r.duration("timeout", false)) out.timeout = *t;
    }
  } catch (const YAML::Exception& e) {
    diag.add(SourcePos{e.mark.line + 1, e.mark.column + 1}, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    diag.add({1, 1}, std::string("could not read the channel: ") + e.what());
  }
  if (!diag.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "channel " + options.fileName + " is invalid: " + std::to_string(diag.count()) +
                     " problem(s)",
                 diag.details());
  return out;
}

std::vector<ChannelSpec> channelsFor(const std::vector<ChannelSpec>& channels,
                                     std::string_view team) {
  std::vector<ChannelSpec> listing, defaults;
  for (const auto& c : channels) {
    if (std::find(c.teams.begin(), c.teams.end(), team) != c.teams.end())
      listing.push_back(c);
    else if (c.isDefault)
      defaults.push_back(c);
  }
  return listing.empty() ? defaults : listing;
}

const ChannelSpec* channelNamed(const std::vector<ChannelSpec>& channels, std::string_view name) {
  for (const auto& c : channels)
    if (c.name == name) return &c;
  return nullptr;
}

std::string redactUrl(const std::string& url) {
  size_t start = url.find("://");
  if (start == std::string::npos) return url;
  start += 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  size_t at = url.rfind('@', end);
  if (at == std::string::npos || at < start) return url;
  size_t colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace keel::spec
