// The audit log's entry and its hash chain (G9).
//
// Every mutating action (a trigger through the API, a cancel, an apply, a
// token created...) is recorded as one Entry, written in the same
// transaction as the change it records. Entries form a chain: each one's
// hash is the SHA-256 of its canonical encoding followed by the previous
// entry's hash, so editing, deleting, inserting or reordering any entry
// breaks the chain from there on, which verify() (verify.h) finds.
//
// Pure: no I/O, no clock. Any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"

namespace keel::audit {

// The previous hash of the first entry.
inline constexpr const char* kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct Entry {
  int64_t seq = 0;         // 1, 2, 3... assigned by the writer
  WallTime at;             // recorded to the millisecond (what the store keeps)
  std::string actor;       // RequestContext::actor(); "keel" for keel itself
  std::string action;      // e.g. "run.cancel", "workflow.apply", "token.create"
  std::string target;      // what it acted on: a run id, a workflow, a token name
  std::string reason;      // as the caller gave it; may be empty
  std::string requestId;   // the request's X-Request-Id; may be empty
  std::string detailJson;  // a small JSON object, or empty; never a secret
  std::string prevHash;    // hex SHA-256 of the previous entry (kGenesisHash for seq 1)
  std::string hash;        // hex SHA-256 over canonical(entry) + prevHash

  bool operator==(const Entry&) const = default;
};

// Where the chain ends: the last entry's seq and hash (0 and kGenesisHash
// for an empty log).
struct Head {
  int64_t seq = 0;
  std::string hash = kGenesisHash;

  bool operator==(const Head&) const = default;
};

// The unambiguous encoding of every field but the two hashes: each field
// as "<byte length>:<bytes>\n", in declaration order, the time as unix
// milliseconds. Stable across versions: changing it breaks every chain.
std::string canonical(const Entry& e);

// Hex SHA-256 over canonical(e) followed by e.prevHash.
std::string computeHash(const Entry& e);

// Makes `e` the entry after `head`: sets seq, prevHash and hash (and
// truncates its time to the millisecond, as stored). Returns the new head.
Head seal(Entry& e, const Head& head);

}  // namespace keel::audit
