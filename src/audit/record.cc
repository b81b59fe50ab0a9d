#include "audit/record.h"

namespace keel::audit {

Entry record(const RequestContext& who, std::string action, std::string target, WallTime at,
             std::string detailJson) {
  Entry e;
  e.at = at;
  e.actor = who.actor();
  if (e.actor.empty()) e.actor = kKeelActor;
  e.action = std::move(action);
  e.target = std::move(target);
  e.reason = who.reason;
  e.requestId = who.requestId;
  e.detailJson = std::move(detailJson);
  return e;
}

}  // namespace keel::audit
