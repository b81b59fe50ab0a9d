#include "api/subscription_apply.h"

#include "spec/subscription.h"

namespace keel::api {

Result<AppliedSubscription> applySubscription(store::Store& store, std::string_view yaml,
                                              const std::string& source, WallTime now) {
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
  auto stored = store.putSubscription(row);
  if (!stored.ok()) return stored.error();
  AppliedSubscription out;
  out.changed = stored->createdAt == now;  // an unchanged document keeps its old version
  out.row = *stored;
  return out;
}

}  // namespace keel::api
