#include "incidents/postmortem.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace keel::incidents {
namespace {

// The first timeline entry of `kind` (e.g. "acknowledged"), if any.
std::optional<WallTime> firstOf(const Incident& i, std::string_view kind) {
  for (const auto& e : i.timeline)
    if (e.kind == kind || e.to == kind) return e.at;
  return std::nullopt;
}

std::string since(WallTime from, std::optional<WallTime> to) {
  if (!to) return "not yet";
  return fmt::format("{} ({} after first seen)", formatRfc3339(*to), humanDuration(*to - from));
}

std::string cell(std::string_view text) {
  return text.empty() ? std::string("-") : escapeMarkdownInline(text);
}

// A fence longer than any run of backticks in `text`, so that nothing in
// the logs can close the code block early.
std::string fenceFor(std::string_view text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

std::string jsonCell(const nlohmann::json& a, const char* key) {
  auto it = a.find(key);
  if (it == a.end() || it->is_null()) return "-";
  return cell(it->is_string() ? it->get<std::string>() : it->dump());
}

// The first failing step: each of its attempts, and the tail of its logs.
template <typename Line>
void renderFailingStep(const Incident& i, Line& line) {
  line("");
  line(fmt::format("## First failing step: {}", escapeMarkdownInline(i.step)));
  line("");
  auto attempts = nlohmann::json::parse(i.attemptsJson, nullptr, false);
  if (!attempts.is_array() || attempts.empty()) {
    line("No attempt recorded.");
  } else {
    line("| attempt | started | ended | class | exit code | message |");
    line("|---|---|---|---|---|---|");
    for (const auto& a : attempts) {
      if (!a.is_object()) continue;
      line(fmt::format("| {} | {} | {} | {} | {} | {} |", jsonCell(a, "n"),
                       jsonCell(a, "started_at"), jsonCell(a, "finished_at"), jsonCell(a, "class"),
                       jsonCell(a, "exit_code"), jsonCell(a, "message")));
    }
  }
  line("");
  if (i.logsTail.empty()) {
    line("No logs recorded.");
    return;
  }
  line(fmt::format("Last {} lines of its logs:", kLogLines));
  line("");
  const std::string fence = fenceFor(i.logsTail);
  line(fence);
  line(i.logsTail);
  line(fence);
}

}  // namespace

std::string escapeMarkdownInline(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\r':
        break;
      case '\n':
        out += ' ';
        break;
      case '\\':
      case '`':
      case '*':
      case '_':
      case '{':
      case '}':
      case '[':
      case ']':
      case '(':
      case ')':
      case '#':
      case '+':
      case '-':
      case '.':
      case '!':
      case '|':
      case '<':
      case '>':
      case '~':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string humanDuration(WallTime::duration d) {
  using namespace std::chrono;
  if (d < WallTime::duration::zero()) d = WallTime::duration::zero();
  auto s = duration_cast<seconds>(d).count();
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {:02}h", s / 86400, (s % 86400) / 3600);
}

std::string renderPostmortem(const Incident& i, WallTime at) {
  std::string md;
  auto line = [&md](std::string_view s) {
    md += s;
    md += '\n';
  };
  line(fmt::format("# Post-mortem: {} ({}, {})", escapeMarkdownInline(i.id),
                   severityName(i.severity), toString(i.state)));
  line("");
  line("## Summary");
  line("");
  line(fmt::format("Workflow **{}**{} failed with class `{}`: {}", escapeMarkdownInline(i.workflow),
                   i.step.empty() ? "" : ", step **" + escapeMarkdownInline(i.step) + "**",
                   escapeMarkdownInline(i.failureClass), escapeMarkdownInline(i.message)));
  line("");
  line(fmt::format("- Owner: {} ({})", cell(i.ownerTeam), cell(i.ownerContact)));
  line(fmt::format("- Runbook: {}", cell(i.runbook)));
  line(fmt::format("- Symptom: {}", cell(i.symptom)));
  if (i.recurring)
    line(fmt::format("- Recurring{}", i.fixIneffective ? ": the earlier fix was ineffective" : ""));
  line("");
  line("## Impact");
  line("");
  std::optional<WallTime> mitigated = firstOf(i, "mitigated");
  std::optional<WallTime> end = mitigated ? mitigated : i.resolvedAt;
  line(fmt::format("- Affected runs: {}", i.runs.size()));
  for (const auto& r : i.runs) line(fmt::format("  - {}", escapeMarkdownInline(r)));
  line(fmt::format("- Delay: {}", end ? humanDuration(*end - i.firstSeen) + " (first seen to " +
                                            (mitigated ? "mitigated" : "resolved") + ")"
                                      : std::string("still ongoing")));
  if (!i.downstream.empty()) {
    std::string names;
    for (const auto& d : i.downstream)
      names += (names.empty() ? "" : ", ") + escapeMarkdownInline(d);
    line(fmt::format("- Downstream workflows: {}", names));
  }
  line("");
  line("## Times");
  line("");
  line("| | when |");
  line("|---|---|");
  line(fmt::format("| Detected (first seen) | {} |", formatRfc3339(i.firstSeen)));
  line(fmt::format("| Escalated | {} |", since(i.firstSeen, firstOf(i, "escalated"))));
  line(fmt::format("| Acknowledged (time to acknowledge) | {} |",
                   since(i.firstSeen, firstOf(i, "acknowledged"))));
  line(fmt::format("| Mitigated | {} |", since(i.firstSeen, mitigated)));
  line(fmt::format("| Resolved (time to resolve) | {} |", since(i.firstSeen, i.resolvedAt)));
  if (!i.step.empty()) renderFailingStep(i, line);
  line("");
  line("## Timeline");
  line("");
  line("| # | at | what | by | note |");
  line("|---|---|---|---|---|");
  for (const auto& e : i.timeline)
    line(fmt::format("| {} | {} | {} | {} | {} |", e.n, formatRfc3339(e.at), cell(e.kind),
                     e.actor.empty() ? std::string("keel") : escapeMarkdownInline(e.actor),
                     cell(e.note)));
  line("");
  line("## Root cause");
  line("");
  line(i.rootCause.empty() ? std::string("Not recorded yet.") : escapeMarkdownInline(i.rootCause));
  if (!i.noActionReason.empty()) {
    line("");
    line(fmt::format("No action items: {}", escapeMarkdownInline(i.noActionReason)));
  }
  if (!i.workaround.empty()) {
    line("");
    line(fmt::format("Workaround: {}{}", escapeMarkdownInline(i.workaround),
                     i.workaroundExpires ? " (until " + formatRfc3339(*i.workaroundExpires) + ")"
                                         : std::string()));
  }
  line("");
  line("## Action items");
  line("");
  if (i.actionItems.empty()) {
    line("None.");
  } else {
    line("| # | action | owner | due | done |");
    line("|---|---|---|---|---|");
    for (const auto& a : i.actionItems)
      line(fmt::format("| {} | {} | {} | {} | {} |", a.n, cell(a.text), cell(a.owner), cell(a.due),
                       a.doneAt
                           ? formatRfc3339(*a.doneAt) +
                                 (a.doneBy.empty() ? "" : " by " + escapeMarkdownInline(a.doneBy))
                           : std::string("no")));
  }
  line("");
  line("## Recurrence history");
  line("");
  if (i.previous.empty()) {
    line("First occurrence of this failure.");
  } else {
    line("| incident | resolved | root cause | action items |");
    line("|---|---|---|---|");
    for (const auto& p : i.previous) {
      std::string items;
      for (const auto& a : p.actionItems)
        items += (items.empty() ? "" : "; ") + escapeMarkdownInline(a.text) +
                 (a.doneAt ? " (done)" : " (not done)");
      line(fmt::format("| {} | {} | {} | {} |", cell(p.id),
                       p.resolvedAt ? formatRfc3339(*p.resolvedAt) : std::string("-"),
                       cell(p.rootCause.empty() ? p.noActionReason : p.rootCause),
                       items.empty() ? std::string("-") : items));
    }
  }
  line("");
  line(fmt::format("_Written by keel at {} from the incident's record._", formatRfc3339(at)));
  return md;
}

}  // namespace keel::incidents
