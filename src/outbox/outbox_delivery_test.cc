// OutboxDelivery against a real SQLite store and a scripted Control.
#include "outbox/outbox_delivery.h"

#include <future>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "testing/fake_control.h"
#include "testing/temp_dir.h"

namespace keel::outbox {
namespace {

class OutboxDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::openSqliteStore(dir_.file("keel.db"));
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
    // The engine marks an event delivered in the batch that records it.
    control_.onEmit = [this](const engine::EventRequest& r) -> Result<engine::EventResult> {
      if (failNext > 0) {
        --failNext;
        return Error(ErrorCode::kUnavailable, "keel is stopping");
      }
      EXPECT_TRUE(r.fromOutbox);
      KEEL_TRY(store_->apply({{store::MarkOutboxDelivered{r.id, WallTime(Millis(9))}}}));
      engine::EventResult out;
      out.topic = r.topic;
      out.id = r.id;
      return out;
    };
  }
  void emit(const std::string& id, const std::string& topic, std::string state = "pending") {
    store::OutboxEventRow row;
    row.id = id;
    row.topic = topic;
    row.payloadJson = R"({"n":")" + id + R"("})";
    row.runId = "r1";
    row.source = "step a";
    row.emittedAt = WallTime(Millis(5));
    row.state = std::move(state);
    Status s = store_->apply({{store::PutOutboxEvent{row}}});
    ASSERT_TRUE(s.ok()) << s.error().toString();
  }
  std::vector<std::string> emittedIds() const {
    std::vector<std::string> ids;
    for (const auto& e : control_.emits()) ids.push_back(e.id);
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  testing::FakeControl control_;
  int failNext = 0;
};

TEST_F(OutboxDeliveryTest, DeliversPendingEventsInOrderOnce) {
  emit("e1", "a");
  emit("e2", "b");
  emit("bad", "a", "failed");
  emit("e3", "a");
  emit("e1", "a");  // the same id again: the first row is kept
  OutboxDelivery delivery(*store_, control_);
  auto n = delivery.deliverPending();
  ASSERT_TRUE(n.ok()) << n.error().toString();
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(emittedIds(), (std::vector<std::string>{"e1", "e2", "e3"}));
  EXPECT_EQ(control_.emits()[1].payload, nlohmann::json({{"n", "e2"}}));
  auto again = delivery.deliverPending();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  auto e1 = store_->findOutboxEvent("e1");
  ASSERT_TRUE(e1.ok() && e1->has_value());
  EXPECT_EQ((*e1)->state, "delivered");
  auto bad = store_->findOutboxEvent("bad");
  ASSERT_TRUE(bad.ok() && bad->has_value());
  EXPECT_EQ((*bad)->state, "failed");
}

// A delivery that fails stops the pass there; the next pass starts again
// from that event, so no later event overtakes it.
TEST_F(OutboxDeliveryTest, AFailedDeliveryStopsThePassAndIsTriedAgainFirst) {
  emit("e1", "a");
  emit("e2", "a");
  emit("e3", "a");
  OutboxDelivery delivery(*store_, control_);
  auto first = delivery.deliverPending();
  ASSERT_TRUE(first.ok());
  emit("e4", "a");
  emit("e5", "a");
  failNext = 1;
  auto stopped = delivery.deliverPending();
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code(), ErrorCode::kUnavailable);
  auto resumed = delivery.deliverPending();
  ASSERT_TRUE(resumed.ok()) << resumed.error().toString();
  EXPECT_EQ(*resumed, 2);
  EXPECT_EQ(emittedIds(), (std::vector<std::string>{"e1", "e2", "e3", "e4", "e4", "e5"}));
}

TEST_F(OutboxDeliveryTest, TheThreadDeliversWhenWoken) {
  std::promise<std::string> got;
  auto mark = control_.onEmit;
  control_.onEmit = [&](const engine::EventRequest& r) {
    auto out = mark(r);
    got.set_value(r.id);
    return out;
  };
  OutboxDelivery delivery(*store_, control_, {.pollEvery = std::chrono::hours(1)});
  delivery.start();  // a first pass finds nothing, then waits an hour or a wake()
  emit("e1", "a");
  delivery.wake();
  auto id = got.get_future();
  ASSERT_EQ(id.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(id.get(), "e1");
  delivery.stop();
  EXPECT_EQ(emittedIds(), (std::vector<std::string>{"e1"}));
}

}  // namespace
}  // namespace keel::outbox
