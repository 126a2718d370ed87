// Kafka configuration translation: defaults, user overrides, property checks.
#include <catch2/catch.hpp>

#include "connectors/kafka/kafka_config.h"

using namespace weir;
using namespace weir::kafka;

namespace {
std::string get(const config::Properties& p, const std::string& k) {
  for (const auto& [name, v] : p) {
    if (name == k) return v;
  }
  return "<unset>";
}
}  // namespace

TEST_CASE("consumer settings: delivery-safe defaults, throughput tuning, user overrides") {
  config::KafkaSource s;
  s.brokers = {"h1:9092", "h2:9093"};
  s.topics = {"t"};
  s.start = config::KafkaSource::Start::Earliest;
  s.properties = {
      {"fetch.wait.max.ms", "50"}, {"enable.auto.commit", "true"}, {"session.timeout.ms", "6000"}};
  auto p = consumer_settings(s, "myjob");
  CHECK(get(p, "bootstrap.servers") == "h1:9092,h2:9093");
  CHECK(get(p, "group.id") == "weir-myjob");
  CHECK(get(p, "auto.offset.reset") == "earliest");
  CHECK(get(p, "enable.auto.offset.store") == "false");
  CHECK(get(p, "enable.auto.commit") == "false");  // reserved: the user's value is ignored
  CHECK(get(p, "queued.min.messages") == "1000000");
  CHECK(get(p, "queued.max.messages.kbytes") == "262144");
  CHECK(get(p, "fetch.wait.max.ms") == "50");  // user wins
  CHECK(get(p, "session.timeout.ms") == "6000");
  s.group = "explicit";
  s.start = config::KafkaSource::Start::Latest;
  p = consumer_settings(s, "myjob");
  CHECK(get(p, "group.id") == "explicit");
  CHECK(get(p, "auto.offset.reset") == "latest");
  std::string err;
  CHECK(make_conf(p, err) != nullptr);
}

TEST_CASE("producer settings: idempotent, acks=all, transactional id only for exactly_once") {
  auto p = producer_settings({"h:1"}, {{"linger.ms", "20"}}, "j", std::nullopt);
  CHECK(get(p, "enable.idempotence") == "true");
  CHECK(get(p, "acks") == "all");
  CHECK(get(p, "linger.ms") == "20");
  CHECK(get(p, "transactional.id") == "<unset>");
  p = producer_settings({"h:1"}, {}, "j", std::string("weir-j-o"));
  CHECK(get(p, "transactional.id") == "weir-j-o");
}

TEST_CASE("properties are checked: unknown, invalid, reserved, values never echoed") {
  auto problems = check_properties({{"security.protocol", "SASL_SSL"},
                                    {"sasl.mechanisms", "PLAIN"},
                                    {"no.such", "x"},
                                    {"linger.ms", "secret-value"},
                                    {"group.id", "g"}});
  REQUIRE(problems.size() == 3);
  CHECK(problems[0].find("'no.such' is not known") != std::string::npos);
  CHECK(problems[1].find("'linger.ms' has an invalid value") != std::string::npos);
  CHECK(problems[2].find("'group.id' is set by weir") != std::string::npos);
  for (const auto& m : problems) CHECK(m.find("secret-value") == std::string::npos);
  std::string err;
  CHECK(make_conf({{"bogus.key", "1"}}, err) == nullptr);
  CHECK(err.find("bogus.key") != std::string::npos);
}

TEST_CASE("error log reports a state once, then its recovery") {
  ErrorLog log("job j: Kafka source", std::chrono::seconds(3600));
  CHECK(log.error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "down"));
  CHECK_FALSE(log.error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "down"));
  CHECK(log.in_error());
  CHECK(log.error(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "unknown topic"));  // a new state
  log.ok();
  CHECK_FALSE(log.in_error());
  CHECK(log.logged() == 3);
  log.ok();  // no error state: nothing to report
  CHECK(log.logged() == 3);
}
