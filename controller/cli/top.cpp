// xdplb top: samples the datapath's counters every interval and prints the differences as
// rates. Counters are per-CPU sums read through the Datapath API; the flows per backend come
// from one batched walk of the flow table per frame (bounded by its size).
#include "cli/top.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "core/reasons.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "datapath/flow_census.h"

namespace xdplb::cli {

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct FlowTally {
  std::map<uint32_t, uint64_t> per_backend;  // entries in the flow table
  uint64_t total = 0;
  uint64_t active = 0;  // saw a packet within kRecentFlowWindow
};

struct Sample {
  std::chrono::steady_clock::time_point at;
  BridgeState state;
  std::map<uint32_t, BackendCounters> backends;
  std::vector<uint64_t> reasons;
  FlowTally flows;
};

Result<FlowTally> tally_flows(Datapath& dp) {
  auto per_backend = flows_per_backend(dp);
  if (!per_backend) return make_error(per_backend.error());
  FlowTally t;
  for (const auto& [id, f] : *per_backend) {
    t.per_backend[id] = f.total;
    t.total += f.total;
    t.active += f.recent;
  }
  return t;
}

Result<Sample> take_sample(const Globals& g, const std::string& bridge, Datapath& dp) {
  Sample s;
  s.at = std::chrono::steady_clock::now();
  auto saved = load_state(g.state_dir(), bridge);
  if (!saved) return make_error(saved.error());
  if (!saved->has_value()) return make_error("no saved state for " + bridge + " (was it detached?)");
  s.state = **saved;
  for (const auto& b : s.state.backends) {
    auto c = dp.backend_counters(b.id);
    if (!c) return make_error(c.error());
    s.backends[b.id] = *c;
  }
  auto r = dp.reason_counters();
  if (!r) return make_error(r.error());
  s.reasons = std::move(*r);
  auto f = tally_flows(dp);
  if (!f) return make_error(f.error());
  s.flows = std::move(*f);
  return s;
}

// 1234 -> "1.2k", 4520000 -> "4.52M": fits the narrow columns.
std::string si(double v) {
  const char* units[] = {"", "k", "M", "G", "T"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 4) v /= 1000, ++u;
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, v < 10 ? "%.2f%s" : v < 100 ? "%.1f%s" : "%.0f%s", v, units[u]);
  return buf;
}

// Counters restart at zero when a backend is removed and added again: never show a negative rate.
double rate(uint64_t now, uint64_t before, double seconds) {
  return now >= before && seconds > 0 ? double(now - before) / seconds : 0;
}

