// Engine::applyWorkflows(): a file of several workflows, all checked before
// any is stored.
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "engine/engine.h"
#include "spec/documents.h"
#include "spec/parser.h"

namespace keel::engine {

std::future<Result<std::vector<ApplyResult>>> Engine::applyWorkflows(std::string text,
                                                                     std::string sourceName,
                                                                     RequestContext who) {
  std::promise<Result<std::vector<ApplyResult>>> reply;
  auto future = reply.get_future();
  auto docs = spec::splitDocuments(text);
  if (docs.size() == 1) {
    auto one = applyWorkflow(std::move(text), std::move(sourceName), std::move(who)).get();
    if (!one.ok())
      reply.set_value(one.error());
    else
      reply.set_value(std::vector<ApplyResult>{std::move(*one)});
    return future;
  }
  if (Status h = health(); !h.ok()) {
    reply.set_value(h.error());
    return future;
  }
  spec::ParseOptions opts = applyOptions(sourceName);
  // The file as a whole is under the one-workflow limit, so that no
  // document is read behind more padding than that (ParseOptions::firstLine).
  if (text.size() > spec::kMaxWorkflowBytes) {
    reply.set_value(Error(ErrorCode::kTooLarge,
                          fmt::format("workflow file {} is too large: {} bytes (the limit is {} "
                                      "bytes)",
                                      opts.fileName, text.size(), spec::kMaxWorkflowBytes)));
    return future;
  }
  const size_t n = docs.size();
  auto refuse = [&](size_t i, const Error& why) {
    reply.set_value(Error(why.code(),
                          fmt::format("{}, document {} of {} (from line {}): {}; nothing from "
                                      "the file was applied",
                                      opts.fileName, i + 1, n, docs[i].firstLine, why.message()),
                          why.details()));
  };
  std::vector<std::shared_ptr<const spec::WorkflowSpec>> specs;
  std::vector<std::vector<std::string>> warnings(n);
  for (size_t i = 0; i < n; ++i) {
    opts.firstLine = docs[i].firstLine;
    auto parsed = spec::parseWorkflow(docs[i].text, opts);
    if (!parsed.ok()) {
      refuse(i, parsed.error());
      return future;
    }
    for (size_t j = 0; j < i; ++j)
      if (specs[j]->name == (*parsed)->name) {
        refuse(i, Error(ErrorCode::kInvalidArgument,
                        fmt::format("workflow '{}' is also document {} (from line {}); each "
                                    "document of a file must name another workflow",
                                    (*parsed)->name, j + 1, docs[j].firstLine)));
        return future;
      }
    auto runnable = spec::checkRunnable(**parsed, opts.fileName);
    if (!runnable.problems.empty()) {
      refuse(i, Error(ErrorCode::kInvalidArgument,
                      fmt::format("workflow {} cannot go live: {} problem(s)", (*parsed)->name,
                                  runnable.problems.size()),
                      runnable.problems));
      return future;
    }
    warnings[i] = std::move(runnable.warnings);
    specs.push_back(*parsed);
  }
  // Checked and stored under one lock: see applyMu_.
  std::lock_guard applying(applyMu_);
  std::vector<const spec::WorkflowSpec*> earlier;
  for (size_t i = 0; i < n; ++i) {
    if (Status chains = checkAfterTriggers(*specs[i], opts.fileName, warnings[i], earlier);
        !chains.ok()) {
      refuse(i, chains.error());
      return future;
    }
    earlier.push_back(specs[i].get());
  }
  std::vector<ApplyResult> results;
  for (size_t i = 0; i < n; ++i) {
    auto stored = storeWorkflow(*specs[i], who, std::move(docs[i].text), opts.defaultWorkdir);
    if (!stored.ok()) {
      // Only the store failing gets here: the documents before this one
      // are stored, the rest are not.
      const auto& e = stored.error();
      reply.set_value(Error(e.code(),
                            fmt::format("{}, document {} of {} (from line {}): {}; {}",
                                        opts.fileName, i + 1, n, docs[i].firstLine, e.message(),
                                        i == 0 ? std::string("nothing from the file was applied")
                                               : fmt::format("documents 1 to {} were applied, "
                                                             "the rest were not",
                                                             i)),
                            e.details()));
      return future;
    }
    stored->warnings = std::move(warnings[i]);
    results.push_back(std::move(*stored));
  }
  reply.set_value(std::move(results));
  return future;
}

}  // namespace keel::engine
