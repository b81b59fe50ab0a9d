// The params a trigger gives the run it starts: its `params:` map, each
// value a template rendered with the trigger's own context (event.*,
// schedule.*, upstream.*). Pure; any thread.
#pragma once

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "spec/template.h"
#include "spec/workflow.h"

namespace keel::triggers {

// Errors (kInvalidArgument) name the param: "trigger param 'day': ...".
Result<nlohmann::json> renderTriggerParams(const spec::TriggerSpec& trigger,
                                           const spec::TemplateContext& ctx);

}  // namespace keel::triggers