std::string render(const Sample& prev, const Sample& cur, double interval, bool live) {
  const double dt = std::chrono::duration<double>(cur.at - prev.at).count();
  std::string out;
  char line[160];
  char clock[16];
  std::time_t wall = std::time(nullptr);
  std::strftime(clock, sizeof clock, "%H:%M:%S", std::localtime(&wall));
  std::snprintf(line, sizeof line, "xdplb top  bridge %s  %zu service%s  every %.1f s%s",
                cur.state.bridge.c_str(), cur.state.services.size(), cur.state.services.size() == 1 ? "" : "s",
                interval, live ? "  (Ctrl-C quits)" : "");
  std::snprintf(line + std::strlen(line), sizeof line - std::strlen(line), "%*s\n",
                std::max(1, 79 - int(std::strlen(line))), clock);
  out += line;
  out += "\n";
  std::snprintf(line, sizeof line, "%-10s %-20s %-9s %9s %9s %11s %8s %6s\n", "SERVICE", "BACKEND", "PATH",
                "PKTS/S", "BITS/S", "NEW FLOWS/S", "FLOWS", "SHARE");
  out += line;
  double tot_pps = 0, tot_bps = 0, tot_nfs = 0;
  std::vector<std::array<double, 3>> rows;
  for (const auto& b : cur.state.backends) {
    const BackendCounters now = cur.backends.count(b.id) ? cur.backends.at(b.id) : BackendCounters{};
    const BackendCounters before = prev.backends.count(b.id) ? prev.backends.at(b.id) : now;
    const double pps = rate(now.packets, before.packets, dt);
    const double bps = 8 * rate(now.bytes, before.bytes, dt);
    const double nfs = rate(now.new_flows, before.new_flows, dt);
    tot_pps += pps, tot_bps += bps, tot_nfs += nfs;
    rows.push_back({pps, bps, nfs});
  }
  for (size_t i = 0; i < cur.state.backends.size(); ++i) {
    const auto& b = cur.state.backends[i];
    std::string who = !b.name.empty() ? b.name
                      : b.addr.family ? b.addr.to_string() + ":" + std::to_string(b.port)
                                      : "(id " + std::to_string(b.id) + ")";
    if (who.size() > 20) who = who.substr(0, 19) + "~";
    const uint64_t flows = cur.flows.per_backend.count(b.id) ? cur.flows.per_backend.at(b.id) : 0;
    const std::string share =
        tot_pps > 0 ? si(100 * rows[i][0] / tot_pps) + "%" : std::string("-");
    std::snprintf(line, sizeof line, "%-10s %-20s %-9s %9s %9s %11s %8s %6s\n", b.service.substr(0, 10).c_str(),
                  who.c_str(), b.path == BackendPath::Unknown ? "-" : name_of(b.path), si(rows[i][0]).c_str(),
                  si(rows[i][1]).c_str(), si(rows[i][2]).c_str(), si(double(flows)).c_str(),
                  share.c_str());
    out += line;
  }
  if (cur.state.backends.empty()) out += "(no backends: `xdplb backend add ADDR`)\n";
  // "TOTAL" starts the line (in the service column): scripts find the row by it.
  std::snprintf(line, sizeof line, "%-10s %-20s %-9s %9s %9s %11s %8s\n", "TOTAL", "", "", si(tot_pps).c_str(),
                si(tot_bps).c_str(), si(tot_nfs).c_str(), si(double(cur.flows.total)).c_str());
  out += line;
  std::snprintf(line, sizeof line, "flows: %s in the table, %s active (a packet in the last 10 s)\n",
                si(double(cur.flows.total)).c_str(), si(double(cur.flows.active)).c_str());
  out += line;
  out += "\n";
  std::snprintf(line, sizeof line, "%-22s %9s %12s  %s\n", "DATAPATH OUTCOME", "PER SEC", "TOTAL",
                "(only those seen)");
  out += line;
  bool any = false;
  for (size_t i = 0; i < cur.reasons.size(); ++i) {
    if (!cur.reasons[i]) continue;
    any = true;
    const uint64_t before = i < prev.reasons.size() ? prev.reasons[i] : cur.reasons[i];
    const auto& info = reason_info(unsigned(i));
    std::string meaning = info.meaning;
    if (meaning.size() > 31) meaning = meaning.substr(0, 30) + "~";
    std::snprintf(line, sizeof line, "%-22s %9s %12s  %s\n", info.name,
                  si(rate(cur.reasons[i], before, dt)).c_str(), si(double(cur.reasons[i])).c_str(),
                  meaning.c_str());
    out += line;
  }
  if (!any) out += "(no packets yet)\n";
  return out;
}

// Sleeps `seconds`, waking early when a signal asks to stop.
void sleep_unless_stopped(double seconds) {
  using namespace std::chrono;
  const auto until = steady_clock::now() + duration_cast<nanoseconds>(duration<double>(seconds));
  while (!g_stop) {
    const auto left = duration_cast<nanoseconds>(until - steady_clock::now());
    if (left.count() <= 0) return;
    const long long ns = std::min<long long>(left.count(), 100'000'000);  // wake every 100 ms
    timespec ts{time_t(0), long(ns)};
    nanosleep(&ts, nullptr);  // EINTR on Ctrl-C: the loop checks g_stop
  }
}

}  // namespace

int run_top(const Globals& g, const TopArgs& a) {
  if (auto s = require_root("top"); !s) return fail(s.error());
  if (!(a.interval >= 0.1 && a.interval <= 60)) return fail("--interval must be between 0.1 and 60 seconds");
  if (a.count < 0) return fail("--count must be 0 (until Ctrl-C) or more");
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  auto dp = Datapath::open(g.pin_dir(*bridge));
  if (!dp) return fail(dp.error());

  const bool live = ::isatty(STDOUT_FILENO);
  const int frames = a.count > 0 ? a.count : live ? 0 : 1;
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: the sleep returns at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  auto prev = take_sample(g, *bridge, **dp);
  if (!prev) return fail(prev.error());
  if (live) std::fputs("\033[?25l", stdout);  // hide the cursor while redrawing
  int shown = 0, rc = 0;
  while (!g_stop && (frames == 0 || shown < frames)) {
    sleep_unless_stopped(a.interval);
    if (g_stop) break;
    auto cur = take_sample(g, *bridge, **dp);
    if (!cur) {
      if (live) std::fputs("\033[?25h", stdout);
      rc = fail(cur.error());
      break;
    }
    const std::string frame = render(*prev, *cur, a.interval, live);
    if (live) std::fputs("\033[H\033[2J", stdout);  // home + clear: redraw in place
    else if (shown > 0) std::fputs("\n", stdout);
    std::fputs(frame.c_str(), stdout);
    std::fflush(stdout);
    prev = std::move(cur);
    ++shown;
  }
  if (live) {
    std::fputs("\033[?25h", stdout);
    std::fflush(stdout);
  }
  return rc;
}

}  // namespace xdplb::cli
