// daemon / backend drain|undrain / health.
#include "cli/daemon.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <iostream>

#include "core/parse.h"
#include "core/state.h"
#include "daemon/daemon.h"
#include "datapath/datapath.h"
#include "lb/backends.h"
#include "lb/balancer.h"
#include "net/link.h"

namespace xdplb::cli {

namespace {

Result<uint32_t> seconds_to_ms(double s, const char* what, uint32_t min_ms) {
  if (!std::isfinite(s) || s * 1000 < min_ms || s > 3600)
    return make_error(std::string(what) + ": give seconds from " + std::to_string(min_ms / 1000.0) +
                      " to 3600");
  return static_cast<uint32_t>(std::lround(s * 1000));
}

}  // namespace

int run_daemon_cmd(const Globals& g, const DaemonArgs& a) {
  if (auto s = require_root("daemon"); !s) return fail(s.error());
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  DaemonOptions opts;
  opts.bridge = *bridge;
  opts.pin_dir = g.pin_dir(*bridge);
  opts.state_dir = g.state_dir();
  spdlog::set_level(g.verbose ? spdlog::level::debug : spdlog::level::info);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e xdplb[%P] %^%l%$: %v");

  if (!a.foreground) {
    const std::string log = a.log_file.empty() ? opts.state_dir + "/" + *bridge + ".daemon.log" : a.log_file;
    ::mkdir(opts.state_dir.c_str(), 0755);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return fail("cannot open the log file " + log);
    const pid_t pid = ::fork();
    if (pid < 0) return fail("fork failed");
    if (pid > 0) {
      std::cout << "xdplb daemon for " << *bridge << " started (pid " << pid << "), logging to " << log << "\n";
      return 0;
    }
    ::setsid();
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
  }
  if (auto s = run_daemon(opts); !s) return fail(s.error());
  return 0;
}

int run_backend_drain(const Globals& g, const DrainArgs& a) {
  const char* what = a.undrain ? "backend undrain" : "backend drain";
  if (auto s = require_root(what); !s) return fail(s.error());
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  auto locked = lock_state(g, *bridge);
  if (!locked) return fail(locked.error());
  BridgeState& state = locked->state;
  auto found = find_backends(state, a.target);
  if (!found) return fail(found.error());
  std::vector<SavedBackend*> changed;
  for (size_t i : *found) {
    SavedBackend& b = state.backends[i];
    if (b.drained == !a.undrain)
      std::cout << describe(b) << " is " << (a.undrain ? "not drained" : "already drained") << "\n";
    else
      changed.push_back(&b);
  }
  if (changed.empty()) return 0;
  for (auto* b : changed) b->drained = !a.undrain;
  auto dp = Datapath::open(g.pin_dir(*bridge));
  if (!dp) return fail(dp.error());
  // Only the ring changes: the entry stays active, so existing flows keep their backend. The
  // daemon turns the entry off once the drained backend's flows are quiet.
  if (auto s = rebuild_ring(**dp, state); !s) return fail(s.error());
  if (auto s = save_state(g.state_dir(), state); !s) return fail(s.error());
  for (auto* b : changed) {
    if (a.undrain)
      std::cout << "undrained " << describe(*b) << ": it takes new flows again\n";
    else
      std::cout << "draining " << describe(*b) << ": no new flows; existing flows stay until they end "
                << "(watch `xdplb status`)\n";
  }
  return 0;
}

int run_health(const Globals& g, const HealthArgs& a) {
  if (auto s = require_root("health"); !s) return fail(s.error());
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  auto locked = lock_state(g, *bridge);
  if (!locked) return fail(locked.error());
  BridgeState& state = locked->state;
  HealthCheckConfig h = state.health_check;
  if (a.type) {
    if (*a.type != "tcp" && *a.type != "http" && *a.type != "none")
      return fail("--type: give tcp, http or none");
    h.type = *a.type;
  }
  if (a.path) {
    if (a.path->empty() || a.path->front() != '/' || a.path->find_first_of(" \r\n") != std::string::npos)
      return fail("--path: give an absolute URL path without spaces, like /healthz");
    h.http_path = *a.path;
  }
  if (a.expect) {
    const auto dash = a.expect->find('-');
    auto lo = parse_port(a.expect->substr(0, dash));
    auto hi = parse_port(dash == std::string::npos ? a.expect->substr(0) : a.expect->substr(dash + 1));
    if (!lo || !hi || *lo < 100 || *hi > 599 || *lo > *hi)
      return fail("--expect: give a status or a range from 100 to 599, like 200-399");
    h.expect_min = *lo;
    h.expect_max = *hi;
  }
  if (a.interval) {
    auto ms = seconds_to_ms(*a.interval, "--interval", kMinHealthIntervalMs);
    if (!ms) return fail(ms.error());
    h.interval_ms = *ms;
  }
  if (a.timeout) {
    auto ms = seconds_to_ms(*a.timeout, "--timeout", 10);
    if (!ms) return fail(ms.error());
    h.timeout_ms = *ms;
  }
  if (a.rise) {
    if (*a.rise < 1 || *a.rise > 100) return fail("--rise: give 1 to 100");
    h.rise = *a.rise;
  }
  if (a.fall) {
    if (*a.fall < 1 || *a.fall > 100) return fail("--fall: give 1 to 100");
    h.fall = *a.fall;
  }
  if (a.slow_start) {
    auto ms = seconds_to_ms(*a.slow_start, "--slow-start", 0);
    if (!ms) return fail(ms.error());
    h.slow_start_ms = *ms;
  }
  if (!(h == state.health_check)) {
    state.health_check = h;
    if (h.type == "none") {
      // No checks: forget what they found, so backends they took out come back now.
      auto dp = Datapath::open(g.pin_dir(*bridge));
      if (!dp) return fail(dp.error());
      auto link = net::get_link(*bridge);
      if (!link) return fail(link.error());
      for (auto& b : state.backends) {
        const bool was_down = b.health == "down";
        b.health.clear();
        b.health_reason.clear();
        if (!was_down || b.path == "down") continue;
        if (auto plan = install_backend(**dp, *link, b, std::chrono::milliseconds(0)); !plan)
          (void)mark_down(**dp, b, plan.error());
        std::cout << describe(b) << ": health checks off, back in the ring\n";
      }
      if (auto s = rebuild_ring(**dp, state); !s) return fail(s.error());
    }
    if (auto s = save_state(g.state_dir(), state); !s) return fail(s.error());
  }
  std::cout << "health checks of " << *bridge << ": " << h.type;
  if (h.type == "http")
    std::cout << " GET " << h.http_path << " expecting " << h.expect_min << "-" << h.expect_max;
  std::cout << ", every " << h.interval_ms << " ms, timeout " << h.timeout_ms << " ms, rise " << h.rise
            << ", fall " << h.fall;
  if (h.slow_start_ms) std::cout << ", slow start " << h.slow_start_ms << " ms";
  std::cout << " (run by `xdplb daemon`)\n";
  return 0;
}

}  // namespace xdplb::cli
