// parseWorkflow(): YAML text in, a validated WorkflowSpec or every problem out.
#include "spec/parser.h"

#include <algorithm>
#include <optional>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "spec/parse_state.h"
#include "spec/yaml_read.h"

namespace keel::spec {
namespace {

// Notes where a document's first node starts.
class FirstMark final : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> first;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    note(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnMapEnd() override {}

 private:
  void note(const YAML::Mark& m) {
    if (!first) first = m;
  }
};

struct DocumentScan {
  int documents = 0;
  SourcePos secondAt;               // where the second document starts
  std::optional<YAML::Mark> stuck;  // where the parser stopped making progress
};

// Counts the documents in the text. yaml-cpp's LoadAll loops forever on some
// malformed input (a stray ',' at the top level): the parser keeps handing
// out empty documents without consuming anything. Here a document that
// starts where the previous one started ends the scan as a syntax error.
DocumentScan scanDocuments(const std::string& text) {
  constexpr int kMaxDocuments = 1000;  // a safety net; real files have one
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentScan scan;
  std::optional<YAML::Mark> previous;
  for (int i = 0; i < kMaxDocuments; ++i) {
    FirstMark probe;
    if (!parser.HandleNextDocument(probe)) break;
    if (probe.first && previous && probe.first->pos == previous->pos) {
      scan.stuck = probe.first;
      break;
    }
    previous = probe.first;
    if (++scan.documents == 2 && probe.first)
      scan.secondAt = SourcePos{probe.first->line + 1, probe.first->column + 1};
  }
  return scan;
}

SourcePos toPos(const YAML::Mark& m) {
  return m.is_null() ? SourcePos{} : SourcePos{m.line + 1, m.column + 1};
}

// Loads the text and hands the first document to the readers. yaml-cpp
// reports syntax errors by throwing; they become diagnostics here.
void parseInto(std::string_view yaml, detail::ParseState& st) {
  try {
    std::string text(yaml);
    DocumentScan scan = scanDocuments(text);
    if (scan.stuck) {
      size_t at = static_cast<size_t>(std::max(0, scan.stuck->pos));
      std::string what = at < text.size() ? std::string("'") + text[at] + "'" : "content";
      st.diag.add(toPos(*scan.stuck), "YAML syntax error: unexpected " + what);
      return;
    }
    if (scan.documents > 1)
      st.diag.add(scan.secondAt, "expected one YAML document, found " +
                                     std::to_string(scan.documents) +
                                     " (remove the '---' separators)");
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) {
      st.diag.add({1, 1}, "the workflow is empty (expected name, owner, runbook and steps)");
      return;
    }
    if (!root.IsMap()) {
      st.diag.add(detail::posOf(root),
                  "expected a mapping with name, owner, runbook and steps at the top, got " +
                      detail::describe(root));
      return;
    }
    detail::readWorkflow(root, st);
    detail::checkGraph(st);
  } catch (const YAML::Exception& e) {
    st.diag.add(toPos(e.mark), "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    // Nothing above should throw anything else; if it does, the input is
    // refused with the reason rather than taking the caller down.
    st.diag.add({1, 1}, std::string("could not read the workflow: ") + e.what());
  } catch (...) {
    st.diag.add({1, 1}, "could not read the workflow: unknown error");
  }
}

}  // namespace

Result<std::shared_ptr<const WorkflowSpec>> parseWorkflow(std::string_view yaml,
                                                          const ParseOptions& options) {
  if (yaml.size() > kMaxWorkflowBytes)
    return Error(ErrorCode::kTooLarge,
                 "workflow " + options.fileName + " is too large: " + std::to_string(yaml.size()) +
                     " bytes (the limit is " + std::to_string(kMaxWorkflowBytes) + " bytes)");
  detail::ParseState st(options);
  st.source = yaml;
  parseInto(yaml, st);
  if (!st.diag.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "workflow " + options.fileName +
                     " is invalid: " + std::to_string(st.diag.count()) + " problem(s)",
                 st.diag.details());
  return std::shared_ptr<const WorkflowSpec>(std::make_shared<WorkflowSpec>(std::move(st.spec)));
}

}  // namespace keel::spec
