// A step's `retry:` block. Values left out keep RetryPolicy's defaults, which
// explainWorkflow() shows.
#include <algorithm>

#include "spec/parse_state.h"
#include "spec/yaml_read.h"

namespace keel::spec::detail {
namespace {

const std::vector<std::string> kRetryKeys = {"max_attempts", "backoff",  "initial",    "max",
                                             "jitter",       "retry_on", "no_retry_on"};
const std::vector<std::string> kClassNames = {
    "timeout", "dependency_unavailable", "rate_limited", "bad_input", "crash", "lost", "cancelled",
    "error",
};

struct Classes {
  std::vector<FailureClass> classes;
  std::vector<int> exitCodes;
  std::vector<SourcePos> classPos;  // parallel to classes
};

// A list of failure class names and exit codes (integers), or one of them.
Classes readClasses(const MapReader& r, const std::string& key) {
  Classes out;
  const YAML::Node* n = r.find(key);
  if (!n) return out;
  auto items =
      readStringList(*n, r.subject(key), r.diag(), true, "a list of failure classes or exit codes");
  if (!items) return out;
  for (const auto& [text, pos] : *items) {
    bool digits = text.find_first_not_of("0123456789") == std::string::npos;
    if (digits) {
      int code = text.size() <= 3 ? std::stoi(text) : 1000;
      if (code < 1 || code > 255)
        r.diag().add(pos, r.subject(key) + ": exit code " + text + " is out of range (1 to 255)");
      else
        out.exitCodes.push_back(code);
      continue;
    }
    auto c = parseFailureClass(text);
    if (!c) {
      std::string list;
      for (const auto& name : kClassNames) list += (list.empty() ? "" : ", ") + name;
      r.diag().add(pos, r.subject(key) + ": unknown failure class '" + text + "'" +
                            didYouMean(text, kClassNames) + " (use " + list + " or an exit code)");
      continue;
    }
    out.classes.push_back(*c);
    out.classPos.push_back(pos);
  }
  return out;
}

}  // namespace

RetryPolicy readRetry(const YAML::Node& node, const std::string& where, Diagnostics& diag,
                      const RetryPolicy& defaults) {
  RetryPolicy p = defaults;
  p.defaulted = false;
  MapReader r(node, where, "retry.", diag);
  r.checkKeys(kRetryKeys);
  if (auto n = r.integer("max_attempts", 1, 100)) p.maxAttempts = static_cast<int>(*n);
  if (auto b = r.choice("backoff", {"fixed", "exponential"}))
    p.backoff = *b == "fixed" ? Backoff::kFixed : Backoff::kExponential;
  auto initial = r.duration("initial", true);
  auto max = r.duration("max", true);
  if (initial) p.initial = *initial;
  if (max) p.max = *max;
  if (p.max < p.initial && (initial || max)) {
    std::string why = max ? "retry.max (" + formatDuration(p.max) +
                                ") is less than retry.initial (" + formatDuration(p.initial) + ")"
                          : "retry.initial (" + formatDuration(p.initial) +
                                ") is above the default retry.max (" + formatDuration(p.max) +
                                "): set retry.max too";
    diag.add(max ? r.keyPos("max") : r.keyPos("initial"), r.where() + ": " + why);
  }
  if (auto j = r.choice("jitter", {"none", "full", "equal", "decorrelated"})) {
    if (*j == "none") p.jitter = Jitter::kNone;
    if (*j == "full") p.jitter = Jitter::kFull;
    if (*j == "equal") p.jitter = Jitter::kEqual;
    if (*j == "decorrelated") p.jitter = Jitter::kDecorrelated;
  }
  Classes on = readClasses(r, "retry_on");
  Classes off = readClasses(r, "no_retry_on");
  p.retryOn = on.classes;
  p.noRetryOn = off.classes;
  p.retryOnExitCodes = on.exitCodes;
  p.noRetryOnExitCodes = off.exitCodes;
  for (size_t i = 0; i < off.classes.size(); ++i) {
    if (std::find(on.classes.begin(), on.classes.end(), off.classes[i]) != on.classes.end())
      diag.add(off.classPos[i], r.where() + ": '" + std::string(toString(off.classes[i])) +
                                    "' is in both retry.retry_on and retry.no_retry_on");
  }
  for (int code : off.exitCodes) {
    if (std::find(on.exitCodes.begin(), on.exitCodes.end(), code) != on.exitCodes.end())
      diag.add(r.keyPos("no_retry_on"), r.where() + ": exit code " + std::to_string(code) +
                                            " is in both retry.retry_on and retry.no_retry_on");
  }
  return p;
}

}  // namespace keel::spec::detail
