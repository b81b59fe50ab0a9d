// `keel validate` (offline) and `keel apply`.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/text.h"
#include "spec/channel.h"
#include "spec/documents.h"
#include "spec/parser.h"
#include "spec/slo.h"
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

// One workflow document of a file: 0 valid, kExitDataErr invalid. `where` is "" for a file of
// one document, else "PATH, document I of N (from line L)". The name of a
// valid workflow goes to `name`.
int validateDocument(const Context& ctx, const std::string& path, const spec::YamlDocument& doc,
                     const std::string& where, bool explain, std::string& name) {
  spec::ParseOptions options;
  options.fileName = path;
  options.defaultWorkdir = absolutePath(path).parent_path().string();
  options.firstLine = doc.firstLine;
  auto parsed = spec::parseWorkflow(doc.text, options);
  if (!parsed.ok()) {
    const auto& error = parsed.error();
    if (!where.empty()) ctx.out << where << ": invalid\n";
    if (error.details().empty()) ctx.out << path << ": " << error.message() << '\n';
    for (const auto& detail : error.details()) ctx.out << detail << '\n';
    return kExitDataErr;
  }
  const auto& spec = **parsed;
  name = spec.name;
  // Exactly what `keel apply` refuses and warns about.
  auto runnable = spec::checkRunnable(spec, path);
  for (const auto& w : runnable.warnings) ctx.err << "warning: " << w << '\n';
  if (!runnable.problems.empty()) {
    if (!where.empty()) ctx.out << where << ": cannot go live\n";
    for (const auto& problem : runnable.problems) ctx.out << problem << '\n';
    // The file itself is valid: show what it says, so that a step this
    // version cannot run (an http step) can be reviewed before it can go live.
    if (explain) ctx.out << spec::explainWorkflow(spec);
    return kExitDataErr;
  }
  ctx.out << (where.empty() ? path : where) << ": ok (workflow " << spec.name << ", "
          << spec.steps.size() << (spec.steps.size() == 1 ? " step)" : " steps)") << '\n';
  if (explain)
    ctx.out << spec::explainWorkflow(spec)
            << spec::nextSloDeadlines(spec, std::chrono::system_clock::now());
  return kExitOk;
}

// A file holding one subscription: 0 valid, kExitDataErr invalid.
int validateSubscription(const Context& ctx, const std::string& path, const std::string& text) {
  spec::ParseOptions options;
  options.fileName = path;
  auto sub = spec::parseSubscription(text, options);
  if (sub.ok()) {
    ctx.out << path << ": ok (subscription " << sub->name << ", topic " << sub->topic << ")\n";
    return kExitOk;
  }
  if (sub.error().details().empty()) ctx.out << path << ": " << sub.error().message() << '\n';
  for (const auto& detail : sub.error().details()) ctx.out << detail << '\n';
  return kExitDataErr;
}

int validateChannel(const Context& ctx, const std::string& path, const std::string& text) {
  spec::ParseOptions options;
  options.fileName = path;
  auto channel = spec::parseChannel(text, options);
  if (channel.ok()) {
    ctx.out << path << ": ok (channel " << channel->name << ", " << spec::toString(channel->type)
            << ")\n";
    return kExitOk;
  }
  if (channel.error().details().empty())
    ctx.out << path << ": " << channel.error().message() << '\n';
  for (const auto& detail : channel.error().details()) ctx.out << detail << '\n';
  return kExitDataErr;
}

// One file of one or more workflows, or of one subscription: 0 all valid,
// kExitDataErr any invalid, kExitNoInput unreadable. Every document is
// checked, as `keel apply` does.
int validateOne(const Context& ctx, const std::string& path, bool explain) {
  auto text = readWholeFile(path);
  if (!text.ok()) {
    ctx.out << path << ": " << text.error().message() << '\n';
    return kExitNoInput;
  }
  auto kind = spec::fileKind(*text, path);
  if (!kind.ok()) {
    if (kind.error().details().empty()) ctx.out << kind.error().message() << '\n';
    for (const auto& detail : kind.error().details()) ctx.out << detail << '\n';
    return kExitDataErr;
  }
  if (*kind == spec::DocumentKind::kSubscription) return validateSubscription(ctx, path, *text);
  if (*kind == spec::DocumentKind::kChannel) return validateChannel(ctx, path, *text);
  auto docs = spec::splitDocuments(*text);
  if (docs.size() > 1 && text->size() > spec::kMaxWorkflowBytes) {
    ctx.out << path << ": workflow file is too large: " << text->size() << " bytes (the limit is "
            << spec::kMaxWorkflowBytes << " bytes)\n";
    return kExitDataErr;
  }
  int worst = kExitOk;
  std::map<std::string, size_t> seen;  // workflow name -> document index
  for (size_t i = 0; i < docs.size(); ++i) {
    std::string where;
    if (docs.size() > 1)
      where = path + ", document " + std::to_string(i + 1) + " of " + std::to_string(docs.size()) +
              " (from line " + std::to_string(docs[i].firstLine) + ")";
    std::string name;
    worst = std::max(worst, validateDocument(ctx, path, docs[i], where, explain, name));
    if (name.empty()) continue;
    auto [it, fresh] = seen.emplace(name, i);
    if (!fresh) {
      ctx.out << where << ": workflow '" << name << "' is also document " << it->second + 1
              << " (from line " << docs[it->second].firstLine
              << "); each document of a file must name another workflow\n";
      worst = std::max(worst, kExitDataErr);
    }
  }
  return worst;
}

void printApplied(const Context& ctx, const nlohmann::json& body) {
  const auto& warnings = member(body, field::kWarnings);
  if (warnings.is_array())
    for (const auto& w : warnings)
      ctx.err << "warning: " << (w.is_string() ? w.get<std::string>() : w.dump()) << '\n';
  bool changed = member(body, field::kChanged) == true;
  ctx.out << (changed ? "applied " : "unchanged ") << text(body, field::kName) << " version "
          << text(body, field::kVersion) << '\n';
}

}  // namespace

int validateCommand(const Context& ctx, const ValidateArgs& args) {
  int worst = kExitOk;
  for (const auto& file : args.files) worst = std::max(worst, validateOne(ctx, file, args.explain));
  return worst;
}

int applyCommand(const Context& ctx, const std::vector<std::string>& files,
                 const std::string& reason) {
  const std::string path = reason.empty() ? std::string("/api/v1/workflows")
                                          : "/api/v1/workflows?reason=" + urlEncode(reason);
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
    int code =
        checkAnswer(ctx, ctx.api->post(path, *content, "application/yaml", headers), &answer);
    if (code == kExitUnreachable) return code;
    if (code != kExitOk) {
      worst = std::max(worst, code);
      continue;
    }
    // A file of several workflows answers one entry per document.
    const auto& list = member(answer.body, field::kWorkflows);
    if (list.is_array())
      for (const auto& entry : list) printApplied(ctx, entry);
    else
      printApplied(ctx, answer.body);
  }
  return worst;
}

}  // namespace keel::cli
