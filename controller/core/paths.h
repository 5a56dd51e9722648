// Where xdplb keeps things: the bpffs pin root (pinned maps and links of each attached
// bridge) and the state dir (saved configuration). Each is chosen as: command-line flag, else
// environment variable, else default, so tests and a second instance can use their own.
#pragma once

#include <optional>
#include <string>

namespace xdplb {

inline constexpr const char* kDefaultPinRoot = "/sys/fs/bpf/xdplb";
inline constexpr const char* kDefaultStateDir = "/var/lib/xdplb";
inline constexpr const char* kPinRootEnv = "XDPLB_PIN_ROOT";
inline constexpr const char* kStateDirEnv = "XDPLB_STATE_DIR";

// flag > env > fallback; an empty flag or env value counts as not given.
std::string resolve_path(const std::optional<std::string>& flag, const char* env_value,
                         const std::string& fallback);

// The same with the environment read from the process (getenv).
std::string resolve_pin_root(const std::optional<std::string>& flag = std::nullopt);
std::string resolve_state_dir(const std::optional<std::string>& flag = std::nullopt);

// root/bridge, without doubled '/'. The bridge name must be a valid interface name
// (check_interface_name), which also keeps it a single path component.
std::string pin_dir(const std::string& root, const std::string& bridge);

}  // namespace xdplb
