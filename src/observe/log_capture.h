// LogCapture: for tests, the JSON log lines written while it lives, at a
// given level, instead of stderr; the previous default logger comes back
// when it goes. Not thread-safe against another LogCapture: one at a time.
#pragma once

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "observe/json_log.h"

namespace keel::observe {

class LogCapture {
 public:
  explicit LogCapture(const std::string& level = "info") : previous_(spdlog::default_logger()) {
    installJsonLogger(level, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Everything logged so far (the logger is flushed first).
  std::string text() const {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace keel::observe
