// Webhook subscriptions: a YAML document with `kind: subscription` that
// POSTs keel's own events on one topic to an http(s) URL.
//
//   kind: subscription
//   name: planning-webhook
//   topic: orders.loaded
//   url: https://planning.example.com/hooks/keel
//   headers: { X-Tenant: acme }
//   retry: { max_attempts: 8, backoff: exponential, initial: 1s, max: 5m, jitter: full }
//   timeout: 10s
//
// documentKind() is the one place that tells a workflow from a
// subscription, per YAML document. Thread-safe: no shared state.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/retry_policy.h"
#include "spec/parser.h"

namespace keel::spec {

enum class DocumentKind { kWorkflow, kSubscription, kChannel };

// `kind:` at the top of one document: absent or "workflow" is a workflow,
// "subscription" a subscription, "channel" a channel (spec/channel.h);
// anything else is kInvalidArgument with
// its position. A document that is not YAML, or not a mapping, is said to
// be a workflow: the workflow parser then reports what is wrong with it.
Result<DocumentKind> documentKind(std::string_view yaml, const std::string& fileName);
// What a whole file holds: one subscription, one channel, or workflows (one or several
// documents, spec/documents.h). A subscription among several documents is
// kInvalidArgument naming the document: it goes in a file of its own.
Result<DocumentKind> fileKind(std::string_view text, const std::string& fileName);

struct SubscriptionSpec {
  std::string name;
  std::string topic;
  std::string url;                                           // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
  // Defaults: 8 attempts, exponential from 1s to 5m, full jitter. Every
  // failure (non-2xx, refused, timeout) is retried.
  RetryPolicy retry;
  Millis timeout{10'000};  // per attempt
};

// The default retry policy of a subscription.
RetryPolicy defaultSubscriptionRetry();

// Parses one `kind: subscription` document; every problem as
// "FILE:LINE:COL: message" in the error's details (kInvalidArgument).
Result<SubscriptionSpec> parseSubscription(std::string_view yaml, const ParseOptions& options = {});

}  // namespace keel::spec
