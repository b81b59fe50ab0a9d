#include <algorithm>
#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "audit/entry.h"
#include "audit/record.h"
#include "audit/verify.h"
#include "core/sha256.h"

namespace keel::audit {
namespace {

WallTime at(int64_t ms) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(ms)));
}

// A chain of n sealed entries.
std::vector<Entry> chain(int n) {
  std::vector<Entry> out;
  Head head;
  for (int i = 0; i < n; ++i) {
    Entry e;
    e.at = at(1'767'225'600'000 + i);
    e.actor = "alice";
    e.action = "run.cancel";
    e.target = "run-" + std::to_string(i);
    e.reason = "reason " + std::to_string(i);
    e.requestId = "req-" + std::to_string(i);
    e.detailJson = R"({"run_id":"x"})";
    head = seal(e, head);
    out.push_back(e);
  }
  return out;
}

TEST(AuditEntry, SealLinksEachEntryToThePrevious) {
  auto c = chain(3);
  EXPECT_EQ(c[0].seq, 1);
  EXPECT_EQ(c[0].prevHash, kGenesisHash);
  EXPECT_EQ(c[1].prevHash, c[0].hash);
  EXPECT_EQ(c[2].prevHash, c[1].hash);
  EXPECT_EQ(c[2].hash.size(), 64u);
  EXPECT_EQ(c[2].hash, computeHash(c[2]));
}

TEST(AuditEntry, CanonicalEncodingIsUnambiguous) {
  Entry a;
  a.actor = "ab";
  a.action = "c";
  Entry b;
  b.actor = "a";
  b.action = "bc";
  EXPECT_NE(canonical(a), canonical(b));
  EXPECT_NE(computeHash(a), computeHash(b));
}

TEST(AuditEntry, KnownDigest) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuditEntry, SealTruncatesTheTimeToTheMillisecond) {
  Entry e;
  e.at = at(1000) + std::chrono::microseconds(700);
  seal(e, Head{});
  EXPECT_EQ(e.at, at(1000));
  EXPECT_EQ(e.hash, computeHash(e));
}

TEST(AuditRecord, TakesActorReasonAndRequestIdFromTheRequest) {
  RequestContext who;
  who.token = "ops";
  who.onBehalfOf = "alice";
  who.reason = "stuck";
  who.requestId = "r-1";
  Entry e = record(who, "run.cancel", "RUN", at(5), R"({"run_id":"RUN"})");
  EXPECT_EQ(e.actor, "alice (token ops)");
  EXPECT_EQ(e.reason, "stuck");
  EXPECT_EQ(e.requestId, "r-1");
  EXPECT_EQ(e.action, "run.cancel");
  EXPECT_EQ(e.target, "RUN");
  EXPECT_EQ(record(RequestContext{}, "x", "y", at(5)).actor, kKeelActor);
}

// One row per kind of tampering: what is done to a chain of five, the
// breach verify() must report, and at which seq.
struct Tamper {
  const char* name;
  void (*apply)(std::vector<Entry>&);
  Breach breach;
  int64_t seq;
};

const Tamper kTampering[] = {
    {"edit a reason", [](std::vector<Entry>& c) { c[2].reason = "nothing to see"; },
     Breach::kEdited, 3},
    {"edit an actor", [](std::vector<Entry>& c) { c[0].actor = "mallory"; }, Breach::kEdited, 1},
    {"edit the time", [](std::vector<Entry>& c) { c[4].at += std::chrono::seconds(1); },
     Breach::kEdited, 5},
    {"edit the detail", [](std::vector<Entry>& c) { c[1].detailJson = "{}"; }, Breach::kEdited, 2},
    {"delete one", [](std::vector<Entry>& c) { c.erase(c.begin() + 2); }, Breach::kDeleted, 3},
    {"delete the first", [](std::vector<Entry>& c) { c.erase(c.begin()); }, Breach::kDeleted, 1},
    {"insert a copy", [](std::vector<Entry>& c) { c.insert(c.begin() + 2, c[1]); },
     Breach::kInserted, 2},
    {"swap two entries", [](std::vector<Entry>& c) { std::swap(c[1], c[2]); }, Breach::kDeleted, 2},
    {"swap two entries' seq",
     [](std::vector<Entry>& c) {
       std::swap(c[1].seq, c[2].seq);
       std::swap(c[1], c[2]);  // read back by seq
     },
     Breach::kBrokenLink, 2},
    {"replace one with a resealed entry",
     [](std::vector<Entry>& c) {
       Entry forged = c[2];
       forged.reason = "forged";
       forged.hash = computeHash(forged);
       c[2] = forged;
     },
     Breach::kBrokenLink, 4},
    {"insert a sealed entry and renumber",
     [](std::vector<Entry>& c) {
       Entry extra = c[1];
       extra.seq = 3;
       extra.prevHash = c[1].hash;
       extra.target = "other";
       extra.hash = computeHash(extra);
       c.insert(c.begin() + 2, extra);
       for (size_t i = 3; i < c.size(); ++i) c[i].seq = static_cast<int64_t>(i) + 1;
     },
     Breach::kBrokenLink, 4},
};

TEST(AuditVerify, AnIntactChainIsIntact) {
  auto c = chain(5);
  VerifyReport r = verify(c);
  EXPECT_TRUE(r.intact()) << r.problem;
  EXPECT_EQ(r.entries, 5);
  EXPECT_EQ(r.head.seq, 5);
  EXPECT_EQ(r.head.hash, c[4].hash);
  EXPECT_TRUE(verify({}).intact());
  EXPECT_EQ(verify({}).head, Head{});
}

TEST(AuditVerify, FindsEveryKindOfTampering) {
  for (const Tamper& t : kTampering) {
    auto c = chain(5);
    t.apply(c);
    VerifyReport r = verify(c);
    EXPECT_EQ(r.breach, t.breach) << t.name << ": " << r.problem;
    EXPECT_EQ(r.badSeq, t.seq) << t.name << ": " << r.problem;
    EXPECT_FALSE(r.problem.empty()) << t.name;
  }
}

}  // namespace
}  // namespace keel::audit
