#!/usr/bin/env python3
"""`weir daemon` exports the consumer lag of a Kafka job per partition (weir_kafka_lag{job,topic,partition}):
messages produced after the last committed batch show up as lag, and the lag goes back to 0 once the job
committed them. Against the Kafka-protocol mock broker (tests/tools/weir-mock-broker), messages sent with kcat.

usage: test_kafka_lag.py WEIR_BIN SOURCE_DIR MOCK_BROKER_BIN
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "kafka"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
MOCK = sys.argv.pop(3) if len(sys.argv) > 3 else None
import weirtest as wt  # noqa: E402
import daemontest as dt  # noqa: E402
import kafkatest as kt  # noqa: E402

CTX = wt.Context.from_argv("daemon-kafka-lag")


class KafkaLag(wt.unittest.TestCase):
    def test_lag_per_partition(self):
        broker = kt.Broker(MOCK, topics=["tweets:2"])
        d = None
        try:
            jobs = CTX.path("jobs")
            os.makedirs(jobs)
            with open(os.path.join(jobs, "lagged.yaml"), "w") as f:
                f.write(f"""
batch: 3s
source: {{ kafka: {{ brokers: "{broker.bootstrap}", topics: [tweets], start: earliest }} }}
fields: {{ n: {{ path: n, type: int }} }}
outputs:
  - name: count
    aggregate: {{ c: count() }}
    to: {{ file: {{ path: {CTX.path("out.jsonl")} }} }}
""")
            kt.produce(broker.bootstrap, "tweets", ['{"n": %d}' % i for i in range(10)], keyed=False, partition=0)
            kt.produce(broker.bootstrap, "tweets", ['{"n": %d}' % i for i in range(6)], keyed=False, partition=1)
            d = dt.Daemon(CTX.weir_bin, jobs, CTX.path("state"), CTX.path("daemon.log"), args=["--stats-every", "1s"])
            d.start()

            def lag(m, p):
                return m.value("weir_kafka_lag", job="lagged", topic="tweets", partition=p)

            wt.poll(lambda: (lambda m: m.value("weir_records_in_total", job="lagged") == 16 and lag(m, 0) == 0
                             and lag(m, 1) == 0)(d.metrics()), 40, "16 records read and committed, lag 0")
            # right after a commit, 7 more on partition 1: lag 7 until the next batch commits them
            b0 = d.metrics().value("weir_batches_total", job="lagged")
            wt.poll(lambda: d.metrics().value("weir_batches_total", job="lagged") > b0, 20, "the next commit")
            kt.produce(broker.bootstrap, "tweets", ['{"n": %d}' % i for i in range(7)], keyed=False, partition=1)
            wt.poll(lambda: (lambda m: lag(m, 1) == 7 and lag(m, 0) == 0)(d.metrics()), 10, "lag 7 on partition 1",
                    interval=0.05)
            d.wait_for_log(r"Job 'lagged' running: .*, lag 7 message\(s\) over 2 partition\(s\)", 10)
            wt.poll(lambda: (lambda m: lag(m, 1) == 0 and m.value("weir_records_in_total", job="lagged") == 23)(
                d.metrics()), 20, "lag back to 0 after the commit")
            self.assertEqual(d.stop(), 0)
        finally:
            if d is not None:
                d.kill()
            broker.close()


if __name__ == "__main__":
    wt.main(CTX)
