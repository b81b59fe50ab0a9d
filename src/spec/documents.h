// Splitting a YAML file into its documents.
//
// A workflow file may hold several workflows, one per YAML document,
// separated by `---` lines. splitDocuments() cuts the text at document
// markers without parsing it, so that each document keeps its exact source
// text (stored as the workflow's version) and the line it starts on (so that
// "FILE:LINE:COL" positions point into the file, see ParseOptions::firstLine).
//
// A marker is `---` or `...` at column 0, followed by a space, a tab, a line
// break or the end of the text (YAML 1.2: such a line can never be part of a
// scalar, so a `---` inside a `run: |` block, which is indented, is not one).
// `---` starts a document: the marker line belongs to the document it starts
// (`--- # comment` and `--- !tag` stay the parser's business). `...` ends
// one: the `...` line belongs to no document. Text holding nothing but blank
// lines, comments and `%` directives is not a document: before a `---` it is
// kept as the start of the document that follows (so a file's header comment
// is stored with its first workflow), after the last document it is dropped,
// and so is an empty document (`---` followed by filler only). A text with
// at most one document gives one document holding the whole text, from line
// 1: a single-workflow file is read and stored exactly as before, and an
// empty one is refused by the parser with its usual message.
//
// Pure function, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keel::spec {

struct YamlDocument {
  std::string text;   // the document's lines, exactly as in the file
  int firstLine = 1;  // the file's line (from 1) where `text` starts
};

std::vector<YamlDocument> splitDocuments(std::string_view text);

}  // namespace keel::spec
