// `keel incidents [--open|--recurring|--since 2d]` and
// `keel incident show|ack|mitigate|resolve|workaround|done ID`: what keel
// opened from its record, and the calls people make on it.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {
namespace {

using nlohmann::json;

std::string orDash(std::string s) { return s.empty() ? "-" : s; }

std::string ownerText(const json& i) {
  const json& owner = member(i, "owner");
  std::string team = text(owner, "team");
  std::string contact = text(owner, "contact");
  return contact.empty() ? team : team + " <" + contact + ">";
}

std::string itemLine(const json& a) {
  std::string line = "#" + text(a, "n") + " " + text(a, "text") + " (owner " + text(a, "owner") +
                     ", due " + text(a, "due");
  if (member(a, "done") == true)
    line += ", done by " + (text(a, "done_by").empty() ? std::string("keel") : text(a, "done_by"));
  else if (member(a, "overdue") == true)
    line += ", OVERDUE";
  return line + ")";
}

std::string path(const std::string& id, const std::string& tail = {}) {
  return "/api/v1/incidents/" + urlEncode(id) + tail;
}

// "2h 05m", "-" for none: a mean time to resolve from the API's seconds.
std::string mttrText(const json& seconds) {
  if (!seconds.is_number()) return "-";
  auto s = static_cast<int64_t>(seconds.get<double>());
  if (s < 3600) return fmt::format("{}m {:02}s", s / 60, s % 60);
  return fmt::format("{}h {:02}m", s / 3600, (s % 3600) / 60);
}

int incidentStats(const Context& ctx, const IncidentArgs& args) {
  std::string query = args.since.empty() ? "" : "?since=" + urlEncode(args.since);
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/incidents/stats" + query), &answer))
    return code;
  if (args.json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  ctx.out << "incidents first seen since " << text(answer.body, "since") << ": "
          << member(answer.body, "total").dump() << "\n";
  const std::pair<const char*, const char*> kTables[] = {{"by_workflow", "WORKFLOW"},
                                                         {"by_class", "CLASS"}};
  for (const auto& [key, title] : kTables) {
    ctx.out << "\n";
    Table table({title, "COUNT", "RESOLVED", "MTTR"});
    const json& rows = member(answer.body, key);
    const char* name = std::string_view(key) == "by_workflow" ? "workflow" : "class";
    for (const auto& r : rows.is_array() ? rows : json::array())
      table.addRow({text(r, name), member(r, "count").dump(), member(r, "resolved").dump(),
                    mttrText(member(r, "mttr_seconds"))});
    table.print(ctx.out);
  }
  const json& recurring = member(answer.body, "recurring");
  if (recurring.is_array() && !recurring.empty()) {
    ctx.out << "\ntop recurring failures:\n";
    Table table({"INCIDENTS", "WORKFLOW", "STEP", "FINGERPRINT", "TEXT"});
    for (const auto& f : recurring)
      table.addRow({member(f, "incidents").dump(), text(f, "workflow"), text(f, "step"),
                    text(f, "fingerprint"), text(f, "normalized")});
    table.print(ctx.out);
  }
  return kExitOk;
}

int listIncidents(const Context& ctx, const IncidentArgs& args) {
  std::string query;
  auto add = [&query](const char* name, const std::string& value) {
    if (value.empty()) return;
    query += (query.empty() ? "?" : "&") + std::string(name) + "=" + urlEncode(value);
  };
  if (args.open) add("state", "unresolved");
  if (args.recurring) add("recurring", "true");
  add("since", args.since);
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/incidents" + query), &answer)) return code;
  if (args.json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  Table table(
      {"ID", "SEV", "STATE", "COUNT", "WORKFLOW", "STEP", "CLASS", "LAST SEEN", "OWNER", "NOTE"});
  std::vector<std::string> overdue;
  const json& items = member(answer.body, "incidents");
  for (const auto& i : items.is_array() ? items : json::array()) {
    std::string note;
    if (member(i, "recurring") == true) note = "recurring";
    if (member(i, "fix_ineffective") == true) note += ", fix ineffective";
    table.addRow({text(i, "id"), text(i, "severity"), text(i, "state"), text(i, "count"),
                  text(i, "workflow"), orDash(text(i, "step")), text(i, "class"),
                  shortTime(member(i, "last_seen")), ownerText(i), note});
    const json& actions = member(i, "action_items");
    for (const auto& a : actions.is_array() ? actions : json::array())
      if (member(a, "overdue") == true) overdue.push_back(text(i, "id") + " " + itemLine(a));
  }
  table.print(ctx.out);
  if (table.rows() == 1) ctx.err << "(no incidents)\n";
  if (!overdue.empty()) {
    ctx.out << "\noverdue action items:\n";
    for (const auto& line : overdue) ctx.out << "  " << line << '\n';
  }
  return kExitOk;
}

void printIncident(std::ostream& out, const json& i) {
  out << text(i, "id") << "  " << text(i, "severity") << "  " << text(i, "state");
  if (member(i, "recurring") == true) out << "  RECURRING";
  if (member(i, "fix_ineffective") == true) out << "  FIX INEFFECTIVE";
  out << '\n';
  const json& history = member(i, "previous_incidents");
  if (history.is_array() && !history.empty()) {
    out << "\nThis failure happened before:\n";
    for (const auto& p : history) {
      out << "  " << text(p, "id") << " resolved " << shortTime(member(p, "resolved_at"))
          << "\n    root cause: " << orDash(text(p, "root_cause")) << '\n';
      if (!text(p, "no_action_reason").empty())
        out << "    no action: " << text(p, "no_action_reason") << '\n';
      const json& items = member(p, "action_items");
      for (const auto& a : items.is_array() ? items : json::array())
        out << "    action " << itemLine(a) << '\n';
    }
  }
  out << "\nworkflow:    " << text(i, "workflow") << "\nstep:        " << orDash(text(i, "step"))
      << "\nclass:       " << text(i, "class") << "\nsymptom:     " << text(i, "symptom")
      << "\nmessage:     " << text(i, "message") << "\nfingerprint: " << text(i, "fingerprint")
      << " (" << text(i, "normalized") << ")\nowner:       " << ownerText(i)
      << "\nrunbook:     " << text(i, "runbook") << "\ncount:       " << text(i, "count")
      << " (first " << shortTime(member(i, "first_seen")) << ", last "
      << shortTime(member(i, "last_seen")) << ")\n";
  const json& downstream = member(i, "downstream");
  if (downstream.is_array() && !downstream.empty()) {
    out << "downstream:  ";
    for (size_t k = 0; k < downstream.size(); ++k)
      out << (k ? ", " : "") << downstream[k].get<std::string>();
    out << " (workflows whose after: triggers wait on this one)\n";
  }
  out << "runs:       ";
  const json& runs = member(i, "runs");
  for (const auto& r : runs.is_array() ? runs : json::array()) out << ' ' << r.get<std::string>();
  out << '\n';
  if (!text(i, "root_cause").empty()) out << "root cause:  " << text(i, "root_cause") << '\n';
  if (!text(i, "no_action_reason").empty())
    out << "no action:   " << text(i, "no_action_reason") << '\n';
  const json& items = member(i, "action_items");
  for (const auto& a : items.is_array() ? items : json::array())
    out << "action:      " << itemLine(a) << '\n';
  if (const json& w = member(i, "workaround"); w.is_object())
    out << "workaround:  " << text(w, "text") << " (until " << shortTime(member(w, "expires"))
        << ")\n";
  const json& attempts = member(i, "attempts");
  for (const auto& a : attempts.is_array() ? attempts : json::array())
    out << "attempt:     " << text(a, "n") << " of " << text(a, "of") << ", " << text(a, "class")
        << ", exit " << text(a, "exit_code", "-") << ", " << shortTime(member(a, "started_at"))
        << " to " << shortTime(member(a, "finished_at")) << ": " << text(a, "message") << '\n';
  if (!text(i, "logs_tail").empty())
    out << "\nlast lines of " << text(i, "step") << "'s logs:\n" << text(i, "logs_tail") << '\n';
  out << "\ntimeline:\n";
  const json& timeline = member(i, "timeline");
  for (const auto& e : timeline.is_array() ? timeline : json::array()) {
    out << "  " << shortTime(member(e, "at")) << "  " << text(e, "kind");
    if (!text(e, "actor").empty()) out << " by " << text(e, "actor");
    if (!text(e, "note").empty()) out << ": " << text(e, "note");
    out << '\n';
  }
}

int post(const Context& ctx, const std::string& where, json body, bool asJson) {
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->post(where, body.dump(), "application/json"), &answer))
    return code;
  if (asJson) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  ctx.out << text(answer.body, "id") << ' ' << text(answer.body, "state") << '\n';
  return kExitOk;
}

// "text;owner;YYYY-MM-DD"
Result<json> parseAction(const std::string& spec) {
  auto first = spec.find(';');
  auto second = first == std::string::npos ? first : spec.find(';', first + 1);
  if (second == std::string::npos || spec.find(';', second + 1) != std::string::npos)
    return Error(ErrorCode::kInvalidArgument,
                 "--action \"" + spec + "\": expected \"text;owner;YYYY-MM-DD\"");
  return json{{"text", spec.substr(0, first)},
              {"owner", spec.substr(first + 1, second - first - 1)},
              {"due", spec.substr(second + 1)}};
}

}  // namespace

