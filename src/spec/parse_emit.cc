// `emit:` on a step and `on_end:` on a workflow: events keel writes to its
// outbox when a step succeeds or a run ends.
#include "spec/parse_state.h"
#include "spec/yaml_read.h"

namespace keel::spec::detail {

std::optional<EmitSpec> readEmit(const YAML::Node& node, int index, const std::string& where,
                                 ParseState& st) {
  const std::string subject = where.empty() ? "emit" : where + ": emit";
  EmitSpec emit;
  emit.pos = posOf(node);
  auto checkTopic = [&](const std::string& topic, SourcePos pos) {
    if (!isValidTopic(topic))
      st.diag.add(pos, subject + ": topic \"" + topic.substr(0, 200) +
                           "\" is invalid: " + std::string(kTopicRule));
    emit.topic = topic;
  };
  if (node.IsScalar()) {
    checkTopic(node.Scalar(), posOf(node));
    return emit;
  }
  if (!node.IsMap()) {
    st.diag.add(posOf(node), subject + ": expected a topic or a mapping {topic, payload}, got " +
                                 describe(node));
    return std::nullopt;
  }
  MapReader r(node, where, "emit.", st.diag);
  r.checkKeys({"topic", "payload"});
  if (!r.has("topic"))
    st.diag.add(posOf(node), subject + ": `topic` is required (the topic the event is sent on)");
  else if (auto topic = r.string("topic"))
    checkTopic(*topic, posOf(*r.find("topic")));
  if (const YAML::Node* payload = r.find("payload")) {
    auto j = readJson(*payload, r.subject("payload"), st.diag);
    if (j && !j->is_object()) {
      st.diag.add(posOf(*payload), r.subject("payload") +
                                       ": expected a mapping (an event's payload is a JSON "
                                       "object), got " +
                                       describe(*payload));
    } else if (j) {
      size_t first = st.templates.size();
      addJsonTemplates(*j, "emit.payload", posOf(*payload), index, where, st);
      // A step's event is rendered once it succeeded: its own output exists.
      for (size_t i = first; i < st.templates.size(); ++i) st.templates[i].allowSelf = index >= 0;
      emit.payload = std::move(*j);
    }
  }
  return emit;
}

void readOnEnd(const YAML::Node& node, ParseState& st) {
  if (!node.IsSequence()) {
    st.diag.add(posOf(node), "on_end: expected a list of {state, emit}, got " + describe(node));
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    std::string where = "on_end[" + std::to_string(i + 1) + "]";
    if (!item.IsMap()) {
      st.diag.add(posOf(item), where + ": expected a mapping {state, emit}, got " + describe(item));
      continue;
    }
    MapReader r(item, where, "", st.diag);
    r.checkKeys({"state", "emit"});
    OnEndSpec end;
    end.pos = posOf(item);
    if (!r.has("state"))
      st.diag.add(end.pos, where +
                               ": `state` is required: succeeded, failed, cancelled or finished "
                               "(any end)");
    else if (auto s = r.choice("state", {"succeeded", "failed", "cancelled", "finished"}))
      end.state = *s;
    const YAML::Node* emit = r.find("emit");
    if (!emit) {
      st.diag.add(end.pos, where + ": `emit` is required (the event sent when the run ends)");
      continue;
    }
    if (auto e = readEmit(*emit, -1, where, st)) {
      end.emit = std::move(*e);
      st.spec.onEnd.push_back(std::move(end));
    }
  }
}

}  // namespace keel::spec::detail
