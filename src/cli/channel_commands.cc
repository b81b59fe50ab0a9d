// `keel channels` and `keel notifications [redeliver]`: where keel sends
// what a person must look at, what it sent, and putting dead
// notifications back in line.
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {

namespace {

std::string joined(const nlohmann::json& list) {
  std::string out;
  for (const auto& item : list.is_array() ? list : nlohmann::json::array())
    if (item.is_string()) out += (out.empty() ? "" : ",") + item.get<std::string>();
  return out;
}

}  // namespace

int channelsCommand(const Context& ctx, bool json) {
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/channels"), &answer)) return code;
  if (json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  Table table({"NAME", "VER", "TYPE", "SERVES", "TARGET"});
  const auto& rows = member(answer.body, "channels");
  for (const auto& c : rows.is_array() ? rows : nlohmann::json::array()) {
    std::string serves = joined(member(c, "teams"));
    if (member(c, "default").is_boolean() && member(c, "default").get<bool>())
      serves += serves.empty() ? "(default)" : " (default)";
    std::string target = text(c, "type") == "email"
                             ? text(c, "smtp_url") + " -> " + joined(member(c, "to"))
                             : text(c, "url");
    table.addRow({text(c, "name"), text(c, "version"), text(c, "type"),
                  serves.empty() ? "-" : serves, target});
  }
  table.print(ctx.out);
  if (table.rows() == 1) ctx.err << "(no channels)\n";
  return kExitOk;
}

int notificationsCommand(const Context& ctx, const NotificationsArgs& args) {
  std::string state = args.dead ? "dead" : args.state;
  if (args.dead && !args.state.empty() && args.state != "dead") {
    ctx.err << "keel notifications: --dead and --state " << args.state << " disagree\n";
    return kExitUsage;
  }
  if (!state.empty() && state != "pending" && state != "delivered" && state != "dead") {
    ctx.err << "keel notifications: --state must be pending, delivered or dead\n";
    return kExitUsage;
  }
  ApiResponse answer;
  std::string path = "/api/v1/notifications" + (state.empty() ? "" : "?state=" + state);
  if (int code = checkAnswer(ctx, ctx.api->get(path), &answer)) return code;
  if (args.json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  Table table({"ID", "CHANNEL", "KIND", "STATE", "ATTEMPTS", "LAST", "WHEN"});
  const auto& rows = member(answer.body, "notifications");
  for (const auto& n : rows.is_array() ? rows : nlohmann::json::array()) {
    // LAST: the last status (HTTP or SMTP), else why none came back.
    std::string last = text(n, "last_status");
    if (last.empty() || last == "0") last = text(n, "last_error", "-");
    table.addRow({text(n, "id"), text(n, "channel"), text(n, "kind"), text(n, "state"),
                  text(n, "attempts"), last.empty() ? "-" : last,
                  shortTime(member(n, "updated_at"))});
  }
  table.print(ctx.out);
  if (table.rows() == 1) ctx.err << "(no notifications)\n";
  return kExitOk;
}

int notificationsRedeliverCommand(const Context& ctx, const NotificationsArgs& args) {
  if (args.id.empty() == !args.all) {
    ctx.err << "keel notifications redeliver: give either an ID or --all\n";
    return kExitUsage;
  }
  nlohmann::json body = args.all ? nlohmann::json{{"all", true}} : nlohmann::json{{"id", args.id}};
  if (!args.reason.empty()) body["reason"] = args.reason;
  ApiResponse answer;
  if (int code = checkAnswer(
          ctx, ctx.api->post("/api/v1/notifications/redeliver", body.dump(), "application/json"),
          &answer))
    return code;
  ctx.out << text(answer.body, "redelivered", "0") << " redelivered\n";
  return kExitOk;
}

}  // namespace keel::cli