int incidentsCommand(const Context& ctx, const IncidentArgs& args) {
  return listIncidents(ctx, args);
}

int incidentCommand(const Context& ctx, const IncidentArgs& args) {
  const std::string& id = args.id;
  json body = json::object();
  if (!args.reason.empty()) body["reason"] = args.reason;
  if (args.action == "show") {
    ApiResponse answer;
    if (int code = checkAnswer(ctx, ctx.api->get(path(id)), &answer)) return code;
    if (args.json)
      printJson(ctx.out, answer.body);
    else
      printIncident(ctx.out, answer.body);
    return kExitOk;
  }
  if (args.action == "postmortem") {
    // A Markdown answer: checkAnswer wants JSON, so only its errors go there.
    auto got = ctx.api->get(path(id, "/postmortem"));
    if (got.ok() && got->ok()) {
      ctx.out << got->text;
      return kExitOk;
    }
    ApiResponse answer;
    return checkAnswer(ctx, std::move(got), &answer);
  }
  if (args.action == "ack" || args.action == "mitigate")
    return post(ctx, path(id, "/" + args.action), body, args.json);
  if (args.action == "resolve") {
    if (args.rootCause.empty()) {
      ctx.err << "keel incident resolve: --root-cause is required (what caused the failure)\n";
      return kExitUsage;
    }
    if (args.actions.empty() == args.noActionReason.empty()) {
      ctx.err << "keel incident resolve: give one or more --action \"text;owner;YYYY-MM-DD\", "
                 "or --no-action-reason (why no change is needed)\n";
      return kExitUsage;
    }
    body["root_cause"] = args.rootCause;
    if (!args.noActionReason.empty()) body["no_action_reason"] = args.noActionReason;
    if (!args.actions.empty()) {
      body["action_items"] = json::array();
      for (const auto& a : args.actions) {
        auto item = parseAction(a);
        if (!item.ok()) {
          ctx.err << "keel incident resolve: " << item.error().message() << '\n';
          return kExitUsage;
        }
        body["action_items"].push_back(*item);
      }
    }
    return post(ctx, path(id, "/resolve"), body, args.json);
  }
  if (args.action == "workaround") {
    if (args.workaround.empty() || args.expires.empty()) {
      ctx.err << "keel incident workaround: --text and --expires (e.g. 3d, or an RFC 3339 "
                 "instant) are required\n";
      return kExitUsage;
    }
    body["text"] = args.workaround;
    body["expires"] = args.expires;
    return post(ctx, path(id, "/workaround"), body, args.json);
  }
  // done
  if (args.item < 1) {
    ctx.err << "keel incident done: --item N (the action item's number) is required\n";
    return kExitUsage;
  }
  return post(ctx, path(id, "/actions/" + std::to_string(args.item) + "/done"), body, args.json);
}

