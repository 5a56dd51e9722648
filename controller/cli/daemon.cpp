// daemon / backend drain|undrain / health.
#include "cli/daemon.h"
#include "cli/handoff.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <iostream>

#include "core/parse.h"
#include "core/state.h"
#include "daemon/daemon.h"
#include "datapath/datapath.h"
#include "lb/backends.h"
#include "lb/balancer.h"
#include "net/link.h"
#include "observe/endpoint.h"
#include "observe/shapes.h"

namespace xdplb::cli {

namespace {

Result<uint32_t> seconds_to_ms(double s, const char* what, uint32_t min_ms) {
  if (!std::isfinite(s) || s * 1000 < min_ms || s > 3600)
    return make_error(std::string(what) + ": give seconds from " + std::to_string(min_ms / 1000.0) +
                      " to 3600");
  return static_cast<uint32_t>(std::lround(s * 1000));
}

// Forks the daemon and returns once it runs and holds its lock (0), or with the reason it did
// not start (1): the child reports over a pipe, "ok" or its error.
int run_in_background(const DaemonOptions& opts, const std::string& log) {
  if (auto s = ensure_state_dir(opts.state_dir); !s) return fail(s.error());
  auto log_fd = open_private_file(log, O_WRONLY | O_APPEND);
  if (!log_fd) return fail("log file: " + log_fd.error());
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  UniqueFd rd(fds[0]), wr(fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return fail(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    rd.reset();
    ::setsid();
    ::dup2(log_fd->get(), STDOUT_FILENO);
    ::dup2(log_fd->get(), STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    auto tell = [&](const std::string& what) {
      if (wr.valid()) (void)!::write(wr.get(), what.data(), what.size());
      wr.reset();
    };
    auto st = run_daemon(opts, nullptr, [&] { tell("ok"); });
    if (!st) {
      spdlog::error("{}", st.error());
      tell(st.error());
      ::_exit(1);
    }
    ::_exit(0);
  }
  wr.reset();
  std::string said;
  char buf[512];
  for (;;) {  // until the child writes and closes its end, or exits
    pollfd p{rd.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, 120000);
    if (n == 0) return fail("the daemon (pid " + std::to_string(pid) + ") did not finish starting in 120 s; see " + log);
    if (n < 0 && errno == EINTR) continue;
    const ssize_t got = ::read(rd.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    said.append(buf, static_cast<size_t>(got));
  }
  if (said == "ok") {
    std::cout << "xdplb daemon for " << opts.bridge << " started (pid " << pid << "), logging to " << log << "\n";
    return 0;
  }
  int status = 0;
  ::waitpid(pid, &status, WNOHANG);
  if (said.empty()) return fail("the daemon exited while starting; see " + log);
  return fail(said);
}

}  // namespace

int run_daemon_cmd(const Globals& g, const DaemonArgs& a) {
  if (auto s = require_root("daemon"); !s) return fail(s.error());
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  auto metrics = observe::parse_metrics_address(a.metrics, a.metrics_public);
  if (!metrics) return fail(metrics.error());
  DaemonOptions opts;
  opts.metrics = *metrics;
  opts.bridge = *bridge;
  opts.pin_dir = g.pin_dir(*bridge);
  opts.state_dir = g.state_dir();
  auto drain_ms = seconds_to_ms(a.drain_timeout, "--drain-timeout", 1000);
  if (!drain_ms) return fail(drain_ms.error());
  opts.drain_timeout = std::chrono::milliseconds(*drain_ms);
  opts.withdraw_on_stop = a.withdraw_on_stop;
  opts.control = handed_commands(opts);
  spdlog::set_level(g.verbose ? spdlog::level::debug : spdlog::level::info);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e xdplb[%P] %^%l%$: %v");

  if (a.foreground) {
    if (auto s = run_daemon(opts); !s) return fail(s.error());
    return 0;
  }
  return run_in_background(opts, a.log_file.empty() ? opts.state_dir + "/" + *bridge + ".daemon.log" : a.log_file);
}

int run_backend_drain(const Globals& g, const DrainArgs& a) {
  auto session = open_bridge(g, a.bridge, a.undrain ? "backend undrain" : "backend drain");
  if (!session) return fail(session.error());
  std::vector<std::string> report;
  // Only the pools change: the entry stays active, so existing flows keep their backend. The
  // daemon turns the entry off once the drained backend's flows are quiet; an undrain after
  // that turns it on again in the same transaction (entries turning on are written before the
  // ring), or the ring would place new flows on an inactive entry -- dropped -- until the
  // daemon noticed.
  auto done = session->change([&](BridgeState& state, EntryChanges& entries) -> Status {
    auto svc = choose_service(state, a.service);
    if (!svc) return make_error(svc.error());
    auto found = find_backends(state, **svc, a.target);
    if (!found) return make_error(found.error());
    for (size_t i : *found) {
      SavedBackend& b = state.backends[i];
      if (b.drained == !a.undrain)
        report.push_back(describe(b) + " is " + (a.undrain ? "not drained" : "already drained"));
      else if (a.undrain)
        report.push_back("undrained " + describe(b) + ": it takes new flows again");
      else
        report.push_back("draining " + describe(b) +
                         ": no new flows; existing connections stay until they close, or until the "
                         "daemon's --drain-timeout (default 300 s) cuts them (watch `xdplb status`)");
      if (a.undrain && b.drained && !b.drain_end.empty() && b.health != Health::Down &&
          b.path != BackendPath::Down)
        if (auto plan = resolve_backend(session->link, b, std::chrono::milliseconds(0)); plan)
          entries.put[b.id] = plan->entry;
      if (b.drained != !a.undrain) {  // a new drain counts afresh, its clock from now
        b.drain_end.clear();
        b.drain_started_ms = a.undrain ? 0 : wall_clock_ms();
      }
      b.drained = !a.undrain;
    }
    return {};
  });
  if (!done) return fail(done.error());
  for (const auto& line : report) std::cout << line << "\n";
  return 0;
}

// The health settings the arguments ask for, on top of `h`.
Status apply_health_args(const HealthArgs& a, HealthCheckConfig& h) {
  if (a.type) {
    auto t = parse_name<CheckType>(*a.type);
    if (!t) return make_error("--type: " + t.error());
    h.type = *t;
  }
  if (a.path) {
    if (a.path->empty() || a.path->front() != '/' || a.path->find_first_of(" \r\n") != std::string::npos)
      return make_error("--path: give an absolute URL path without spaces, like /healthz");
    h.http_path = *a.path;
  }
  if (a.expect) {
    const auto dash = a.expect->find('-');
    auto lo = parse_port(a.expect->substr(0, dash));
    auto hi = parse_port(dash == std::string::npos ? a.expect->substr(0) : a.expect->substr(dash + 1));
    if (!lo || !hi || *lo < 100 || *hi > 599 || *lo > *hi)
      return make_error("--expect: give a status or a range from 100 to 599, like 200-399");
    h.expect_min = *lo;
    h.expect_max = *hi;
  }
  if (a.interval) {
    auto ms = seconds_to_ms(*a.interval, "--interval", kMinHealthIntervalMs);
    if (!ms) return make_error(ms.error());
    h.interval_ms = *ms;
  }
  if (a.timeout) {
    auto ms = seconds_to_ms(*a.timeout, "--timeout", 10);
    if (!ms) return make_error(ms.error());
    h.timeout_ms = *ms;
  }
  if (a.rise) {
    if (*a.rise < 1 || *a.rise > 100) return make_error("--rise: give 1 to 100");
    h.rise = *a.rise;
  }
  if (a.fall) {
    if (*a.fall < 1 || *a.fall > 100) return make_error("--fall: give 1 to 100");
    h.fall = *a.fall;
  }
  if (a.slow_start) {
    auto ms = seconds_to_ms(*a.slow_start, "--slow-start", 0);
    if (!ms) return make_error(ms.error());
    h.slow_start_ms = *ms;
  }
  if (a.panic_threshold) {
    if (*a.panic_threshold > 100) return make_error("--panic-threshold: give a percentage from 0 (off) to 100");
    h.panic_threshold = *a.panic_threshold;
  }
  if (a.refusals) {
    if (*a.refusals > 1000) return make_error("--refusals: give 1 to 1000, or 0 for no passive checks");
    h.refusals = *a.refusals;
  }
  return {};
}

int run_health(const Globals& g, const HealthArgs& a) {
  HealthCheckConfig check_args;
  if (auto s = apply_health_args(a, check_args); !s) return fail(s.error());
  auto session = open_bridge(g, a.bridge, "health");
  if (!session) return fail(session.error());
  std::vector<std::string> report;
  HealthCheckConfig h;
  std::string service;
  auto done = session->change([&](BridgeState& state, EntryChanges& entries) -> Status {
    auto chosen = choose_service(state, a.service);
    if (!chosen) return make_error(chosen.error());
    ServiceConfig& svc = *find_service(state, (*chosen)->name);
    service = svc.name;
    h = svc.health_check;
    XDPLB_TRY(apply_health_args(a, h));
    if (h == svc.health_check) return {};
    if (!svc.tcp() && h.type != CheckType::None)
      return make_error("service '" + svc.name + "' is UDP only: a " + name_of(h.type) +
                        " check probes TCP and would take every backend out; use --type none");
    svc.health_check = h;
    if (h.type != CheckType::None) return {};
    // No checks: forget what they found, so backends they took out come back now.
    for (auto& b : state.backends) {
      if (b.service != svc.name) continue;
      const bool was_down = b.health == Health::Down;
      b.health = Health::Unchecked;
      b.health_reason.clear();
      if (!was_down || b.path == BackendPath::Down) continue;
      if (auto plan = resolve_backend(session->link, b, std::chrono::milliseconds(0)); plan)
        entries.put[b.id] = plan->entry;
      else
        mark_down(b, plan.error(), entries);
      report.push_back(describe(b) + ": health checks off, back in the ring");
    }
    return {};
  });
  if (!done) return fail(done.error());
  if (a.json) {
    std::cout << observe::health_json(*done, *find_service(*done, service)).dump(2) << "\n";
    return 0;
  }
  for (const auto& line : report) std::cout << line << "\n";
  std::cout << "health checks of " << (done->services.size() > 1 ? "service " + service + " of " : "")
            << session->bridge << ": " << name_of(h.type);
  if (h.type == CheckType::Http)
    std::cout << " GET " << h.http_path << " expecting " << h.expect_min << "-" << h.expect_max;
  std::cout << ", every " << h.interval_ms << " ms, timeout " << h.timeout_ms << " ms, rise " << h.rise
            << ", fall " << h.fall;
  if (h.slow_start_ms) std::cout << ", slow start " << h.slow_start_ms << " ms";
  std::cout << ", panic below " << h.panic_threshold << "% healthy";
  if (h.refusals) std::cout << ", out after " << h.refusals << " refused connections";
  std::cout << " (run by `xdplb daemon`)\n";
  return 0;
}

}  // namespace xdplb::cli
