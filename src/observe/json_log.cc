#include "observe/json_log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace keel::observe {
namespace {

// The fields of the logFields() call in progress on this thread: the
// default logger is synchronous, so it formats on the calling thread.
thread_local const nlohmann::json* tFields = nullptr;

// %F: `,"name":value` for each field of the current logFields() call.
class JsonFields final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    if (!tFields || !tFields->is_object()) return;
    for (const auto& [name, value] : tFields->items()) {
      if (name == "time" || name == "level" || name == "msg") continue;
      std::string item = "," + nlohmann::json(name).dump() + ":" +
                         value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      dest.append(item.data(), item.data() + item.size());
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonFields>();
  }
};

// %j: the message as the inside of a JSON string.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string quoted = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data() + 1, quoted.data() + quoted.size() - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> makeJsonFormatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonMessage>('j').add_flag<JsonFields>('F').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%j"%F})");
  return formatter;
}

std::shared_ptr<spdlog::logger> installJsonLogger(const std::string& level, spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("keel", std::move(sink));
  logger->set_formatter(makeJsonFormatter());
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
  return logger;
}

bool logEnabled(spdlog::level::level_enum level) {
  return spdlog::default_logger_raw()->should_log(level);
}

void logFields(spdlog::level::level_enum level, std::string_view message,
               const nlohmann::json& fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  tFields = &fields;
  logger->log(level, "{}", message);
  tFields = nullptr;
}

}  // namespace keel::observe
