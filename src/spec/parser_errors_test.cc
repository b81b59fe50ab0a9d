// One test per kind of problem, each asserting the exact FILE:LINE:COL and
// the message. Most append lines to kMinimal, whose step 'a' spans lines 5-7.
#include <gtest/gtest.h>

#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::hasProblem;
using testing::kMinimal;
using testing::problemsOf;

using testing::plus;
TEST(ParserErrors, UnknownKeysSuggestTheClosest) {
  EXPECT_TRUE(hasProblem(plus("    timout: 1m\n"), 8, 5,
                         "unknown key 'timout' in step 'a' (did you mean 'timeout'?)"));
  EXPECT_TRUE(hasProblem(plus("descripton: x\n"), 8, 1,
                         "unknown key 'descripton' (did you mean 'description'?)"));
  EXPECT_TRUE(hasProblem(plus("    retry: {max_attempt: 2}\n"), 8, 13,
                         "unknown key 'retry.max_attempt' in step 'a' (did you mean "
                         "'retry.max_attempts'?)"));
  EXPECT_TRUE(
      hasProblem(plus("    frobnicate: 1\n"), 8, 5, "unknown key 'frobnicate' in step 'a'"));
  EXPECT_EQ(problemsOf(plus("    frobnicate: 1\n"))[0].find("did you mean"), std::string::npos);
}

TEST(ParserErrors, DetailsStayOnOneLine) {
  auto problems = problemsOf(plus("    kill_grace: |\n      10x\n      y\n"));
  ASSERT_EQ(problems.size(), 1u) << testing::joined(problems);
  EXPECT_EQ(problems[0], "f.yaml:8:17: step 'a': kill_grace: bad duration \"10x\\ny\\n\": " +
                             std::string("spaces are not allowed (write e.g. 1h30m)"));
}

TEST(ParserErrors, DuplicateKeys) {
  EXPECT_TRUE(hasProblem(plus("    timeout: 2m\n"), 8, 5,
                         "duplicate key 'timeout' in step 'a' (first at line 7)"));
}

TEST(ParserErrors, WrongTypes) {
  EXPECT_TRUE(hasProblem(plus("    needs: {x: 1}\n"), 8, 12,
                         "step 'a': needs: expected a list of step names, got a mapping"));
  EXPECT_TRUE(hasProblem(plus("    retry: {max_attempts: three}\n"), 8, 27,
                         "retry.max_attempts: expected an integer, got \"three\""));
  EXPECT_TRUE(hasProblem(plus("    env: [A]\n"), 8, 10, "step 'a': env: expected a mapping"));
  EXPECT_TRUE(hasProblem(plus("description: [a, b]\n"), 8, 14,
                         "description: expected a string, got a list"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    noop: yes\n"), 9, 11,
                         "step 'b': noop: expected true or false, got \"yes\""));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    noop: false\n"), 9, 11, "noop: must be true"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    run: {x: 1}\n    timeout: 1s\n"), 9, 10,
                         "step 'b': run: expected a string, got a mapping"));
  EXPECT_TRUE(hasProblem(plus("  - [x]\n"), 8, 5, "step #2: expected a mapping"));
  EXPECT_TRUE(hasProblem("name: wf\nowner: {team: t}\nrunbook: https://x/rb\nsteps: run\n", 4, 8,
                         "steps: expected a list of steps, got \"run\""));
  EXPECT_TRUE(hasProblem("- a\n- b\n", 1, 1, "expected a mapping with name, owner, runbook"));
}

