// Helpers shared by the connector tests: a record collector and a scratch directory.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "connectors/source.h"

namespace weir::test {

struct Rec {
  std::string payload;
  std::string file;
  int64_t line = -1;
  uint32_t stream = 0;
  int64_t full_size = -1;
};

class Collect : public RecordHandler {
 public:
  void on_record(const RawRecord& r) override {
    recs.push_back(Rec{std::string(r.payload), std::string(r.file), r.line, r.stream, r.full_size});
  }
  std::vector<std::string> payloads() const {
    std::vector<std::string> out;
    for (const Rec& r : recs) out.push_back(r.payload);
    return out;
  }
  std::vector<Rec> recs;
};

inline std::chrono::steady_clock::time_point in_ms(int ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

// A fresh directory under $TMPDIR, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "weir-conn-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary) << text;
  }
  void append(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary | std::ios::app) << text;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(file(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string path_;
};

}  // namespace weir::test
