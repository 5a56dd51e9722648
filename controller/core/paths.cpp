#include "core/paths.h"

#include <cstdlib>

namespace xdplb {

std::string resolve_path(const std::optional<std::string>& flag, const char* env_value,
                         const std::string& fallback) {
  if (flag && !flag->empty()) return *flag;
  if (env_value && *env_value) return env_value;
  return fallback;
}

std::string resolve_pin_root(const std::optional<std::string>& flag) {
  return resolve_path(flag, std::getenv(kPinRootEnv), kDefaultPinRoot);
}

std::string resolve_state_dir(const std::optional<std::string>& flag) {
  return resolve_path(flag, std::getenv(kStateDirEnv), kDefaultStateDir);
}

std::string pin_dir(const std::string& root, const std::string& bridge) {
  std::string dir = root;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir != "/") dir += '/';
  return dir + bridge;
}

}  // namespace xdplb
