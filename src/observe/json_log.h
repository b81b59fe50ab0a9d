// JSON log lines for keel's stderr: every record is one JSON object on one
// line, {"time":"…Z","level":"info","msg":"…"}, whatever the message holds
// (quotes, backslashes, line breaks, bytes that are not UTF-8), so a log
// shipper can parse every line. Built once by the composition root.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace keel::observe {

// The formatter: time in UTC with milliseconds, the level, the message
// JSON-escaped (invalid UTF-8 replaced by U+FFFD).
std::unique_ptr<spdlog::formatter> makeJsonFormatter();

// Makes a logger named "keel" over `sink` with that formatter and `level`
// ("trace" … "off"), and installs it as spdlog's default logger.
std::shared_ptr<spdlog::logger> installJsonLogger(const std::string& level, spdlog::sink_ptr sink);

}  // namespace keel::observe
