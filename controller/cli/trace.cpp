// trace: what the datapath decides for matching packets, from its trace ring buffer
// (bpf/lib/trace.h). The trace is on only while this command runs (it renews a lease the
// datapath checks, so a trace killed with -9 stops within kTraceLease); one at a time per
// bridge (a flock, which a killed process gives up at once).
#include <bpf/libbpf.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <cstring>
#include <iostream>

#include "cli/observe.h"
#include "core/fd.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "net/address.h"
#include "observe/trace.h"

namespace xdplb::cli {

namespace {

struct Printer {
  const BridgeState* state;
  bool json;
  bool printing = true;  // false: counting what an earlier trace left
  uint64_t seen = 0;
  uint64_t limit = 0;  // --count, 0: none
};

int on_event(void* ctx, void* data, size_t size) {
  auto* p = static_cast<Printer*>(ctx);
  if (size < sizeof(struct xdplb_trace_event)) return 0;
  struct xdplb_trace_event e;
  std::memcpy(&e, data, sizeof e);
  // One consume hands over every record the ring holds: stop printing at --count within it.
  if (p->printing && p->limit && p->seen >= p->limit) return 0;
  ++p->seen;
  if (!p->printing) return 0;
  const observe::Json j = observe::trace_json(e, *p->state);
  std::cout << (p->json ? j.dump() : observe::trace_text(j)) << std::endl;
  return 0;
}

struct RingDeleter {
  void operator()(struct ring_buffer* r) const { ring_buffer__free(r); }
};

}  // namespace

int run_trace(const Globals& g, const TraceArgs& a) {
  if (auto s = require_root("trace"); !s) return fail(s.error());
  if (a.timeout && (*a.timeout <= 0 || *a.timeout > 86400)) return fail("--timeout: give seconds from 0 to 86400");
  TraceFilter filter;
  if (a.client) {
    auto c = IpAddress::parse(*a.client);
    if (!c) return fail("--client: " + c.error());
    filter.client = *c;
    auto local = net::all_local_addresses();
    if (!local) return fail(local.error());
    std::vector<IpAddress> addrs;
    for (const auto& a : *local) addrs.push_back(a.address);
    filter.client_is_host = observe::trace_client_is_host(*c, addrs);
  }
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  auto saved = load_state(g.state_dir(), *bridge);
  if (!saved) return fail(saved.error());
  if (!saved->has_value()) return fail("no saved state for " + *bridge);
  const BridgeState state = **saved;
  if (a.service) {
    const ServiceConfig* svc = find_service(state, *a.service);
    if (!svc) return fail("no service '" + *a.service + "' on " + *bridge + ": see `xdplb service list`");
    filter.service_slot = svc->slot;
    for (const auto& b : state.backends)
      if (b.service == svc->name) filter.service_backends.push_back(b.id);
  }
  auto dp = Datapath::open(g.pin_dir(*bridge));
  if (!dp) return fail(dp.error());

  // One trace per bridge: a second would turn the first one's filter off when it ends.
  const std::string lock_path = g.state_dir() + "/" + *bridge + ".trace.lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid() || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
    return fail("a trace of " + *bridge + " already runs (" + lock_path + "): one at a time");

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));

  Printer printer{&state, a.json};
  std::unique_ptr<struct ring_buffer, RingDeleter> ring(
      ring_buffer__new((*dp)->trace_ring_fd(), on_event, &printer, nullptr));
  if (!ring) return fail(std::string("opening the trace ring buffer failed: ") + std::strerror(errno));
  // Records a killed trace left behind (it stopped within its lease): dropped, and said so.
  printer.printing = false;
  while (ring_buffer__consume(ring.get()) > 0) {
  }
  if (printer.seen)
    std::cerr << "dropped " << printer.seen << " records an earlier trace left in the ring" << std::endl;
  printer.seen = 0;
  printer.printing = true;
  printer.limit = a.count ? static_cast<uint64_t>(*a.count) : 0;
  if (auto s = (*dp)->start_trace(filter); !s) return fail(s.error());
  if (!a.json) std::cerr << "tracing " << *bridge << " (Ctrl-C to stop)" << std::endl;
  auto renewed = std::chrono::steady_clock::now();

  const auto deadline = a.timeout ? std::chrono::steady_clock::now() +
                                        std::chrono::milliseconds(static_cast<long>(*a.timeout * 1000))
                                  : std::chrono::steady_clock::time_point::max();
  int rc = 0;
  for (;;) {
    if (a.count && printer.seen >= *a.count) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    pollfd fds[2] = {{ring_buffer__epoll_fd(ring.get()), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
    ::poll(fds, 2, 100);
    if (fds[1].revents) break;
    if (std::chrono::steady_clock::now() - renewed >= kTraceLease / 3) {
      if (auto s = (*dp)->renew_trace(); !s) {
        rc = fail(s.error());
        break;
      }
      renewed = std::chrono::steady_clock::now();
    }
    if (ring_buffer__consume(ring.get()) < 0) {
      rc = fail("reading the trace ring buffer failed");
      break;
    }
  }
  if (auto s = (*dp)->stop_trace(); !s) return fail(s.error());
  // Records written between --count and the stop are this trace's own: taken out of the ring
  // unprinted, so the next trace does not report them as left by a killed one.
  printer.printing = false;
  while (ring_buffer__consume(ring.get()) > 0) {
  }
  return rc;
}

}  // namespace xdplb::cli
