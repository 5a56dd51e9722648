// http_load: a bounded HTTP/1.0 load client for the daemon tests. Each of --concurrency
// threads opens a new connection per request (no keep-alive), paced to --rate requests/s in
// total, for --duration seconds, and every request is recorded:
//   <start ms since run start> <duration ms> <HTTP status | ERR-reason> <client port | 0>
//   <body's first line, _ for spaces>
// so a test can see which requests failed, when, which backend served the others, and (by the
// client port, in a backend's packet log) which backend a failed one reached.
// Usage: http_load ADDR PORT PATH --duration S --concurrency N --rate R --out FILE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Record {
  double start_ms, dur_ms;
  std::string result;
  unsigned port = 0;  // the connection's local port (known from connect on)
  std::string body;
};

// One request on a fresh connection; every step bounded by `timeout_ms`.
Record one_request(const sockaddr_in& to, const std::string& path, int timeout_ms, Clock::time_point t0) {
  const auto start = Clock::now();
  Record r{std::chrono::duration<double, std::milli>(start - t0).count(), 0, "", 0, ""};
  auto done = [&](std::string result) {
    r.dur_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    r.result = std::move(result);
    return r;
  };
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return done("ERR-socket");
  struct Closer { int fd; ~Closer() { ::close(fd); } } closer{fd};
  auto wait_for = [&](short events) {
    const int left = timeout_ms - static_cast<int>(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, left) == 1;
  };
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)
    return done(std::string("ERR-connect-") + std::to_string(errno));
  sockaddr_in local{};
  socklen_t local_len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) r.port = ntohs(local.sin_port);
  if (!wait_for(POLLOUT)) return done("ERR-connect-timeout");
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err == ECONNREFUSED) return done("ERR-refused");
  if (err == ECONNRESET) return done("ERR-reset");
  if (err) return done("ERR-connect-" + std::to_string(err));
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: lb\r\nUser-Agent: http_load\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    return done("ERR-send");
  std::string resp;
  char buf[4096];
  for (;;) {
    if (!wait_for(POLLIN)) return done("ERR-read-timeout");
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EAGAIN) continue;
    if (n < 0) return done(errno == ECONNRESET ? "ERR-reset" : "ERR-read-" + std::to_string(errno));
    if (n == 0) break;
    resp.append(buf, static_cast<size_t>(n));
    if (resp.size() > (1 << 20)) break;
  }
  if (resp.size() < 12 || resp.compare(0, 7, "HTTP/1.") != 0) return done("ERR-bad-response");
  const size_t body = resp.find("\r\n\r\n");
  if (body != std::string::npos) {
    // The first line of the body ("Served from b1") names the backend; spaces become '_'.
    const size_t b = body + 4;
    const size_t nl = resp.find_first_of("\r\n", b);
    r.body = resp.substr(b, std::min<size_t>(nl == std::string::npos ? resp.size() - b : nl - b, 80));
    std::replace(r.body.begin(), r.body.end(), ' ', '_');
  }
  return done(resp.substr(9, 3));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ADDR PORT PATH [--duration S] [--concurrency N] [--rate R] [--timeout MS] [--out FILE]\n", argv[0]);
    return 2;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) return 2;
  const std::string path = argv[3];
  double duration = 20, rate = 1000;
  int conc = 8, timeout_ms = 3000;
  std::string out = "-";
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--duration") duration = std::atof(argv[i + 1]);
    else if (k == "--concurrency") conc = std::atoi(argv[i + 1]);
    else if (k == "--rate") rate = std::atof(argv[i + 1]);
    else if (k == "--timeout") timeout_ms = std::atoi(argv[i + 1]);
    else if (k == "--out") out = argv[i + 1];
  }
  if (duration <= 0 || duration > 600 || conc < 1 || conc > 256 || rate <= 0) return 2;

  const auto t0 = Clock::now();
  // The wall clock of t0, so a test can line up its own events (kills, log lines) with ours.
  std::fprintf(stderr, "http_load: t0_epoch_ms %lld\n",
               static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count()));
  std::fflush(stderr);
  const auto end = t0 + std::chrono::duration<double>(duration);
  std::mutex mu;
  std::vector<Record> all;
  std::atomic<uint64_t> next_slot{0};
  const double gap_ms = 1000.0 / rate;  // requests leave on a shared schedule
  std::vector<std::thread> threads;
  for (int t = 0; t < conc; ++t) {
    threads.emplace_back([&] {
      std::vector<Record> mine;
      for (;;) {
        const uint64_t slot = next_slot++;
        const auto at = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(slot * gap_ms));
        if (at >= end) break;
        std::this_thread::sleep_until(at);
        mine.push_back(one_request(to, path, timeout_ms, t0));
      }
      std::lock_guard<std::mutex> g(mu);
      for (auto& r : mine) all.push_back(std::move(r));
    });
  }
  for (auto& th : threads) th.join();
  std::sort(all.begin(), all.end(), [](const Record& a, const Record& b) { return a.start_ms < b.start_ms; });

  FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "w");
  if (!f) return 2;
  size_t ok = 0;
  double slowest = 0;
  for (const auto& r : all) {
    std::fprintf(f, "%.3f %.3f %s %u %s\n", r.start_ms, r.dur_ms, r.result.c_str(), r.port,
                 r.body.empty() ? "-" : r.body.c_str());
    if (r.result == "200") ++ok;
    if (r.dur_ms > slowest) slowest = r.dur_ms;
  }
  if (f != stdout) std::fclose(f);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::fprintf(stderr, "http_load: %zu requests in %.1f s (%.0f req/s), %zu ok, %zu failed, slowest %.1f ms\n",
               all.size(), secs, all.size() / secs, ok, all.size() - ok, slowest);
  return 0;
}
