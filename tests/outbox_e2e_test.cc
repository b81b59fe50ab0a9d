// Events out against a real `keel serve`: the events a run emits reach the
// workflows listening on their topic, each exactly once, across a kill -9
// between the emitting end and the deliveries.
#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

constexpr const char* kProducer = R"(name: producer
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - name: s1
    noop: true
    emit: { topic: items.ready, payload: { n: 1, run: "{{ run.id }}" } }
  - name: s2
    noop: true
    emit: { topic: items.ready, payload: { n: 2, run: "{{ run.id }}" } }
  - name: s3
    noop: true
    emit: { topic: items.ready, payload: { n: 3, run: "{{ run.id }}" } }
  - name: s4
    noop: true
    emit: { topic: items.ready, payload: { n: 4, run: "{{ run.id }}" } }
  - name: s5
    noop: true
    emit: { topic: items.ready, payload: { n: 5, run: "{{ run.id }}" } }
  - name: s6
    noop: true
    emit: { topic: items.ready, payload: { n: 6, run: "{{ run.id }}" } }
  - name: s7
    noop: true
    emit: { topic: items.ready, payload: { n: 7, run: "{{ run.id }}" } }
  - name: s8
    noop: true
    emit: { topic: items.ready, payload: { n: 8, run: "{{ run.id }}" } }
  - name: s9
    noop: true
    emit: { topic: items.ready, payload: { n: 9, run: "{{ run.id }}" } }
  - name: s10
    noop: true
    emit: { topic: items.ready, payload: { n: 10, run: "{{ run.id }}" } }
  - name: s11
    noop: true
    emit: { topic: items.ready, payload: { n: 11, run: "{{ run.id }}" } }
  - name: s12
    noop: true
    emit: { topic: items.ready, payload: { n: 12, run: "{{ run.id }}" } }
  - name: s13
    noop: true
    emit: { topic: items.ready, payload: { n: 13, run: "{{ run.id }}" } }
  - name: s14
    noop: true
    emit: { topic: items.ready, payload: { n: 14, run: "{{ run.id }}" } }
  - name: s15
    noop: true
    emit: { topic: items.ready, payload: { n: 15, run: "{{ run.id }}" } }
  - name: s16
    noop: true
    emit: { topic: items.ready, payload: { n: 16, run: "{{ run.id }}" } }
  - name: s17
    noop: true
    emit: { topic: items.ready, payload: { n: 17, run: "{{ run.id }}" } }
  - name: s18
    noop: true
    emit: { topic: items.ready, payload: { n: 18, run: "{{ run.id }}" } }
  - name: s19
    noop: true
    emit: { topic: items.ready, payload: { n: 19, run: "{{ run.id }}" } }
  - name: s20
    noop: true
    emit: { topic: items.ready, payload: { n: 20, run: "{{ run.id }}" } }
on_end:
  - state: succeeded
    emit: { topic: producer.done, payload: { run: "{{ run.id }}" } }
)";

constexpr const char* kConsumer = R"(name: consumer
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
params: { n: }
triggers:
  - event: items.ready
    params: { n: "{{ event.payload.n }}" }
  - event: producer.done
    params: { n: end }
steps:
  - { name: a, noop: true }
)";

TEST(OutboxE2e, EmittedEventsAreDeliveredOnceEachAcrossAKill9) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kConsumer);
  keel.apply(kProducer);
  auto [status, body] = keel.trigger("producer", json::object());
  ASSERT_EQ(status, 201) << body.dump();
  std::string up = body["id"];
  // Whenever the steps' ends are in the store, so are their events (one
  // batch); the crash lands right after, before most deliveries.
  ASSERT_TRUE(waitFor([&] { return queryText(keel.db(), "SELECT count(*) FROM outbox") != "0"; }));
  keel.kill9();
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM steps WHERE run_id = '" + up +
                                     "' AND state = 'succeeded'"),
            "20");
  std::string pendingAtCrash =
      queryText(keel.db(), "SELECT count(*) FROM outbox WHERE state = 'pending'");
  std::cerr << "events pending at the kill: " << pendingAtCrash << "\n";
  keel.start();
  ASSERT_TRUE(waitFor([&] {
    return queryText(keel.db(), "SELECT count(*) FROM outbox WHERE state = 'delivered'") == "21";
  })) << queryText(keel.db(), "SELECT group_concat(id || ':' || state) FROM outbox");
  // One consumer run per event, each started by its own event.
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs WHERE workflow = 'consumer'"), "21");
  EXPECT_EQ(queryText(keel.db(),
                      "SELECT count(DISTINCT idempotency_key) FROM runs WHERE "
                      "workflow = 'consumer'"),
            "21");
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM inbound_events WHERE topic = 'items.ready'"),
            "20");
  EXPECT_EQ(queryText(keel.db(), "SELECT id FROM outbox WHERE topic = 'producer.done'"),
            up + ".end.1");
  std::string seven =
      queryText(keel.db(),
                "SELECT id FROM runs WHERE workflow = 'consumer' AND idempotency_key = "
                "'event:items.ready:" +
                    up + ".s7.emit:0'");
  ASSERT_FALSE(seven.empty());
  auto run = keel.waitForRun(seven);
  EXPECT_EQ(run["params"], json({{"n", "7"}})) << run.dump();
  // Delivered in emission order: each event's inbound row was written no
  // later than the next one's.
  EXPECT_EQ(queryText(keel.db(),
                      "SELECT count(*) FROM outbox a JOIN outbox b ON b.seq > a.seq "
                      "WHERE a.delivered_at > b.delivered_at"),
            "0");
}

}  // namespace
}  // namespace keel::e2e