IncidentCli defineIncidentCommands(CLI::App& app, IncidentArgs& args) {
  IncidentCli c;
  c.list = app.add_subcommand(
      "incidents", "List incidents: severity, state, count, owner; overdue action items");
  c.list->add_flag("--open", args.open, "Only those not resolved (open, acknowledged, mitigated)");
  c.list->add_flag("--recurring", args.recurring, "Only recurring incidents");
  c.list->add_option("--since", args.since, "Only those seen within (2d, 12h) or since an instant");
  c.list->add_flag("--json", args.json, "Print the API's JSON");
  c.stats = c.list->add_subcommand(
      "stats", "Counts and mean time to resolve by workflow and class; top recurring failures");
  c.stats->add_option("--since", args.since, "The window: a duration (default 30d) or an instant");
  c.stats->add_flag("--json", args.json, "Print the API's JSON");
  c.one = app.add_subcommand("incident", "Show an incident or act on it");
  c.one->require_subcommand(1);
  for (const char* name :
       {"show", "postmortem", "ack", "mitigate", "resolve", "workaround", "done"}) {
    const char* help = std::string_view(name) == "show" ? "Everything about an incident"
                       : std::string_view(name) == "postmortem"
                           ? "Write the incident's post-mortem as Markdown (to stdout)"
                       : std::string_view(name) == "ack"      ? "Acknowledge: you are on it"
                       : std::string_view(name) == "mitigate" ? "The impact is stopped"
                       : std::string_view(name) == "resolve"
                           ? "Resolve with a root cause and action items (or a reason for none)"
                       : std::string_view(name) == "workaround"
                           ? "Record a workaround until an expiry"
                           : "Mark an action item done";
    CLI::App* sub = c.one->add_subcommand(name, help);
    sub->add_option("id", args.id, "Incident id (inc-000001)")->required();
    if (std::string_view(name) != "postmortem")
      sub->add_flag("--json", args.json, "Print the API's JSON");
    if (std::string_view(name) != "show" && std::string_view(name) != "postmortem") {
      sub->add_option("--reason,--note", args.reason, "A note kept in the incident's timeline");
    }
    if (std::string_view(name) == "resolve") {
      sub->add_option("--root-cause", args.rootCause, "What caused the failure");
      sub->add_option("--action", args.actions,
                      "An action item \"text;owner;YYYY-MM-DD\" (repeatable)");
      sub->add_option("--no-action-reason", args.noActionReason, "Why no change is needed");
    }
    if (std::string_view(name) == "workaround") {
      sub->add_option("--text", args.workaround, "What people do meanwhile");
      sub->add_option("--expires", args.expires, "Until when: a duration (3d) or an instant");
    }
    if (std::string_view(name) == "done")
      sub->add_option("--item", args.item, "The action item's number")->required();
    c.actions.push_back(sub);
  }
  return c;
}

int dispatchIncidentCommands(const IncidentCli& c, IncidentArgs args, const Context& ctx) {
  if (c.stats && *c.stats) return incidentStats(ctx, args);
  if (*c.list) return incidentsCommand(ctx, args);
  for (CLI::App* sub : c.actions)
    if (*sub) {
      args.action = sub->get_name();
      return incidentCommand(ctx, args);
    }
  return -1;
}

}  // namespace keel::cli
