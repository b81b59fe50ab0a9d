// `keel subscriptions` and `keel events dead|redeliver`: the webhook
// subscriptions, the deliveries that ran out of attempts, and putting them
// back in line.
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {

int subscriptionsCommand(const Context& ctx, bool json) {
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/subscriptions"), &answer)) return code;
  if (json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  Table table({"NAME", "VER", "TOPIC", "URL", "CREATED"});
  const auto& rows = member(answer.body, "subscriptions");
  for (const auto& s : rows.is_array() ? rows : nlohmann::json::array())
    table.addRow({text(s, "name"), text(s, "version"), text(s, "topic"), text(s, "url"),
                  shortTime(member(s, "created_at"))});
  table.print(ctx.out);
  if (table.rows() == 1) ctx.err << "(no subscriptions)\n";
  return kExitOk;
}

int eventsDeadCommand(const Context& ctx, bool json) {
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/events/dead"), &answer)) return code;
  if (json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  Table table({"SUBSCRIPTION", "EVENT", "TOPIC", "ATTEMPTS", "LAST", "WHEN"});
  const auto& rows = member(answer.body, "dead");
  for (const auto& d : rows.is_array() ? rows : nlohmann::json::array()) {
    // LAST: the receiver's last HTTP status, else why no status came back.
    std::string last = text(d, "last_status");
    if (last.empty() || last == "0") last = text(d, "last_error", "-");
    table.addRow({text(d, "subscription"), text(d, "event_id"), text(d, "topic"),
                  text(d, "attempts"), last.empty() ? "-" : last, shortTime(member(d, "dead_at"))});
  }
  table.print(ctx.out);
  if (table.rows() == 1) ctx.err << "(no dead deliveries)\n";
  return kExitOk;
}

int eventsRedeliverCommand(const Context& ctx, const RedeliverArgs& args) {
  if (args.eventId.empty() == args.topic.empty()) {
    ctx.err << "keel events redeliver: give either an EVENT_ID or --topic TOPIC\n";
    return kExitUsage;
  }
  nlohmann::json body = args.eventId.empty() ? nlohmann::json{{"topic", args.topic}}
                                             : nlohmann::json{{"id", args.eventId}};
  if (!args.reason.empty()) body["reason"] = args.reason;
  ApiResponse answer;
  if (int code = checkAnswer(
          ctx, ctx.api->post("/api/v1/events/dead/redeliver", body.dump(), "application/json"),
          &answer))
    return code;
  ctx.out << text(answer.body, "redelivered", "0") << " redelivered\n";
  return kExitOk;
}

}  // namespace keel::cli
