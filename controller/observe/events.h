// The daemon's event stream: state changes as one JSON object per line, over a root-only unix
// socket in the state dir (<state_dir>/<bridge>.events.sock, mode 0600, peers checked to be
// root). `xdplb events` follows it. A subscriber that cannot keep up (its socket buffer full)
// is dropped rather than slowing the daemon; it reconnects and misses what came meanwhile.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/fd.h"
#include "core/result.h"
#include "observe/shapes.h"

namespace xdplb::observe {

enum class EventType {
  Subscribed,        // first line to a new subscriber
  DaemonStarted,
  DaemonStopping,
  BackendAdded,
  BackendRemoved,
  BackendUp,
  BackendDown,
  BackendDrained,    // drained and its flows quiet: entry off
  BackendUndrained,
  ContainerStopped,
  ContainerStarted,
  ContainerChanged,  // new address or host-side veth
  ServiceAdded,
  ServiceRemoved,
  ServiceChanged,
  BridgeMacChanged,
  LinkChanged,       // a bridge port came or went (fast paths re-planned)
  PanicEntered,      // too few healthy backends: health ignored for placement (service, "IPv4"/"IPv6")
  PanicLeft,
};
const char* name_of(EventType t);

struct Event {
  EventType type = EventType::Subscribed;
  std::string service;
  std::string backend;   // metrics' backend label (container name or ADDR:PORT)
  std::string address;
  uint32_t id = 0;       // backend id (0 with no backend)
  std::string reason;
};

// {"time": RFC 3339 UTC with ms, "bridge", "type", then service/backend/id/address/reason when set}.
Json event_json(const std::string& bridge, const Event& e, std::chrono::system_clock::time_point when);

// <state_dir>/<bridge>.events.sock
std::string events_socket(const std::string& state_dir, const std::string& bridge);

class EventServer {
 public:
  static Result<std::unique_ptr<EventServer>> start(const std::string& state_dir, const std::string& bridge);
  ~EventServer();
  EventServer(const EventServer&) = delete;
  EventServer& operator=(const EventServer&) = delete;
  // Sends the event to every subscriber (never blocks).
  void emit(const Event& e);

 private:
  EventServer(UniqueFd fd, std::string path, std::string bridge)
      : fd_(std::move(fd)), path_(std::move(path)), bridge_(std::move(bridge)) {}
  void accept_loop();
  void send_line(const std::string& line);

  UniqueFd fd_;
  std::string path_, bridge_;
  std::mutex mu_;
  std::vector<UniqueFd> subscribers_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace xdplb::observe
