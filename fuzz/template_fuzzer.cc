// Fuzzes templates: templateRefs() and renderTemplate() on any text, with a
// context of hostile params and step outputs taken from the input (values
// holding "{{", "}}", invalid UTF-8, deep or odd JSON). Checks that the two
// agree: a template templateRefs() refuses is never rendered, and one with no
// references renders to itself. Also paramEnvName() on any name.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "spec/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel;
  FuzzedDataProvider in(data, size);
  std::string tmpl = in.ConsumeRandomLengthString(4096);

  nlohmann::json params = nlohmann::json::object();
  params["date"] = "{{ params.date }}";
  params["n"] = 42;
  params[in.ConsumeRandomLengthString(64)] = in.ConsumeRandomLengthString(256);
  params[in.ConsumeRandomLengthString(64)] = in.ConsumeBool();
  std::map<std::string, nlohmann::json> outputs;
  std::string step = in.ConsumeRandomLengthString(64);
  auto output = nlohmann::json::parse(in.ConsumeRemainingBytesAsString(), nullptr, false);
  if (!output.is_discarded()) outputs[step] = std::move(output);
  outputs["fetch"] = {{"path", "/tmp/x"}, {"rows", {1, 2, 3}}, {"nested", {{"k", nullptr}}}};

  spec::TemplateContext ctx;
  ctx.params = &params;
  ctx.stepOutputs = &outputs;
  ctx.runId = "01KA0000000000000000000003";
  ctx.workflow = "wf";

  auto refs = spec::templateRefs(tmpl);
  auto rendered = spec::renderTemplate(tmpl, ctx);
  if (!refs.ok()) {
    if (refs.error().code() != ErrorCode::kInvalidArgument) fuzz::fail(refs.error().toString());
    if (rendered.ok()) fuzz::fail("rendered a template templateRefs refuses", tmpl);
  } else if (refs->empty()) {
    if (!rendered.ok()) fuzz::fail("no references, yet: " + rendered.error().toString(), tmpl);
    if (*rendered != tmpl) fuzz::fail("no references, yet the text changed", tmpl);
  }
  if (!rendered.ok() && rendered.error().code() != ErrorCode::kInvalidArgument)
    fuzz::fail(rendered.error().toString());
  if (refs.ok())
    for (const auto& ref : *refs)
      if (ref.column < 1 || static_cast<size_t>(ref.column) > tmpl.size())
        fuzz::fail("reference column out of the text", tmpl);

  std::string env = spec::paramEnvName(tmpl);
  if (env.size() != 11 + tmpl.size()) fuzz::fail("env name of another length", tmpl);
  return 0;
}
