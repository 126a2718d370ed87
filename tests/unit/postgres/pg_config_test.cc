// The PostgreSQL sink's server-free parts: DSN handling, identifiers, column mapping, COPY encoding.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "connectors/postgres/pg_config.h"

using namespace weir;
using namespace weir::pg;

namespace {

RowSchema schema_of(std::vector<std::pair<std::string, Type>> cols) {
  RowSchema s;
  for (auto& [n, t] : cols) s.columns.push_back(Column{n, t});
  return s;
}

std::string temp_file(const std::string& content) {
  char path[] = "/tmp/weir-pgcfg-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, content.data(), content.size()) == ssize_t(content.size()));
  ::close(fd);
  return path;
}

std::string copy_of(const Value& v, PgType t) {
  std::string out;
  auto err = append_copy_value(out, v, t);
  REQUIRE_FALSE(err);
  return out;
}

}  // namespace

TEST_CASE("table names: plain and schema-qualified identifiers are accepted") {
  TableName t;
  REQUIRE_FALSE(parse_table_name("author_counts", &t));
  CHECK(t.schema.empty());
  CHECK(t.table == "author_counts");
  REQUIRE_FALSE(parse_table_name("analytics.Flow_2", &t));
  CHECK(t.schema == "analytics");
  CHECK(t.table == "Flow_2");
  CHECK(t.display() == "analytics.Flow_2");
}

TEST_CASE("table names: parts that are not simple identifiers are rejected with a clear message") {
  TableName t;
  for (const char* bad :
       {"x\"; drop table users; --", "", ".t", "s.", "a.b.c", "1abc", "a-b", "a b", "tabl\xc3\xa9", "x;y"}) {
    auto err = parse_table_name(bad, &t);
    INFO(bad);
    REQUIRE(err);
    CHECK(err->find("is not valid") != std::string::npos);
  }
  CHECK(parse_table_name(std::string(63, 'a'), &t) == std::nullopt);
  CHECK(parse_table_name(std::string(64, 'a'), &t));
}

TEST_CASE("quote_ident doubles embedded quotes") {
  CHECK(quote_ident("a") == "\"a\"");
  CHECK(quote_ident("a\"b") == "\"a\"\"b\"");
}

TEST_CASE("build_conninfo: keyword and URL DSNs both work and UTF-8 client encoding is added") {
  auto a = build_conninfo("host=db.example port=6543 dbname=metrics user=weir", "");
  REQUIRE(a.error.empty());
  CHECK(a.conninfo.find("host='db.example'") != std::string::npos);
  CHECK(a.conninfo.find("client_encoding='UTF8'") != std::string::npos);
  CHECK(a.summary == "host=db.example port=6543 dbname=metrics");
  auto b = build_conninfo("postgresql://weir:s3cret@db.example:6543/metrics?sslmode=disable", "");
  REQUIRE(b.error.empty());
  CHECK(b.conninfo.find("sslmode='disable'") != std::string::npos);
  CHECK(b.conninfo.find("password='s3cret'") != std::string::npos);
  CHECK(b.summary == "host=db.example port=6543 dbname=metrics");
  CHECK(b.summary.find("s3cret") == std::string::npos);
}

TEST_CASE("build_conninfo: password_file supplies the password with the trailing newline trimmed") {
  std::string f = temp_file("pa ss'wo\\rd\n");
  auto c = build_conninfo("host=h user=u password=old dbname=d", f);
  REQUIRE(c.error.empty());
  CHECK(c.conninfo.find("password='pa ss\\'wo\\\\rd'") != std::string::npos);
  CHECK(c.conninfo.find("old") == std::string::npos);
  std::remove(f.c_str());
  auto missing = build_conninfo("host=h", "/nonexistent/weir-password");
  CHECK(missing.error.find("cannot read password_file /nonexistent/weir-password") != std::string::npos);
}

TEST_CASE("build_conninfo: a DSN that does not parse is an error that does not quote it") {
  auto c = build_conninfo("host=h password=TopSecret99 bogus", "");
  REQUIRE_FALSE(c.error.empty());
  CHECK(c.error.find("TopSecret99") == std::string::npos);
  CHECK(c.error.find("bogus") == std::string::npos);
  auto u = build_conninfo("host=h nosuchoption=1", "");
  CHECK_FALSE(u.error.empty());
}

TEST_CASE("redact_dsn hides passwords in both forms and dsn_summary shows only where") {
  CHECK(redact_dsn("host=h password=TopSecret99 dbname=d").find("TopSecret99") == std::string::npos);
  CHECK(redact_dsn("host=h password=TopSecret99 dbname=d").find("password=***") != std::string::npos);
  CHECK(redact_dsn("postgresql://u:TopSecret99@h/d").find("TopSecret99") == std::string::npos);
  CHECK(redact_dsn("not a dsn") == "<unparseable dsn>");
  CHECK(dsn_summary("postgresql://u:TopSecret99@h:1234/d") == "host=h port=1234 dbname=d");
  CHECK(dsn_summary("host=h") == "host=h port=5432 dbname=(default)");
}

