// Durations, byte sizes, ${ENV} substitution and secret redaction.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "config/internal.h"
#include "config/load.h"
#include "config/redact.h"
#include "helpers.h"

using namespace weir::config;

TEST_CASE("parse_duration accepts an integer with ms, s, m or h") {
  CHECK(parse_duration("500ms") == 500);
  CHECK(parse_duration("5s") == 5000);
  CHECK(parse_duration("1m") == 60000);
  CHECK(parse_duration("2h") == 7200000);
  CHECK(parse_duration("0s") == 0);
}

TEST_CASE("parse_duration rejects anything else") {
  for (const char* bad : {"", "5", "s", "5 s", "1.5s", "-1s", "5sec", "5S", "1d", "ms5",
                          "99999999999999999999s", "9999999999999999h"})
    CHECK_FALSE(parse_duration(bad).has_value());
}

TEST_CASE("parse_bytes accepts plain numbers and SI / binary units") {
  CHECK(parse_bytes("1000") == 1000);
  CHECK(parse_bytes("10B") == 10);
  CHECK(parse_bytes("512KiB") == 512 * 1024);
  CHECK(parse_bytes("1MiB") == 1024 * 1024);
  CHECK(parse_bytes("1MB") == 1000 * 1000);
  CHECK(parse_bytes("2GiB") == 2LL * 1024 * 1024 * 1024);
  CHECK(parse_bytes("3KB") == 3000);
}

TEST_CASE("parse_bytes rejects malformed sizes") {
  for (const char* bad : {"", "MiB", "1 MiB", "1.5MiB", "-1", "1mib", "1TiBx", "99999999999999GiB"})
    CHECK_FALSE(parse_bytes(bad).has_value());
}

TEST_CASE("env substitution: ${VAR}, ${VAR:-default}, $${ and unset variables") {
  setenv("WEIR_T_SET", "value", 1);
  setenv("WEIR_T_EMPTY", "", 1);
  unsetenv("WEIR_T_UNSET");
  std::string err;
  CHECK(substitute_env("a ${WEIR_T_SET} b", err) == "a value b");
  CHECK(substitute_env("${WEIR_T_UNSET:-fallback}", err) == "fallback");
  CHECK(substitute_env("${WEIR_T_SET:-fallback}", err) == "value");
  CHECK(substitute_env("${WEIR_T_EMPTY:-fallback}", err) == "fallback");
  CHECK(substitute_env("${WEIR_T_EMPTY}", err) == "");
  CHECK(substitute_env("cost $${WEIR_T_SET} and $5", err) == "cost ${WEIR_T_SET} and $5");
  CHECK(substitute_env("${WEIR_T_UNSET:-}", err) == "");
  CHECK_FALSE(substitute_env("x ${WEIR_T_UNSET} y", err).has_value());
  CHECK(err.find("WEIR_T_UNSET") != std::string::npos);
  CHECK_FALSE(substitute_env("${WEIR_T_SET", err).has_value());
  CHECK_FALSE(substitute_env("${1BAD}", err).has_value());
}

TEST_CASE("env substitution in a job: unset variable is a located error naming it") {
  unsetenv("WEIR_T_NOPE");
  using namespace weir::config::test;
  has_error(
      "source: { socket: { host: \"${WEIR_T_NOPE}\", port: 1 } }\noutputs: [{ name: o, to: console }]\n", 1,
      27, "environment variable WEIR_T_NOPE is not set");
  setenv("WEIR_T_PORT", "9999", 1);
  Job j =
      ok("source: { socket: { host: \"h-$${x}\", port: \"${WEIR_T_PORT}\" } }\noutputs: [{ name: o, to: "
         "console }]\n");
  auto& s = std::get<SocketSource>(j.source.kind);
  CHECK(s.port == 9999);
  CHECK(s.host == "h-${x}");
}

TEST_CASE("redact_dsn hides keyword and URL passwords") {
  CHECK(redact_dsn("host=db user=weir password=s3cret dbname=x") ==
        "host=db user=weir password=*** dbname=x");
  CHECK(redact_dsn("password = 'a b\\' c' host=db") == "password = *** host=db");
  CHECK(redact_dsn("postgresql://weir:s3cret@db:5432/x") == "postgresql://weir:***@db:5432/x");
  CHECK(redact_dsn("postgres://weir@db/x?password=s3cret&sslmode=require") ==
        "postgres://weir@db/x?password=***&sslmode=require");
  CHECK(redact_dsn("postgresql://db/x") == "postgresql://db/x");
  CHECK(redact_dsn("host=db user=weir") == "host=db user=weir");
}

TEST_CASE("redact_dsn hides every secret keyword, sslpassword too, in both forms") {
  // The audit's case: `sslpassword=` was printed in clear (only `password` at the start or after a space was
  // matched).
  CHECK(redact_dsn("host=h sslpassword=x password=y") == "host=h sslpassword=*** password=***");
  CHECK(redact_dsn("host=db user=weir sslpassword=KeySecret11 password=Pw22 sslmode=verify-full") ==
        "host=db user=weir sslpassword=*** password=*** sslmode=verify-full");
  CHECK(redact_dsn("sslpassword = 'a b\\' c'  dbname=x") == "sslpassword = ***  dbname=x");
  CHECK(redact_dsn("SSLPassword=x host=h") == "SSLPassword=*** host=h");
  // A value that only contains "password" is not a keyword; an escaped space does not end a value.
  CHECK(redact_dsn("application_name=password=1 user=pass\\ word") ==
        "application_name=password=1 user=pass\\ word");
  CHECK(redact_dsn("user=a\\ sslpassword=x password=y") == "user=a\\ sslpassword=x password=***");
  // A DSN libpq would refuse still has its secrets redacted.
  CHECK(redact_dsn("host=h oops sslpassword=x =y password ") == "host=h oops sslpassword=*** =y password ");
  CHECK(redact_dsn("=y password=z") == "=y password=***");
  // URL form: the user info's password and every secret query parameter, percent-encoded names too.
  CHECK(redact_dsn("postgresql://weir:pw@db/x?sslpassword=x&sslmode=require&password=y") ==
        "postgresql://weir:***@db/x?sslpassword=***&sslmode=require&password=***");
  CHECK(redact_dsn("postgresql://db/x?ssl%70assword=x&application_name=mypassword") ==
        "postgresql://db/x?ssl%70assword=***&application_name=mypassword");
  // The list is the PostgreSQL sink's too.
  CHECK(is_secret_dsn_keyword("password"));
  CHECK(is_secret_dsn_keyword("sslpassword"));
  CHECK_FALSE(is_secret_dsn_keyword("sslkey"));
  CHECK_FALSE(is_secret_dsn_keyword("user"));
}

TEST_CASE("secret-looking properties are redacted") {
  CHECK(is_secret_property("sasl.password"));
  CHECK(is_secret_property("sasl.username"));
  CHECK(is_secret_property("ssl.key.password"));
  CHECK(is_secret_property("ssl.key.pem"));
  CHECK(is_secret_property("oauth.client.SECRET"));
  CHECK_FALSE(is_secret_property("security.protocol"));
  CHECK_FALSE(is_secret_property("ssl.ca.location"));
  CHECK(redact_property("sasl.password", "pw") == "***");
  CHECK(redact_property("client.id", "weir") == "weir");
}
