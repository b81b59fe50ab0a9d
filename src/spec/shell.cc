// shellQuote() and the quoting-state scanner behind misquotedTemplates().
#include "spec/shell.h"

#include <optional>

namespace keel::spec {

std::string shellQuote(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out += '\'';
  for (char c : value) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

namespace {

// What the shell is reading at a point of the command. kTop and kCmdSub are
// where a quoted word is read as a word; every other frame is "quoted".
enum class Frame { kTop, kCmdSub, kSingle, kDouble, kBacktick, kBrace };

struct FrameState {
  Frame kind;
  int parens = 0;  // kCmdSub: unquoted '(' not yet closed inside it
};

struct HereDoc {
  std::string delimiter;
  bool stripTabs = false;  // <<-
};

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\n'; }
bool isOperator(char c) {
  return c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>';
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {}

  std::vector<MisquotedTemplate> run() {
    while (i_ < t_.size()) {
      if (startsTemplate(i_)) {
        if (!onTemplate()) break;
        continue;
      }
      if (afterBackslash_) {
        afterBackslash_ = false;
        escapedAt_ = i_;
        ++i_;
        continue;
      }
      step();
    }
    return std::move(found_);
  }

 private:
  bool startsTemplate(size_t at) const { return t_.substr(at, 2) == "{{"; }
  Frame top() const { return stack_.back().kind; }
  bool atCommandLevel() const { return top() == Frame::kTop || top() == Frame::kCmdSub; }

  // Records the template at i_ if it is misquoted and moves past it; false
  // when it has no closing braces (templateRefs() reports that).
  bool onTemplate() {
    size_t close = t_.find("}}", i_ + 2);
    if (close == std::string_view::npos) return false;
    std::string expr(trimmed(t_.substr(i_ + 2, close - i_ - 2)));
    auto [where, fix] = problemAt(expr);
    if (!where.empty()) found_.push_back(MisquotedTemplate{i_, expr, where, fix});
    afterBackslash_ = false;
    i_ = close + 2;
    return true;
  }

  std::pair<std::string, std::string> problemAt(const std::string& expr) const {
    std::string t = "{{ " + expr + " }}";
    for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) {
      switch (it->kind) {
        case Frame::kSingle:
        case Frame::kDouble:
          return {it->kind == Frame::kSingle ? "inside single quotes" : "inside double quotes",
                  "write " + t + " without quotes: keel quotes every value for the shell"};
        case Frame::kBacktick:
          return {"inside backticks",
                  "use $( ... ) instead of backticks, with " + t + " unquoted inside"};
        case Frame::kBrace:
          return {"inside ${...}",
                  "set a variable first (v=" + t + ") and use \"${v...}\" instead"};
        default:
          break;
      }
    }
    if (afterBackslash_) return {"right after a backslash", "remove the backslash"};
    if (i_ > 0 && t_[i_ - 1] == '$') return {"right after a '$'", "remove the '$'"};
    if (dollarQuote_)
      return {"after $'...' quoting, which shells read differently",
              "use '...' instead of $'...' in this command"};
    return {};
  }

  // One character (or operator) outside a template.
  void step() {
    char c = t_[i_];
    if (c == '\\' && top() != Frame::kSingle) {
      afterBackslash_ = true;
      ++i_;
      return;
    }
    switch (top()) {
      case Frame::kSingle:
        if (c == '\'') stack_.pop_back();
        ++i_;
        return;
      case Frame::kBacktick:
        if (c == '`') stack_.pop_back();
        ++i_;
        return;
      case Frame::kDouble:
        if (c == '"') {
          stack_.pop_back();
          ++i_;
          return;
        }
        if (c == '`' || c == '$') {
          openExpansion();
          return;
        }
        ++i_;
        return;
      case Frame::kBrace:
        if (c == '}') {
          stack_.pop_back();
          ++i_;
          return;
        }
        if (!openQuote()) ++i_;
        return;
      default:
        commandLevel(c);
    }
  }

  // $( ${ ` at i_; anything else is one ordinary character.
  void openExpansion() {
    char c = t_[i_];
    if (c == '`') {
      stack_.push_back({Frame::kBacktick});
      ++i_;
    } else if (t_.substr(i_, 2) == "$(") {
      stack_.push_back({Frame::kCmdSub});
      i_ += 2;
    } else if (t_.substr(i_, 2) == "${" && !startsTemplate(i_ + 1)) {
      stack_.push_back({Frame::kBrace});
      i_ += 2;
    } else {
      ++i_;
    }
  }

  // Quotes and expansions that open where words are read; false if c opens none.
  bool openQuote() {
    char c = t_[i_];
    if (c == '\'') {
      stack_.push_back({Frame::kSingle});
      ++i_;
      return true;
    }
    if (c == '"') {
      stack_.push_back({Frame::kDouble});
      ++i_;
      return true;
    }
    if (t_.substr(i_, 2) == "$'") {
      dollarQuote_ = true;  // from here on keel cannot tell what is quoted
      stack_.push_back({Frame::kSingle});
      i_ += 2;
      return true;
    }
    if (c == '`' || t_.substr(i_, 2) == "$(" ||
        (t_.substr(i_, 2) == "${" && !startsTemplate(i_ + 1))) {
      openExpansion();
      return true;
    }
    return false;
  }

  void commandLevel(char c) {
    if (openQuote()) return;
    bool wordStart =
        i_ == 0 || ((isBlank(t_[i_ - 1]) || isOperator(t_[i_ - 1])) && escapedAt_ != i_ - 1);
    if (c == '#' && wordStart) {
      skipComment();
      return;
    }
    if (t_.substr(i_, 3) == "<<<") {
      i_ += 3;
      return;
    }
    if (t_.substr(i_, 2) == "<<") {
      readHereDocOperator();
      return;
    }
    if (top() == Frame::kCmdSub) {
      FrameState& f = stack_.back();
      if (c == '(') ++f.parens;
      if (c == ')' && f.parens-- == 0) stack_.pop_back();
    }
    ++i_;
    if (c == '\n' && !hereDocs_.empty()) readHereDocBodies();
  }

  void skipComment() {
    while (i_ < t_.size() && t_[i_] != '\n') {
      if (startsTemplate(i_)) {
        size_t close = t_.find("}}", i_ + 2);
        if (close == std::string_view::npos) {
          i_ = t_.size();
          return;
        }
        std::string expr(trimmed(t_.substr(i_ + 2, close - i_ - 2)));
        found_.push_back(MisquotedTemplate{
            i_, expr, "inside a comment",
            "take it out of the comment: a newline in the value would end the comment"});
        i_ = close + 2;
        continue;
      }
      ++i_;
    }
  }

  // "<<" or "<<-", blanks, then the delimiter word (its quotes removed).
  void readHereDocOperator() {
    i_ += 2;
    HereDoc doc;
    if (i_ < t_.size() && t_[i_] == '-') {
      doc.stripTabs = true;
      ++i_;
    }
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t')) ++i_;
    while (i_ < t_.size() && !isBlank(t_[i_]) && !isOperator(t_[i_])) {
      if (startsTemplate(i_)) {
        recordHereDocTemplate("in a here-document delimiter");
        continue;
      }
      char c = t_[i_++];
      if (c == '\'' || c == '"') {
        size_t end = t_.find(c, i_);
        if (end == std::string_view::npos) end = t_.size();
        doc.delimiter += t_.substr(i_, end - i_);
        i_ = end == t_.size() ? end : end + 1;
      } else if (c == '\\') {
        if (i_ < t_.size()) doc.delimiter += t_[i_++];
      } else {
        doc.delimiter += c;
      }
    }
    hereDocs_.push_back(std::move(doc));
  }

  void recordHereDocTemplate(const std::string& where) {
    size_t close = t_.find("}}", i_ + 2);
    size_t end = close == std::string_view::npos ? t_.size() : close + 2;
    if (close != std::string_view::npos) {
      std::string expr(trimmed(t_.substr(i_ + 2, close - i_ - 2)));
      found_.push_back(MisquotedTemplate{
          i_, expr, where,
          "use printf '%s\\n' {{ " + expr + " }} (or its environment variable) instead"});
    }
    i_ = end;
  }

  // i_ is at the start of the line after a command line with "<<": each
  // pending here-document's body runs up to its delimiter line.
  void readHereDocBodies() {
    for (const HereDoc& doc : hereDocs_) {
      while (i_ < t_.size()) {
        size_t eol = t_.find('\n', i_);
        if (eol == std::string_view::npos) eol = t_.size();
        std::string_view line = t_.substr(i_, eol - i_);
        if (doc.stripTabs)
          while (!line.empty() && line.front() == '\t') line.remove_prefix(1);
        if (line == doc.delimiter) {
          i_ = eol == t_.size() ? eol : eol + 1;
          break;
        }
        while (i_ < eol) {
          if (startsTemplate(i_))
            recordHereDocTemplate("inside a here-document");
          else
            ++i_;
        }
        i_ = eol == t_.size() ? eol : eol + 1;
      }
    }
    hereDocs_.clear();
  }

  std::string_view t_;
  size_t i_ = 0;
  std::vector<FrameState> stack_{{Frame::kTop}};
  bool afterBackslash_ = false;
  size_t escapedAt_ = std::string_view::npos;  // the last character a backslash escaped
  bool dollarQuote_ = false;
  std::vector<HereDoc> hereDocs_;
  std::vector<MisquotedTemplate> found_;
};

}  // namespace

std::vector<MisquotedTemplate> misquotedTemplates(std::string_view command) {
  return Scanner(command).run();
}

}  // namespace keel::spec
