// `kind: channel` documents: each type parsed, every mistake refused with
// its place, and the team resolver.
#include "spec/channel.h"

#include <gtest/gtest.h>

#include "spec/subscription.h"

namespace keel::spec {
namespace {

std::string detailsOf(const Error& e) {
  std::string all;
  for (const auto& d : e.details()) all += d + "\n";
  return all;
}

ChannelSpec parsed(const std::string& yaml) {
  ParseOptions po;
  po.fileName = "c.yaml";
  auto c = parseChannel(yaml, po);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().toString() + "\n" + detailsOf(c.error()));
  return c.ok() ? *c : ChannelSpec{};
}

TEST(Channel, WebhookIsParsed) {
  auto c = parsed(R"(kind: channel
name: data-oncall
type: webhook
teams: [data-platform, billing]
url: https://hooks.example.com/keel
headers: { Authorization: Bearer abc }
timeout: 3s
)");
  EXPECT_EQ(c.name, "data-oncall");
  EXPECT_EQ(c.type, ChannelType::kWebhook);
  EXPECT_EQ(c.teams, (std::vector<std::string>{"data-platform", "billing"}));
  EXPECT_FALSE(c.isDefault);
  EXPECT_EQ(c.url, "https://hooks.example.com/keel");
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].second, "Bearer abc");
  EXPECT_EQ(c.timeout, Millis(3000));
  EXPECT_EQ(c.retry.maxAttempts, 8);
}

TEST(Channel, AlertmanagerAndEmailAreParsed) {
  auto am = parsed(
      "kind: channel\nname: am\ntype: alertmanager\ndefault: true\n"
      "url: http://127.0.0.1:9093\n");
  EXPECT_EQ(am.type, ChannelType::kAlertmanager);
  EXPECT_TRUE(am.isDefault);
  auto mail = parsed(R"(kind: channel
name: mail
type: email
teams: [ops]
smtp_url: smtps://mail.example.com:465
from: keel@example.com
to: [oncall@example.com, lead@example.com]
username: keel
password_env: KEEL_SMTP_PASSWORD
retry: { max_attempts: 3 }
)");
  EXPECT_EQ(mail.type, ChannelType::kEmail);
  EXPECT_EQ(mail.smtpUrl, "smtps://mail.example.com:465");
  EXPECT_EQ(mail.from, "keel@example.com");
  EXPECT_EQ(mail.to, (std::vector<std::string>{"oncall@example.com", "lead@example.com"}));
  EXPECT_EQ(mail.username, "keel");
  EXPECT_EQ(mail.passwordEnv, "KEEL_SMTP_PASSWORD");
  EXPECT_EQ(mail.retry.maxAttempts, 3);
}

struct BadCase {
  const char* what;
  const char* yaml;
  const char* expected;  // in one detail, with its position
};

class ChannelErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ChannelErrors, AreRefusedWithTheirPlace) {
  ParseOptions po;
  po.fileName = "c.yaml";
  auto c = parseChannel(GetParam().yaml, po);
  ASSERT_FALSE(c.ok()) << GetParam().what;
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(detailsOf(c.error()).find(GetParam().expected), std::string::npos)
      << GetParam().what << ":\n"
      << detailsOf(c.error());
}

