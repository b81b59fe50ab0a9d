// parseWorkflow(): YAML text in, a validated WorkflowSpec or every problem out.
#include "spec/parser.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "spec/parse_state.h"
#include "spec/yaml_read.h"

namespace keel::spec {
namespace {

// Thrown by DocumentCheck to stop reading at the first limit passed.
struct LimitPassed {
  YAML::Mark mark;
  std::string message;
};

// Sees one document as a stream of events, before any node is built: notes
// where it starts, and measures it as the readers would see it with every
// alias expanded (values, scalar bytes, depth of lists and mappings). yaml-cpp
// shares an aliased node rather than copying it, but the readers walk each
// use of it, so a small file with nested aliases could make them walk (and
// copy into the spec) billions of values. Passing a limit throws LimitPassed
// from inside yaml-cpp's recursive descent, which also keeps that recursion
// shallow.
class DocumentCheck final : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> first;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    leaf(m, anchor, Size{1, 0, 0});
  }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    if (anchor >= anchors_.size() || !anchors_[anchor])
      throw LimitPassed{m,
                        "an alias refers to the list or mapping that contains it, which "
                        "would repeat it endlessly"};
    leaf(m, 0, *anchors_[anchor]);
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    leaf(m, anchor, Size{1, value.size(), 0});
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(m, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(m, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  // What one node adds once expanded; height counts the levels of lists and
  // mappings it holds (0 for a scalar).
  struct Size {
    uint64_t nodes = 0;
    uint64_t bytes = 0;
    int height = 0;
  };
  struct Open {
    YAML::anchor_t anchor;
    uint64_t nodesBefore;
    uint64_t bytesBefore;
    int depth;    // this node's level, 1 for the top
    int deepest;  // the deepest level reached inside it
  };

  void note(const YAML::Mark& m) {
    if (!first) first = m;
  }

  void add(const YAML::Mark& m, const Size& s) {
    nodes_ += s.nodes;
    bytes_ += s.bytes;
    int depth = static_cast<int>(open_.size()) + s.height;
    if (depth > kMaxWorkflowDepth)
      throw LimitPassed{m, "nesting too deep: more than " + std::to_string(kMaxWorkflowDepth) +
                               " levels of lists and mappings"};
    if (nodes_ > kMaxWorkflowNodes)
      throw LimitPassed{m, "the workflow is too large with its aliases expanded: more than " +
                               std::to_string(kMaxWorkflowNodes) +
                               " values (the limit; an alias counts its anchor's values each "
                               "time it is used)"};
    if (bytes_ > kMaxWorkflowExpandedBytes)
      throw LimitPassed{m, "the workflow is too large with its aliases expanded: more than " +
                               std::to_string(kMaxWorkflowExpandedBytes) +
                               " bytes of text (the limit; an alias counts its anchor's text "
                               "each time it is used)"};
    if (!open_.empty()) open_.back().deepest = std::max(open_.back().deepest, depth);
  }

  void remember(YAML::anchor_t anchor, std::optional<Size> size) {
    if (anchor == 0) return;
    if (anchor >= anchors_.size()) anchors_.resize(anchor + 1);
    anchors_[anchor] = size;
  }

  void leaf(const YAML::Mark& m, YAML::anchor_t anchor, const Size& s) {
    note(m);
    add(m, s);
    remember(anchor, s);
  }

  void open(const YAML::Mark& m, YAML::anchor_t anchor) {
    note(m);
    add(m, Size{1, 0, 1});
    int depth = static_cast<int>(open_.size()) + 1;
    open_.push_back(Open{anchor, nodes_ - 1, bytes_, depth, depth});
    remember(anchor, std::nullopt);  // open: an alias to it now is endless
  }

  void close() {
    Open o = open_.back();
    open_.pop_back();
    if (!open_.empty()) open_.back().deepest = std::max(open_.back().deepest, o.deepest);
    remember(o.anchor,
             Size{nodes_ - o.nodesBefore, bytes_ - o.bytesBefore, o.deepest - o.depth + 1});
  }

  std::vector<Open> open_;
  std::vector<std::optional<Size>> anchors_;  // by anchor id; nullopt while open
  uint64_t nodes_ = 0;
  uint64_t bytes_ = 0;
};

struct DocumentScan {
  int documents = 0;
  SourcePos secondAt;                // where the second document starts
  std::optional<YAML::Mark> stuck;   // where the parser stopped making progress
  std::optional<LimitPassed> limit;  // the first limit a document passed
};

// Counts the documents in the text and checks each against the limits.
// yaml-cpp's LoadAll loops forever on some malformed input (a stray ',' at
// the top level): the parser keeps handing out empty documents without
// consuming anything. Here a document that starts where the previous one
// started ends the scan as a syntax error.
DocumentScan scanDocuments(const std::string& text) {
  constexpr int kMaxDocuments = 1000;  // a safety net; real files have one
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentScan scan;
  std::optional<YAML::Mark> previous;
  for (int i = 0; i < kMaxDocuments; ++i) {
    DocumentCheck probe;
    try {
      if (!parser.HandleNextDocument(probe)) break;
    } catch (LimitPassed& passed) {
      scan.limit = std::move(passed);
      break;
    }
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
    if (scan.limit) {  // refused before any node is built
      st.diag.add(toPos(scan.limit->mark), scan.limit->message);
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
  // A document that starts further down its file is read behind as many
  // empty lines, so that every position (the parser's, yaml-cpp's, those
  // kept in the spec for later checks) is the file's own.
  std::string padded;
  if (options.firstLine > 1 && options.firstLine <= static_cast<int>(kMaxWorkflowBytes)) {
    padded.assign(static_cast<size_t>(options.firstLine - 1), '\n');
    padded.append(yaml);
    yaml = padded;
  }
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
