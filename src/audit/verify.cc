#include "audit/verify.h"

#include <fmt/format.h>

namespace keel::audit {

const char* toString(Breach b) {
  switch (b) {
    case Breach::kNone:
      return "intact";
    case Breach::kEdited:
      return "edited";
    case Breach::kDeleted:
      return "deleted";
    case Breach::kInserted:
      return "inserted";
    case Breach::kBrokenLink:
      return "broken_link";
  }
  return "unknown";
}

namespace {

bool broken(VerifyReport& r, Breach b, int64_t seq, std::string problem) {
  r.breach = b;
  r.badSeq = seq;
  r.problem = std::move(problem);
  return false;
}

}  // namespace

VerifyReport verify(const std::vector<Entry>& entries) {
  Verifier v;
  for (const Entry& e : entries)
    if (!v.add(e)) break;
  return v.report();
}

bool Verifier::add(const Entry& e) {
  VerifyReport& r = report_;
  if (!r.intact()) return false;
  const Head prev = r.head;
  ++r.entries;
  int64_t expected = prev.seq + 1;
  if (e.seq > expected) {
    return broken(r, Breach::kDeleted, expected,
                  fmt::format("entry {} is missing (after seq {} comes seq {}): deleted", expected,
                              prev.seq, e.seq));
  }
  if (e.seq < expected) {
    return broken(
        r, Breach::kInserted, e.seq,
        fmt::format("seq {} appears after seq {}: inserted or reordered", e.seq, prev.seq));
  }
  if (e.prevHash != prev.hash) {
    return broken(r, Breach::kBrokenLink, e.seq,
                  fmt::format("entry {} does not follow entry {} (its previous hash {} is not "
                              "{}): inserted, replaced or reordered",
                              e.seq, prev.seq, e.prevHash, prev.hash));
  }
  if (computeHash(e) != e.hash) {
    return broken(
        r, Breach::kEdited, e.seq,
        fmt::format("entry {} was edited (its content does not match its hash {})", e.seq, e.hash));
  }
  r.head = Head{e.seq, e.hash};
  return true;
}

}  // namespace keel::audit
