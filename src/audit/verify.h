// verify(): walks an audit chain and reports the first entry that breaks
// it. Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audit/entry.h"

namespace keel::audit {

// What is wrong at the first broken place, named for an operator.
enum class Breach {
  kNone,
  kEdited,     // an entry's hash does not match its content
  kDeleted,    // a seq is missing (the next one is higher than expected)
  kInserted,   // a seq appears again, or is lower than expected
  kBrokenLink  // prevHash is not the previous entry's hash (reordered or
               // replaced)
};
const char* toString(Breach b);

struct VerifyReport {
  Breach breach = Breach::kNone;
  int64_t entries = 0;  // how many were read
  Head head;            // the last entry's seq and hash (as stored)
  int64_t badSeq = 0;   // the seq of the first entry found wrong (0: none)
  std::string problem;  // one sentence, empty when intact

  bool intact() const { return breach == Breach::kNone; }
};

// `entries` in the order the store keeps them (by seq). The first entry
// must be seq 1 with kGenesisHash as its prevHash; each next one seq + 1,
// linked to the previous hash, with a hash that matches its content.
VerifyReport verify(const std::vector<Entry>& entries);

// The same, an entry at a time, for a chain read in pages: add() each
// entry in order; false once the chain is broken (the report says where;
// later entries are not looked at).
class Verifier {
 public:
  bool add(const Entry& e);
  const VerifyReport& report() const { return report_; }

 private:
  VerifyReport report_;
};

}  // namespace keel::audit
