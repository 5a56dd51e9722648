// Path resolution: flag > environment > default.
#include "core/paths.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace xdplb {
namespace {

TEST(ResolvePath, FlagThenEnvThenDefault) {
  EXPECT_EQ(resolve_path(std::string("/flag"), "/env", "/def"), "/flag");
  EXPECT_EQ(resolve_path(std::nullopt, "/env", "/def"), "/env");
  EXPECT_EQ(resolve_path(std::nullopt, nullptr, "/def"), "/def");
  EXPECT_EQ(resolve_path(std::string(""), "/env", "/def"), "/env");  // empty flag = not given
  EXPECT_EQ(resolve_path(std::nullopt, "", "/def"), "/def");         // empty env = unset
}

// Sets (or unsets) an environment variable for one scope and restores it.
class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~EnvGuard() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(ResolvePinRoot, ReadsEnvironment) {
  {
    EnvGuard g(kPinRootEnv, nullptr);
    EXPECT_EQ(resolve_pin_root(), "/sys/fs/bpf/xdplb");
    EXPECT_EQ(resolve_pin_root(std::string("/sys/fs/bpf/mine")), "/sys/fs/bpf/mine");
  }
  {
    EnvGuard g(kPinRootEnv, "/sys/fs/bpf/from-env");
    EXPECT_EQ(resolve_pin_root(), "/sys/fs/bpf/from-env");
    EXPECT_EQ(resolve_pin_root(std::string("/sys/fs/bpf/flag")), "/sys/fs/bpf/flag");
  }
}

TEST(ResolveStateDir, ReadsEnvironment) {
  {
    EnvGuard g(kStateDirEnv, nullptr);
    EXPECT_EQ(resolve_state_dir(), "/var/lib/xdplb");
  }
  {
    EnvGuard g(kStateDirEnv, "/tmp/xdplb-state");
    EXPECT_EQ(resolve_state_dir(), "/tmp/xdplb-state");
    EXPECT_EQ(resolve_state_dir(std::string("/srv/x")), "/srv/x");
    // The pin root is not affected by the state dir's variable.
    EnvGuard p(kPinRootEnv, nullptr);
    EXPECT_EQ(resolve_pin_root(), "/sys/fs/bpf/xdplb");
  }
}

TEST(PinDir, Joins) {
  EXPECT_EQ(pin_dir("/sys/fs/bpf/xdplb", "lxdbr0"), "/sys/fs/bpf/xdplb/lxdbr0");
  EXPECT_EQ(pin_dir("/sys/fs/bpf/xdplb/", "lxdbr0"), "/sys/fs/bpf/xdplb/lxdbr0");
  EXPECT_EQ(pin_dir("/sys/fs/bpf/xdplb//", "br0"), "/sys/fs/bpf/xdplb/br0");
  EXPECT_EQ(pin_dir("/", "br0"), "/br0");
}

}  // namespace
}  // namespace xdplb
