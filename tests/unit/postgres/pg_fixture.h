// A throwaway PostgreSQL server for the tests of one binary, started through tests/tools/pg-harness.sh:
// started on first use, stopped (and its directory removed) when the process exits.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace weir::test {

class PgServer {
 public:
  PgServer() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/weir-pg-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    run("start");
    std::ifstream env(dir_ + "/env");
    std::string line;
    while (std::getline(env, line)) {
      if (line.rfind("PGPORT=", 0) == 0) port_ = line.substr(7);
      if (line.rfind("DSN=", 0) == 0) dsn_ = line.substr(4);
    }
    if (dsn_.empty()) throw std::runtime_error("pg-harness.sh wrote no DSN in " + dir_ + "/env");
  }
  ~PgServer() {
    run("stop", /*check=*/false);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // The one server of this test binary.
  static PgServer& shared() {
    static PgServer server;
    return server;
  }

  const std::string& dsn() const { return dsn_; }
  const std::string& port() const { return port_; }
  const std::string& dir() const { return dir_; }

  void stop() { run("stop"); }    // pg_ctl -m immediate stop
  void start() { run("start"); }  // the same cluster, the same port
  void restart() { run("restart"); }

 private:
  void run(const std::string& cmd, bool check = true) {
    std::string line = std::string("bash ") + WEIR_SOURCE_DIR + "/tests/tools/pg-harness.sh " + cmd + " '" +
                       dir_ + "' >/dev/null";
    int rc = std::system(line.c_str());
    if (check && rc != 0) throw std::runtime_error("pg-harness.sh " + cmd + " failed (" + line + ")");
  }

  std::string dir_;
  std::string port_;
  std::string dsn_;
};

}  // namespace weir::test
