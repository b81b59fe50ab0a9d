// Events in: what an event received on a topic is allowed to be, which
// event triggers it matches, and the params of the run a match starts.
//
// Pure functions of the event and a workflow's TriggerSpec; the engine
// decides durability and deduplication. Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "spec/workflow.h"

namespace keel::triggers {

inline constexpr size_t kMaxEventIdBytes = 256;
inline constexpr size_t kMaxPayloadBytes = 64 * 1024;  // the payload as compact JSON

// kInvalidArgument saying what is wrong: a topic that is not a name
// (spec::isValidTopic), an id that is not 1-256 printable ASCII
// characters, a payload that is not a JSON object or is larger than
// kMaxPayloadBytes as compact JSON.
Status checkEvent(const std::string& topic, const std::string& id, const nlohmann::json& payload);

// Whether an event trigger fires for this payload: every `match:` path
// holds a scalar equal to the expected value (a string by its text; a
// number, true, false or null by its JSON text, e.g. `count: 3`).
bool matches(const spec::TriggerSpec& trigger, const nlohmann::json& payload);

// The trigger's params rendered for this event: an object of strings
// (empty without `params:`). kInvalidArgument naming the param and the
// missing field when a template cannot render.
Result<nlohmann::json> renderParams(const spec::TriggerSpec& trigger, const std::string& topic,
                                    const std::string& id, const nlohmann::json& payload);

// The idempotency key of the run that trigger `index` (0-based, in the
// workflow's `triggers:` list) starts for the event: "event:TOPIC:ID:INDEX".
std::string runKey(const std::string& topic, const std::string& id, size_t index);

}  // namespace keel::triggers
