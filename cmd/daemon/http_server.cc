#include "cmd/daemon/http_server.h"

#include <httplib.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "cmd/daemon/prometheus.h"

namespace weir::daemon {

bool parse_listen_address(const std::string& text, std::string& host, int& port, std::string& error) {
  std::string h = "127.0.0.1";
  std::string p = text;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "'" + text + "' is not [IPv6]:PORT";
      return false;
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
    if (colon > 0) h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(p) > 65535) {
    error = "'" + text + "' is not ADDR:PORT (a port from 0 to 65535, e.g. 127.0.0.1:9090)";
    return false;
  }
  host = h;
  port = std::stoi(p);
  return true;
}

struct HttpServer::Impl {
  httplib::Server server;
  std::thread thread;
};

HttpServer::HttpServer(const Supervisor& supervisor) : impl_(std::make_unique<Impl>()) {
  auto& s = impl_->server;
  s.new_task_queue = [] { return new httplib::ThreadPool(2); };
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  s.set_keep_alive_max_count(10);
  const Supervisor* sup = &supervisor;
  s.Get("/metrics", [sup](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_prometheus(sup->samples(), sup->problems()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/healthz",
        [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  s.Get("/readyz", [sup](const httplib::Request&, httplib::Response& res) {
    Readiness r = sup->readiness();
    res.status = r.ready ? 200 : 503;
    res.set_content(r.text, "text/plain; charset=utf-8");
  });
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("weir daemon: /metrics /healthz /readyz\n", "text/plain");
  });
}

HttpServer::~HttpServer() {
  stop();
}

bool HttpServer::start(const std::string& host, int port, std::string& error) {
  auto& s = impl_->server;
  errno = 0;
  if (port == 0) {
    port_ = s.bind_to_any_port(host);
    if (port_ < 0) port_ = 0;
  } else if (s.bind_to_port(host, port)) {
    port_ = port;
  }
  if (port_ == 0) {
    error = errno != 0 ? std::strerror(errno) : "bind failed";
    return false;
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  return true;
}

void HttpServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

}  // namespace weir::daemon