TEST_CASE("map_columns: renames table column <- output column and errors name the culprit") {
  auto s = schema_of({{"window_end", Type::Time}, {"branch", Type::String}, {"n", Type::Int}});
  std::vector<ColumnMap> cols;
  REQUIRE_FALSE(map_columns(s, {{"branch_name", "branch"}}, &cols));
  REQUIRE(cols.size() == 3);
  CHECK(cols[1].table_column == "branch_name");
  CHECK(cols[1].output_index == 1);
  CHECK(cols[1].type == Type::String);
  CHECK(cols[2].table_column == "n");

  auto e = map_columns(s, {{"x", "nope"}}, &cols);
  REQUIRE(e);
  CHECK(e->find("\"nope\"") != std::string::npos);
  e = map_columns(s, {{"n", "branch"}}, &cols);  // two columns would be named n
  REQUIRE(e);
  CHECK(e->find("written twice") != std::string::npos);
  e = map_columns(s, {{"a", "branch"}, {"b", "branch"}}, &cols);
  REQUIRE(e);
  CHECK(e->find("renamed twice") != std::string::npos);
  e = map_columns(s, {{std::string("a\0b", 3), "branch"}}, &cols);
  REQUIRE(e);
  CHECK(e->find("NUL") != std::string::npos);
}

TEST_CASE("resolve_key: by table column or by output column") {
  auto s = schema_of({{"window_end", Type::Time}, {"branch", Type::String}, {"n", Type::Int}});
  std::vector<ColumnMap> cols;
  REQUIRE_FALSE(map_columns(s, {{"branch_name", "branch"}}, &cols));
  std::vector<size_t> key;
  REQUIRE_FALSE(resolve_key(cols, s, {"window_end", "branch"}, &key));
  CHECK(key == std::vector<size_t>{0, 1});
  REQUIRE_FALSE(resolve_key(cols, s, {"branch_name"}, &key));
  CHECK(key == std::vector<size_t>{1});
  auto e = resolve_key(cols, s, {"missing"}, &key);
  REQUIRE(e);
  CHECK(e->find("\"missing\"") != std::string::npos);
  CHECK(resolve_key(cols, s, {"branch", "branch_name"}, &key));
}

TEST_CASE("types: mapping for create and compatibility with existing columns") {
  CHECK(pg_type_for(Type::Time) == PgType::Timestamptz);
  CHECK(pg_type_for(Type::Int) == PgType::Bigint);
  CHECK(pg_type_for(Type::Float) == PgType::Double);
  CHECK(pg_type_for(Type::String) == PgType::Text);
  CHECK(pg_type_for(Type::Bool) == PgType::Boolean);
  CHECK(pg_type_for(Type::List) == PgType::Jsonb);
  CHECK(pg_type_for(Type::Null) == PgType::Text);
  CHECK(pg_type_from_catalog("timestamp with time zone") == PgType::Timestamptz);
  CHECK(pg_type_from_catalog("integer") == PgType::Other);
  CHECK(accepts(PgType::Bigint, Type::Int));
  CHECK(accepts(PgType::Numeric, Type::Int));
  CHECK_FALSE(accepts(PgType::Text, Type::Int));
  CHECK_FALSE(accepts(PgType::Bigint, Type::String));
  CHECK_FALSE(accepts(PgType::Bigint, Type::Float));
  CHECK(accepts(PgType::Jsonb, Type::List));
  CHECK(accepts(PgType::Boolean, Type::Null));
  CHECK_FALSE(accepts(PgType::Other, Type::Null));
}

TEST_CASE("valid_utf8 rejects malformed and overlong and surrogate sequences") {
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(valid_utf8("\xff"));
  CHECK_FALSE(valid_utf8("\xc3"));              // truncated
  CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
}

TEST_CASE("COPY encoding: escapes and NULL and numbers and times and JSON") {
  CHECK(copy_of(Value(), PgType::Text) == "\\N");
  CHECK(copy_of(Value::string("a\tb\nc\\d\re"), PgType::Text) == "a\\tb\\nc\\\\d\\re");
  CHECK(copy_of(Value::integer(-42), PgType::Bigint) == "-42");
  CHECK(copy_of(Value::real(3.0), PgType::Bigint) == "3");
  CHECK(copy_of(Value::real(0.1), PgType::Double) == "0.1");
  CHECK(copy_of(Value::real(std::numeric_limits<double>::quiet_NaN()), PgType::Double) == "NaN");
  CHECK(copy_of(Value::real(-std::numeric_limits<double>::infinity()), PgType::Double) == "-Infinity");
  CHECK(copy_of(Value::integer(7), PgType::Double) == "7");
  CHECK(copy_of(Value::time(1484148840000), PgType::Timestamptz) == "2017-01-11T15:34:00.000Z");
  CHECK(copy_of(Value::boolean(true), PgType::Boolean) == "t");
  CHECK(copy_of(Value::list({Value::string("a\"b"), Value::integer(1)}), PgType::Jsonb) ==
        "[\"a\\\\\"b\",1]");
  CHECK(copy_of(Value::integer(5), PgType::Text) == "5");
}

TEST_CASE("COPY encoding: values PostgreSQL would refuse are reported and not encoded") {
  std::string out;
  auto nul = append_copy_value(out, Value::string(std::string("a\0b", 3)), PgType::Text);
  REQUIRE(nul);
  CHECK(nul->find("NUL") != std::string::npos);
  auto utf = append_copy_value(out, Value::string("bad \xff byte"), PgType::Text);
  REQUIRE(utf);
  CHECK(utf->find("UTF-8") != std::string::npos);
  CHECK(append_copy_value(out, Value::string("x"), PgType::Bigint));
  CHECK(append_copy_value(out, Value::real(1.5), PgType::Bigint));
  CHECK(append_copy_value(out, Value::integer(1), PgType::Timestamptz));
  CHECK(append_copy_value(out, Value::time(300000000000000LL), PgType::Timestamptz));
  CHECK(append_copy_value(out, Value::list({Value::string(std::string("\0", 1))}), PgType::Jsonb));
}