TEST(ParserErrors, BadDurationsSayWhatIsWrong) {
  EXPECT_TRUE(hasProblem(plus("    kill_grace: 10x\n"), 8, 17,
                         "step 'a': kill_grace: bad duration \"10x\": unknown unit 'x' (use ms, "
                         "s, m, h, d)"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    sleep: 1h 30m\n"), 9, 12,
                         "bad duration \"1h 30m\": spaces are not allowed"));
  EXPECT_TRUE(hasProblem(plus("slo: {max_duration: -5m}\n"), 8, 21,
                         "slo.max_duration: bad duration \"-5m\": negative"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    run: x\n    timeout: 0s\n"), 10, 14,
                         "step 'b': timeout: must be greater than zero"));
  EXPECT_TRUE(hasProblem(plus("retention: 7days\n"), 8, 12,
                         "retention: bad duration \"7days\": unknown unit 'days' (use ms, "
                         "s, m, h, d)"));
  EXPECT_TRUE(hasProblem(plus("retention: 0\n"), 8, 12, "retention: must be greater than zero"));
  EXPECT_TRUE(hasProblem(plus("retention: [7d]\n"), 8, 12, "retention: expected a duration"));
}

TEST(ParserErrors, InvalidNames) {
  std::string yaml(kMinimal);
  yaml.replace(yaml.find("name: wf"), 8, "name: Wf");
  EXPECT_TRUE(hasProblem(yaml, 1, 7, "name \"Wf\" is invalid: use 1-63 characters from a-z"));
  EXPECT_TRUE(
      hasProblem(plus("  - name: -b\n    noop: true\n"), 8, 11, "step #2: name \"-b\" is invalid"));
  EXPECT_TRUE(hasProblem(plus("namespace: \"a b\"\n"), 8, 12, "namespace \"a b\" is invalid"));
  EXPECT_TRUE(hasProblem(plus("  - noop: true\n"), 8, 5, "step #2: missing 'name'"));
  std::string longName(64, 'x');
  EXPECT_TRUE(
      hasProblem(plus("  - name: " + longName + "\n    noop: true\n"), 8, 11, "is invalid"));
}

TEST(ParserErrors, DuplicateStepNamePointsAtTheSecond) {
  EXPECT_TRUE(hasProblem(plus("  - name: a\n    noop: true\n"), 8, 11,
                         "duplicate step name 'a' (first defined at line 5)"));
}

TEST(ParserErrors, NeedsMustNameOtherExistingSteps) {
  EXPECT_TRUE(hasProblem(plus("  - name: load\n    noop: true\n    needs: [b]\n"), 10, 13,
                         "step 'load' needs unknown step 'b'"));
  EXPECT_TRUE(hasProblem(plus("  - name: fetch\n    noop: true\n  - name: load\n    noop: true\n"
                              "    needs: fech\n"),
                         12, 12, "step 'load' needs unknown step 'fech' (did you mean 'fetch'?)"));
  EXPECT_TRUE(hasProblem(plus("    needs: [a]\n"), 8, 13, "step 'a' needs itself"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    noop: true\n    needs: [a, a]\n"), 10, 16,
                         "step 'b' needs 'a' twice"));
}

TEST(ParserErrors, CyclesAreNamedInOrder) {
  auto yaml = R"(name: wf
owner: {team: t}
runbook: https://x/rb
steps:
  - name: start
    noop: true
  - name: a
    noop: true
    needs: [start, c]
  - name: b
    noop: true
    needs: [a]
  - name: c
    noop: true
    needs: [b]
  - name: x
    noop: true
    needs: [y]
  - name: y
    noop: true
    needs: [x]
)";
  EXPECT_TRUE(hasProblem(yaml, 7, 11, "cycle in needs: a -> c -> b -> a"));
  EXPECT_TRUE(hasProblem(yaml, 16, 11, "cycle in needs: x -> y -> x"));
  EXPECT_EQ(problemsOf(yaml).size(), 2u) << testing::joined(problemsOf(yaml));
}

