#include "observe/events.h"
#include "observe/quiet_thread.h"
#include "observe/root_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace xdplb::observe {

const char* name_of(EventType t) {
  switch (t) {
    case EventType::Subscribed: return "subscribed";
    case EventType::DaemonStarted: return "daemon_started";
    case EventType::DaemonStopping: return "daemon_stopping";
    case EventType::BackendAdded: return "backend_added";
    case EventType::BackendRemoved: return "backend_removed";
    case EventType::BackendUp: return "backend_up";
    case EventType::BackendDown: return "backend_down";
    case EventType::BackendDrained: return "backend_drained";
    case EventType::BackendUndrained: return "backend_undrained";
    case EventType::ContainerStopped: return "container_stopped";
    case EventType::ContainerStarted: return "container_started";
    case EventType::ContainerChanged: return "container_changed";
    case EventType::ServiceAdded: return "service_added";
    case EventType::ServiceRemoved: return "service_removed";
    case EventType::ServiceChanged: return "service_changed";
    case EventType::BridgeMacChanged: return "bridge_mac_changed";
    case EventType::LinkChanged: return "link_changed";
    case EventType::PanicEntered: return "panic_entered";
    case EventType::PanicLeft: return "panic_left";
  }
  return "unknown";
}

Json event_json(const std::string& bridge, const Event& e, std::chrono::system_clock::time_point when) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  Json j = {{"time", buf}, {"bridge", bridge}, {"type", name_of(e.type)}};
  if (!e.service.empty()) j["service"] = e.service;
  if (!e.backend.empty()) j["backend"] = e.backend;
  if (e.id) j["id"] = e.id;
  if (!e.address.empty()) j["address"] = e.address;
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j;
}

std::string events_socket(const std::string& state_dir, const std::string& bridge) {
  return state_dir + "/" + bridge + ".events.sock";
}

Result<std::unique_ptr<EventServer>> EventServer::start(const std::string& state_dir, const std::string& bridge) {
  const std::string path = events_socket(state_dir, bridge);
  auto fd = listen_root_socket(path, "events socket", 8);
  if (!fd) return make_error(fd.error());
  std::unique_ptr<EventServer> s(new EventServer(std::move(*fd), path, bridge));
  s->thread_ = quiet_thread([raw = s.get()] { raw->accept_loop(); });
  return s;
}

EventServer::~EventServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

void EventServer::accept_loop() {
  while (!stop_) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) != 1) continue;
    UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn.valid()) continue;
    if (!peer_is_root(conn.get())) continue;
    const std::string hello =
        event_json(bridge_, Event{}, std::chrono::system_clock::now()).dump() + "\n";
    if (::send(conn.get(), hello.data(), hello.size(), MSG_DONTWAIT | MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size()))
      continue;
    std::lock_guard lock(mu_);
    subscribers_.push_back(std::move(conn));
  }
}

void EventServer::send_line(const std::string& line) {
  std::lock_guard lock(mu_);
  std::erase_if(subscribers_, [&](const UniqueFd& fd) {
    // A partial write would corrupt the stream: a subscriber that is that far behind is dropped.
    return ::send(fd.get(), line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL) != static_cast<ssize_t>(line.size());
  });
}

void EventServer::emit(const Event& e) { send_line(event_json(bridge_, e, std::chrono::system_clock::now()).dump() + "\n"); }

}  // namespace xdplb::observe
