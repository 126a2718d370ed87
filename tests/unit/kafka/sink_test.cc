// KafkaSink and KafkaDeadLetterSink against the mock broker helper.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "connectors/kafka/kafka_sink.h"
#include "tests/unit/kafka/kafka_test_util.h"

using namespace weir;
using namespace weir::kafka::test;
using namespace std::chrono_literals;

namespace {

config::KafkaSink sink_cfg(const MockBroker& b, const std::string& topic) {
  config::KafkaSink c;
  c.brokers = {b.bootstrap()};
  c.topic = topic;
  return c;
}

SinkContext context() {
  SinkContext ctx;
  ctx.job = "job";
  ctx.output = "out";
  ctx.schema.columns = {{"window_end", Type::Time},
                        {"author", Type::String},
                        {"n", Type::Int},
                        {"avg", Type::Float},
                        {"hidden_key", Type::String}};
  return ctx;
}

BatchOutput batch(uint64_t id, int rows) {
  BatchOutput out;
  out.batch_id = id;
  Emission em;
  em.window_end_ms = 1484149140000;
  for (int i = 0; i < rows; ++i) {
    em.rows.push_back({Value::time(1484149140000), Value::string("a\"" + std::to_string(i)),
                       Value::integer(i), Value::real(0.5),
                       i % 3 == 0 ? Value() : Value::string("key" + std::to_string(i))});
  }
  out.emissions.push_back(std::move(em));
  return out;
}

}  // namespace

TEST_CASE("sink writes each row as a JSON object with its key") {
  MockBroker b({"--topic", "out:1"});
  kafka::KafkaSink sink(sink_cfg(b, "out"), 4, {false, false, false, false, true});
  REQUIRE_OK(sink.open(context()));
  CHECK_FALSE(sink.exactly_once());
  REQUIRE_OK(sink.write(batch(1, 6)));
  auto got = read_topic(b.bootstrap(), "out", 1, 6);
  REQUIRE(got.size() == 6);
  std::sort(got.begin(), got.end(), [](const Read& x, const Read& y) { return x.offset < y.offset; });
  for (int i = 0; i < 6; ++i) {
    CHECK(got[i].value == "{\"window_end\":\"2017-01-11T15:39:00.000Z\",\"author\":\"a\\\"" +
                              std::to_string(i) + "\",\"n\":" + std::to_string(i) + ",\"avg\":0.5}");
    if (i % 3 == 0) {
      CHECK_FALSE(got[i].key.has_value());
    } else {
      CHECK(got[i].key == "key" + std::to_string(i));
    }
  }
}

TEST_CASE("sink uses the display form of non-string keys and keeps all columns by default") {
  MockBroker b({"--topic", "out:1"});
  kafka::KafkaSink sink(sink_cfg(b, "out"), 2);
  REQUIRE_OK(sink.open(context()));
  REQUIRE_OK(sink.write(batch(1, 2)));
  auto got = read_topic(b.bootstrap(), "out", 1, 2);
  REQUIRE(got.size() == 2);
  std::sort(got.begin(), got.end(), [](const Read& x, const Read& y) { return x.offset < y.offset; });
  CHECK(got[1].key == "1");
  CHECK(got[1].value->find("\"hidden_key\":\"key1\"") != std::string::npos);
  CHECK(got[0].value->find("\"hidden_key\":null") != std::string::npos);
}

TEST_CASE("sink reports undeliverable batches as errors") {
  MockBroker b({"--topic", "out:1"});
  SECTION("brokers down past the message timeout: retryable") {
    auto cfg = sink_cfg(b, "out");
    cfg.properties = {{"message.timeout.ms", "1500"}};
    kafka::KafkaSink sink(cfg);
    REQUIRE_OK(sink.open(context()));
    REQUIRE_OK(sink.write(batch(1, 1)));
    REQUIRE(b.command("down 1") == "OK");
    Status st = sink.write(batch(2, 3));
    CHECK(st.is_retryable());
    CHECK(st.message().find("job job output out") != std::string::npos);
    CHECK(st.message().find("3 of 3") != std::string::npos);
    REQUIRE(b.command("up 1") == "OK");
    // The same sink recovers once the broker is back (the engine retries retryable writes).
    Status again = Status::retryable("not tried");
    for (int i = 0; i < 10 && again.is_retryable(); ++i) again = sink.write(batch(2, 3));
    INFO(again.message());
    CHECK(again.is_ok());
  }
  SECTION("produce rejected by the broker as too large: fatal") {
    kafka::KafkaSink sink(sink_cfg(b, "out"));
    REQUIRE_OK(sink.open(context()));
    REQUIRE(b.command("errors 0 1 10") == "OK");  // MSG_SIZE_TOO_LARGE on the next Produce
    Status st = sink.write(batch(1, 2));
    CHECK_FALSE(st.is_ok());
    CHECK(st.is_fatal());
  }
  SECTION("write before open") {
    kafka::KafkaSink sink(sink_cfg(b, "out"));
    CHECK(sink.write(batch(1, 1)).is_fatal());
  }
  SECTION("bad property") {
    auto cfg = sink_cfg(b, "out");
    cfg.properties = {{"linger.ms", "not-a-number"}};
    kafka::KafkaSink sink(cfg);
    Status st = sink.open(context());
    CHECK(st.is_fatal());
    CHECK(st.message().find("linger.ms") != std::string::npos);
    CHECK(st.message().find("not-a-number") == std::string::npos);  // values may be secrets
  }
}