TEST(ParserErrors, StepKinds) {
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    timeout: 1s\n"), 8, 5,
                         "step 'b' has no kind: give one of run, noop, sleep, http, task"));
  EXPECT_TRUE(hasProblem(plus("    noop: true\n"), 8, 5,
                         "step 'a' has more than one kind (run, noop): give exactly one"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    task: \"bad queue\"\n    timeout: 1s\n"), 9, 11,
                         "step 'b': task: queue name \"bad queue\" is invalid"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    http: {url: \"ftp://x\", method: get}\n"
                              "    timeout: 1s\n"),
                         9, 17, "step 'b': http.url: \"ftp://x\" must start with http://"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    http: {url: \"ftp://x\", method: get}\n"
                              "    timeout: 1s\n"),
                         9, 36, "http.method: unknown value \"get\""));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    http: {method: GET}\n    timeout: 1s\n"), 9, 11,
                         "step 'b': http: missing 'url'"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    http: {url: \"http://x\", json: {}, body: x}\n"
                              "    timeout: 1s\n"),
                         9, 39, "give either json or body, not both"));
  EXPECT_TRUE(hasProblem(plus("    heartbeat: 5s\n"), 8, 5,
                         "step 'a': heartbeat: only task steps have heartbeats"));
}

TEST(ParserErrors, RetryValues) {
  EXPECT_TRUE(hasProblem(plus("    retry: {max_attempts: 101}\n"), 8, 27,
                         "retry.max_attempts: 101 is out of range (from 1 to 100)"));
  EXPECT_TRUE(hasProblem(plus("    retry: {initial: 10s, max: 1s}\n"), 8, 27,
                         "step 'a': retry.max (1s) is less than retry.initial (10s)"));
  EXPECT_TRUE(hasProblem(plus("    retry: {initial: 2m}\n"), 8, 13,
                         "retry.initial (2m) is above the default retry.max (1m)"));
  EXPECT_TRUE(
      hasProblem(plus("    retry: {backoff: linear}\n"), 8, 22,
                 "retry.backoff: unknown value \"linear\" (use one of fixed, exponential)"));
  EXPECT_TRUE(hasProblem(plus("    retry: {jitter: ful}\n"), 8, 21,
                         "retry.jitter: unknown value \"ful\" (did you mean 'full'?)"));
  EXPECT_TRUE(hasProblem(plus("    retry: {retry_on: [timeot]}\n"), 8, 24,
                         "retry.retry_on: unknown failure class 'timeot' (did you mean "
                         "'timeout'?)"));
  EXPECT_TRUE(hasProblem(plus("    retry: {retry_on: [0]}\n"), 8, 24,
                         "exit code 0 is out of range (1 to 255)"));
  EXPECT_TRUE(hasProblem(plus("    retry: {retry_on: [crash], no_retry_on: [crash]}\n"), 8, 46,
                         "'crash' is in both retry.retry_on and retry.no_retry_on"));
}

TEST(ParserErrors, TriggersAreValidated) {
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - cron: \"0 25 * * *\"\n"), 9, 11,
                         "trigger: cron \"0 25 * * *\": hour: 25 is out of range 0-23"));
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - cron: \"0 5 * *\"\n"), 9, 11,
                         "expected 5 fields (minute hour day-of-month month day-of-week), got 4"));
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - cron: \"*/0 * * * *\"\n"), 9, 11,
                         "minute: a step must be 1 or more"));
  EXPECT_TRUE(problemsOf(plus("triggers:\n  - cron: \"0 5 1,15 jan-mar MON-FRI\"\n")).empty());
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - cron: \"@fortnightly\"\n"), 9, 11, "unknown macro"));
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - cron: \"@daily 5\"\n"), 9, 11,
                         "trigger: cron \"@daily 5\": a macro such as @daily stands alone"));
  EXPECT_TRUE(problemsOf(plus("triggers:\n  - cron: \" 50/5 */2 */3 * sun,7 \"\n")).empty());
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - cron: \"0 5 * * *\"\n    timezone: Mars/Olympus\n"),
                         10, 15, "trigger: unknown timezone \"Mars/Olympus\""));
  EXPECT_TRUE(
      hasProblem(plus("triggers:\n  - cron: \"0 5 * * *\"\n    timezone: ../../etc/passwd\n"), 10,
                 15, "unknown timezone"));
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - cron: \"0 5 * * *\"\n    misfire: later\n"), 10, 14,
                         "trigger: misfire: unknown value \"later\""));
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - event: x\n    cron: \"0 5 * * *\"\n"), 9, 5,
                         "give exactly one of cron, event, after, file (found cron and event)"));
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - after: {workflow: up, state: done}\n"), 9, 34,
                         "trigger: after.state: unknown value \"done\""));
  EXPECT_TRUE(hasProblem(plus("triggers:\n  - file: {pattern: x}\n"), 9, 11,
                         "trigger: file: missing 'path'"));
}

