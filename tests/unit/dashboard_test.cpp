// scripts/grafana-dashboard.json: every query in it (panel targets and template variables)
// names at least one metric, and every xdplb_ metric it names is one the daemon exports
// (render_metrics of a snapshot with a backend, a service and probes).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "observe/metrics.h"

using namespace xdplb;
using namespace xdplb::observe;

namespace {

std::set<std::string> exported() {
  Snapshot s;
  ServiceConfig svc;
  s.state.services = {svc};
  SavedBackend b;
  b.addr = *IpAddress::parse("10.0.3.11");
  s.state.backends = {b};
  s.reasons.assign(XDPLB_R_MAX, 0);
  ControlMetrics m;
  m.probe(0, true, std::chrono::microseconds(100));
  std::istringstream text(render_metrics(s, m.sample()));
  std::set<std::string> names;
  for (std::string line; std::getline(text, line);) {
    std::istringstream words(line);
    std::string hash, kind, name, type;
    words >> hash >> kind >> name >> type;
    if (hash != "#" || kind != "TYPE") continue;
    names.insert(name);
    if (type == "histogram")
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
  }
  return names;
}

void collect_queries(const Json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if ((k == "expr" || (k == "query" && j.value("type", "") == "query")) && v.is_string())
        out.push_back(v.get<std::string>());
      else
        collect_queries(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collect_queries(v, out);
  }
}

}  // namespace

TEST(Dashboard, EveryQueryNamesAnExportedMetric) {
  std::ifstream f(XDPLB_DASHBOARD);
  ASSERT_TRUE(f) << XDPLB_DASHBOARD;
  const Json dash = Json::parse(f);
  std::vector<std::string> queries;
  collect_queries(dash, queries);
  ASSERT_GE(queries.size(), 10u) << "the dashboard's queries were not found";
  const std::set<std::string> names = exported();
  ASSERT_TRUE(names.count("xdplb_backend_packets_total"));
  const std::regex metric(R"(\bxdplb_[a-z0-9_]+)");
  std::set<std::string> used;
  for (const auto& q : queries) {
    SCOPED_TRACE(q);
    int n = 0;
    for (auto it = std::sregex_iterator(q.begin(), q.end(), metric); it != std::sregex_iterator(); ++it, ++n) {
      EXPECT_TRUE(names.count(it->str())) << it->str() << " is not a metric the daemon exports";
      used.insert(it->str());
    }
    EXPECT_GT(n, 0) << "a query that names no xdplb metric";
  }
  for (const char* key : {"xdplb_backend_packets_total", "xdplb_backend_up", "xdplb_datapath_packets_total"})
    EXPECT_TRUE(used.count(key)) << "the dashboard shows " << key;
}
