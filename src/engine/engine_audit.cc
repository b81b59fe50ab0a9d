// Engine::audit(): the audit entries of the actions callers ask for.
//
// Each entry is queued into pending_, the batch that carries the change it
// records, so the store writes both in one transaction: an entry exists
// exactly when its change does. What keel does by itself (a schedule, a
// file, an event trigger, a chain, an escalation) is not an actor's action
// and has none; what it decides in a person's place (an approval's
// timeout, an incident mitigated or reopened) has one, actor `keel`.
#include <nlohmann/json.hpp>

#include "audit/record.h"
#include "engine/engine.h"
#include "incidents/incident.h"

namespace keel::engine {

void Engine::audit(const RequestContext& who, std::string action, std::string target,
                   nlohmann::json detail) {
  std::string detailJson = detail.empty() ? std::string() : detail.dump();
  pending_.mutations.emplace_back(store::AppendAudit{
      audit::record(who, std::move(action), std::move(target), now(), std::move(detailJson))});
}

void Engine::auditRun(const RunRt& run, const RequestContext& who, std::string action,
                      const std::string& step) {
  nlohmann::json detail = {
      {"run_id", run.row.id}, {"workflow", run.row.workflow}, {"version", run.row.version}};
  if (!step.empty()) detail["step"] = step;
  audit(who, std::move(action), run.row.id, std::move(detail));
}

void Engine::auditKeel(std::string action, const incidents::Incident& incident,
                       std::string reason) {
  RequestContext keel;  // no token: the entry's actor is `keel`
  keel.reason = std::move(reason);
  audit(keel, std::move(action), incident.id,
        {{"incident", incident.id},
         {"workflow", incident.workflow},
         {"state", incidents::toString(incident.state)}});
}

}  // namespace keel::engine
