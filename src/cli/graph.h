// Drawings of a run's step DAG from the API's run detail (GET
// /api/v1/runs/ID: steps with name, state and needs). Pure functions:
// `keel show --graph` and `keel show --dot`. Internal to the cli module.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace keel::cli {

// Plain ASCII, one line per step, layered by dependency depth (a step's
// layer is one more than the deepest step it needs): the name indented by
// its layer, its state, and "<- NEEDS" when it needs any. Steps of a layer
// keep the workflow's order. Needs the API could not give (null) show as
// "<- ?"; a name that is not a step of the run is listed as it is.
std::string renderGraph(const nlohmann::json& run);

// Graphviz DOT: one node per step (label "NAME\nSTATE", filled with a
// colour by state), one edge per need, every id quoted and escaped.
std::string renderDot(const nlohmann::json& run);

// A DOT quoted string: `"` and `\` escaped, line breaks as \n.
std::string dotQuote(const std::string& text);

}  // namespace keel::cli