TEST_CASE("sink with exactly_once uses transactions") {
  MockBroker b({"--topic", "out:2", "--topic", "src:2"});
  auto cfg = sink_cfg(b, "out");
  cfg.exactly_once = true;
  kafka::KafkaSink sink(cfg, std::nullopt, {}, std::string("weir-group"));
  REQUIRE_OK(sink.open(context()));
  CHECK(sink.exactly_once());
  CHECK(sink.committed_batch() == 0);
  BatchOutput b1 = batch(1, 4);
  b1.positions = {{"src/0", 10, 0}, {"src/1", 3, 0}};
  REQUIRE_OK(sink.write(b1));
  REQUIRE_OK(sink.write(batch(2, 2)));
  // (The mock writes no commit markers, so only the transaction handling is checked here.)

  SECTION("an abortable error aborts the transaction and the batch can be written again") {
    // AddPartitionsToTxn (ApiKey 24) refused: librdkafka requires the transaction to be aborted.
    REQUIRE(b.command("errors 24 1 29") == "OK");  // TOPIC_AUTHORIZATION_FAILED
    Status st = sink.write(batch(3, 2));
    INFO(st.message());
    CHECK(st.is_retryable());
    REQUIRE_OK(sink.write(batch(3, 2)));
  }
  SECTION("a fenced producer (EndTxn answered INVALID_PRODUCER_EPOCH) is fatal") {
    REQUIRE(b.command("errors 26 1 47") == "OK");
    Status st = sink.write(batch(3, 1));
    INFO(st.message());
    CHECK(st.is_fatal());
    CHECK(sink.write(batch(4, 1)).is_fatal());  // and stays so
  }
  SECTION("a message the broker rejects as too large is fatal") {
    REQUIRE(b.command("errors 0 1 10") == "OK");
    Status st = sink.write(batch(3, 2));
    INFO(st.message());
    CHECK(st.is_fatal());
  }
}

TEST_CASE("exactly_once sink finds its last committed batch in the topic after a restart") {
  // After a crash between a transaction's commit and the engine noting it, the checkpoint still holds the
  // batch as pending: the restarted sink must know the batch is in the topic, or it writes it twice.
  MockBroker b({"--topic", "out:3"});
  auto cfg = sink_cfg(b, "out");
  cfg.exactly_once = true;
  std::vector<Msg> foreign;
  for (int i = 0; i < 5; ++i) foreign.push_back(Msg{std::nullopt, "foreign-before", -1});
  produce(b.bootstrap(), "out", foreign);
  size_t total = foreign.size();
  {
    kafka::KafkaSink sink(cfg);
    REQUIRE_OK(sink.open(context()));
    CHECK(sink.committed_batch() == 0);
    REQUIRE_OK(sink.write(batch(1, 4)));
    REQUIRE_OK(sink.write(batch(2, 6)));
    CHECK(sink.committed_batch() == 2);
    sink.close();
    total += 10;
  }
  {
    // Another output of the job writing to the same topic, further on in its own batches: not ours.
    kafka::KafkaSink other(cfg);
    SinkContext ctx = context();
    ctx.output = "other";
    REQUIRE_OK(other.open(ctx));
    REQUIRE_OK(other.write(batch(9, 3)));
    other.close();
    total += 3;
  }
  // Many messages of other writers after ours: every partition's last 16 hold none of ours, so the tail is
  // read further back.
  foreign.clear();
  for (int i = 0; i < 120; ++i) foreign.push_back(Msg{std::nullopt, "foreign-after", i % 3});
  produce(b.bootstrap(), "out", foreign);
  total += foreign.size();

  kafka::KafkaSink again(cfg);
  REQUIRE_OK(again.open(context()));
  CHECK(again.committed_batch() == 2);
  REQUIRE_OK(again.write(batch(2, 6)));  // committed already: skipped
  REQUIRE_OK(again.write(batch(3, 2)));
  CHECK(again.committed_batch() == 3);
  again.close();
  total += 2;

  auto got = read_topic(b.bootstrap(), "out", 3, total + 1, 2s);
  CHECK(got.size() == total);
  std::map<std::string, int> per_batch;
  for (const auto& r : got) per_batch[r.batch_header.value_or("none")]++;
  CHECK(per_batch ==
        std::map<std::string, int>{
            {"job/out:1", 4}, {"job/out:2", 6}, {"job/out:3", 2}, {"job/other:9", 3}, {"none", 125}});
}

