// KafkaSource against the mock broker helper.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "connectors/kafka/kafka_source.h"
#include "tests/unit/kafka/kafka_test_util.h"

using namespace weir;
using namespace weir::kafka::test;
using namespace std::chrono_literals;

namespace {

config::KafkaSource source_cfg(const MockBroker& b, const std::string& topic, const std::string& group,
                               config::KafkaSource::Start start = config::KafkaSource::Start::Earliest) {
  config::KafkaSource c;
  c.brokers = {b.bootstrap()};
  c.topics = {topic};
  c.group = group;
  c.start = start;
  c.properties = {kFastGroup.begin(), kFastGroup.end()};
  return c;
}

// Message i of partition p: payload "p<p>-<i>", key "k<i>" except every 7th (null key); every 10th
// is a tombstone.
std::vector<Msg> partitioned(int partitions, int per_partition) {
  std::vector<Msg> out;
  for (int p = 0; p < partitions; ++p) {
    for (int i = 0; i < per_partition; ++i) {
      Msg m;
      m.partition = p;
      if (i % 7 != 0) m.key = "k" + std::to_string(i);
      if (i % 10 != 9) m.value = "p" + std::to_string(p) + "-" + std::to_string(i);
      out.push_back(std::move(m));
    }
  }
  return out;
}

int64_t offset_of(const Positions& ps, const std::string& stream) {
  for (const auto& p : ps) {
    if (p.stream == stream) return p.offset;
  }
  return -1;
}

void wait_assigned(kafka::KafkaSource& src, Collector& h, size_t n = 1) {
  auto end = std::chrono::steady_clock::now() + 20s;
  while (src.assignment().size() < n && std::chrono::steady_clock::now() < end) {
    REQUIRE(src.poll(h, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
  }
  REQUIRE(src.assignment().size() >= n);
}

// Sets how long the mock broker holds each response (0ms: not at all).
void delay_responses(MockBroker& b, std::chrono::milliseconds d) {
  REQUIRE(b.command("rtt 1 " + std::to_string(d.count())) == "OK");
}

// How long the mock broker holds its responses while a second member joins a group, so that the join
// settles in one round.
//
// librdkafka's mock coordinator (rdkafka_mock_cgrp.c) ends a sync round as soon as the leader's SyncGroup is
// in (that request carries every member's assignment, which is all it counts): it answers the members already
// waiting, forgets the assignments and goes Up. A follower whose SyncGroup comes after that is answered
// INVALID_REQUEST and rejoins, and the mock ends the new round session.timeout.ms - 1 s (2 s with kFastGroup)
// later; a real coordinator would answer the late SyncGroup with the assignment. The mock sends both
// JoinGroup responses at once, and the follower's head start was only the leader's metadata request before
// its SyncGroup: on a loaded machine the follower lost ~40% of the rounds, and six in a row used up a 30 s
// wait. With every response held 200 ms, the leader's SyncGroup goes out >= 200 ms after the follower could
// send its own, so a round is lost only if the follower's threads run 200 ms later than the leader's.
constexpr auto kJoinHeadStart = 200ms;

// A broker with topic "t" of `partitions` partitions, and a source in group "g" that holds all of them.
struct AssignedSource {
  MockBroker b;
  kafka::KafkaSource src;
  Collector h;
  explicit AssignedSource(int partitions)
      : b({"--topic", "t:" + std::to_string(partitions)}), src(source_cfg(b, "t", "g"), "j") {
    REQUIRE_OK(src.open(nullptr));
    wait_assigned(src, h, static_cast<size_t>(partitions));
  }
};

}  // namespace

TEST_CASE("source delivers every record of a 4-partition topic once, with metadata") {
  MockBroker b({"--topic", "t:4"});
  auto msgs = partitioned(4, 250);
  produce(b.bootstrap(), "t", msgs);

  kafka::KafkaSource src(source_cfg(b, "t", "g1"), "job1");
  REQUIRE_OK(src.open(nullptr));
  CHECK(src.replayable());
  CHECK_FALSE(src.bounded());
  Collector h;
  poll_until(src, h, 1000, 20s);
  // Nothing more arrives.
  REQUIRE(src.poll(h, std::chrono::steady_clock::now() + 300ms, 100000) == PollResult::Ok);
  REQUIRE(h.recs.size() == 1000);

  std::set<std::pair<int32_t, int64_t>> seen;
  std::map<int32_t, uint32_t> stream_of;
  std::vector<int64_t> next(4, 0);
  for (const auto& r : h.recs) {
    CHECK(r.topic == "t");
    REQUIRE(r.partition >= 0);
    REQUIRE(r.partition < 4);
    CHECK(seen.insert({r.partition, r.offset}).second);
    CHECK(r.offset == next[r.partition]);  // in order per partition
    next[r.partition] = r.offset + 1;
    int i = static_cast<int>(r.offset);
    if (i % 7 == 0) {
      CHECK_FALSE(r.key.has_value());
    } else {
      CHECK(r.key == "k" + std::to_string(i));
    }
    if (i % 10 == 9) {
      CHECK(r.null_payload);
      CHECK(r.payload.empty());
    } else {
      CHECK_FALSE(r.null_payload);
      CHECK(r.payload == "p" + std::to_string(r.partition) + "-" + std::to_string(i));
    }
    CHECK(r.timestamp_ms > 1'600'000'000'000);
    auto [it, inserted] = stream_of.try_emplace(r.partition, r.stream);
    CHECK(it->second == r.stream);
  }
  // Streams: dense indices 0..3, one per partition.
  std::set<uint32_t> streams;
  for (auto& [p, s] : stream_of) streams.insert(s);
  CHECK(streams == std::set<uint32_t>{0, 1, 2, 3});
  CHECK(src.streams() == 4);
  Positions pos = src.positions();
  REQUIRE(pos.size() == 4);
  for (int p = 0; p < 4; ++p) CHECK(offset_of(pos, "t/" + std::to_string(p)) == 250);
  src.close();
}

TEST_CASE("source start: latest skips old records, earliest reads them") {
  MockBroker b({"--topic", "t:2"});
  produce(b.bootstrap(), "t", {{std::nullopt, "old", 0}, {std::nullopt, "old", 1}});

  kafka::KafkaSource latest(source_cfg(b, "t", "g-latest", config::KafkaSource::Start::Latest), "j");
  REQUIRE_OK(latest.open(nullptr));
  Collector h;
  wait_assigned(latest, h, 2);
  REQUIRE(latest.poll(h, std::chrono::steady_clock::now() + 1500ms, 100000) == PollResult::Ok);
  produce(b.bootstrap(), "t", {{std::nullopt, "new", 0}, {std::nullopt, "new", 1}});
  poll_until(latest, h, 2, 10s);
  REQUIRE(h.recs.size() == 2);
  for (const auto& r : h.recs) CHECK(r.payload == "new");
  latest.close();

  kafka::KafkaSource earliest(source_cfg(b, "t", "g-earliest"), "j");
  REQUIRE_OK(earliest.open(nullptr));
  Collector h2;
  poll_until(earliest, h2, 4, 15s);
  CHECK(h2.recs.size() == 4);
}

TEST_CASE("source commits group offsets on committed() and resumes from checkpoint positions") {
  MockBroker b({"--topic", "t:4"});
  produce(b.bootstrap(), "t", partitioned(4, 100));

  {
    kafka::KafkaSource src(source_cfg(b, "t", "g"), "j");
    REQUIRE_OK(src.open(nullptr));
    Collector h;
    poll_until(src, h, 400, 20s);
    REQUIRE(h.recs.size() == 400);
    // Not committed yet: group offsets are untouched by consuming.
    src.committed({{"t/0", 90, 0}, {"t/1", 90, 0}, {"t/2", 90, 0}, {"t/3", 90, 0}});
    // Let the async commit complete.
    REQUIRE(src.poll(h, std::chrono::steady_clock::now() + 500ms, 100000) == PollResult::Ok);

    rd_kafka_t* other = new_client(RD_KAFKA_CONSUMER, b.bootstrap(), {{"group.id", "g"}});
    auto* list = rd_kafka_topic_partition_list_new(4);
    for (int p = 0; p < 4; ++p) rd_kafka_topic_partition_list_add(list, "t", p);
    REQUIRE(rd_kafka_committed(other, list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int p = 0; p < 4; ++p) CHECK(list->elems[p].offset == 90);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(other);
    src.close();
  }

  // Resume: checkpoint positions win over the group offsets (90); t/3 has none -> group offset.
  kafka::KafkaSource src(source_cfg(b, "t", "g"), "j");
  Positions resume{{"t/0", 50, 0}, {"t/1", 10, 0}, {"t/2", 100, 0}};
  REQUIRE_OK(src.open(&resume));
  Collector h;
  poll_until(src, h, 50 + 90 + 0 + 10, 20s);
  REQUIRE(src.poll(h, std::chrono::steady_clock::now() + 300ms, 100000) == PollResult::Ok);
  std::map<int32_t, std::pair<int64_t, size_t>> first_and_count;
  for (const auto& r : h.recs) {
    auto [it, inserted] = first_and_count.try_emplace(r.partition, r.offset, 0);
    it->second.second++;
  }
  CHECK(first_and_count[0] == std::make_pair<int64_t, size_t>(50, 50));
  CHECK(first_and_count[1] == std::make_pair<int64_t, size_t>(10, 90));
  CHECK(first_and_count.count(2) == 0);
  CHECK(first_and_count[3] == std::make_pair<int64_t, size_t>(90, 10));
  CHECK(h.recs.size() == 150);
  // Positions are known for every partition resumed from the checkpoint, even without records.
  Positions pos = src.positions();
  CHECK(offset_of(pos, "t/2") == 100);
  CHECK(offset_of(pos, "t/0") == 100);
}

TEST_CASE("source rejects resume positions that are not partitions") {
  MockBroker b({"--topic", "t:1"});
  kafka::KafkaSource src(source_cfg(b, "t", "g"), "j");
  Positions bad{{"not-a-partition", 5, 0}};
  Status st = src.open(&bad);
  CHECK(st.is_fatal());
  CHECK(st.message().find("not-a-partition") != std::string::npos);
}

TEST_CASE("source rejects a bad property at open") {
  MockBroker b({"--topic", "t:1"});
  auto cfg = source_cfg(b, "t", "g");
  cfg.properties.push_back({"no.such.property", "1"});
  kafka::KafkaSource src(cfg, "j");
  Status st = src.open(nullptr);
  CHECK(st.is_fatal());
  CHECK(st.message().find("no.such.property") != std::string::npos);
  Collector h;
  CHECK(src.poll(h, std::chrono::steady_clock::now(), 10) == PollResult::Error);
}

TEST_CASE("source survives all brokers going down for a few seconds") {
  MockBroker b({"--topic", "t:2"});
  produce(b.bootstrap(), "t", partitioned(2, 100));
  LogCapture logs;
  kafka::KafkaSource src(source_cfg(b, "t", "g"), "jdown");
  REQUIRE_OK(src.open(nullptr));
  Collector h;
  poll_until(src, h, 200, 20s);
  REQUIRE(h.recs.size() == 200);

  REQUIRE(b.command("down 1") == "OK");
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) {
    auto deadline = std::chrono::steady_clock::now() + 500ms;
    REQUIRE(src.poll(h, deadline, 100000) == PollResult::Ok);
    CHECK(std::chrono::steady_clock::now() < deadline + 200ms);  // returns by the deadline
  }
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  REQUIRE(b.command("up 1") == "OK");
  produce(b.bootstrap(), "t", partitioned(2, 100));  // offsets 100..199 per partition
  poll_until(src, h, 400, 30s);
  REQUIRE(src.poll(h, std::chrono::steady_clock::now() + 300ms, 100000) == PollResult::Ok);
  CHECK(h.recs.size() == 400);
  std::set<std::pair<int32_t, int64_t>> seen;
  for (const auto& r : h.recs) CHECK(seen.insert({r.partition, r.offset}).second);
  CHECK(offset_of(src.positions(), "t/0") == 200);
  CHECK(offset_of(src.positions(), "t/1") == 200);
  // The outage was logged (rate-limited: a handful of lines, not one per retry).
  size_t lines = logs.count("job jdown: Kafka source");
  CHECK(lines >= 1);
  CHECK(lines < 30);
}

TEST_CASE("source with a wrong broker address logs and returns empty polls") {
  LogCapture logs;
  config::KafkaSource cfg;
  cfg.brokers = {"127.0.0.1:1"};
  cfg.topics = {"t"};
  cfg.group = "g";
  kafka::KafkaSource src(cfg, "jwrong");
  REQUIRE_OK(src.open(nullptr));
  Collector h;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    REQUIRE(src.poll(h, std::chrono::steady_clock::now() + 500ms, 100) == PollResult::Ok);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  CHECK(h.recs.empty());
  CHECK(src.positions().empty());
  auto lines = logs.count("job jwrong: Kafka source:");
  CHECK(lines >= 1);
  CHECK(lines <= 3);
  src.close();
}

TEST_CASE("source waits for an unknown topic and reads it once it exists") {
  // The mock creates topics on metadata requests, so "unknown" is set as the topic's metadata error.
  MockBroker b({"--topic", "late:2"});
  REQUIRE(b.command("topic-error late 3") == "OK");  // UNKNOWN_TOPIC_OR_PART
  LogCapture logs;
  auto cfg = source_cfg(b, "late", "g");
  // The group rejoins when the topic appears; the mock ends that rebalance at max.poll.interval.ms.
  cfg.properties = {{"topic.metadata.refresh.interval.ms", "500"},
                    {"session.timeout.ms", "3000"},
                    {"max.poll.interval.ms", "3000"},
                    {"heartbeat.interval.ms", "300"}};
  kafka::KafkaSource src(cfg, "junknown");
  REQUIRE_OK(src.open(nullptr));
  Collector h;
  for (int i = 0; i < 8; ++i)
    REQUIRE(src.poll(h, std::chrono::steady_clock::now() + 500ms, 100) == PollResult::Ok);
  CHECK(h.recs.empty());
  CHECK(src.assignment().empty());
  size_t lines = logs.count("UNKNOWN_TOPIC_OR_PART");
  CHECK(lines >= 1);
  CHECK(lines <= 2);  // rate-limited
  REQUIRE(b.command("topic-error late 0") == "OK");
  produce(b.bootstrap(), "late", {{std::nullopt, "a", 0}, {std::nullopt, "b", 1}});
  poll_until(src, h, 2, 30s);
  CHECK(h.recs.size() == 2);
}

// A handler that takes ~20 us per record and notes how many records arrive after a deadline.
struct SlowCollector : RecordHandler {
  std::chrono::steady_clock::time_point deadline{};
  size_t total = 0;
  size_t after_deadline = 0;
  void on_record(const RawRecord&) override {
    ++total;
    auto now = std::chrono::steady_clock::now();
    if (now > deadline) ++after_deadline;
    while (std::chrono::steady_clock::now() - now < 20us) {
    }
  }
};

TEST_CASE("source poll returns at its deadline while records keep flowing") {
  // The engine closes a batch at its end: a poll must not go on draining the queue past its deadline (it did,
  // up to the engine's 65536-record cap, so batches closed tens of ms late under load).
  AssignedSource a(4);
  auto& src = a.src;
  produce(a.b.bootstrap(), "t", partitioned(4, 5000));
  // Let the consumer fetch them: the queue then holds far more than one deadline's worth (20k x 20 us).
  SlowCollector slow;
  slow.deadline = std::chrono::steady_clock::now() + 2s;
  while (slow.total == 0 && std::chrono::steady_clock::now() < slow.deadline)
    REQUIRE(src.poll(slow, std::chrono::steady_clock::now() + 1ms, 1) == PollResult::Ok);
  REQUIRE(slow.total == 1);
  std::this_thread::sleep_for(500ms);
  slow.deadline = std::chrono::steady_clock::now() + 50ms;
  REQUIRE(src.poll(slow, slow.deadline, 1'000'000) == PollResult::Ok);
  INFO("records delivered: " << slow.total << ", after the deadline: " << slow.after_deadline);
  CHECK(slow.total < 20000);
  // At most one consume call's worth (1024 records) may be in hand when the deadline passes.
  CHECK(slow.after_deadline <= 1024);
  // The rest is delivered by later polls, in order and once.
  Collector rest;
  poll_until(src, rest, 20000 - slow.total, 20s);
  CHECK(rest.recs.size() == 20000 - slow.total);
}

TEST_CASE("source pause stops delivery and resume continues") {
  AssignedSource a(2);
  auto& src = a.src;
  auto& h = a.h;
  src.pause();
  produce(a.b.bootstrap(), "t", partitioned(2, 50));
  for (int i = 0; i < 4; ++i)
    REQUIRE(src.poll(h, std::chrono::steady_clock::now() + 250ms, 100000) == PollResult::Ok);
  CHECK(h.recs.empty());
  src.resume();
  poll_until(src, h, 100, 10s);
  CHECK(h.recs.size() == 100);
}

TEST_CASE("source reports rebalances and shares partitions with a second member") {
  MockBroker b({"--topic", "t:4"});
  produce(b.bootstrap(), "t", partitioned(4, 50));
  kafka::KafkaSource a(source_cfg(b, "t", "g"), "j");
  REQUIRE_OK(a.open(nullptr));
  Collector ha;
  poll_until(a, ha, 200, 20s);
  REQUIRE(ha.recs.size() == 200);
  CHECK_FALSE(a.take_rebalanced());
  a.committed(a.positions());

  delay_responses(b, kJoinHeadStart);
  kafka::KafkaSource c(source_cfg(b, "t", "g"), "j");
  REQUIRE_OK(c.open(nullptr));
  Collector hc;
  auto end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end &&
         !(a.assignment().size() == 2 && c.assignment().size() == 2)) {
    REQUIRE(a.poll(ha, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
    REQUIRE(c.poll(hc, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
  }
  REQUIRE(a.assignment().size() == 2);
  REQUIRE(c.assignment().size() == 2);
  delay_responses(b, 0ms);
  CHECK(a.take_rebalanced());
  CHECK_FALSE(a.take_rebalanced());  // reported once
  // The second member starts at the committed offsets: nothing is read twice.
  CHECK(hc.recs.empty());
  // Positions cover every partition read; those no longer assigned are marked so (never committed).
  CHECK(a.positions().size() == 4);
  for (const auto& p : a.positions()) {
    auto as = a.assignment();
    bool assigned = std::find(as.begin(), as.end(), p.stream) != as.end();
    CHECK(p.aux == (assigned ? 0 : kafka::kNotAssigned));
  }
  produce(b.bootstrap(), "t", partitioned(4, 10));
  end = std::chrono::steady_clock::now() + 15s;
  while (ha.recs.size() + hc.recs.size() < 240 && std::chrono::steady_clock::now() < end) {
    REQUIRE(a.poll(ha, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
    REQUIRE(c.poll(hc, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
  }
  CHECK(ha.recs.size() + hc.recs.size() == 240);
  CHECK(hc.recs.size() == 20);
  c.close();
  a.close();
}

TEST_CASE(
    "source holds a revocation until the engine polls again, and resumes a partition where the group got") {
  MockBroker b({"--topic", "t:4"});
  produce(b.bootstrap(), "t", partitioned(4, 50));
  kafka::KafkaSource a(source_cfg(b, "t", "g2"), "j");
  REQUIRE_OK(a.open(nullptr));
  Collector ha;
  poll_until(a, ha, 200, 20s);
  REQUIRE(ha.recs.size() == 200);
  a.committed(a.positions());

  // A second member joins: `a` is told to revoke. poll() returns at once and keeps the partitions (the
  // engine commits the batch in flight meanwhile); the next poll() hands them back.
  delay_responses(b, kJoinHeadStart);
  kafka::KafkaSource c(source_cfg(b, "t", "g2"), "j");
  REQUIRE_OK(c.open(nullptr));
  Collector hc;
  bool saw_pending = false;
  auto end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end &&
         !(a.assignment().size() == 2 && c.assignment().size() == 2)) {
    REQUIRE(a.poll(ha, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
    if (a.take_rebalanced()) {
      saw_pending = true;
      // Still held (the mock may run more than one rebalance, so not necessarily all 4): the records
      // read from them can be committed.
      CHECK_FALSE(a.assignment().empty());
      Positions ps = a.positions();
      CHECK(std::count_if(ps.begin(), ps.end(), [](const Position& p) { return p.aux == 0; }) ==
            static_cast<ptrdiff_t>(a.assignment().size()));
    }
    REQUIRE(c.poll(hc, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
  }
  REQUIRE(saw_pending);
  REQUIRE(a.assignment().size() == 2);
  REQUIRE(c.assignment().size() == 2);
  delay_responses(b, 0ms);
  auto c_parts = c.assignment();

  // `c` reads 10 more records per partition it owns and commits them; then it leaves the group.
  produce(b.bootstrap(), "t", partitioned(4, 10));
  end = std::chrono::steady_clock::now() + 15s;
  while (hc.recs.size() < 20 && std::chrono::steady_clock::now() < end) {
    REQUIRE(a.poll(ha, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
    REQUIRE(c.poll(hc, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
  }
  REQUIRE(hc.recs.size() == 20);
  c.committed(c.positions());
  // Wait until the (asynchronous) commit has landed.
  rd_kafka_t* other = new_client(RD_KAFKA_CONSUMER, b.bootstrap(), {{"group.id", "g2"}});
  bool landed = false;
  end = std::chrono::steady_clock::now() + 20s;
  while (!landed && std::chrono::steady_clock::now() < end) {
    REQUIRE(c.poll(hc, std::chrono::steady_clock::now() + 200ms, 100000) == PollResult::Ok);
    auto* list = rd_kafka_topic_partition_list_new(2);
    for (const auto& s : c_parts) rd_kafka_topic_partition_list_add(list, "t", std::stoi(s.substr(2)));
    landed = rd_kafka_committed(other, list, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
             list->elems[0].offset == 60 && list->elems[1].offset == 60;
    rd_kafka_topic_partition_list_destroy(list);
  }
  rd_kafka_destroy(other);
  REQUIRE(landed);
  c.close();

  // `a` gets c's partitions back: it held them before at offset 50, the group is at 60 -> starts at 60.
  size_t before = ha.recs.size();
  end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end && a.assignment().size() < 4) {
    REQUIRE(a.poll(ha, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
  }
  REQUIRE(a.assignment().size() == 4);
  produce(b.bootstrap(), "t", partitioned(4, 5));
  end = std::chrono::steady_clock::now() + 15s;
  // a: 65 records of each partition it kept (0..64), 50 + 5 of each it got back (0..49, 60..64).
  while (ha.recs.size() < 240 && std::chrono::steady_clock::now() < end) {
    REQUIRE(a.poll(ha, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
  }
  REQUIRE(a.poll(ha, std::chrono::steady_clock::now() + 300ms, 100000) == PollResult::Ok);
  CHECK(ha.recs.size() == 240);
  std::map<int32_t, std::set<int64_t>> seen;
  for (const auto& r : ha.recs) seen[r.partition].insert(r.offset);
  for (int32_t p = 0; p < 4; ++p) {
    bool was_c = std::find(c_parts.begin(), c_parts.end(), "t/" + std::to_string(p)) != c_parts.end();
    CHECK(seen[p].size() == (was_c ? 55u : 65u));
    for (const auto& r : ha.recs) {
      if (was_c && r.partition == p) CHECK((r.offset < 50 || r.offset >= 60));  // c's records not re-read
    }
  }
  CHECK(before >= 200);
  CHECK(offset_of(a.positions(), c_parts[0]) == 65);
  a.close();
}

namespace {

// The group offsets of "t/0".."t/<n-1>" in group `group`, as another client reads them.
std::vector<int64_t> group_offsets(const MockBroker& b, const std::string& group, int n) {
  rd_kafka_t* other = new_client(RD_KAFKA_CONSUMER, b.bootstrap(), {{"group.id", group}});
  auto* list = rd_kafka_topic_partition_list_new(n);
  for (int p = 0; p < n; ++p) rd_kafka_topic_partition_list_add(list, "t", p);
  std::vector<int64_t> out;
  if (rd_kafka_committed(other, list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int p = 0; p < n; ++p) out.push_back(list->elems[p].offset);
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(other);
  return out;
}

const Position* find_position(const Positions& ps, const std::string& stream) {
  for (const auto& p : ps) {
    if (p.stream == stream) return &p;
  }
  return nullptr;
}

}  // namespace

TEST_CASE(
    "source keeps the positions of lost partitions: a restart resumes there and not at the group offset") {
  // The audit case: an OffsetCommit fails with UNKNOWN_MEMBER_ID, librdkafka reports the assignment lost.
  // The group offsets lag by exactly that commit, so the positions must outlive the assignment.
  MockBroker b({"--topic", "t:2"});
  produce(b.bootstrap(), "t", partitioned(2, 50));
  Positions saved;
  {
    kafka::KafkaSource a(source_cfg(b, "t", "gl"), "j");
    REQUIRE_OK(a.open(nullptr));
    Collector h;
    poll_until(a, h, 100, 20s);
    REQUIRE(h.recs.size() == 100);
    a.committed({{"t/0", 20, 0}, {"t/1", 20, 0}});
    auto end = std::chrono::steady_clock::now() + 10s;
    while (group_offsets(b, "gl", 2) != std::vector<int64_t>{20, 20} &&
           std::chrono::steady_clock::now() < end) {
      REQUIRE(a.poll(h, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
    }
    REQUIRE(group_offsets(b, "gl", 2) == std::vector<int64_t>{20, 20});

    REQUIRE(b.command("errors 8 1 25") == "OK");  // the next OffsetCommit: UNKNOWN_MEMBER_ID
    a.committed(a.positions());
    // Poll in small steps until the loss is applied; stop before the member rejoins and is assigned again
    // (that is served inside a later poll()).
    end = std::chrono::steady_clock::now() + 10s;
    while (!a.assignment().empty() && std::chrono::steady_clock::now() < end) {
      REQUIRE(a.poll(h, std::chrono::steady_clock::now() + 20ms, 100000) == PollResult::Ok);
    }
    REQUIRE(a.assignment().empty());
    REQUIRE(group_offsets(b, "gl", 2) == std::vector<int64_t>{20, 20});  // the failed commit
    saved = a.positions();
    REQUIRE(saved.size() == 2);
    for (const auto& p : saved) {
      CHECK(p.offset == 50);
      CHECK(p.aux == kafka::kNotAssigned);
    }
    a.close();
  }

  // "Restart" from the positions taken while they were unassigned: 50, not the group offsets (20). The mock
  // coordinator would hold the next join of group gl for a session timeout (the lost member never left it),
  // so the restart uses a copy of gl's offsets in group gl2.
  rd_kafka_t* copier = new_client(RD_KAFKA_CONSUMER, b.bootstrap(), {{"group.id", "gl2"}});
  auto* list = rd_kafka_topic_partition_list_new(2);
  for (int p = 0; p < 2; ++p) rd_kafka_topic_partition_list_add(list, "t", p)->offset = 20;
  REQUIRE(rd_kafka_commit(copier, list, 0) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(copier);
  REQUIRE(group_offsets(b, "gl2", 2) == std::vector<int64_t>{20, 20});
  produce(b.bootstrap(), "t", partitioned(2, 5));
  kafka::KafkaSource c(source_cfg(b, "t", "gl2"), "j");
  REQUIRE_OK(c.open(&saved));
  Collector h;
  poll_until(c, h, 10, 20s);
  REQUIRE(c.poll(h, std::chrono::steady_clock::now() + 300ms, 100000) == PollResult::Ok);
  CHECK(h.recs.size() == 10);
  for (const auto& r : h.recs) CHECK(r.offset >= 50);
  Positions pos = c.positions();
  const Position* p0 = find_position(pos, "t/0");
  REQUIRE(p0 != nullptr);
  CHECK(p0->offset == 55);
  CHECK(p0->aux == 0);
  c.close();
}

TEST_CASE("source resume: a position marked not assigned yields to a group offset that is further") {
  MockBroker b({"--topic", "t:3"});
  produce(b.bootstrap(), "t", partitioned(3, 40));
  {
    // The group got to 30 on every partition (another member read on and committed).
    kafka::KafkaSource a(source_cfg(b, "t", "gr"), "j");
    REQUIRE_OK(a.open(nullptr));
    Collector h;
    wait_assigned(a, h, 3);
    a.committed({{"t/0", 30, 0}, {"t/1", 30, 0}, {"t/2", 30, 0}});
    auto end = std::chrono::steady_clock::now() + 10s;
    while (group_offsets(b, "gr", 3) != std::vector<int64_t>{30, 30, 30} &&
           std::chrono::steady_clock::now() < end) {
      REQUIRE(a.poll(h, std::chrono::steady_clock::now() + 100ms, 100000) == PollResult::Ok);
    }
    REQUIRE(group_offsets(b, "gr", 3) == std::vector<int64_t>{30, 30, 30});
    a.close();
  }
  // t/0 was assigned when checkpointed: recovery, the checkpoint (10). t/1 was not: the larger of 10 and
  // the group (30). t/2 not, and ahead of the group: 35. t/9 (not in the first assignment) stays known,
  // marked not assigned. kNotAssignedYet (a restart before the first assignment) counts as assigned.
  Positions resume{{"t/0", 10, kafka::kNotAssignedYet},
                   {"t/1", 10, kafka::kNotAssigned},
                   {"t/2", 35, kafka::kNotAssigned},
                   {"t/9", 7, 0}};
  kafka::KafkaSource c(source_cfg(b, "t", "gr"), "j");
  REQUIRE_OK(c.open(&resume));
  // Before the first assignment a checkpoint keeps the positions it resumed from; those that were assigned
  // are still recovery positions, marked so that they are not committed as group offsets.
  CHECK(c.positions() == Positions{{"t/0", 10, kafka::kNotAssignedYet},
                                   {"t/1", 10, kafka::kNotAssigned},
                                   {"t/2", 35, kafka::kNotAssigned},
                                   {"t/9", 7, kafka::kNotAssignedYet}});
  Collector h;
  poll_until(c, h, 30 + 10 + 5, 20s);
  REQUIRE(c.poll(h, std::chrono::steady_clock::now() + 300ms, 100000) == PollResult::Ok);
  std::map<int32_t, std::pair<int64_t, size_t>> first_and_count;
  for (const auto& r : h.recs) {
    auto [it, inserted] = first_and_count.try_emplace(r.partition, r.offset, 0);
    it->second.second++;
  }
  CHECK(first_and_count[0] == std::make_pair<int64_t, size_t>(10, 30));
  CHECK(first_and_count[1] == std::make_pair<int64_t, size_t>(30, 10));
  CHECK(first_and_count[2] == std::make_pair<int64_t, size_t>(35, 5));
  Positions pos = c.positions();
  const Position* p9 = find_position(pos, "t/9");
  REQUIRE(p9 != nullptr);
  CHECK(p9->offset == 7);
  CHECK(p9->aux == kafka::kNotAssigned);
  for (const char* s : {"t/0", "t/1", "t/2"}) {
    const Position* p = find_position(pos, s);
    REQUIRE(p != nullptr);
    CHECK(p->offset == 40);
    CHECK(p->aux == 0);
  }
  c.close();
}
