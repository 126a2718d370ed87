// The weir-mock-broker helper: commands, and survival of a client killed with -9.
#include <catch2/catch.hpp>

#include "tests/unit/kafka/kafka_test_util.h"

using namespace weir::kafka::test;

TEST_CASE("mock broker prints its bootstrap list and answers every command") {
  MockBroker b({"--brokers", "3", "--topic", "a:4", "--topic", "b"});
  CHECK(std::count(b.bootstrap().begin(), b.bootstrap().end(), ',') == 2);
  CHECK(b.command("create c 2") == "OK");
  CHECK(b.command("down 2") == "OK");
  CHECK(b.command("up 2") == "OK");
  CHECK(b.command("errors 0 2 10 7") == "OK");
  CHECK(b.command("clear 0") == "OK");
  CHECK(b.command("rtt 1 20") == "OK");
  CHECK(b.command("leader a 1 3") == "OK");
  CHECK(b.command("coordinator group g 2") == "OK");
  // Bad input is answered, never fatal.
  CHECK(b.command("down 9").rfind("ERR ", 0) == 0);  // unknown broker
  CHECK(b.command("down x").rfind("ERR ", 0) == 0);
  CHECK(b.command("errors 0 0").rfind("ERR ", 0) == 0);
  CHECK(b.command("create d zero").rfind("ERR ", 0) == 0);
  CHECK(b.command("frobnicate").rfind("ERR ", 0) == 0);
  CHECK(b.command("").rfind("ERR ", 0) == 0);
  // Topics created by arguments and commands are usable.
  produce(b.bootstrap(), "c", {{"k", "v", 1}});
  auto got = read_topic(b.bootstrap(), "c", 2, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].partition == 1);
}

TEST_CASE("mock broker rejects bad arguments") {
  REQUIRE_THROWS(MockBroker({"--brokers", "0"}));
  REQUIRE_THROWS(MockBroker({"--topic", "t:x"}));
  REQUIRE_THROWS(MockBroker({"--bogus"}));
}

TEST_CASE("mock broker injects produce errors as told") {
  MockBroker b({"--topic", "t:1"});
  // Non-idempotent plain producer without retries: the pushed error reaches the delivery report.
  REQUIRE(b.command("errors 0 1 10") == "OK");  // MSG_SIZE_TOO_LARGE
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", b.bootstrap().c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "retries", "0", err, sizeof(err));
  static rd_kafka_resp_err_t seen;
  seen = RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) { seen = m->err; });
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  REQUIRE(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_VALUE(const_cast<char*>("x"), 1),
                            RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_flush(rk, 10000);
  rd_kafka_destroy(rk);
  CHECK(seen == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
}

TEST_CASE("mock broker keeps serving after a client is killed with -9") {
  MockBroker b({"--topic", "t:2"});
  pid_t child = fork();
  if (child == 0) {
    // A client that produces forever.
    rd_kafka_t* rk = new_client(RD_KAFKA_PRODUCER, b.bootstrap());
    for (;;) {
      rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_VALUE(const_cast<char*>("child"), 5),
                        RD_KAFKA_V_END);
      rd_kafka_poll(rk, 1);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(b.command("rtt 1 0") == "OK");
  produce(b.bootstrap(), "t", {{std::nullopt, "after", 0}});
  bool found = false;
  for (const auto& r : read_topic(b.bootstrap(), "t", 2, 1000000, std::chrono::seconds(3))) {
    found = found || r.value == "after";
  }
  CHECK(found);
}
