// Fuzzes the workflow parser the way `keel validate --explain` and
// `keel apply` use it: parseWorkflow() with a file name and a default
// workdir, then explainWorkflow() on a valid spec. Every input must give a
// spec or an error whose details read "FILE:LINE:COL: message".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "spec/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel;
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  spec::ParseOptions options;
  options.fileName = "/srv/flows/f.yaml";
  options.defaultWorkdir = "/srv/flows";
  auto parsed = spec::parseWorkflow(yaml, options);
  if (parsed.ok()) {
    if (!*parsed) fuzz::fail("ok without a spec");
    std::string text = spec::explainWorkflow(**parsed);
    if (text.empty()) fuzz::fail("empty explanation");
    return 0;
  }
  const Error& e = parsed.error();
  if (e.code() == ErrorCode::kTooLarge) return 0;
  if (e.code() != ErrorCode::kInvalidArgument) fuzz::fail("unexpected code: " + e.toString());
  if (e.details().empty()) fuzz::fail("invalid without details: " + e.toString());
  for (const auto& d : e.details()) {
    if (!d.starts_with(options.fileName + ":")) fuzz::fail("detail without the file: " + d);
    if (d.find('\n') != std::string::npos) fuzz::fail("detail over several lines: " + d);
  }
  return 0;
}
