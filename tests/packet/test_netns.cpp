#include "test_netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/fd.h"

namespace xdplb::test {

std::string command_output(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 512> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

Result<std::unique_ptr<TestNetns>> TestNetns::create(const std::string& tag) {
  std::string name = "xdp" + tag + std::to_string(::getpid());
  std::system(("ip netns del " + name + " 2>/dev/null").c_str());  // leftover of a killed run
  if (std::system(("ip netns add " + name).c_str()) != 0)
    return make_error("ip netns add " + name + " failed");
  std::unique_ptr<TestNetns> ns(new TestNetns(name));
  XDPLB_TRY(ns->ip("link set lo up"));
  return ns;
}

TestNetns::~TestNetns() { std::system(("ip netns del " + name_ + " 2>/dev/null").c_str()); }

Status TestNetns::sh(const std::string& command) const {
  std::string cmd = command;
  for (size_t p; (p = cmd.find("{ns}")) != std::string::npos;) cmd.replace(p, 4, name_);
  if (std::system(cmd.c_str()) != 0) return make_error("command failed: " + cmd);
  return {};
}

Status TestNetns::ip(const std::string& args) const { return sh("ip -n {ns} " + args); }

Status TestNetns::ip_all(std::initializer_list<const char*> commands) const {
  for (const char* c : commands) XDPLB_TRY(ip(c));
  return {};
}

Result<int> TestNetns::ifindex(const std::string& link) const {
  int index = 0;
  XDPLB_TRY(run([&] { index = static_cast<int>(if_nametoindex(link.c_str())); }));
  if (index <= 0) return make_error("no link " + link + " in " + name_);
  return index;
}

Status TestNetns::run(const std::function<void()>& f) const {
  std::string error;
  std::thread t([&] {
    UniqueFd fd(::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || ::setns(fd.get(), CLONE_NEWNET) != 0) {
      error = "entering namespace " + name_ + " failed: " + std::strerror(errno);
      return;
    }
    f();
  });
  t.join();
  if (!error.empty()) return make_error(error);
  return {};
}

}  // namespace xdplb::test
