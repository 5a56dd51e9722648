// events: follows the daemon's event stream (controller/observe/events.h) of a bridge.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/observe.h"
#include "core/fd.h"
#include "observe/events.h"

namespace xdplb::cli {

namespace {

// One event as a line for people: "TIME TYPE service S backend B (ADDR): reason".
std::string event_text(const observe::Json& e) {
  std::string line = e.value("time", "") + " " + e.value("type", "");
  if (e.contains("service")) line += " service " + e["service"].get<std::string>();
  if (e.contains("backend")) line += " backend " + e["backend"].get<std::string>();
  const std::string addr = e.value("address", ""), backend = e.value("backend", "");
  if (!addr.empty() && backend.rfind(addr, 0) != 0 && backend.rfind("[" + addr + "]", 0) != 0)
    line += " (" + addr + ")";  // a container: its address; ADDR:PORT names it already
  if (e.contains("reason")) line += ": " + e["reason"].get<std::string>();
  return line;
}

}  // namespace

int run_events(const Globals& g, const EventsArgs& a) {
  if (auto s = require_root("events"); !s) return fail(s.error());
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  const std::string path = observe::events_socket(g.state_dir(), *bridge);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return fail("no event stream for " + *bridge + " (" + path + ": " + std::strerror(errno) +
                "): is `xdplb daemon` running for it?");
  std::string buf;
  char chunk[4096];
  uint64_t seen = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    for (size_t nl; (nl = buf.find('\n')) != std::string::npos; buf.erase(0, nl + 1)) {
      const std::string line = buf.substr(0, nl);
      auto e = observe::Json::parse(line, nullptr, false);
      if (e.is_discarded()) continue;
      const bool hello = e.value("type", "") == observe::name_of(observe::EventType::Subscribed);
      if (a.json)
        std::cout << line << std::endl;
      else if (hello)
        std::cout << "following the events of " << *bridge << " (Ctrl-C to stop)" << std::endl;
      else
        std::cout << event_text(e) << std::endl;
      if (!hello && a.count && ++seen >= *a.count) return 0;
    }
  }
  return fail("the daemon of " + *bridge + " closed the event stream (stopped?)");
}

}  // namespace xdplb::cli
