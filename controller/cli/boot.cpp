// boot -f FILE: what xdplb.service runs, and what a reboot needs by hand. Waits (bounded) for
// the config's bridges to exist (LXD creates lxdbr0 when it starts), applies the config (the
// pins are gone after a reboot: attach restores the saved state, then the file is applied),
// tells systemd it is ready, and runs the daemon of every bridge until stopped. Stopping it
// leaves the datapath forwarding; `xdplb detach` removes it.
#include <signal.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <iostream>
#include <sstream>
#include <thread>

#include "boot/notify.h"
#include "cli/commands.h"
#include "cli/handoff.h"
#include "config/yaml_config.h"
#include "daemon/daemon.h"
#include "net/link.h"
#include "observe/endpoint.h"

namespace xdplb::cli {

namespace {

// Journald under systemd (spdlog's systemd sink: each line with its priority and the
// journal's own timestamps), a rotating file otherwise.
Status set_up_logging(const BootArgs& a, const std::string& state_dir) {
  std::shared_ptr<spdlog::logger> logger;
  if (boot::stderr_is_journal()) {
    auto sink = boot::journal_sink();
    sink->set_pattern("%v");
    logger = std::make_shared<spdlog::logger>("xdplb", sink);
  } else {
    const std::string file = a.log_file.empty() ? state_dir + "/boot.log" : a.log_file;
    ::mkdir(state_dir.c_str(), 0755);
    try {
      auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file, 5 * 1024 * 1024, 3);
      auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
      logger = std::make_shared<spdlog::logger>("xdplb", spdlog::sinks_init_list{sink, err});
      logger->set_pattern("%Y-%m-%d %H:%M:%S.%e xdplb[%P] %l: %v");
    } catch (const spdlog::spdlog_ex& e) {
      return make_error("log file " + file + ": " + e.what());
    }
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return {};
}

// Every bridge and uplink of the config, waited for at most `wait` in all.
Status wait_for_links(const config::ConfigFile& cfg, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (const auto& b : cfg.bridges) {
    std::vector<std::string> names{b.name};
    names.insert(names.end(), b.uplinks.begin(), b.uplinks.end());
    for (const auto& name : names) {
      bool logged = false;
      while (!net::get_link(name)) {
        if (std::chrono::steady_clock::now() >= deadline)
          return make_error(name + " did not appear within " + std::to_string(wait.count() / 1000) +
                            " s (is LXD up? `--wait-links` waits longer)");
        if (!logged) spdlog::info("waiting for {} to appear", name);
        logged = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }
  return {};
}

}  // namespace

int run_boot(const Globals& g, const BootArgs& a) {
  if (auto s = require_root("boot"); !s) return fail(s.error());
  if (auto s = set_up_logging(a, g.state_dir()); !s) return fail(s.error());
  spdlog::set_level(g.verbose ? spdlog::level::debug : spdlog::level::info);
  auto text = read_input(a.file);
  if (!text) return fail(text.error());
  auto cfg = config::parse_config(*text, a.file);
  if (!cfg) {
    (void)boot::notify("STATUS=" + cfg.error());
    spdlog::error("{}", cfg.error());
    return 1;
  }
  (void)boot::notify("STATUS=waiting for the bridges");
  if (auto s = wait_for_links(*cfg, std::chrono::milliseconds(static_cast<long>(a.wait_links * 1000))); !s) {
    spdlog::error("{}", s.error());
    return 1;
  }
  if (run_apply(g, ApplyArgs{a.file, false}) != 0) {
    spdlog::error("applying {} failed (see above)", a.file);
    return 1;
  }
  spdlog::info("applied {}: {} bridges", a.file, cfg->bridges.size());

  // The daemons run in threads and take SIGTERM/SIGINT/SIGHUP through their signalfd: blocked
  // here first, so no thread dies of one. When one daemon stops, the others are stopped too.
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  auto metrics = observe::parse_metrics_address(a.metrics, a.metrics_public);
  if (!metrics) {
    spdlog::error("{}", metrics.error());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<int> running{0};
  Heartbeats heartbeats;  // every daemon's loops stamp theirs: the watchdog pings on their progress
  std::vector<std::thread> daemons;
  for (const auto& b : cfg->bridges) {
    DaemonOptions opts;
    opts.bridge = b.name;
    opts.pin_dir = g.pin_dir(b.name);
    opts.state_dir = g.state_dir();
    opts.heartbeats = &heartbeats;
    opts.control = handed_commands(opts);
    // One /metrics per bridge's daemon: the first on --metrics' port, the next on the next ones.
    if (*metrics) {
      opts.metrics = **metrics;
      if (opts.metrics->port) opts.metrics->port = static_cast<uint16_t>(opts.metrics->port + daemons.size());
    }
    ++running;
    daemons.emplace_back([opts, &stop, &running] {
      if (auto s = run_daemon(opts, &stop); !s) spdlog::error("daemon of {}: {}", opts.bridge, s.error());
      stop = true;
      --running;
    });
  }
  (void)boot::notify("READY=1\nSTATUS=serving " + std::to_string(cfg->bridges.size()) + " bridges");
  spdlog::info("ready");
  const auto watchdog = boot::watchdog_interval();
  auto next_ping = std::chrono::steady_clock::now();
  std::vector<std::string> stalled;  // as last seen: logged when it changes
  while (!stop && running > 0) {
    // Alive while every daemon loop goes round: each stamps its heartbeat, and a loop that has
    // not within half the interval (stuck in a call) stops the pings, so systemd restarts us.
    // A daemon that ends stops the rest, and the pings.
    const auto now = std::chrono::steady_clock::now();
    if (watchdog && now >= next_ping) {
      auto late = stalled_loops(heartbeats.read(), now, *watchdog / 2);
      if (late.empty()) (void)boot::notify("WATCHDOG=1");
      if (late != stalled) {
        std::string names;
        for (const auto& n : late) names += (names.empty() ? "" : ", ") + n;
        if (late.empty()) spdlog::info("every daemon loop goes round again: watchdog pings resumed");
        else spdlog::error("daemon loop stuck for over {} ms ({}): no watchdog ping, systemd restarts xdplb",
                           std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2).count(), names);
        stalled = std::move(late);
      }
      next_ping = now + *watchdog / 2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  (void)boot::notify("STOPPING=1");
  for (auto& t : daemons) t.join();
  spdlog::info("stopped; the datapath keeps forwarding (`xdplb detach BRIDGE` removes it)");
  return 0;
}

}  // namespace xdplb::cli