TEST(ParserErrors, DependenciesAndUses) {
  EXPECT_TRUE(hasProblem(plus("dependencies:\n  db: {breaker: {failure_rate: 1.5}}\n"), 9, 32,
                         "dependency 'db': breaker.failure_rate: must be above 0 and at most 1"));
  EXPECT_TRUE(hasProblem(plus("dependencies:\n  db: {rate: 10/x}\n"), 9, 14,
                         "dependency 'db': rate: \"10/x\" is invalid: write N/s or N/m"));
  EXPECT_TRUE(hasProblem(plus("dependencies:\n  db: {max_concurrent: 0}\n"), 9, 24,
                         "max_concurrent: 0 is out of range"));
  EXPECT_TRUE(hasProblem(plus("    uses: warehose\ndependencies:\n  warehouse: {}\n"), 8, 11,
                         "step 'a' uses unknown dependency 'warehose' (did you mean "
                         "'warehouse'?)"));
  EXPECT_TRUE(hasProblem(plus("    uses: db\n"), 8, 11,
                         "uses unknown dependency 'db' (declare it under dependencies:)"));
}

TEST(ParserErrors, ConcurrencyAndParams) {
  EXPECT_TRUE(hasProblem(plus("concurrency: {limit: 2}\n"), 8, 14, "concurrency: missing 'key'"));
  EXPECT_TRUE(hasProblem(plus("concurrency: {key: x, limit: 0}\n"), 8, 30,
                         "concurrency.limit: 0 is out of range"));
  EXPECT_TRUE(hasProblem(plus("concurrency: {key: \"{{ steps.a.output }}\"}\n"), 8, 20,
                         "concurrency.key: {{ steps.a.output }}: only params and run can be used"));
  EXPECT_TRUE(hasProblem(plus("params: {date: [x]}\n"), 8, 16, "params.date: expected nothing"));
  EXPECT_TRUE(hasProblem(plus("params: {run-id: , run_id: }\n"), 8, 20,
                         "params 'run-id' and 'run_id' would both be passed as KEEL_PARAM_RUN_ID"));
  EXPECT_TRUE(hasProblem(plus("params: {date: {default: x, descr: y}}\n"), 8, 29,
                         "unknown key 'params.date.descr' (did you mean "
                         "'params.date.description'?)"));
}

TEST(ParserErrors, CompensateIsCheckedWhereItIs) {
  EXPECT_TRUE(
      hasProblem(plus("  - name: b\n    noop: true\n    compensate: {run: x, timeout: 1s}\n"), 10,
                 5, "step 'b': compensate: a noop step has nothing to undo"));
  std::string b = "  - name: b\n    timeout: 1s\n    run: x\n";
  EXPECT_TRUE(hasProblem(plus(b + "    compensate: {run: y}\n"), 11, 17,
                         "step 'b': compensate has no timeout: every compensation needs one"));
  EXPECT_TRUE(hasProblem(plus(b + "    compensate: {timeout: 1s}\n"), 11, 17,
                         "step 'b': compensate: give exactly one of run or http"));
  EXPECT_TRUE(hasProblem(plus("  - name: b.compensate\n    timeout: 1s\n    run: x\n"), 8, 11,
                         "ends with \".compensate\", which keel keeps for the compensations"));
}

