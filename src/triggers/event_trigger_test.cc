#include "triggers/event_trigger.h"

#include <gtest/gtest.h>

namespace keel::triggers {
namespace {

using nlohmann::json;

spec::TriggerSpec eventTrigger(std::map<std::string, std::string> match,
                               std::map<std::string, std::string> params = {}) {
  spec::TriggerSpec t;
  t.kind = spec::TriggerSpec::Kind::kEvent;
  t.event = "files.arrived";
  t.match = std::move(match);
  t.params = std::move(params);
  return t;
}

TEST(EventTrigger, ChecksTopicIdAndPayload) {
  EXPECT_TRUE(checkEvent("files.arrived", "e-1", json::object()).ok());
  EXPECT_FALSE(checkEvent("files arrived", "e-1", json::object()).ok());
  EXPECT_FALSE(checkEvent("", "e-1", json::object()).ok());
  EXPECT_FALSE(checkEvent("t", "", json::object()).ok());
  EXPECT_FALSE(checkEvent("t", std::string(257, 'x'), json::object()).ok());
  EXPECT_TRUE(checkEvent("t", std::string(256, 'x'), json::object()).ok());
  EXPECT_FALSE(checkEvent("t", "a\nb", json::object()).ok());
  EXPECT_FALSE(checkEvent("t", "e", json::array()).ok());
  auto big = checkEvent("t", "e", json{{"x", std::string(64 * 1024, 'a')}});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), ErrorCode::kTooLarge);
}

TEST(EventTrigger, MatchComparesScalarsAtDottedPaths) {
  json payload = {{"region", "eu"}, {"file", {{"kind", "csv"}, {"size", 3}}}, {"ok", true}};
  EXPECT_TRUE(matches(eventTrigger({}), payload));
  EXPECT_TRUE(matches(eventTrigger({{"region", "eu"}}), payload));
  EXPECT_TRUE(matches(eventTrigger({{"region", "eu"}, {"file.kind", "csv"}}), payload));
  EXPECT_TRUE(matches(eventTrigger({{"file.size", "3"}, {"ok", "true"}}), payload));
  EXPECT_FALSE(matches(eventTrigger({{"region", "us"}}), payload));
  EXPECT_FALSE(matches(eventTrigger({{"file.kind", "json"}}), payload));
  EXPECT_FALSE(matches(eventTrigger({{"file", "csv"}}), payload)) << "an object is no scalar";
  EXPECT_FALSE(matches(eventTrigger({{"missing.key", "x"}}), payload));
}

TEST(EventTrigger, RendersParamsFromTheEvent) {
  auto t = eventTrigger({}, {{"path", "{{ event.payload.file.path }}"},
                             {"source", "{{ event.topic }}/{{ event.id }}"}});
  auto p = renderParams(t, "files.arrived", "e1", json{{"file", {{"path", "/in/a.csv"}}}});
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_EQ(*p, json({{"path", "/in/a.csv"}, {"source", "files.arrived/e1"}}));
  auto missing = renderParams(t, "files.arrived", "e1", json::object());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("trigger param 'path'"), std::string::npos)
      << missing.error().message();
  EXPECT_EQ(runKey("files.arrived", "e1", 2), "event:files.arrived:e1:2");
}

}  // namespace
}  // namespace keel::triggers
