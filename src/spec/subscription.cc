// parseSubscription() and documentKind(): the `kind: subscription` document.
#include "spec/subscription.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <yaml-cpp/yaml.h>

#include "spec/diagnostics.h"
#include "spec/documents.h"
#include "spec/http_step.h"
#include "spec/parse_state.h"
#include "spec/workflow.h"
#include "spec/yaml_read.h"

namespace keel::spec {
namespace {

using detail::Diagnostics;
using detail::isValidName;
using detail::kNameRule;

const std::vector<std::string> kSubscriptionKeys = {"kind",    "name",  "topic",  "url",
                                                    "headers", "retry", "timeout"};

std::string lowered(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Why `url` cannot be delivered to, or empty when it can.
std::string urlProblem(const std::string& url) {
  std::string lower = lowered(url);
  size_t rest = 0;
  if (lower.starts_with("http://"))
    rest = 7;
  else if (lower.starts_with("https://"))
    rest = 8;
  else
    return "must start with http:// or https:// (webhooks are delivered over HTTP only)";
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f) return "cannot hold spaces or control characters";
  if (rest >= url.size() || url[rest] == '/' || url[rest] == '?' || url[rest] == '#')
    return "names no host";
  return "";
}

void readHeaders(const detail::MapReader& r, SubscriptionSpec& out, Diagnostics& diag) {
  auto headers = r.mapping("headers");
  if (!headers) return;
  std::map<std::string, std::string> seen;
  for (auto it = headers->begin(); it != headers->end(); ++it) {
    std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
    std::string subject = r.subject("headers") + ": " + detail::describe(it->first);
    if (!isHttpToken(name)) {
      diag.add(detail::posOf(it->first),
               subject + " is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)");
      continue;
    }
    subject = r.subject("headers") + ": " + name;
    std::string low = lowered(name);
    if (low == "content-type" || low == "idempotency-key" || low == "traceparent" ||
        low == "content-length" || low == "host") {
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

}  // namespace

RetryPolicy defaultSubscriptionRetry() {
  RetryPolicy p;
  p.maxAttempts = 8;
  p.backoff = Backoff::kExponential;
  p.initial = std::chrono::seconds(1);
  p.max = std::chrono::minutes(5);
  p.jitter = Jitter::kFull;
  return p;
}

Result<DocumentKind> documentKind(std::string_view yaml, const std::string& fileName) {
  if (yaml.size() > kMaxWorkflowBytes) return DocumentKind::kWorkflow;  // refused there
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return DocumentKind::kWorkflow;
    YAML::Node kind = root["kind"];
    if (!kind) return DocumentKind::kWorkflow;
    if (kind.IsScalar() && kind.Scalar() == "workflow") return DocumentKind::kWorkflow;
    if (kind.IsScalar() && kind.Scalar() == "subscription") return DocumentKind::kSubscription;
    if (kind.IsScalar() && kind.Scalar() == "channel") return DocumentKind::kChannel;
    SourcePos pos = detail::posOf(kind);
    return Error(
        ErrorCode::kInvalidArgument, fileName + " is invalid: 1 problem(s)",
        {fileName + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) +
         ": kind: expected workflow, subscription or channel, got " + detail::describe(kind)});
  } catch (const std::exception&) {
    return DocumentKind::kWorkflow;  // the workflow parser says what is wrong
  }
}

Result<DocumentKind> fileKind(std::string_view text, const std::string& fileName) {
  auto docs = splitDocuments(text);
  if (docs.size() <= 1) return documentKind(text, fileName);
  for (size_t i = 0; i < docs.size(); ++i) {
    const std::string where = fileName + ", document " + std::to_string(i + 1) + " of " +
                              std::to_string(docs.size()) + " (from line " +
                              std::to_string(docs[i].firstLine) + ")";
    auto kind = documentKind(docs[i].text, where);
    if (!kind.ok()) return kind.error();
    if (*kind == DocumentKind::kSubscription)
      return Error(ErrorCode::kInvalidArgument,
                   where +
                       " is a subscription: a subscription goes in a file of its own, "
                       "apart from workflows");
    if (*kind == DocumentKind::kChannel)
      return Error(ErrorCode::kInvalidArgument,
                   where +
                       " is a channel: a channel goes in a file of its own, apart from "
                       "workflows");
  }
  return DocumentKind::kWorkflow;
}

Result<SubscriptionSpec> parseSubscription(std::string_view yaml, const ParseOptions& options) {
  if (yaml.size() > kMaxWorkflowBytes)
    return Error(ErrorCode::kTooLarge, "subscription " + options.fileName + " is too large: " +
                                           std::to_string(yaml.size()) + " bytes (the limit is " +
                                           std::to_string(kMaxWorkflowBytes) + " bytes)");
  Diagnostics diag(options.fileName);
  SubscriptionSpec out;
  out.retry = defaultSubscriptionRetry();
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) {
      diag.add(detail::posOf(root),
               "expected a mapping with kind, name, topic and url at the top, got " +
                   detail::describe(root));
    } else {
      detail::MapReader r(root, "subscription", "", diag);
      r.checkKeys(kSubscriptionKeys);
      for (const char* key : {"name", "topic", "url"})
        if (!r.has(key)) diag.add(r.pos(), std::string("missing '") + key + "'");
      if (auto name = r.string("name")) {
        if (!isValidName(*name))
          diag.add(r.keyPos("name"),
                   "name \"" + *name + "\" is invalid: " + std::string(kNameRule));
        else
          out.name = *name;
        r.setWhere("subscription '" + out.name + "'");
      }
      if (auto topic = r.string("topic")) {
        if (!isValidTopic(*topic))
          diag.add(detail::posOf(*r.find("topic")),
                   r.subject("topic") + ": topic \"" + topic->substr(0, 200) +
                       "\" is invalid: " + std::string(kTopicRule));
        out.topic = *topic;
      }
      if (auto url = r.string("url")) {
        if (std::string why = urlProblem(*url); !why.empty())
          diag.add(detail::posOf(*r.find("url")),
                   r.subject("url") + ": \"" + url->substr(0, 200) + "\" " + why);
        out.url = *url;
      }
      readHeaders(r, out, diag);
      if (const YAML::Node* retry = r.find("retry")) {
        if (!retry->IsMap()) {
          diag.add(detail::posOf(*retry),
                   r.subject("retry") + ": expected a mapping, got " + detail::describe(*retry));
        } else {
          // Every failed delivery is retried: a list of classes would be
          // read and then ignored, so it is refused instead.
          for (const char* key : {"retry_on", "no_retry_on"})
            if (retry->IsMap() && (*retry)[key])
              diag.add(detail::posOf((*retry)[key]),
                       r.subject("retry") + "." + key +
                           ": not for subscriptions: every failed delivery (an answer other "
                           "than 2xx, no answer) is retried");
          RetryPolicy p = detail::readRetry(*retry, r.where(), diag, defaultSubscriptionRetry());
          p.retryOn.clear();  // every failed delivery is retried
          p.noRetryOn.clear();
          out.retry = p;
        }
      }
      if (auto t = r.duration("timeout", false)) out.timeout = *t;
    }
  } catch (const YAML::Exception& e) {
    diag.add(SourcePos{e.mark.line + 1, e.mark.column + 1}, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    diag.add({1, 1}, std::string("could not read the subscription: ") + e.what());
  }
  if (!diag.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "subscription " + options.fileName +
                     " is invalid: " + std::to_string(diag.count()) + " problem(s)",
                 diag.details());
  return out;
}

}  // namespace keel::spec
