// Table: the aligned, plain-text tables of the CLI's human output.
//
//   ID        STATE      REASON
//   01KA...   succeeded  -
//
// Columns are left-aligned and separated by two spaces; widths count UTF-8
// characters, not bytes; the last column is not padded. Control characters
// in cells (a newline in a reason) are shown as spaces so a row stays one
// line. Not thread-safe; build one per output.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace keel::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // Short rows are padded with empty cells; extra cells are kept.
  void addRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  void print(std::ostream& out) const;
  std::string str() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // the headers first
};

}  // namespace keel::cli
