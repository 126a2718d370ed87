// The daemon's HTTP endpoint (cpp-httplib, kept in http_server.cc alone: it is slow to compile).
//   GET /metrics  Prometheus text format
//   GET /healthz  200 while the process runs (the supervisor loop answers)
//   GET /readyz   200 when no job failed and every job file runs; 503 with the failed jobs otherwise
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cmd/daemon/supervisor.h"

namespace weir::daemon {

// "HOST:PORT", ":PORT" (127.0.0.1), "PORT" (127.0.0.1) or "[V6]:PORT". False with `error` otherwise.
bool parse_listen_address(const std::string& text, std::string& host, int& port, std::string& error);

class HttpServer {
 public:
  explicit HttpServer(const Supervisor& supervisor);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0: any free port) and serves from a thread of its own. False with `error`.
  bool start(const std::string& host, int port, std::string& error);
  int port() const { return port_; }
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace weir::daemon
