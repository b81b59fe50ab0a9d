#include "triggers/trigger_params.h"

#include <fmt/format.h>

namespace keel::triggers {

Result<nlohmann::json> renderTriggerParams(const spec::TriggerSpec& trigger,
                                           const spec::TemplateContext& ctx) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, text] : trigger.params) {
    auto value = spec::renderTemplate(text, ctx);
    if (!value.ok())
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("trigger param '{}': {}", name, value.error().message()));
    out[name] = std::move(*value);
  }
  return out;
}

}  // namespace keel::triggers
