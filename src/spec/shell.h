// Shell text: quoting a value so /bin/sh reads it as one word, and finding
// the templates of a `run:` command that sit where such a word would not be
// read as written.
//
// keel renders every {{ ... }} of a `run:` command as a single-quoted word
// (shellQuote), so a param or a step output is data, never code (G13). That
// is only true where the shell reads a quoted word as a word: at the top
// level of the command or of a $( ... ) written there. misquotedTemplates()
// finds every template that is elsewhere (inside quotes, backticks, ${...},
// a comment or a here-document, or right after a backslash or a '$'); the
// parser refuses a workflow that has one. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace keel::spec {

// `value` as one POSIX shell word: in single quotes, each ' written as '\''
// ("it's" -> 'it'\''s', "" -> ''). Every byte but ' stands for itself inside
// single quotes, so the word is exactly `value`.
std::string shellQuote(std::string_view value);

struct MisquotedTemplate {
  size_t offset = 0;  // of the "{{" in the command
  std::string expr;   // as written between the braces, trimmed: "params.who"
  std::string where;  // "inside double quotes", "inside a comment", ...
  std::string fix;    // what to write instead, one sentence
};

// The templates of `command` that are not at the top level of the shell
// text, in order; empty when every template is fine. The rules (documented
// in docs/workflows.md, "Templates in run:"):
//  - '...' and "..." are quotes; in "...", a backslash escapes the next
//    character and $( ... ), `...` and ${...} nest;
//  - `...` and ${...} count as quotes wherever they are;
//  - $( ... ) at the top level is a new command: its own top level;
//  - '#' at the start of a word starts a comment, to the end of the line;
//  - after '<<' (not '<<<'), the lines after the current one up to the
//    delimiter line are a here-document;
//  - a template right after a backslash or a '$' is refused;
//  - after "$'", which shells read differently (bash: a quote with
//    backslash escapes; dash: '$' then a quote), every later template is
//    refused, since keel cannot tell how /bin/sh will read it.
// A "{{" without its "}}" is left to templateRefs() to report.
std::vector<MisquotedTemplate> misquotedTemplates(std::string_view command);

}  // namespace keel::spec
