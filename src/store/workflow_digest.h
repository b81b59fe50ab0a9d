// The content digest that decides whether re-applying a workflow makes a
// new version: SHA-256 of yaml + "\0" + workdir, as 64 lowercase hex
// digits. The NUL keeps ("ab", "c") and ("a", "bc") apart. Every Store
// implementation uses this one function so versions agree across backends.
// Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace keel::store {

std::string workflowSha256(std::string_view yaml, std::string_view workdir);

}  // namespace keel::store
