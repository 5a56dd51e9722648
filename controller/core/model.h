// The typed domain model's enums, each with one name table (xdp-tools' enum_val idea): code
// compares enums, and names appear only at the CLI and JSON boundary (name_of / parse_name).
#pragma once

#include <xdplb/abi.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"
#include "core/xdp_mode.h"

namespace xdplb {

// How a service places new flows (the datapath's enum xdplb_scheduler).
enum class Scheduler : uint32_t {
  Maglev = XDPLB_SCHED_MAGLEV,
  Weighted = XDPLB_SCHED_WEIGHTED,
  RoundRobin = XDPLB_SCHED_ROUND_ROBIN,
  LeastConn = XDPLB_SCHED_LEAST_CONN,
};
// Which connections of one client stick to one backend.
enum class Affinity { None, Source };
// The protocols a service answers.
enum class ProtoSet { Tcp, Udp, Both };
// A backend's health as the daemon's checks last saw it.
enum class Health { Unchecked, Up, Down };
// How the datapath reaches a backend, as last installed.
enum class BackendPath { Unknown, Redirect, Pass, Down, Routed };
// The daemon's active health check.
enum class CheckType { Tcp, Http, None };
// Where a backend comes from: an address, or a container (Auto until resolved to LXD or LXC).
enum class BackendSource { Addr, Auto, Lxd, Lxc };

template <typename E>
struct NameTable;  // specialised below: `what` (for messages) and `names` (value, name)

template <>
struct NameTable<Scheduler> {
  static constexpr const char* what = "scheduler";
  static constexpr std::array<std::pair<Scheduler, const char*>, 4> names{
      {{Scheduler::Maglev, "maglev"},
       {Scheduler::Weighted, "weighted"},
       {Scheduler::RoundRobin, "round-robin"},
       {Scheduler::LeastConn, "least-conn"}}};
};
template <>
struct NameTable<Affinity> {
  static constexpr const char* what = "affinity";
  static constexpr std::array<std::pair<Affinity, const char*>, 2> names{
      {{Affinity::None, "none"}, {Affinity::Source, "source"}}};
};
template <>
struct NameTable<ProtoSet> {
  static constexpr const char* what = "protocol";
  static constexpr std::array<std::pair<ProtoSet, const char*>, 3> names{
      {{ProtoSet::Tcp, "tcp"}, {ProtoSet::Udp, "udp"}, {ProtoSet::Both, "both"}}};
};
template <>
struct NameTable<Health> {
  static constexpr const char* what = "health";
  static constexpr std::array<std::pair<Health, const char*>, 3> names{
      {{Health::Unchecked, ""}, {Health::Up, "up"}, {Health::Down, "down"}}};
};
template <>
struct NameTable<BackendPath> {
  static constexpr const char* what = "path";
  static constexpr std::array<std::pair<BackendPath, const char*>, 5> names{
      {{BackendPath::Unknown, ""},
       {BackendPath::Redirect, "redirect"},
       {BackendPath::Pass, "pass"},
       {BackendPath::Down, "down"},
       {BackendPath::Routed, "routed"}}};
};
template <>
struct NameTable<CheckType> {
  static constexpr const char* what = "health check type";
  static constexpr std::array<std::pair<CheckType, const char*>, 3> names{
      {{CheckType::Tcp, "tcp"}, {CheckType::Http, "http"}, {CheckType::None, "none"}}};
};

template <>
struct NameTable<BackendSource> {
  static constexpr const char* what = "source";
  static constexpr std::array<std::pair<BackendSource, const char*>, 4> names{
      {{BackendSource::Addr, "addr"},
       {BackendSource::Auto, "auto"},
       {BackendSource::Lxd, "lxd"},
       {BackendSource::Lxc, "lxc"}}};
};
template <>
struct NameTable<XdpMode> {
  static constexpr const char* what = "XDP mode";
  static constexpr std::array<std::pair<XdpMode, const char*>, 3> names{
      {{XdpMode::Auto, "auto"}, {XdpMode::Native, "native"}, {XdpMode::Generic, "generic"}}};
};

template <typename E>
const char* name_of(E value) {
  for (const auto& [v, n] : NameTable<E>::names)
    if (v == value) return n;
  return "?";
}

// "maglev, weighted, round-robin or least-conn" (empty names left out).
template <typename E>
std::string names_of() {
  std::string out;
  const auto& names = NameTable<E>::names;
  size_t shown = 0, total = 0;
  for (const auto& entry : names) total += entry.second[0] != '\0';
  for (const auto& entry : names) {
    if (entry.second[0] == '\0') continue;
    if (shown) out += ++shown == total ? " or " : ", ";
    else ++shown;
    out += entry.second;
  }
  return out;
}

// The value named `text` (any case), or an error that lists the names.
template <typename E>
Result<E> parse_name(std::string_view text) {
  auto same = [&](const char* name) {
    std::string_view n(name);
    if (n.size() != text.size()) return false;
    for (size_t i = 0; i < n.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(text[i])) != n[i]) return false;
    return true;
  };
  for (const auto& [v, n] : NameTable<E>::names)
    if (same(n)) return v;
  return make_error(std::string(NameTable<E>::what) + " '" + std::string(text) + "' is unknown; expected " +
                    names_of<E>());
}

}  // namespace xdplb
