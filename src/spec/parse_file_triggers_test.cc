// File triggers: path (absolute), pattern and stable_for parsed with their
// checks; params may use file.* only, and file.* nowhere else; they are
// fired, so no "not fired" warning.
#include <gtest/gtest.h>

#include "spec/parser.h"
#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::anyProblemHas;
using testing::plus;

TEST(FileTriggers, ParsedWithParamsAndNotWarned) {
  auto spec = testing::parse(plus(R"(triggers:
  - file: { path: /data/in/, pattern: "*.csv", stable_for: 3s }
    params: { file: "{{ file.path }}", name: "{{ file.name }}", size: "{{ file.size }}",
              at: "{{ file.mtime }}" }
  - file: { path: /data/other }
)"));
  ASSERT_TRUE(spec.ok()) << spec.error().toString();
  const auto& t = (*spec)->triggers.at(0);
  EXPECT_EQ(t.kind, TriggerSpec::Kind::kFile);
  EXPECT_EQ(t.filePath, "/data/in");  // one spelling per directory
  EXPECT_EQ(t.filePattern, "*.csv");
  EXPECT_EQ(t.fileStableFor, Millis(3000));
  EXPECT_EQ(t.params.at("file"), "{{ file.path }}");
  const auto& d = (*spec)->triggers.at(1);
  EXPECT_EQ(d.filePattern, "");
  EXPECT_FALSE(d.fileStableFor.has_value());
  for (const auto& w : checkRunnable(**spec, "f.yaml").warnings)
    EXPECT_EQ(w.find("trigger"), std::string::npos) << w;
}

TEST(FileTriggers, BadFieldsAreRefusedWithWhere) {
  EXPECT_TRUE(anyProblemHas(plus("triggers:\n  - file: { pattern: x }\n"), "missing 'path'"));
  EXPECT_TRUE(
      anyProblemHas(plus("triggers:\n  - file: { path: data/in }\n"), "not an absolute path"));
  EXPECT_TRUE(anyProblemHas(plus("triggers:\n  - file: { path: /in, pattern: \"a/b\" }\n"),
                            "glob on the file name"));
  EXPECT_TRUE(
      anyProblemHas(plus("triggers:\n  - file: { path: /in, stable_for: 0s }\n"), "stable_for"));
  EXPECT_TRUE(
      anyProblemHas(plus("triggers:\n  - file: { path: /in, recursive: true }\n"), "recursive"));
  EXPECT_TRUE(anyProblemHas(plus(R"(triggers:
  - file: { path: /in }
    params: { p: "{{ event.id }}" }
)"),
                            "a file trigger's params can use only file.path"));
  EXPECT_TRUE(anyProblemHas(plus(R"(triggers:
  - file: { path: /in }
    params: { p: "{{ file.owner }}" }
)"),
                            "a file trigger's params can use only file.path"));
  EXPECT_TRUE(anyProblemHas(plus(R"(triggers:
  - event: t
    params: { p: "{{ file.path }}" }
)"),
                            "a trigger's params can use only event.id"));
  EXPECT_TRUE(anyProblemHas(plus(R"(triggers:
  - cron: "0 5 * * *"
    params: { p: "{{ file.path }}" }
)"),
                            "can use only schedule.time"));
}

}  // namespace
}  // namespace keel::spec
