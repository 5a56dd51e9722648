// xdplb_bench_probe: times "backend add -> first packet at the new backend" for scripts/bench.sh.
//   send:  a UDP datagram every --interval-us to --dst, each from a new socket, so each is a
//          new flow the load balancer places by its current ring; for --seconds.
//   first: waits (at most --seconds) for one datagram on --port and prints the CLOCK_REALTIME
//          nanoseconds it arrived; exits 1 on timeout.
// Namespaces share CLOCK_REALTIME, so the script compares it with `date +%s%N`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace {

long long realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int run_send(const std::string& dst, uint16_t port, int interval_us, double seconds) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  if (inet_pton(AF_INET, dst.c_str(), &to.sin_addr) != 1) {
    std::fprintf(stderr, "xdplb_bench_probe: bad --dst %s\n", dst.c_str());
    return 1;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  long sent = 0;
  while (std::chrono::steady_clock::now() < until) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) break;
    if (::sendto(fd, "probe", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 5) ++sent;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::microseconds(interval_us));
  }
  std::printf("%ld\n", sent);
  return 0;
}

int run_first(uint16_t port, double seconds) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    std::fprintf(stderr, "xdplb_bench_probe: binding UDP port %u failed: %s\n", port, strerror(errno));
    return 1;
  }
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(seconds * 1000)) != 1) return 1;
  const long long t = realtime_ns();
  std::printf("%lld\n", t);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"UDP probe for the backend-add latency in scripts/bench.sh"};
  app.require_subcommand(1);
  std::string dst;
  uint16_t port = 8000;
  int interval_us = 200;
  double seconds = 5;
  auto* send = app.add_subcommand("send", "send one datagram per new socket");
  send->add_option("--dst", dst, "destination address")->required();
  send->add_option("--port", port, "destination port")->capture_default_str();
  send->add_option("--interval-us", interval_us, "pause between datagrams")->check(CLI::Range(10, 1000000));
  send->add_option("--seconds", seconds, "how long")->check(CLI::Range(0.1, 600.0));
  auto* first = app.add_subcommand("first", "print when the first datagram arrives");
  first->add_option("--port", port, "UDP port to listen on")->capture_default_str();
  first->add_option("--seconds", seconds, "give up after")->check(CLI::Range(0.1, 600.0));
  CLI11_PARSE(app, argc, argv);
  if (*send) return run_send(dst, port, interval_us, seconds);
  return run_first(port, seconds);
}
