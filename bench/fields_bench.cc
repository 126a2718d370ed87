// Micro-benchmark of field extraction alone (engine/fields): decodes every line of a JSONL file with
// the fields of W1 (treasury) or W2 (tweets) and reports records/s and bytes/s per CPU-second.
//   weir-fields-bench w1|w2 FILE [REPEAT]
// WEIR_NO_FAST_SKIP=1 turns the fast skip of unneeded values off (the full parser checks them).
// For instructions per byte run it under `valgrind --tool=callgrind` with REPEAT 1 on a small file.
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include "config/job.h"
#include "engine/fields/extract.h"

using namespace weir;

namespace {

config::Field field(const char* name, const char* path, config::FieldType type, bool required) {
  config::Field f;
  f.name = name;
  f.path_text = path;
  f.path = std::get<std::vector<config::PathStep>>(config::parse_path(path));
  f.type = type;
  f.required = required;
  return f;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: weir-fields-bench w1|w2 FILE [REPEAT]\n";
    return 2;
  }
  const std::string which = argv[1];
  const int repeat = argc > 3 ? std::stoi(argv[3]) : 1;
  std::vector<config::Field> fields;
  if (which == "w1") {
    fields = {field("branch", "branch", config::FieldType::String, true),
              field("currency", "currency", config::FieldType::String, true),
              field("amount", "amount", config::FieldType::Int, true)};
  } else {
    fields = {field("author", "user.screen_name", config::FieldType::Any, false),
              field("text", "text", config::FieldType::Any, false)};
  }
  std::ifstream in(argv[2]);
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    bytes += line.size();
    lines.push_back(std::move(line));
  }
  if (lines.empty()) {
    std::cerr << "no records in " << argv[2] << "\n";
    return 2;
  }
  fields::Extractor x(fields, config::Decode::Json);
  if (std::getenv("WEIR_NO_FAST_SKIP")) x.set_fast_skip(false);
  std::vector<Value> slots(fields.size());
  std::string error;
  size_t good = 0;
  const double t0 = cpu_seconds();
  for (int r = 0; r < repeat; ++r) {
    for (const auto& line : lines) good += x.extract(line, slots.data(), error) ? 1 : 0;
  }
  const double cpu = cpu_seconds() - t0;
  const double n = static_cast<double>(lines.size()) * repeat;
  std::cout << which << ": " << lines.size() << " records x " << repeat << ", " << good << " good, "
            << static_cast<double>(bytes) / static_cast<double>(lines.size()) << " bytes/record, " << cpu
            << " CPU-s, " << static_cast<long>(n / cpu) << " records/CPU-s, "
            << static_cast<double>(bytes) * repeat / cpu / 1e6 << " MB/CPU-s\n";
  if (good != lines.size() * static_cast<size_t>(repeat)) std::cout << "last error: " << error << "\n";
  return 0;
}
