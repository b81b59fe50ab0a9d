// `kind: subscription` documents: parsed with their defaults, refused with
// the place and the reason when wrong; documentKind() tells them apart.
#include "spec/subscription.h"

#include <gtest/gtest.h>

#include "spec/parser.h"

namespace keel::spec {
namespace {

bool anyDetailHas(const Error& e, const std::string& text) {
  for (const auto& d : e.details())
    if (d.find(text) != std::string::npos) return true;
  return false;
}

TEST(Subscription, FullDocumentIsParsed) {
  auto s = parseSubscription(R"(kind: subscription
name: planning-webhook
topic: orders.loaded
url: https://planning.example.com/hooks/keel
headers: { X-Tenant: acme }
retry: { max_attempts: 4, backoff: fixed, initial: 2s, max: 10s, jitter: none }
timeout: 3s
)");
  ASSERT_TRUE(s.ok()) << s.error().toString();
  EXPECT_EQ(s->name, "planning-webhook");
  EXPECT_EQ(s->topic, "orders.loaded");
  EXPECT_EQ(s->url, "https://planning.example.com/hooks/keel");
  ASSERT_EQ(s->headers.size(), 1u);
  EXPECT_EQ(s->headers[0].first, "X-Tenant");
  EXPECT_EQ(s->headers[0].second, "acme");
  EXPECT_EQ(s->retry.maxAttempts, 4);
  EXPECT_EQ(s->retry.backoff, Backoff::kFixed);
  EXPECT_EQ(s->retry.initial, Millis(2000));
  EXPECT_EQ(s->retry.jitter, Jitter::kNone);
  EXPECT_EQ(s->timeout, Millis(3000));
}

TEST(Subscription, DefaultsAreEightAttemptsUpToFiveMinutes) {
  auto s = parseSubscription("kind: subscription\nname: s\ntopic: t.x\nurl: http://h:1/x\n");
  ASSERT_TRUE(s.ok()) << s.error().toString();
  EXPECT_EQ(s->retry.maxAttempts, 8);
  EXPECT_EQ(s->retry.max, Millis(300'000));
  EXPECT_EQ(s->timeout, Millis(10'000));
}

TEST(Subscription, RetryKeysLeftOutTakeTheSubscriptionDefaults) {
  // An initial delay above a step's default max (1m) but within a
  // subscription's (5m) needs no max.
  auto s = parseSubscription(
      "kind: subscription\nname: s\ntopic: t.x\nurl: http://h:1/x\nretry: { initial: 2m }\n");
  ASSERT_TRUE(s.ok()) << s.error().toString();
  EXPECT_EQ(s->retry.initial, Millis(120'000));
  EXPECT_EQ(s->retry.max, Millis(300'000));
  EXPECT_EQ(s->retry.maxAttempts, 8);
  auto over = parseSubscription(
      "kind: subscription\nname: s\ntopic: t.x\nurl: http://h:1/x\nretry: { initial: 6m }\n");
  ASSERT_FALSE(over.ok());
  EXPECT_TRUE(anyDetailHas(over.error(), "above the default retry.max (5m"))
      << over.error().toString();
  // Classes to retry would be read and ignored: refused, with the reason.
  auto classes = parseSubscription(
      "kind: subscription\nname: s\ntopic: t.x\nurl: http://h:1/x\n"
      "retry: { retry_on: [timeout] }\n",
      ParseOptions{"sub.yaml", ""});
  ASSERT_FALSE(classes.ok());
  EXPECT_TRUE(anyDetailHas(classes.error(),
                           "sub.yaml:5:20: subscription 's': retry.retry_on: not "
                           "for subscriptions"))
      << classes.error().toString();
}

TEST(Subscription, NonHttpUrlIsRefusedWithItsPosition) {
  auto s = parseSubscription("kind: subscription\nname: s\ntopic: t.x\nurl: ftp://h/x\n",
                             ParseOptions{"sub.yaml", ""});
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(anyDetailHas(s.error(), "sub.yaml:4:6:")) << s.error().toString();
  EXPECT_TRUE(anyDetailHas(s.error(), "http:// or https://")) << s.error().toString();
}

TEST(Subscription, BadHeadersAndMissingKeysAreRefused) {
  auto s = parseSubscription(
      "kind: subscription\nname: s\nurl: http://h/x\nheaders: {\"Bad Name\": x, Y: \"a\\r\\nb\", "
      "Idempotency-Key: k}\nextra: 1\n");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(anyDetailHas(s.error(), "missing 'topic'")) << s.error().toString();
  EXPECT_TRUE(anyDetailHas(s.error(), "not a valid header name")) << s.error().toString();
  EXPECT_TRUE(anyDetailHas(s.error(), "line break")) << s.error().toString();
  EXPECT_TRUE(anyDetailHas(s.error(), "keel sets it")) << s.error().toString();
  EXPECT_TRUE(anyDetailHas(s.error(), "extra")) << s.error().toString();
}

TEST(Subscription, DocumentKindTellsWorkflowsFromSubscriptions) {
  EXPECT_EQ(*documentKind("name: wf\nsteps: []\n", "f"), DocumentKind::kWorkflow);
  EXPECT_EQ(*documentKind("kind: workflow\nname: wf\n", "f"), DocumentKind::kWorkflow);
  EXPECT_EQ(*documentKind("kind: subscription\nname: s\n", "f"), DocumentKind::kSubscription);
  auto bad = documentKind("name: x\nkind: cronjob\n", "f.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(
      anyDetailHas(bad.error(), "f.yaml:2:7: kind: expected workflow, subscription or channel"))
      << bad.error().toString();
}

// A file of several documents holds workflows only: a subscription among
// them is refused, naming its document, instead of the others being read
// as part of it (or it as a workflow).
TEST(Subscription, ASubscriptionGoesInAFileOfItsOwn) {
  EXPECT_EQ(*fileKind("kind: subscription\nname: s\n", "f"), DocumentKind::kSubscription);
  EXPECT_EQ(*fileKind("name: a\n---\nname: b\n", "f"), DocumentKind::kWorkflow);
  auto mixed = fileKind("name: a\n---\nkind: subscription\nname: s\n", "f.yaml");
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().message(),
            "f.yaml, document 2 of 2 (from line 2) is a subscription: a subscription goes in a "
            "file of its own, apart from workflows");
  auto first = fileKind("kind: subscription\nname: s\n---\nname: a\n", "f.yaml");
  ASSERT_FALSE(first.ok());
}

}  // namespace
}  // namespace keel::spec