TEST_CASE("exactly_once sink on a topic that does not exist yet starts at batch 0") {
  MockBroker b({"--topic", "x:1"});
  auto cfg = sink_cfg(b, "fresh-topic");
  cfg.exactly_once = true;
  kafka::KafkaSink sink(cfg);
  REQUIRE_OK(sink.open(context()));
  CHECK(sink.committed_batch() == 0);
}

TEST_CASE("dead-letter sink produces entries and flush waits for acknowledgements") {
  MockBroker b({"--topic", "dlq:1"});
  auto cfg = sink_cfg(b, "dlq");
  cfg.properties = {{"message.timeout.ms", "1500"}};
  kafka::KafkaDeadLetterSink dlq(cfg);
  CHECK(dlq.write("{}").is_fatal());  // not open
  REQUIRE_OK(dlq.open("job"));
  REQUIRE_OK(dlq.write(R"({"payload":"bad","error":"x","offset":1})"));
  REQUIRE_OK(dlq.write(R"({"payload":"worse","error":"y","offset":2})"));
  REQUIRE_OK(dlq.flush());
  auto got = read_topic(b.bootstrap(), "dlq", 1, 2);
  REQUIRE(got.size() == 2);
  std::sort(got.begin(), got.end(), [](const Read& x, const Read& y) { return x.offset < y.offset; });
  CHECK(got[0].value == R"({"payload":"bad","error":"x","offset":1})");
  CHECK(got[1].value == R"({"payload":"worse","error":"y","offset":2})");

  REQUIRE(b.command("down 1") == "OK");
  REQUIRE_OK(dlq.write(R"({"payload":"lost"})"));
  Status st = dlq.flush();
  CHECK(st.is_retryable());
  REQUIRE(b.command("up 1") == "OK");
  dlq.close();
}

TEST_CASE("dead-letter sink: entries fit message.max.bytes, one the broker refuses is lost, not an error") {
  MockBroker b({"--topic", "dlq:1"});
  auto cfg = sink_cfg(b, "dlq");
  cfg.properties = {{"message.timeout.ms", "5000"}};
  {
    kafka::KafkaDeadLetterSink dlq(cfg);
    REQUIRE_OK(dlq.open("job"));
    CHECK(dlq.max_entry_bytes() == 1000000 - 1024);  // librdkafka's default message.max.bytes
  }
  cfg.properties.emplace_back("message.max.bytes", "200000");  // the job's own limit is kept
  kafka::KafkaDeadLetterSink dlq(cfg);
  REQUIRE_OK(dlq.open("job"));
  CHECK(dlq.max_entry_bytes() == 200000 - 1024);
  // Refused by the producer itself (larger than message.max.bytes): logged and dropped.
  REQUIRE_OK(dlq.write(R"({"error":"big","payload":")" + std::string(300000, 'x') + R"(","offset":1})"));
  // Refused by the broker (MSG_SIZE_TOO_LARGE): logged and dropped.
  REQUIRE(b.command("errors 0 1 10") == "OK");
  REQUIRE_OK(dlq.write(R"({"payload":"refused","offset":2})"));
  REQUIRE_OK(dlq.flush());
  // The next entries still go through.
  REQUIRE_OK(dlq.write(R"({"payload":"kept","offset":3})"));
  REQUIRE_OK(dlq.flush());
  auto got = read_topic(b.bootstrap(), "dlq", 1, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].value == R"({"payload":"kept","offset":3})");
  // Other failures still fail the flush (the engine then stops the job, as before).
  REQUIRE(b.command("errors 0 1 29") == "OK");  // TOPIC_AUTHORIZATION_FAILED
  REQUIRE_OK(dlq.write(R"({"payload":"denied","offset":4})"));
  CHECK_FALSE(dlq.flush().is_ok());
  dlq.close();
}
