#include "cli/graph.h"

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

#include "api/json_codec.h"
#include "cli/text.h"

namespace keel::cli {
namespace {

namespace field = api::field;
using nlohmann::json;

struct Node {
  std::string name;
  std::string state;
  std::vector<std::string> needs;
  bool needsKnown = true;
  int layer = 0;
};

std::vector<Node> nodesOf(const json& run) {
  std::vector<Node> nodes;
  const auto& steps = member(run, field::kSteps);
  if (!steps.is_array()) return nodes;
  for (const auto& s : steps) {
    Node n{text(s, field::kName), text(s, field::kState, "-"), {}, true, 0};
    const auto& needs = member(s, field::kNeeds);
    if (needs.is_array()) {
      for (const auto& need : needs)
        if (need.is_string()) n.needs.push_back(need.get<std::string>());
    } else {
      n.needsKnown = false;
    }
    nodes.push_back(std::move(n));
  }
  // Depth by memoised search; a cycle (which keel refuses to store) or an
  // unknown name counts as depth 0 instead of looping.
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i) index.emplace(nodes[i].name, i);
  std::vector<int> depth(nodes.size(), -1);  // -2: being computed
  std::function<int(size_t)> layerOf = [&](size_t i) -> int {
    if (depth[i] >= 0) return depth[i];
    if (depth[i] == -2) return 0;
    depth[i] = -2;
    int d = 0;
    for (const auto& need : nodes[i].needs) {
      auto it = index.find(need);
      if (it != index.end()) d = std::max(d, layerOf(it->second) + 1);
    }
    return depth[i] = d;
  };
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i].layer = layerOf(i);
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const Node& a, const Node& b) { return a.layer < b.layer; });
  return nodes;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

const char* colourOf(const std::string& state) {
  if (state == "succeeded") return "palegreen";
  if (state == "running") return "lightskyblue";
  if (state == "failed" || state == "dead") return "salmon";
  if (state == "retrying") return "orange";
  if (state == "waiting" || state == "ready") return "khaki";
  if (state == "cancelled" || state == "skipped") return "lightgrey";
  return "white";  // pending, or unknown
}

}  // namespace

std::string renderGraph(const json& run) {
  const auto nodes = nodesOf(run);
  size_t nameWidth = 0, stateWidth = 0;
  for (const auto& n : nodes) {
    nameWidth = std::max(nameWidth, 2 * static_cast<size_t>(n.layer) + n.name.size());
    stateWidth = std::max(stateWidth, n.state.size());
  }
  std::string out;
  for (const auto& n : nodes) {
    std::string line(2 * static_cast<size_t>(n.layer), ' ');
    line += n.name;
    std::string needs = !n.needsKnown ? "<- ?" : n.needs.empty() ? "" : "<- " + joined(n.needs);
    line.resize(nameWidth, ' ');
    line += "  " + n.state;
    if (!needs.empty()) {
      line.resize(nameWidth + 2 + stateWidth, ' ');
      line += "  " + needs;
    }
    out += line + '\n';
  }
  return out;
}

std::string dotQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string renderDot(const json& run) {
  const auto nodes = nodesOf(run);
  std::string out = "digraph " + dotQuote("run " + text(run, field::kId)) + " {\n";
  out += "  rankdir=LR;\n";
  out += "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n";
  for (const auto& n : nodes) {
    // The label is a DOT string whose \n is a centred line break.
    out += "  " + dotQuote(n.name) + " [label=" + dotQuote(n.name + "\n" + n.state) +
           ", fillcolor=" + dotQuote(colourOf(n.state)) + "];\n";
  }
  for (const auto& n : nodes)
    for (const auto& need : n.needs)
      out += "  " + dotQuote(need) + " -> " + dotQuote(n.name) + ";\n";
  out += "}\n";
  return out;
}

}  // namespace keel::cli