TEST(ParserErrors, TemplatesInsideShellQuotesAreRefusedWhereTheyAre) {
  // Lines 8-9 of each file hold step 'b'; the position is the "{{" itself.
  std::string b = "  - name: b\n    timeout: 1s\n";
  EXPECT_TRUE(hasProblem(plus(b + "    run: echo \"{{ params.who }}\"\n"), 10, 16,
                         "step 'b': run: {{ params.who }} is inside double quotes; write "
                         "{{ params.who }} without quotes: keel quotes every value for the shell"));
  EXPECT_TRUE(hasProblem(plus(b + "    run: \"echo '{{ params.who }}'\"\n"), 10, 17,
                         "step 'b': run: {{ params.who }} is inside single quotes"));
  EXPECT_TRUE(hasProblem(plus(b + "    run: |\n      echo {{ params.a }}\n"
                                  "      echo \"x {{ params.who }}\"\n"),
                         12, 15, "{{ params.who }} is inside double quotes"));
  EXPECT_TRUE(hasProblem(plus(b + "    run: echo `cat {{ params.f }}`\n"), 10, 20,
                         "{{ params.f }} is inside backticks; use $( ... ) instead"));
  EXPECT_TRUE(hasProblem(plus(b + "    run: \"echo hi # {{ params.f }}\"\n"), 10, 21,
                         "{{ params.f }} is inside a comment"));
  EXPECT_TRUE(hasProblem(plus(b + "    compensate: rm \"{{ params.f }}\"\n"), 10, 21,
                         "step 'b': compensate: {{ params.f }} is inside double quotes"));
  EXPECT_EQ(problemsOf(plus(b + "    run: echo \"{{ params.a }}\" '{{ params.b }}'\n")).size(), 2u);
  // Outside quotes, next to quoted text, in $( ... ): fine.
  EXPECT_TRUE(
      problemsOf(plus(b + "    run: echo \"a\" {{ params.a }} $(cat {{ params.b }})\n")).empty());
}

TEST(ParserErrors, StepNamesWhoseOutputVariablesCollide) {
  EXPECT_TRUE(hasProblem(plus("  - {name: a-b, noop: true}\n  - {name: a_b, noop: true}\n"), 9, 12,
                         "steps 'a-b' and 'a_b' would both pass their output as KEEL_OUTPUT_A_B"));
  EXPECT_TRUE(hasProblem(plus("  - {name: a.b, noop: true}\n  - {name: a-b, noop: true}\n"), 9, 12,
                         "would both pass their output as KEEL_OUTPUT_A_B"));
}

TEST(ParserErrors, PassEnv) {
  EXPECT_TRUE(hasProblem(plus("    pass_env: [AWS_PROFILE, 1X]\n"), 8, 29,
                         "step 'a': pass_env: 1X is not a valid variable name"));
  EXPECT_TRUE(hasProblem(plus("    pass_env: [KEEL_TOKEN]\n"), 8, 16,
                         "pass_env: KEEL_TOKEN: names starting with KEEL_ are reserved"));
  EXPECT_TRUE(hasProblem(plus("    pass_env: [A, A]\n"), 8, 19, "pass_env: A is listed twice"));
  EXPECT_TRUE(hasProblem(plus("    env: {A: x}\n    pass_env: [A]\n"), 9, 16,
                         "pass_env: A is also set under env:"));
  EXPECT_TRUE(hasProblem(plus("    pass_env: A\n"), 8, 15, "pass_env: expected a list"));
}

