// `escalate_after:` and `escalation:` of a workflow: when a failure that
// automatic recovery has not fixed calls a person, and who next.
#include <fmt/format.h>

#include "spec/parse_state.h"
#include "spec/yaml_read.h"

namespace keel::spec::detail {
namespace {

constexpr size_t kMostLevels = 10;

std::optional<EscalationLevel> readLevel(const YAML::Node& node, size_t n, ParseState& st) {
  const std::string where = fmt::format("escalation[{}]", n);
  if (!node.IsMap()) {
    st.diag.add(posOf(node), where +
                                 ": expected a mapping {after: DURATION, notify: owner | "
                                 "CHANNEL}, got " +
                                 describe(node));
    return std::nullopt;
  }
  MapReader r(node, where, "", st.diag);
  r.checkKeys({"after", "notify"});
  EscalationLevel level;
  bool ok = true;
  if (!r.has("after")) {
    st.diag.add(r.pos(), where +
                             ": missing 'after' (how long after the first failed attempt, "
                             "e.g. 15m)");
    ok = false;
  } else if (auto after = r.duration("after", false)) {
    level.after = *after;
  } else {
    ok = false;
  }
  if (!r.has("notify")) {
    st.diag.add(r.pos(), where + ": missing 'notify' (owner, or the name of a channel)");
    ok = false;
  } else if (auto notify = r.string("notify")) {
    if (*notify != "owner" && !isValidName(*notify)) {
      st.diag.add(posOf(*r.find("notify")),
                  where + ": notify \"" + *notify +
                      "\" is neither owner nor a valid channel name: " + std::string(kNameRule));
      ok = false;
    }
    level.notify = *notify;
  } else {
    ok = false;
  }
  return ok ? std::optional(level) : std::nullopt;
}

}  // namespace

void readEscalation(const MapReader& r, ParseState& st) {
  WorkflowSpec& spec = st.spec;
  if (auto after = r.duration("escalate_after", false)) spec.escalateAfter = *after;
  const YAML::Node* list = r.find("escalation");
  if (!list) {
    spec.escalation = {EscalationLevel{spec.escalateAfter, "owner"}};
    return;
  }
  if (!list->IsSequence() || list->size() == 0) {
    st.diag.add(posOf(*list),
                "escalation: expected a non-empty list of levels {after: DURATION, "
                "notify: owner | CHANNEL}, got " +
                    describe(*list));
    return;
  }
  if (list->size() > kMostLevels) {
    st.diag.add(posOf(*list), fmt::format("escalation: {} levels, at most {} are allowed",
                                          list->size(), kMostLevels));
    return;
  }
  size_t n = 0;
  for (auto it = list->begin(); it != list->end(); ++it, ++n) {
    auto level = readLevel(*it, n, st);
    if (!level) continue;
    if (!spec.escalation.empty() && level->after <= spec.escalation.back().after) {
      st.diag.add(posOf(*it), fmt::format("escalation[{}]: after {} must be later than the level "
                                          "before it ({}): levels go in order",
                                          n, formatDuration(level->after),
                                          formatDuration(spec.escalation.back().after)));
      continue;
    }
    spec.escalation.push_back(std::move(*level));
  }
}

}  // namespace keel::spec::detail
