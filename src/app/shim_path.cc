#include "app/shim_path.h"

#include <unistd.h>

#include <filesystem>

namespace keel::app {

Result<std::string> findShim() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return Error(ErrorCode::kIo, "cannot find keel's own path: " + ec.message());
  auto shim = (self.parent_path() / "keel-shim").string();
  if (::access(shim.c_str(), X_OK) != 0)
    return Error(ErrorCode::kNotFound,
                 "cannot run " + shim +
                     ": keel starts every step under keel-shim, which must be installed next to "
                     "the keel binary");
  return shim;
}

}  // namespace keel::app
