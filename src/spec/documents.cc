// splitDocuments(): a YAML file cut at its document markers.
#include "spec/documents.h"

namespace keel::spec {
namespace {

// `---` or `...` at column 0 followed by a space, a tab, a line break or
// the end of the text. `line` excludes its '\n'.
bool isMarker(std::string_view line, std::string_view marker) {
  if (line.substr(0, 3) != marker) return false;
  if (line.size() == 3) return true;
  char next = line[3];
  return next == ' ' || next == '\t' || next == '\r';
}

// A line that holds no content of a document: blank, a comment or a
// directive (`%YAML 1.2`).
bool isFiller(std::string_view line) {
  size_t i = line.find_first_not_of(" \t\r");
  return i == std::string_view::npos || line[i] == '#' || (i == 0 && line[0] == '%');
}

}  // namespace

std::vector<YamlDocument> splitDocuments(std::string_view text) {
  std::vector<YamlDocument> docs;
  // The chunk being collected: [start, pos) of `text`, from line startLine.
  size_t start = 0;
  int startLine = 1;
  bool hasContent = false;  // the chunk holds more than filler
  bool hasMarker = false;   // the chunk started with `---`
  auto close = [&](size_t end) {
    if (hasContent)
      docs.push_back(YamlDocument{std::string(text.substr(start, end - start)), startLine});
  };
  size_t pos = 0;
  int lineNo = 1;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view line =
        text.substr(pos, (eol == std::string_view::npos ? text.size() : eol) - pos);
    if (isMarker(line, "---")) {
      // A chunk of filler only is the head of this document, unless it
      // started with a `---` of its own (an empty document, dropped); a
      // chunk with content is a document of its own.
      if (hasContent || hasMarker) {
        close(pos);
        start = pos;
        startLine = lineNo;
        hasContent = false;
      }
      hasMarker = true;
      // Content on the marker line itself (`--- {name: x}`) counts.
      if (!isFiller(line.substr(3))) hasContent = true;
    } else if (isMarker(line, "...")) {
      close(pos);
      start = next;
      startLine = lineNo + 1;
      hasContent = false;
      hasMarker = false;
    } else if (!isFiller(line)) {
      hasContent = true;
    }
    pos = next;
    ++lineNo;
  }
  // A trailing chunk of filler, or an empty `---`, is dropped.
  close(text.size());
  // One document (or none): the whole text, exactly as a single-workflow
  // file has always been read and stored.
  if (docs.size() <= 1) return {YamlDocument{std::string(text), 1}};
  return docs;
}

}  // namespace keel::spec
