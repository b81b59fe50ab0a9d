// ProcessRunner: `run:` steps as processes (see step_runner.h).
#include <filesystem>

#include "engine/step_runner.h"
#include "observe/trace_context.h"
#include "spec/parser.h"
#include "spec/template.h"

namespace keel::engine {
namespace {

using nlohmann::json;

struct ProcessAttempt final : PreparedAttempt {
  exec::StepRequest request;
};

}  // namespace

Result<std::shared_ptr<const PreparedAttempt>> ProcessRunner::prepare(const AttemptInput& in) {
  const auto& spec = *in.step;
  spec::TemplateContext ctx;
  ctx.params = in.params;
  ctx.stepOutputs = in.outputs;
  ctx.runId = in.runId;
  ctx.workflow = in.workflow;

  auto attempt = std::make_shared<ProcessAttempt>();
  exec::StepRequest& req = attempt->request;
  req.runId = in.runId;
  req.step = spec.name;
  req.attempt = in.attempt;
  req.killGrace = spec.killGrace;
  req.timeout = in.timeout;  // the supervisor's own deadline
  req.logCapBytes = options_.logCapBytes;
  req.outputCapBytes = options_.outputCapBytes;
  // Every value in the command is one quoted shell word (G13); the working
  // directory and environment values are not shell text.
  auto command = spec::renderTemplate(spec.run, ctx, spec::Escape::kShell);
  if (!command.ok()) return Error(ErrorCode::kInvalidArgument, "run: " + command.error().message());
  req.command = std::move(*command);
  auto workdir = spec::renderTemplate(spec.workdir, ctx);
  if (!workdir.ok())
    return Error(ErrorCode::kInvalidArgument, "workdir: " + workdir.error().message());
  std::filesystem::path dir(*workdir);
  if (dir.is_relative()) {
    std::filesystem::path base =
        in.workflowSpec->workdir.empty() ? options_.defaultWorkdir : in.workflowSpec->workdir;
    dir = base / dir;
  }
  req.workdir = dir.lexically_normal().string();
  for (const auto& [k, v] : spec.env) {
    auto value = spec::renderTemplate(v, ctx);
    if (!value.ok())
      return Error(ErrorCode::kInvalidArgument, "env " + k + ": " + value.error().message());
    req.env[k] = std::move(*value);
  }
  req.passEnv = spec.passEnv;
  for (const auto& [k, v] : in.params->items()) {
    std::string value = v.is_string() ? v.get<std::string>() : v.dump();
    // Checked at trigger time; a run stored by an older keel may predate that.
    if (auto st = spec::checkParamValue(k, value); !st.ok()) return st.error();
    req.env[spec::paramEnvName(k)] = std::move(value);
  }
  // As JSON: the dump escapes control characters, so no NUL reaches the environment.
  for (const auto& [name, output] : *in.outputs)
    req.env[spec::stepOutputEnvName(name)] =
        output.dump(-1, ' ', false, json::error_handler_t::replace);
  req.env["KEEL_RUN_ID"] = in.runId;
  req.env["KEEL_WORKFLOW"] = in.workflow;
  req.env["KEEL_STEP"] = spec.name;
  req.env["KEEL_ATTEMPT"] = std::to_string(in.attempt);
  // Stable across every attempt of the step, so an external effect keyed
  // by it happens once however often the step is retried.
  req.env["KEEL_IDEMPOTENCY_KEY"] = in.runId + "/" + spec.name;
  // The run's W3C trace with this attempt as the parent span, so what the
  // step calls joins the trace; and the API request that created the run
  // (empty for runs keel started itself).
  req.env["TRACEPARENT"] = observe::formatTraceparent(
      observe::runTraceId(in.traceId, in.runId),
      in.spanId.empty() ? observe::attemptSpanId(in.runId, spec.name, in.attempt) : in.spanId);
  req.env["KEEL_REQUEST_ID"] = in.requestId;
  return std::shared_ptr<const PreparedAttempt>(std::move(attempt));
}

StepRunner::Handle ProcessRunner::start(std::shared_ptr<const PreparedAttempt> attempt, Done done) {
  const auto& process = static_cast<const ProcessAttempt&>(*attempt);
  return executor_.start(process.request, std::move(done));
}

}  // namespace keel::engine
