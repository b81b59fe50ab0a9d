// `keel tasks`: the queued and leased tasks of `task:` steps.
#include <chrono>

#include "api/task_codec.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {

namespace taskfield = api::taskfield;

int tasksCommand(const Context& ctx, const TasksArgs& args) {
  std::string path = "/api/v1/tasks";
  if (!args.queue.empty()) path += "?queue=" + urlEncode(args.queue);
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get(path), &answer)) return code;
  if (args.json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  const int64_t nowMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  Table table({"ID", "QUEUE", "WORKFLOW", "STEP", "ATTEMPT", "STATE", "WORKER", "LEASE"});
  const auto& tasks = member(answer.body, taskfield::kTasks);
  for (const auto& t : tasks.is_array() ? tasks : nlohmann::json::array()) {
    table.addRow({text(t, taskfield::kId), text(t, taskfield::kQueue, "-"),
                  text(t, taskfield::kWorkflow, "-"), text(t, taskfield::kStep),
                  text(t, taskfield::kAttempt), text(t, taskfield::kState),
                  text(t, taskfield::kWorker, "-"),
                  leaseText(member(t, taskfield::kLeaseExpiresAt), nowMs)});
  }
  table.print(ctx.out);
  if (table.rows() == 1)
    ctx.err << (args.queue.empty() ? std::string("(no tasks)")
                                   : "(no tasks in queue " + args.queue + ")")
            << '\n';
  return kExitOk;
}

}  // namespace keel::cli
