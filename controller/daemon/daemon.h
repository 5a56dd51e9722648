// The xdplb daemon of one attached bridge. It does not forward anything itself (the pinned
// datapath does, with or without it); it keeps the maps in step with the world:
//  - active health checks (TCP connect or HTTP GET) with rise/fall: a backend that fails
//    leaves the Maglev ring and its entry turns inactive, so its flows are re-placed;
//  - containers added by name: a stopped one leaves at once, a started one is re-resolved,
//    probed and put back;
//  - the bridge's MAC and its ports (netlink), which change as containers come and go;
//  - drains: a drained backend whose flows have all gone quiet turns inactive;
//  - the saved state, which CLI commands change while it runs (re-read when the file changes);
//  - active-connection counts (least-conn): flows idle too long leave their backend's count;
//  - BGP (bgp/announcer.h): the VIPs of services that can serve are announced through BIRD.
// Every read-modify-write of the state holds the bridge's StateLock, like the CLI.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <functional>
#include <string>

#include "core/ip.h"
#include "daemon/control.h"
#include "daemon/heartbeat.h"

#include "core/result.h"

namespace xdplb {

// Flows with no packet for this long leave their backend's active-connection count (the entry
// stays, and a packet counts it again). TCP: the end of most connections is seen (FIN/RST);
// this catches the rest (a client that vanished, an RST the datapath did not see) and is longer
// than the idle time servers allow a keep-alive connection (nginx 75 s). UDP has no end to
// see: 30 s is what the kernel's conntrack gives a UDP flow (nf_conntrack_udp_timeout).
inline constexpr std::chrono::seconds kTcpIdleUncount{300};
inline constexpr std::chrono::seconds kUdpIdleUncount{30};
// How often the daemon looks for such flows (a walk of the flow tables).
inline constexpr std::chrono::seconds kIdleSweepInterval{5};

struct DaemonOptions {
  std::string bridge;
  std::string pin_dir;    // the bridge's pins (attached already)
  std::string state_dir;
  // How often containers given by name are looked up (liblxc / LXD).
  std::chrono::milliseconds container_poll{1000};
  // Where /metrics is served (nullopt: not at all) and whether the events socket is opened
  // (controller/observe/).
  std::optional<Endpoint> metrics;
  bool events = true;
  // A drained backend's connections that are still open after this long are cut (entry off).
  std::chrono::milliseconds drain_timeout{300000};
  // On SIGTERM/SIGINT/SIGHUP, withdraw this node's BGP routes (VIPs, return routes) before
  // exiting, waiting until BIRD exports none of them plus the hold (bgp/withdraw.h): the
  // router stops sending flows here. Without it they stay announced (the datapath forwards on).
  bool withdraw_on_stop = false;
  // Where the event loop and the worker stamp their heartbeats (the watchdog reads them), if
  // anywhere.
  Heartbeats* heartbeats = nullptr;
  // Runs the commands the CLI hands over on the control socket (daemon/control.h), if set.
  ControlServer::Handler control;
};

// Runs until SIGTERM, SIGINT or SIGHUP (or `stop` turns true). Fails only on start-up errors
// (bridge not attached, no state, another daemon on the bridge, a state dir others may write).
// `ready` is called once it holds the bridge's daemon lock and has written the maps from the
// saved state (the background `xdplb daemon` returns then).
Status run_daemon(const DaemonOptions& options, const std::atomic<bool>* stop = nullptr,
                  const std::function<void()>& ready = {});

// <state_dir>/<bridge>.daemon.pid: held (flock) by the running daemon, and naming its pid.
std::string daemon_pid_file(const std::string& state_dir, const std::string& bridge);

}  // namespace xdplb