TEST(ParserErrors, TemplateReferences) {
  // params.X must be declared when a params: block exists.
  EXPECT_TRUE(hasProblem("params: {date: }\n" + plus("  - name: b\n    run: echo {{ params.dat }}\n"
                                                     "    timeout: 1s\n"),
                         10, 10,
                         "step 'b': run: {{ params.dat }}: no param 'dat' is declared under "
                         "params: (did you mean 'date'?)"));
  EXPECT_TRUE(hasProblem(plus("  - name: b\n    run: echo {{ steps.c.output }}\n    timeout: 1s\n"
                              "  - name: c\n    noop: true\n"),
                         9, 10, "step 'b' uses steps.c.output but does not need 'c' (in run)"));
  // Transitive needs are enough.
  EXPECT_TRUE(problemsOf(plus("  - name: b\n    noop: true\n    needs: a\n  - name: c\n"
                              "    run: echo {{ steps.a.output.path }}\n    timeout: 1s\n"
                              "    needs: b\n"))
                  .empty());
  EXPECT_TRUE(hasProblem(plus("    env: {X: \"{{ steps.a.output }}\"}\n"), 8, 14,
                         "step 'a' uses its own output"));
  EXPECT_TRUE(hasProblem(plus("    env: {X: \"{{ step.a }}\"}\n"), 8, 14,
                         "step 'a': env.X: {{ step.a }}: unknown root 'step'"));
  EXPECT_TRUE(hasProblem(plus("    env: {X: \"{{ run.ide }}\"}\n"), 8, 14,
                         "{{ run.ide }}: use run.id or run.workflow"));
  EXPECT_TRUE(hasProblem(plus("    env: {X: \"{{ steps.zz.output }}\"}\n"), 8, 14,
                         "{{ steps.zz.output }}: no step named 'zz'"));
  EXPECT_TRUE(
      hasProblem(plus("    env: {X: \"{{ steps.a.out }}\"}\n"), 8, 14, "write steps.NAME.output"));
  EXPECT_TRUE(hasProblem(plus("    workdir: \"{{ params.x\"\n"), 8, 14,
                         "step 'a': workdir: bad template: '{{' at column 1 has no closing '}}'"));
  EXPECT_TRUE(hasProblem(plus("    env: {KEEL_X: y, 1A: z}\n"), 8, 11,
                         "names starting with KEEL_ are reserved"));
  EXPECT_TRUE(
      hasProblem(plus("    env: {KEEL_X: y, 1A: z}\n"), 8, 22, "is not a valid variable name"));
}

TEST(ParserErrors, YamlSyntaxAndDocumentShape) {
  EXPECT_TRUE(hasProblem("name: wf\nsteps: [a, b\n", 3, 1, "YAML syntax error:"));
  EXPECT_TRUE(hasProblem("name: wf\n  bad: indent\n", 2, 6, "YAML syntax error:"));
  // yaml-cpp's own LoadAll never returns on this one.
  EXPECT_TRUE(hasProblem(", contact: x\nname: wf\n", 1, 1, "YAML syntax error: unexpected ','"));
  EXPECT_TRUE(hasProblem("", 1, 1, "the workflow is empty"));
  EXPECT_TRUE(hasProblem("# only a comment\n", 1, 1, "the workflow is empty"));
  EXPECT_TRUE(hasProblem(std::string(kMinimal) + "---\nname: other\n", 9, 1,
                         "expected one YAML document, found 2"));
}

}  // namespace
}  // namespace keel::spec

namespace keel::spec {
namespace {

TEST(ParserErrors, SeverityIsSev1ToSev4) {
  EXPECT_TRUE(testing::hasProblem(testing::plus("severity: P1\n"), 8, 11,
                                  "severity \"P1\" is invalid: use SEV1 (highest), SEV2, SEV3 or "
                                  "SEV4"));
  auto spec = testing::parse(testing::plus("severity: sev2\n"));
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ((*spec)->severity, 2);
  EXPECT_EQ((*testing::parse(kMinimal))->severity, 3);
}

}  // namespace
}  // namespace keel::spec
