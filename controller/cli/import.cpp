// import nginx|iptables|lxd: the tutorial's setup as an xdplb config on stdout (YAML with the
// report as comments), for `xdplb apply -f`. Reads only; changes nothing.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "config/import.h"
#include "containers/lxd_client.h"

namespace xdplb::cli {

namespace {

// The output of a read-only command (iptables-save, nft list ruleset), or an error.
Result<std::string> command_output(const std::string& cmd) {
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return make_error("cannot run " + cmd);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int rc = ::pclose(p);
  if (rc != 0) return make_error(cmd + " failed (exit " + std::to_string(rc) + ")");
  return out;
}

int print(const Result<config::Imported>& r, const std::string& what) {
  if (!r) return fail(r.error());
  std::cout << config::imported_yaml(*r, what);
  return 0;
}

}  // namespace

int run_import(const Globals&, const ImportArgs& a) {
  if (a.kind == "nginx") {
    auto text = read_input(a.file);
    if (!text) return fail(text.error());
    return print(config::import_nginx(*text, a.file == "-" ? "<stdin>" : a.file, a.bridge),
                 "imported from nginx config " + a.file);
  }
  if (a.kind == "iptables") {
    if (!a.file.empty()) {
      auto text = read_input(a.file);
      if (!text) return fail(text.error());
      return print(config::import_dnat(*text, a.file == "-" ? "<stdin>" : a.file, a.bridge),
                   "imported from DNAT rules in " + a.file);
    }
    // The rules as the kernel has them: iptables first, nft where iptables has none.
    std::string tried;
    for (const char* cmd : {"iptables-save -t nat", "ip6tables-save -t nat", "nft list ruleset"}) {
      auto text = command_output(cmd);
      if (!text) {
        tried += std::string(tried.empty() ? "" : "; ") + text.error();
        continue;
      }
      auto r = config::import_dnat(*text, cmd, a.bridge);
      if (r) return print(r, std::string("imported from `") + cmd + "`");
      tried += std::string(tried.empty() ? "" : "; ") + r.error();
    }
    return fail("no DNAT rule to import: " + tried);
  }
  // lxd
  auto site = find_lxd();
  if (!site) return fail("LXD not found (looked at " + lxd_socket_candidates() + ")");
  LxdClient lxd(site->socket);
  auto forwards = lxd.get_metadata("/1.0/networks/" + a.bridge + "/forwards?recursion=1");
  if (!forwards) return fail("LXD network forwards of " + a.bridge + ": " + forwards.error());
  auto instances = lxd.get_metadata("/1.0/instances?recursion=1");
  if (!instances) return fail("LXD instances: " + instances.error());
  return print(config::import_lxd(*forwards, *instances, a.bridge), "imported from LXD (" + site->socket + ")");
}

}  // namespace xdplb::cli
