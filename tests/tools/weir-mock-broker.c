/* weir-mock-broker: a Kafka-protocol cluster on loopback for tests (librdkafka's mock cluster),
 * hosted in its own process so that killing a client (even with -9) leaves the broker running.
 *
 *   weir-mock-broker [--brokers N] [--topic NAME:PARTITIONS]... [--no-stdin]
 *
 * Prints one line `BOOTSTRAP host:port,...` to stdout, then reads commands from stdin, one per line,
 * and answers each with `OK` or `ERR <reason>`:
 *   down <broker_id>                          take a broker down (ids are 1..N)
 *   up <broker_id>                            bring it back
 *   errors <ApiKey> <count> <errcode>...      the next <count> requests of ApiKey fail with the codes
 *                                             (e.g. `errors 0 1 10`: one Produce fails MSG_SIZE_TOO_LARGE)
 *   clear <ApiKey>                            drop pushed errors of ApiKey
 *   rtt <broker_id> <ms>                      delay every response of a broker
 *   leader <topic> <partition> <broker_id>    move a partition's leader
 *   coordinator <group|transaction> <key> <broker_id>
 *   create <topic> <partitions>               create a topic
 *   topic-error <topic> <errcode>             answer metadata requests for the topic with an error
 *                                             (e.g. 3 UNKNOWN_TOPIC_OR_PART; 0 clears it)
 *   quit                                      exit
 * Exits when stdin closes (unless --no-stdin: then it runs until SIGTERM/SIGINT) or on SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: weir-mock-broker [--brokers N] [--topic NAME:PARTITIONS]... [--no-stdin]\n"
          "prints `BOOTSTRAP <servers>`, then reads commands on stdin (see the source for the list)\n");
}

static int parse_int(const char* s, long* out) {
  char* end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') return 0;
  *out = v;
  return 1;
}

static int create_topic(rd_kafka_mock_cluster_t* mc, const char* spec, char* err, size_t errlen) {
  char name[256];
  const char* colon = strrchr(spec, ':');
  long parts = 1;
  size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
  if (n == 0 || n >= sizeof(name)) {
    snprintf(err, errlen, "bad topic name in '%s'", spec);
    return 0;
  }
  memcpy(name, spec, n);
  name[n] = '\0';
  if (colon && (!parse_int(colon + 1, &parts) || parts < 1 || parts > 10000)) {
    snprintf(err, errlen, "bad partition count in '%s'", spec);
    return 0;
  }
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, (int)parts, 1);
  if (e) {
    snprintf(err, errlen, "creating topic %s: %s", name, rd_kafka_err2str(e));
    return 0;
  }
  return 1;
}

#define MAX_ARGS 64

/* Runs one command line; writes the reply (without newline) into `reply`. Returns 0 on `quit`. */
static int run_command(rd_kafka_mock_cluster_t* mc, char* line, char* reply, size_t rlen) {
  char* argv[MAX_ARGS];
  int argc = 0;
  for (char* tok = strtok(line, " \t\r\n"); tok && argc < MAX_ARGS; tok = strtok(NULL, " \t\r\n")) {
    argv[argc++] = tok;
  }
  long a = 0, b = 0, c = 0;
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  snprintf(reply, rlen, "OK");
  if (argc == 0) {
    snprintf(reply, rlen, "ERR empty command");
  } else if (strcmp(argv[0], "quit") == 0) {
    return 0;
  } else if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) && argc == 2 &&
             parse_int(argv[1], &a)) {
    e = argv[0][0] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                          : rd_kafka_mock_broker_set_up(mc, (int32_t)a);
  } else if (strcmp(argv[0], "errors") == 0 && argc >= 4 && parse_int(argv[1], &a) &&
             parse_int(argv[2], &b) && b > 0 && b <= 100000) {
    /* Codes repeat cyclically when fewer than <count> are given. */
    int ncodes = argc - 3;
    rd_kafka_resp_err_t* errs = calloc((size_t)b, sizeof(*errs));
    for (int i = 0; i < ncodes; i++) {
      if (!parse_int(argv[3 + i], &c)) {
        snprintf(reply, rlen, "ERR bad error code '%s'", argv[3 + i]);
        free(errs);
        return 1;
      }
      errs[i < b ? i : 0] = (rd_kafka_resp_err_t)c;
    }
    for (long i = ncodes; i < b; i++) errs[i] = errs[i % ncodes];
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, errs);
    free(errs);
  } else if (strcmp(argv[0], "clear") == 0 && argc == 2 && parse_int(argv[1], &a)) {
    rd_kafka_mock_clear_request_errors(mc, (int16_t)a);
  } else if (strcmp(argv[0], "rtt") == 0 && argc == 3 && parse_int(argv[1], &a) && parse_int(argv[2], &b)) {
    e = rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b);
  } else if (strcmp(argv[0], "leader") == 0 && argc == 4 && parse_int(argv[2], &a) &&
             parse_int(argv[3], &b)) {
    e = rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)a, (int32_t)b);
  } else if (strcmp(argv[0], "coordinator") == 0 && argc == 4 && parse_int(argv[3], &a)) {
    e = rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], (int32_t)a);
  } else if (strcmp(argv[0], "topic-error") == 0 && argc == 3 && parse_int(argv[2], &a)) {
    rd_kafka_mock_topic_set_error(mc, argv[1], (rd_kafka_resp_err_t)a);
  } else if (strcmp(argv[0], "create") == 0 && argc == 3) {
    char spec[300], err[512];
    snprintf(spec, sizeof(spec), "%s:%s", argv[1], argv[2]);
    if (!create_topic(mc, spec, err, sizeof(err))) snprintf(reply, rlen, "ERR %s", err);
  } else {
    snprintf(reply, rlen, "ERR unknown command or bad arguments: %s", argv[0]);
  }
  if (e) snprintf(reply, rlen, "ERR %s", rd_kafka_err2str(e));
  return 1;
}

int main(int argc, char** argv) {
  long brokers = 1;
  int use_stdin = 1;
  const char* topics[256];
  int ntopics = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
      if (!parse_int(argv[++i], &brokers) || brokers < 1 || brokers > 64) {
        fprintf(stderr, "weir-mock-broker: --brokers needs a number from 1 to 64\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
      if (ntopics == 256) {
        fprintf(stderr, "weir-mock-broker: too many topics\n");
        return 2;
      }
      topics[ntopics++] = argv[++i];
    } else if (strcmp(argv[i], "--no-stdin") == 0) {
      use_stdin = 0;
    } else {
      usage();
      return 2;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal; /* no SA_RESTART: a blocking read returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "weir-mock-broker: %s\n", errstr);
    return 1;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "weir-mock-broker: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
  if (!mc) {
    fprintf(stderr, "weir-mock-broker: could not create the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  for (int i = 0; i < ntopics; i++) {
    char err[512];
    if (!create_topic(mc, topics[i], err, sizeof(err))) {
      fprintf(stderr, "weir-mock-broker: %s\n", err);
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 2;
    }
  }
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  if (use_stdin) {
    char line[4096], reply[600];
    while (!stop_requested && fgets(line, sizeof(line), stdin)) {
      if (!run_command(mc, line, reply, sizeof(reply))) break;
      printf("%s\n", reply);
      fflush(stdout);
    }
  } else {
    while (!stop_requested) pause();
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
