#include "triggers/event_trigger.h"

#include <fmt/format.h>

#include "spec/template.h"
#include "triggers/trigger_params.h"

namespace keel::triggers {

using nlohmann::json;

Status checkEvent(const std::string& topic, const std::string& id, const json& payload) {
  if (!spec::isValidTopic(topic))
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("topic '{}' is invalid: {}", topic.substr(0, 200), spec::kTopicRule));
  if (id.empty() || id.size() > kMaxEventIdBytes)
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("'id' must be 1 to {} characters long, got {}", kMaxEventIdBytes, id.size()));
  for (size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c > 0x7e)
      return Error(
          ErrorCode::kInvalidArgument,
          fmt::format("'id' must be printable ASCII characters; byte {} is 0x{:02x}", i, c));
  }
  if (!payload.is_object())
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("'payload' must be a JSON object, got {}", payload.type_name()));
  size_t size = payload.dump(-1, ' ', false, json::error_handler_t::replace).size();
  if (size > kMaxPayloadBytes)
    return Error(ErrorCode::kTooLarge,
                 fmt::format("'payload' is {} bytes as compact JSON; at most {} are allowed", size,
                             kMaxPayloadBytes));
  return okStatus();
}

namespace {

// The value at a dotted path inside the payload, or null if there is none.
const json* at(const json& payload, const std::string& path) {
  const json* v = &payload;
  size_t from = 0;
  while (true) {
    size_t dot = path.find('.', from);
    std::string key = path.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    if (!v->is_object()) return nullptr;
    auto it = v->find(key);
    if (it == v->end()) return nullptr;
    v = &*it;
    if (dot == std::string::npos) return v;
    from = dot + 1;
  }
}

}  // namespace

bool matches(const spec::TriggerSpec& trigger, const json& payload) {
  for (const auto& [path, expected] : trigger.match) {
    const json* v = at(payload, path);
    if (!v) return false;
    if (v->is_string()) {
      if (v->get_ref<const std::string&>() != expected) return false;
    } else if (v->is_number() || v->is_boolean() || v->is_null()) {
      if (v->dump() != expected) return false;
    } else {
      return false;  // an object or a list is no scalar
    }
  }
  return true;
}

Result<json> renderParams(const spec::TriggerSpec& trigger, const std::string& topic,
                          const std::string& id, const json& payload) {
  json event = {{"id", id}, {"topic", topic}, {"payload", payload}};
  spec::TemplateContext ctx;
  ctx.event = &event;
  return renderTriggerParams(trigger, ctx);
}

std::string runKey(const std::string& topic, const std::string& id, size_t index) {
  return fmt::format("event:{}:{}:{}", topic, id, index);
}

}  // namespace keel::triggers