INSTANTIATE_TEST_SUITE_P(
    Table, ChannelErrors,
    ::testing::Values(
        BadCase{"no name", "kind: channel\ntype: webhook\ndefault: true\nurl: http://h/x\n",
                "c.yaml:1:1: missing 'name'"},
        BadCase{"bad name",
                "kind: channel\nname: \"a b\"\ntype: webhook\ndefault: true\n"
                "url: http://h/x\n",
                "c.yaml:2:1: name \"a b\" is invalid"},
        BadCase{"no type", "kind: channel\nname: c\ndefault: true\nurl: http://h/x\n",
                "c.yaml:1:1: missing 'type'"},
        BadCase{"unknown type", "kind: channel\nname: c\ntype: pager\ndefault: true\n",
                "c.yaml:3:7: channel 'c': type"},
        BadCase{"serves no one", "kind: channel\nname: c\ntype: webhook\nurl: http://h/x\n",
                "c.yaml:1:1: channel 'c': serves no one"},
        BadCase{"empty teams",
                "kind: channel\nname: c\ntype: webhook\nteams: []\n"
                "url: http://h/x\n",
                "c.yaml:1:1: channel 'c': serves no one"},
        BadCase{"teams not a list",
                "kind: channel\nname: c\ntype: webhook\nteams: 3\n"
                "url: http://h/x\n",
                "c.yaml:4:8: channel 'c': teams"},
        BadCase{"team twice",
                "kind: channel\nname: c\ntype: webhook\nteams: [a, a]\n"
                "url: http://h/x\n",
                "c.yaml:4:12: channel 'c': teams: team 'a' is listed twice"},
        BadCase{"webhook without url", "kind: channel\nname: c\ntype: webhook\ndefault: true\n",
                "c.yaml:1:1: channel 'c': url: missing"},
        BadCase{"ftp url",
                "kind: channel\nname: c\ntype: webhook\ndefault: true\n"
                "url: ftp://h/x\n",
                "c.yaml:5:6: channel 'c': url: \"ftp://h/x\" must start with http:// or https://"},
        BadCase{"header with a line break",
                "kind: channel\nname: c\ntype: webhook\ndefault: true\nurl: http://h/x\n"
                "headers: { X-A: \"a\\r\\nX-B: b\" }\n",
                "c.yaml:6:17: channel 'c': headers.X-A: a header value cannot hold a line break"},
        BadCase{"header keel sets",
                "kind: channel\nname: c\ntype: webhook\ndefault: true\nurl: http://h/x\n"
                "headers: { Idempotency-Key: x }\n",
                "c.yaml:6:12: channel 'c': headers: Idempotency-Key cannot be set"},
        BadCase{"email key on a webhook",
                "kind: channel\nname: c\ntype: webhook\ndefault: true\nurl: http://h/x\n"
                "from: a@b.c\n",
                "c.yaml:6:1: channel 'c': from: not for a channel of type webhook"},
        BadCase{"url on an email channel",
                "kind: channel\nname: c\ntype: email\ndefault: true\nsmtp_url: smtp://m\n"
                "from: a@b.c\nto: [d@e.f]\nurl: http://h/x\n",
                "c.yaml:8:1: channel 'c': url: not for a channel of type email"},
        BadCase{"email without to",
                "kind: channel\nname: c\ntype: email\ndefault: true\nsmtp_url: smtp://m\n"
                "from: a@b.c\n",
                "c.yaml:1:1: channel 'c': to: missing"},
        BadCase{"smtp url with http",
                "kind: channel\nname: c\ntype: email\ndefault: true\n"
                "smtp_url: http://m\nfrom: a@b.c\nto: [d@e.f]\n",
                "c.yaml:5:11: channel 'c': smtp_url: \"http://m\" must start with smtp:// or "
                "smtps://"},
        BadCase{"password in the smtp url",
                "kind: channel\nname: c\ntype: email\ndefault: true\n"
                "smtp_url: smtp://u:hunter2@m\nfrom: a@b.c\nto: [d@e.f]\n",
                "c.yaml:5:11: channel 'c': smtp_url: \"smtp://u:***@m\" holds a password"},
        BadCase{"password written",
                "kind: channel\nname: c\ntype: email\ndefault: true\n"
                "smtp_url: smtp://m\nfrom: a@b.c\nto: [d@e.f]\n"
                "password: hunter2\n",
                "c.yaml:8:1: channel 'c': password: a password is never written in a channel"},
        BadCase{"bad from",
                "kind: channel\nname: c\ntype: email\ndefault: true\n"
                "smtp_url: smtp://m\nfrom: \"a@b.c\\r\\nBcc: x@y.z\"\nto: [d@e.f]\n",
                "c.yaml:6:7: channel 'c': from: "},
        BadCase{"bad to",
                "kind: channel\nname: c\ntype: email\ndefault: true\n"
                "smtp_url: smtp://m\nfrom: a@b.c\nto: [d@e.f, nobody]\n",
                "c.yaml:7:13: channel 'c': to: \"nobody\" is not an address"},
        BadCase{"bad password_env",
                "kind: channel\nname: c\ntype: email\ndefault: true\n"
                "smtp_url: smtp://m\nfrom: a@b.c\nto: [d@e.f]\n"
                "password_env: my-pass\n",
                "c.yaml:8:15: channel 'c': password_env: \"my-pass\" is not an environment "
                "variable name"},
        BadCase{"unknown key",
                "kind: channel\nname: c\ntype: webhook\ndefault: true\n"
                "url: http://h/x\nurls: [x]\n",
                "c.yaml:6:1: "},
        BadCase{"retry_on",
                "kind: channel\nname: c\ntype: webhook\ndefault: true\n"
                "url: http://h/x\nretry: { retry_on: [timeout] }\n",
                "channel 'c': retry.retry_on: not for channels"},
        BadCase{"not a mapping", "- a\n- b\n", "c.yaml:1:1: expected a mapping"}));

TEST(Channel, ResolverPrefersTheChannelsListingTheTeamOverTheDefaults) {
  ChannelSpec a, b, d;
  a.name = "a";
  a.teams = {"data"};
  b.name = "b";
  b.teams = {"data", "ops"};
  d.name = "d";
  d.isDefault = true;
  std::vector<ChannelSpec> all{a, b, d};
  auto names = [](const std::vector<ChannelSpec>& cs) {
    std::vector<std::string> out;
    for (const auto& c : cs) out.push_back(c.name);
    return out;
  };
  EXPECT_EQ(names(channelsFor(all, "data")), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(names(channelsFor(all, "ops")), (std::vector<std::string>{"b"}));
  EXPECT_EQ(names(channelsFor(all, "billing")), (std::vector<std::string>{"d"}));
  EXPECT_TRUE(channelsFor({a}, "billing").empty());
  ASSERT_NE(channelNamed(all, "b"), nullptr);
  EXPECT_EQ(channelNamed(all, "b")->teams.size(), 2u);
  EXPECT_EQ(channelNamed(all, "zz"), nullptr);
}

TEST(Channel, UrlPasswordsAreRedacted) {
  EXPECT_EQ(redactUrl("https://u:secret@h.example.com/x?a=b"), "https://u:***@h.example.com/x?a=b");
  EXPECT_EQ(redactUrl("https://u@h/x"), "https://u@h/x");
  EXPECT_EQ(redactUrl("https://h/x@y"), "https://h/x@y");
}

TEST(Channel, DocumentKindTellsAChannelApart) {
  auto k = documentKind("kind: channel\nname: c\n", "c.yaml");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, DocumentKind::kChannel);
  auto many = fileKind("name: w\n---\nkind: channel\nname: c\n", "f.yaml");
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.error().message().find("is a channel"), std::string::npos);
}

}  // namespace
}  // namespace keel::spec
