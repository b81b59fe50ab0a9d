// JSON log lines for keel's stderr: every record is one JSON object on one
// line, {"time":"…Z","level":"info","msg":"…"}, whatever the message holds
// (quotes, backslashes, line breaks, bytes that are not UTF-8), so a log
// shipper can parse every line. Built once by the composition root.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

namespace keel::observe {

// The formatter: time in UTC with milliseconds, the level, the message
// JSON-escaped (invalid UTF-8 replaced by U+FFFD), then the fields of a
// logFields() call, if any.
std::unique_ptr<spdlog::formatter> makeJsonFormatter();

// Makes a logger named "keel" over `sink` with that formatter and `level`
// ("trace" … "off"), and installs it as spdlog's default logger.
std::shared_ptr<spdlog::logger> installJsonLogger(const std::string& level, spdlog::sink_ptr sink);

// Logs `message` with extra fields on the same line ({"run_id":…,
// "workflow":…, "step":…, "attempt":…, "class":…}): `fields` must be a JSON
// object; its members follow "msg" in the line. Any thread.
void logFields(spdlog::level::level_enum level, std::string_view message,
               const nlohmann::json& fields);

// Whether a record at `level` would be written: callers on hot paths check
// it before building the fields.
bool logEnabled(spdlog::level::level_enum level);

}  // namespace keel::observe
