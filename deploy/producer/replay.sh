#!/bin/sh
# Replays deploy/producer/tweets.jsonl (200 synthetic tweets, generated; no real user data) into the Kafka
# topic $TOPIC at about $RATE tweets per second, forever, with kafka-console-producer from the Kafka image.
# Each pass gets fresh ids so the jobs see new tweets. Environment: BROKERS, TOPIC, RATE.
set -eu
BROKERS="${BROKERS:-kafka:9092}"
TOPIC="${TOPIC:-twitter}"
RATE="${RATE:-20}"
PRODUCER=/opt/kafka/bin/kafka-console-producer.sh
until /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BROKERS" --create --if-not-exists \
      --topic "$TOPIC" --partitions 3 --replication-factor 1 >/dev/null 2>&1; do
  echo "replay: waiting for Kafka at $BROKERS"
  sleep 2
done
echo "replay: sending tweets to $TOPIC at $BROKERS, about $RATE per second"
pass=0
while :; do
  pass=$((pass + 1))
  n=0
  while IFS= read -r line; do
    # a new id_str per pass ("<pass>-<id>"), so that every pass is new tweets to the jobs
    printf '%s\n' "$line" | sed "s/\"id_str\":\"/\"id_str\":\"$pass-/"
    n=$((n + 1))
    if [ $((n % RATE)) -eq 0 ]; then sleep 1; fi
  done < /replay/tweets.jsonl
done | "$PRODUCER" --bootstrap-server "$BROKERS" --topic "$TOPIC" >/dev/null
