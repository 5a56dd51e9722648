// Helpers for the container tests: run a shell command and read its output, fetch a page with
// curl (bounded), read the environment the driver scripts (run_*_test.sh) set up.
#pragma once

#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace xdplb::testing {

struct CommandResult {
  int status = -1;
  std::string out;  // stdout, trailing newline removed
};

inline CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
  return r;
}

// The page at http://ADDR/ (IPv6 literals in brackets) within 3 s, else curl's error message.
inline std::string http_get(const std::string& host) {
  return run("curl -sS -g --max-time 3 'http://" + host + "/' 2>&1").out;
}

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

inline std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The bridge a host link is a port of ("" if none), as the kernel shows it in sysfs.
inline std::string bridge_of(const std::string& link) {
  return run("basename \"$(readlink /sys/class/net/" + link + "/master)\" 2>/dev/null").out;
}

inline bool link_exists(const std::string& link) {
  return run("ip link show dev " + link + " >/dev/null 2>&1").status == 0;
}

// GRO of eth0 inside the namespace of `pid`, as ethtool reports it ("on"/"off").
inline std::string container_gro(int pid) {
  return run("nsenter -t " + std::to_string(pid) +
             " -n ethtool -k eth0 | awk '/^generic-receive-offload:/ {print $2}'")
      .out;
}

template <typename F>
bool eventually(F&& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace xdplb::testing
