// W3-shaped probe of window::State alone (no source, fields or sink): N keys, count() + sum(v) over ints,
// {sliding: 60s, every: 1s}, top 10 by count. `weir-w3-state-probe [keys] [panes per key]`: panes per key 1
// is W3 (records over 5 s, each key in one pane); 60 is the worst case (every key in every pane). Prints
// records per CPU-s of add(), the CPU of sliding through the whole window, bytes() and peak RSS per group,
// and the size and CPU of a checkpoint (save()) of the full state.
#include <sys/resource.h>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>
#include "engine/window/window_state.h"
using namespace weir;
static double cpu() {
  rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}
static long rss_kb() {
  rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_maxrss;
}
int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000000;
  int panes_per_key =
      argc > 2 ? std::atoi(argv[2]) : 1;  // 1: W3 (each key once); 60: every key in every pane
  long rss0 = rss_kb();
  window::Plan p;
  p.kind = config::Window::Kind::Sliding;
  p.length_ms = 60000;
  p.every_ms = 1000;
  p.key_count = 1;
  p.bounds = true;
  p.aggs = {config::AggKind::Count, config::AggKind::Sum};
  window::State s(p);
  window::Select sel;
  sel.order = {{3, true}};
  sel.limit = 10;
  s.select(sel);
  Key key(1);
  Value args[2];
  char buf[32];
  std::vector<Emission> out;
  double c0 = cpu();
  size_t recs = 0;
  int64_t t0 = 1700000000000;
  if (panes_per_key == 1) {
    // W3: n keys over 5 seconds (one pane each), a slide each second.
    for (size_t i = 0; i < n; ++i) {
      std::snprintf(buf, sizeof buf, "k%07zu", i);
      key[0].set_string(buf);
      args[1] = Value::integer(static_cast<int64_t>(i % 1000));
      int64_t t = t0 + static_cast<int64_t>(i * 5000 / n);
      s.add(t, key, args);
      ++recs;
      if (i % (n / 5) == 0) s.advance(t, out);
    }
  } else {
    for (int q = 0; q < panes_per_key; ++q) {
      for (size_t i = 0; i < n; ++i) {
        std::snprintf(buf, sizeof buf, "k%07zu", i);
        key[0].set_string(buf);
        args[1] = Value::integer(static_cast<int64_t>(i % 1000));
        s.add(t0 + q * 1000, key, args);
        ++recs;
      }
      s.advance(t0 + q * 1000, out);
    }
  }
  double c1 = cpu();
  size_t groups = s.groups(), bytes = s.bytes();
  long rss1 = rss_kb();
  std::string ck;
  s.save(ck);  // the checkpoint of the full state
  double c_ck = cpu();
  s.advance(t0 + 70000, out);  // slides through the whole window
  double c2 = cpu();
  std::printf(
      "keys=%zu panes/key=%d records=%zu groups=%zu bytes()=%zu (%.1f B/group) peakRSS=%.1f MB (+%.1f MB, "
      "%.1f B/group) "
      "add=%.2f CPU-s (%.0f rec/CPU-s) slides=%.2f CPU-s emissions=%zu ckpt=%zu B (%.1f B/group, save %.2f "
      "CPU-s)\n",
      n, panes_per_key, recs, groups, bytes, double(bytes) / groups, rss1 / 1024.0, (rss1 - rss0) / 1024.0,
      (rss1 - rss0) * 1024.0 / groups, c1 - c0, recs / (c1 - c0), c2 - c_ck, out.size(), ck.size(),
      double(ck.size()) / groups, c_ck - c1);
}
