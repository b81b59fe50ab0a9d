// parseWorkflow on valid input, defaults, the go-live gate and explain.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "spec/parser.h"
#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::hasProblem;
using testing::kMinimal;
using testing::kPlanningFeed;
using testing::parse;
using testing::problemsOf;

std::string withLines(std::string_view base, std::string_view extra) {
  return std::string(base) + std::string(extra);
}

TEST(Parser, PlanningFeedParsesIntoTypedSpec) {
  auto r = parse(kPlanningFeed);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  const WorkflowSpec& w = **r;
  EXPECT_EQ(w.name, "planning-feed");
  EXPECT_EQ(w.ns, "supply");
  EXPECT_EQ(w.owner.team, "data-platform");
  EXPECT_EQ(w.owner.contact, "oncall-data@example.com");
  EXPECT_EQ(w.runbook, "https://wiki.example.com/runbooks/planning-feed");
  ASSERT_EQ(w.params.size(), 2u);
  EXPECT_EQ(w.params[0].name, "date");
  EXPECT_FALSE(w.params[0].defaultValue.has_value());
  EXPECT_EQ(w.params[1].defaultValue.value_or(""), "eu");
  EXPECT_EQ(w.params[1].description, "the planning region");
  ASSERT_EQ(w.triggers.size(), 1u);
  EXPECT_EQ(w.triggers[0].kind, TriggerSpec::Kind::kCron);
  EXPECT_EQ(w.triggers[0].cron, "0 5 * * *");
  EXPECT_EQ(w.triggers[0].timezone, "Europe/Paris");
  ASSERT_EQ(w.dependencies.size(), 1u);
  EXPECT_EQ(w.dependencies[0].name, "warehouse");
  EXPECT_DOUBLE_EQ(w.dependencies[0].breaker.failureRate.value_or(0), 0.5);
  EXPECT_EQ(w.dependencies[0].breaker.window.value_or(0), 20);
  EXPECT_EQ(w.dependencies[0].breaker.openFor.value_or(Millis(0)), Millis(30'000));
  EXPECT_EQ(w.dependencies[0].maxConcurrent.value_or(0), 4);
  ASSERT_TRUE(w.concurrency.has_value());
  EXPECT_EQ(w.concurrency->key, "{{ params.region }}");
  EXPECT_EQ(w.concurrency->limit, 1);
  EXPECT_EQ(w.slo.maxDuration.value_or(Millis(0)), Millis(45 * 60'000));

  ASSERT_EQ(w.steps.size(), 3u);
  const StepSpec& fetch = w.steps[0];
  EXPECT_EQ(fetch.kind, StepKind::kRun);
  EXPECT_EQ(fetch.run, "./scripts/retrieve.sh {{ params.date }}");
  EXPECT_EQ(fetch.uses, "warehouse");
  EXPECT_EQ(fetch.timeout.value_or(Millis(0)), Millis(600'000));
  EXPECT_EQ(fetch.pos.line, 16);
  EXPECT_EQ(fetch.pos.column, 5);
  EXPECT_FALSE(fetch.retry.defaulted);
  EXPECT_EQ(fetch.retry.maxAttempts, 5);
  EXPECT_EQ(fetch.retry.initial, Millis(2000));
  EXPECT_EQ(fetch.retry.max, Millis(300'000));

  const StepSpec& load = w.steps[1];
  EXPECT_EQ(load.kind, StepKind::kHttp);
  EXPECT_EQ(load.needs, std::vector<std::string>{"retrieve-files"});
  EXPECT_EQ(load.http.method, "POST");
  EXPECT_EQ(load.http.url, "http://127.0.0.1:8081/jobs");
  ASSERT_TRUE(load.http.json.has_value());
  EXPECT_EQ((*load.http.json)["date"], "{{ params.date }}");
  EXPECT_FALSE(load.http.body.has_value());
  EXPECT_EQ(load.http.expect, (std::vector<HttpStatusRange>{{200, 299}}));
  EXPECT_FALSE(load.http.followRedirects);

  const StepSpec& feed = w.steps[2];
  EXPECT_EQ(feed.kind, StepKind::kTask);
  EXPECT_EQ(feed.task.queue, "planning.feed");
  EXPECT_FALSE(feed.task.input.has_value());
  EXPECT_EQ(feed.heartbeat.value_or(Millis(0)), Millis(60'000));
  ASSERT_TRUE(feed.compensation);
  EXPECT_EQ(feed.compensation->run, "./scripts/undo-feed.sh");
  EXPECT_EQ(feed.compensation->name, "feed-planning.compensate");
  EXPECT_EQ(feed.compensation->timeout, feed.timeout);
  EXPECT_EQ(w.findStep("feed-planning"), &feed);
  EXPECT_EQ(w.findStep("nope"), nullptr);
}

TEST(Parser, CompensateBlocksHaveTheirOwnKindTimeoutAndRetry) {
  auto r = parse(R"(name: wf
owner: { team: t, contact: t@example.com }
runbook: https://wiki.example.com/rb
steps:
  - name: reserve
    run: ./reserve.sh
    timeout: 1m
    env: { REGION: eu }
    compensate:
      http: { method: DELETE, url: "http://127.0.0.1:8081/r/{{ steps.reserve.output.id }}" }
      timeout: 5m
      retry: { max_attempts: 5, backoff: exponential, initial: 10s }
)");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  const auto& comp = (*r)->steps[0].compensation;
  ASSERT_TRUE(comp);
  EXPECT_EQ(comp->name, "reserve.compensate");
  EXPECT_EQ(comp->kind, StepKind::kHttp);
  EXPECT_EQ(comp->http.method, "DELETE");
  EXPECT_EQ(comp->timeout, Millis(300'000));
  EXPECT_EQ(comp->retry.maxAttempts, 5);
  EXPECT_EQ(comp->retry.initial, Millis(10'000));
  EXPECT_EQ(comp->env.at("REGION"), "eu");
}

TEST(Parser, StepWithoutRetryGetsTheDocumentedDefaults) {
  auto r = parse(kMinimal);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  const StepSpec& s = (*r)->steps[0];
  const RetryPolicy defaults;
  EXPECT_TRUE(s.retry.defaulted);
  EXPECT_EQ(s.retry.maxAttempts, defaults.maxAttempts);
  EXPECT_EQ(s.retry.backoff, defaults.backoff);
  EXPECT_EQ(s.retry.initial, defaults.initial);
  EXPECT_EQ(s.retry.max, defaults.max);
  EXPECT_EQ(s.retry.jitter, defaults.jitter);
  EXPECT_TRUE(s.retry.retryOn.empty());
  EXPECT_EQ(s.killGrace, Millis(10'000));
  EXPECT_TRUE(s.killGraceDefaulted);
  EXPECT_EQ((*r)->ns, "default");
}

TEST(Parser, RetryBlockIsReadInFull) {
  auto r = parse(withLines(kMinimal,
                           "    retry:\n"
                           "      max_attempts: 1\n"
                           "      backoff: fixed\n"
                           "      initial: 500ms\n"
                           "      jitter: decorrelated\n"
                           "      retry_on: [timeout, bad_input, 75]\n"
                           "      no_retry_on: [crash, 2]\n"
                           "    kill_grace: 0s\n"));
  ASSERT_TRUE(r.ok()) << r.error().toString();
  const RetryPolicy& p = (*r)->steps[0].retry;
  EXPECT_FALSE(p.defaulted);
  EXPECT_EQ(p.maxAttempts, 1);
  EXPECT_EQ(p.backoff, Backoff::kFixed);
  EXPECT_EQ(p.initial, Millis(500));
  EXPECT_EQ(p.max, Millis(60'000));  // the default, above initial
  EXPECT_EQ(p.jitter, Jitter::kDecorrelated);
  EXPECT_EQ(p.retryOn,
            (std::vector<FailureClass>{FailureClass::kTimeout, FailureClass::kBadInput}));
  EXPECT_EQ(p.retryOnExitCodes, std::vector<int>{75});
  EXPECT_EQ(p.noRetryOn, std::vector<FailureClass>{FailureClass::kCrash});
  EXPECT_EQ(p.noRetryOnExitCodes, std::vector<int>{2});
  EXPECT_EQ((*r)->steps[0].killGrace, Millis(0));
  EXPECT_FALSE((*r)->steps[0].killGraceDefaulted);
}

TEST(Parser, OtherKindsTriggersAndEnv) {
  auto r = parse(R"(name: kinds
owner: {team: t}
runbook: ./docs/runbook.md
triggers:
  - event: orders.created
  - after: {workflow: upstream, state: finished}
  - file: {path: /data/in, pattern: "*.csv", stable_for: 30s}
  - cron: "@daily"
    misfire: catch_up
    overlap: queue
steps:
  - name: start
    noop: true
  - name: pause
    sleep: 1h30m
    needs: start
  - name: go
    needs: [pause]
    run: echo "$WHO"
    env: {WHO: "{{ params.who }}", RUN: "{{ run.id }}"}
    timeout: 1m
)");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  const WorkflowSpec& w = **r;
  ASSERT_EQ(w.triggers.size(), 4u);
  EXPECT_EQ(w.triggers[0].kind, TriggerSpec::Kind::kEvent);
  EXPECT_EQ(w.triggers[0].event, "orders.created");
  EXPECT_EQ(w.triggers[1].kind, TriggerSpec::Kind::kAfter);
  EXPECT_EQ(w.triggers[1].afterWorkflow, "upstream");
  EXPECT_EQ(w.triggers[1].afterState, "finished");
  EXPECT_EQ(w.triggers[2].kind, TriggerSpec::Kind::kFile);
  EXPECT_EQ(w.triggers[2].filePattern, "*.csv");
  EXPECT_EQ(w.triggers[2].fileStableFor.value_or(Millis(0)), Millis(30'000));
  EXPECT_EQ(w.triggers[3].misfire, "catch_up");
  EXPECT_EQ(w.triggers[3].overlap, "queue");
  EXPECT_EQ(w.triggers[3].timezone, "UTC");
  EXPECT_EQ(w.steps[0].kind, StepKind::kNoop);
  EXPECT_EQ(w.steps[1].kind, StepKind::kSleep);
  EXPECT_EQ(w.steps[1].sleep, Millis(90 * 60'000));
  EXPECT_EQ(w.steps[1].needs, std::vector<std::string>{"start"});  // a single string
  EXPECT_EQ(w.steps[2].env.at("WHO"), "{{ params.who }}");         // no params: block, any name
}

TEST(Parser, WorkdirDefaultsAndJoins) {
  ParseOptions o;
  o.defaultWorkdir = "/srv/flows";
  auto r = parseWorkflow(kMinimal, o);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ((*r)->workdir, "/srv/flows");
  EXPECT_EQ((*r)->steps[0].workdir, "/srv/flows");

  std::string yaml = "workdir: jobs\n" + std::string(kMinimal) + "    workdir: sub\n";
  r = parseWorkflow(yaml, o);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ((*r)->workdir, "/srv/flows/jobs");
  EXPECT_EQ((*r)->steps[0].workdir, "/srv/flows/jobs/sub");

  yaml = std::string(kMinimal) + "    workdir: /abs\n";
  r = parseWorkflow(yaml, o);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ((*r)->steps[0].workdir, "/abs");
}

TEST(Parser, RetentionIsAnOptionalDuration) {
  auto r = parse(kMinimal);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_FALSE((*r)->retention.has_value());

  r = parse("retention: 7d\n" + std::string(kMinimal));
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ((*r)->retention.value_or(Millis(0)), Millis(7LL * 24 * 3600 * 1000));
  std::string text = explainWorkflow(**r);
  EXPECT_NE(text.find("  retention: 7d (finished runs deleted by keel serve)\n"), std::string::npos)
      << text;
  EXPECT_TRUE(checkRunnable(**r, "f.yaml").warnings.empty());
}

TEST(GoLiveGate, MissingOwnerRunbookAndTimeoutAreRefused) {
  auto yaml = R"(name: wf
steps:
  - name: a
    run: echo a
  - name: b
    http: {url: "http://x/y"}
  - name: c
    task: q
  - name: d
    noop: true
  - name: e
    sleep: 1s
)";
  EXPECT_TRUE(hasProblem(yaml, 1, 1, "missing 'owner': every workflow needs an owner"));
  EXPECT_TRUE(hasProblem(yaml, 1, 1, "missing 'runbook'"));
  EXPECT_TRUE(
      hasProblem(yaml, 3, 5, "step 'a' has no timeout: every step that does work needs one (G10)"));
  EXPECT_TRUE(hasProblem(yaml, 5, 5, "step 'b' has no timeout"));
  EXPECT_TRUE(hasProblem(yaml, 7, 5, "step 'c' has no timeout"));
  // noop and sleep steps are exempt: five problems, not seven.
  EXPECT_EQ(problemsOf(yaml).size(), 5u) << testing::joined(problemsOf(yaml));
}

TEST(GoLiveGate, OwnerNeedsATeamAndRunbookMustLookLikeALink) {
  auto yaml = R"(name: wf
owner: {contact: a@b.c}
runbook: ask bob
steps:
  - name: a
    noop: true
)";
  EXPECT_TRUE(hasProblem(yaml, 2, 8, "owner: missing 'team'"));
  EXPECT_TRUE(hasProblem(yaml, 3, 10, "runbook \"ask bob\" does not look like a URL or a path"));
  EXPECT_TRUE(
      hasProblem("name: wf\nowner: {team: t}\nrunbook: \"\"\nsteps: [{name: a, noop: true}]\n", 3,
                 10, "runbook: must not be empty"));
}

TEST(Parser, FourDistinctErrorsGiveFourDetailsInOnePass) {
  auto yaml = R"(name: wf
owner: {team: t}
runbook: https://x/rb
steps:
  - name: a
    run: echo a
    timeout: 10x
    needs: [nope]
    retry: {max_attempts: 0}
  - name: B
    noop: true
)";
  auto r = parse(yaml);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "workflow f.yaml is invalid: 4 problem(s)");
  ASSERT_EQ(r.error().details().size(), 4u) << testing::joined(r.error().details());
  // Sorted by position.
  EXPECT_TRUE(r.error().details()[0].starts_with("f.yaml:7:14: "));
  EXPECT_TRUE(r.error().details()[1].starts_with("f.yaml:8:13: "));
  EXPECT_TRUE(r.error().details()[2].starts_with("f.yaml:9:27: "));
  EXPECT_TRUE(r.error().details()[3].starts_with("f.yaml:10:11: "));
}

TEST(Explain, ShowsDefaultsAndWhatIsOnlyStored) {
  auto r = parse(kPlanningFeed);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  std::string text = explainWorkflow(**r);
  auto has = [&](std::string_view s) { return text.find(s) != std::string::npos; };
  EXPECT_TRUE(has("workflow planning-feed")) << text;
  EXPECT_TRUE(has("namespace: supply")) << text;
  EXPECT_TRUE(has("owner: team data-platform, contact oncall-data@example.com")) << text;
  EXPECT_TRUE(has("runbook: https://wiki.example.com/runbooks/planning-feed")) << text;
  EXPECT_TRUE(has("triggers (each starts runs by itself)")) << text;
  EXPECT_TRUE(has("cron \"0 5 * * *\" timezone=Europe/Paris")) << text;
  EXPECT_TRUE(has("dependencies (stored;")) << text;
  EXPECT_TRUE(has("warehouse: breaker failure_rate=0.5 window=20 open_for=30s max_concurrent=4"))
      << text;
  EXPECT_TRUE(has("concurrency: key=\"{{ params.region }}\" limit=1")) << text;
  EXPECT_TRUE(has("slo: max_duration=45m")) << text;
  EXPECT_TRUE(has("retention: none (keel serve --retain applies, if set)")) << text;
  EXPECT_TRUE(
      has("retry: max_attempts=5 backoff=exponential initial=2s max=5m jitter=full "
          "retry_on=[timeout,crash,lost,error,dependency_unavailable,rate_limited]\n"))
      << text;
  EXPECT_TRUE(
      has("retry: max_attempts=3 backoff=exponential initial=1s max=1m jitter=full "
          "retry_on=[timeout,crash,lost,error,dependency_unavailable,rate_limited] "
          "(default: the step has no retry block)"))
      << text;
  EXPECT_TRUE(has("kill_grace: 10s (default)")) << text;
  EXPECT_TRUE(has("http: POST http://127.0.0.1:8081/jobs")) << text;
  EXPECT_TRUE(has("task: queue planning.feed")) << text;
  EXPECT_TRUE(has("timeout: 30m")) << text;
  EXPECT_TRUE(has("heartbeat: 1m")) << text;
}

TEST(Explain, NoopAndSleepAreShownExemptFromTimeouts) {
  auto r = parse(
      "name: wf\nnamespace: default\nowner: {team: t}\nrunbook: https://x/rb\n"
      "steps:\n  - name: a\n    noop: true\n    kill_grace: 3s\n");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  std::string text = explainWorkflow(**r);
  EXPECT_NE(text.find("namespace: default (default)"), std::string::npos) << text;
  EXPECT_NE(text.find("timeout: none (noop and sleep steps are exempt"), std::string::npos) << text;
  EXPECT_NE(text.find("kill_grace: 3s\n"), std::string::npos) << text;
  EXPECT_NE(text.find("triggers: none"), std::string::npos) << text;
}

}  // namespace
}  // namespace keel::spec
