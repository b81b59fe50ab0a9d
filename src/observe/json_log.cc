#include "observe/json_log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace keel::observe {
namespace {

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
  formatter->add_flag<JsonMessage>('j').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%j"})");
  return formatter;
}

std::shared_ptr<spdlog::logger> installJsonLogger(const std::string& level, spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("keel", std::move(sink));
  logger->set_formatter(makeJsonFormatter());
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
  return logger;
}

}  // namespace keel::observe
