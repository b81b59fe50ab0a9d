#include "api/channel_apply.h"

#include <nlohmann/json.hpp>

#include "audit/record.h"
#include "spec/channel.h"

namespace keel::api {

Result<AppliedChannel> applyChannel(store::Store& store, std::string_view yaml,
                                    const std::string& source, WallTime now,
                                    const RequestContext& who) {
  spec::ParseOptions po;
  po.fileName = source;
  auto spec = spec::parseChannel(yaml, po);
  if (!spec.ok()) return spec.error();
  store::ChannelRow row;
  row.name = spec->name;
  row.type = std::string(spec::toString(spec->type));
  for (const auto& team : spec->teams) row.teams += (row.teams.empty() ? "" : ",") + team;
  row.isDefault = spec->isDefault;
  row.yaml = std::string(yaml);
  row.createdAt = now;
  auto before = store.listChannels();
  if (!before.ok()) return before.error();
  int previous = 0;
  for (const auto& c : *before)
    if (c.name == row.name) previous = c.version;
  audit::Entry entry =
      audit::record(who, "channel.apply", row.name, now,
                    nlohmann::json{{"channel", row.name}, {"type", row.type}}.dump());
  auto stored = store.putChannel(row, &entry);
  if (!stored.ok()) return stored.error();
  return AppliedChannel{*stored, stored->version != previous};
}

}  // namespace keel::api
