#include "engine/log.h"

#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "engine/value.h"

namespace weir::log {
namespace {

// %* : the message as a JSON string literal (quotes included), for --log-format json.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string out;
    append_json_string(out, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::mutex mu;
spdlog::level::level_enum level = spdlog::level::info;
std::string pattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %n: %v";
spdlog::sink_ptr sink;

spdlog::sink_ptr shared_sink() {
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}

void apply(spdlog::logger& l) {
  l.set_level(level);
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<JsonMessageFlag>('*').set_pattern(pattern);
  l.set_formatter(std::move(f));
}

}  // namespace

std::shared_ptr<spdlog::logger> get(const std::string& module) {
  std::string name = "weir." + module;
  std::lock_guard<std::mutex> lock(mu);
  if (auto l = spdlog::get(name)) return l;
  auto l = std::make_shared<spdlog::logger>(name, shared_sink());
  apply(*l);
  spdlog::register_logger(l);
  return l;
}

bool setup(const std::string& level_name, const std::string& format) {
  auto lvl = spdlog::level::from_str(level_name);
  if (lvl == spdlog::level::off && level_name != "off") return false;
  std::string pat;
  if (format == "text") {
    pat = "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %n: %v";
  } else if (format == "json") {
    pat = R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":%*})";
  } else {
    return false;
  }
  std::lock_guard<std::mutex> lock(mu);
  level = lvl;
  pattern = pat;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { apply(*l); });
  return true;
}

}  // namespace weir::log
