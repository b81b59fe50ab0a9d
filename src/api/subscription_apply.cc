#include "api/subscription_apply.h"

#include <nlohmann/json.hpp>

#include "audit/record.h"
#include "spec/subscription.h"

namespace keel::api {

Result<AppliedSubscription> applySubscription(store::Store& store, std::string_view yaml,
                                              const std::string& source, WallTime now,
                                              const RequestContext& who) {
  spec::ParseOptions po;
  po.fileName = source;
  auto spec = spec::parseSubscription(yaml, po);
  if (!spec.ok()) return spec.error();
  store::SubscriptionRow row;
  row.name = spec->name;
  row.topic = spec->topic;
  row.url = spec->url;
  row.yaml = std::string(yaml);
  row.createdAt = now;
  // The version before, to tell a new version from the same document
  // applied again (the store then answers the version it has).
  auto before = store.listSubscriptions();
  if (!before.ok()) return before.error();
  int previous = 0;
  for (const auto& s : *before)
    if (s.name == row.name) previous = s.version;
  audit::Entry entry =
      audit::record(who, "subscription.apply", row.name, now,
                    nlohmann::json{{"subscription", row.name}, {"topic", row.topic}}.dump());
  auto stored = store.putSubscription(row, &entry);
  if (!stored.ok()) return stored.error();
  AppliedSubscription out;
  out.changed = stored->version != previous;
  out.row = *stored;
  return out;
}

}  // namespace keel::api
