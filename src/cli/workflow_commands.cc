// `keel validate` (offline) and `keel apply`.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/text.h"
#include "spec/parser.h"
#include "spec/subscription.h"

namespace keel::cli {
namespace {

namespace field = api::field;

Result<std::string> readWholeFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return Error(ErrorCode::kIo, "cannot read " + path + ": it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kIo, "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error(ErrorCode::kIo, "cannot read " + path + ": read error");
  return text.str();
}

std::filesystem::path absolutePath(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : abs).lexically_normal();
}

// One file: 0 valid, kExitDataErr invalid, kExitNoInput unreadable.
int validateOne(const Context& ctx, const std::string& path, bool explain) {
  auto text = readWholeFile(path);
  if (!text.ok()) {
    ctx.out << path << ": " << text.error().message() << '\n';
    return kExitNoInput;
  }
  spec::ParseOptions options;
  options.fileName = path;
  options.defaultWorkdir = absolutePath(path).parent_path().string();
  auto kind = spec::documentKind(*text, path);
  if (kind.ok() && *kind == spec::DocumentKind::kSubscription) {
    auto sub = spec::parseSubscription(*text, options);
    if (sub.ok()) {
      ctx.out << path << ": ok (subscription " << sub->name << ", topic " << sub->topic << ")\n";
      return kExitOk;
    }
    kind = sub.error();
  }
  if (!kind.ok()) {
    if (kind.error().details().empty()) ctx.out << path << ": " << kind.error().message() << '\n';
    for (const auto& detail : kind.error().details()) ctx.out << detail << '\n';
    return kExitUsage;
  }
  auto parsed = spec::parseWorkflow(*text, options);
  if (!parsed.ok()) {
    const auto& error = parsed.error();
    if (error.details().empty()) ctx.out << path << ": " << error.message() << '\n';
    for (const auto& detail : error.details()) ctx.out << detail << '\n';
    return kExitDataErr;
  }
  const auto& spec = **parsed;
  // Exactly what `keel apply` refuses and warns about.
  auto runnable = spec::checkRunnable(spec, path);
  for (const auto& w : runnable.warnings) ctx.err << "warning: " << w << '\n';
  if (!runnable.problems.empty()) {
    for (const auto& problem : runnable.problems) ctx.out << problem << '\n';
    // The file itself is valid: show what it says, so that a step this
    // version cannot run (an http step) can be reviewed before it can go live.
    if (explain) ctx.out << spec::explainWorkflow(spec);
    return kExitDataErr;
  }
  ctx.out << path << ": ok (workflow " << spec.name << ", " << spec.steps.size()
          << (spec.steps.size() == 1 ? " step)" : " steps)") << '\n';
  if (explain) ctx.out << spec::explainWorkflow(spec);
  return kExitOk;
}

}  // namespace

int validateCommand(const Context& ctx, const ValidateArgs& args) {
  int worst = kExitOk;
  for (const auto& file : args.files) worst = std::max(worst, validateOne(ctx, file, args.explain));
  return worst;
}

int applyCommand(const Context& ctx, const std::vector<std::string>& files) {
  int worst = kExitOk;
  for (const auto& file : files) {
    auto content = readWholeFile(file);
    if (!content.ok()) {
      ctx.err << "keel apply: " << content.error().message() << '\n';
      worst = std::max(worst, kExitNoInput);
      continue;
    }
    // The server uses the path in error positions and, for a spec without
    // `workdir:`, runs commands from the file's directory.
    HeaderList headers{{"X-Keel-Source", absolutePath(file).string()}};
    ApiResponse answer;
    int code = checkAnswer(
        ctx, ctx.api->post("/api/v1/workflows", *content, "application/yaml", headers), &answer);
    if (code == kExitUnreachable) return code;
    if (code != kExitOk) {
      worst = std::max(worst, code);
      continue;
    }
    const auto& body = answer.body;
    const auto& warnings = member(body, field::kWarnings);
    if (warnings.is_array())
      for (const auto& w : warnings)
        ctx.err << "warning: " << (w.is_string() ? w.get<std::string>() : w.dump()) << '\n';
    bool changed = member(body, field::kChanged) == true;
    ctx.out << (changed ? "applied " : "unchanged ") << text(body, field::kName) << " version "
            << text(body, field::kVersion) << '\n';
  }
  return worst;
}

}  // namespace keel::cli
