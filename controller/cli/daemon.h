// `xdplb daemon`, `xdplb backend drain|undrain` and `xdplb health`: the commands around the
// daemon (controller/daemon/).
#pragma once

#include <optional>
#include <string>

#include "cli/context.h"

namespace xdplb::cli {

struct DaemonArgs {
  std::optional<std::string> bridge;
  bool foreground = false;
  std::string log_file;  // background: where the log goes (default <state dir>/<bridge>.daemon.log)
  std::string metrics = "127.0.0.1:9464";  // ADDR:PORT of /metrics, or "off"
  bool metrics_public = false;             // allow a non-loopback metrics address
  double drain_timeout = 300;  // seconds a drained backend's open connections may last
  bool withdraw_on_stop = false;  // withdraw the node's BGP routes when it stops
};
int run_daemon_cmd(const Globals& g, const DaemonArgs& a);

struct DrainArgs {
  std::string target;  // container name or ADDR[:PORT]
  std::optional<std::string> bridge;
  std::optional<std::string> service;  // needed when the bridge has several
  bool undrain = false;
};
int run_backend_drain(const Globals& g, const DrainArgs& a);

struct HealthArgs {
  std::optional<std::string> bridge;
  std::optional<std::string> service;  // needed when the bridge has several
  std::optional<std::string> type, path, expect;  // expect: "200-399" or "200"
  std::optional<double> interval, timeout;        // seconds
  std::optional<uint32_t> rise, fall;
  std::optional<double> slow_start;               // seconds, 0 = off
  bool json = false;                              // print the checks as JSON (observe/shapes.h)
  std::optional<uint32_t> panic_threshold;        // percent, 0 = off
  std::optional<uint32_t> refusals;               // passive: refused connections that take it out, 0 = off
};
int run_health(const Globals& g, const HealthArgs& a);

}  // namespace xdplb::cli
