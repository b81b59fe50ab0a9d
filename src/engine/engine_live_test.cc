// Control::liveLog: the live output of an attempt comes from the runner
// that keeps it, asked on the caller's thread; kinds without live output
// are skipped, and an attempt no runner knows is kNotFound.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

// A runner of another kind that keeps live output of one attempt.
class LiveRunner final : public StepRunner {
 public:
  Result<std::shared_ptr<const PreparedAttempt>> prepare(const AttemptInput&) override {
    return Error(ErrorCode::kInvalidArgument, "not used");
  }
  Handle start(std::shared_ptr<const PreparedAttempt>, Done) override { return 0; }
  void stop(Handle, FailureClass) override {}
  Handle attach(const exec::AttemptRef&, std::shared_ptr<const PreparedAttempt>, Done) override {
    return 0;
  }
  void discard(const exec::AttemptRef&) override {}
  void sweep(const std::vector<exec::AttemptRef>&) override {}
  Result<exec::LiveOutput> readLive(const exec::AttemptRef& ref, int64_t offset,
                                    size_t maxBytes) override {
    asked.push_back(ref.runId + "/" + ref.step + "/" + std::to_string(ref.attempt) + "@" +
                    std::to_string(offset) + "+" + std::to_string(maxBytes));
    if (ref.runId != "r1") return Error(ErrorCode::kNotFound, "no such attempt");
    return exec::LiveOutput{"hello\n", offset + 6, false};
  }
  std::vector<std::string> asked;
};

TEST_F(EngineTest, LiveOutputIsReadThroughTheRunnerThatKeepsIt) {
  LiveRunner live;
  runners_[spec::StepKind::kHttp] = &live;
  crashAndRestart();
  auto got = engine_->liveLog({"r1", "build", 2, 10, 100});
  ASSERT_TRUE(got.ok()) << got.error().toString();
  EXPECT_EQ(got->data, "hello\n");
  EXPECT_EQ(got->offset, 16);
  EXPECT_FALSE(got->ended);
  EXPECT_EQ(live.asked, std::vector<std::string>{"r1/build/2@10+100"});

  auto missing = engine_->liveLog({"r2", "build", 1, 0, 100});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(EngineTest, WithoutARunnerKeepingLiveOutputLiveLogIsUnimplemented) {
  // The scripted executor keeps none (the StepExecutor default).
  auto got = engine_->liveLog({"r1", "build", 1, 0, 100});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), ErrorCode::kUnimplemented);
}

}  // namespace
}  // namespace keel::engine::test
