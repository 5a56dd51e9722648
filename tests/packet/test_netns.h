// A network namespace owned by one test (name prefix "xdp", PID suffix so parallel runs do not
// collide): created with `ip netns add`, configured with `ip -n`, deleted in the destructor.
// run() executes a function on a thread that has entered the namespace, so ifindexes, routes
// and devmap updates resolve there.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include "core/result.h"

namespace xdplb::test {

// What a shell command prints on stdout ("" if it cannot run).
std::string command_output(const std::string& cmd);

class TestNetns {
 public:
  // tag: short, e.g. "pkt" -> namespace "xdppkt<pid>".
  static Result<std::unique_ptr<TestNetns>> create(const std::string& tag);
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  const std::string& name() const { return name_; }
  // Runs `ip -n <ns> <args>` (or any command with {ns} replaced) and fails on a non-zero exit.
  Status ip(const std::string& args) const;
  // ip() for each command in turn; stops at the first that fails.
  Status ip_all(std::initializer_list<const char*> commands) const;
  // The ifindex of a link inside the namespace.
  Result<int> ifindex(const std::string& link) const;
  Status sh(const std::string& command) const;
  // Runs f inside the namespace on a dedicated thread; fails if the thread cannot enter it.
  Status run(const std::function<void()>& f) const;

 private:
  explicit TestNetns(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

}  // namespace xdplb::test
