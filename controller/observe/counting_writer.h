// A MapWriter that counts what another writes (map writes by kind, pool rewrites and their
// time) into ControlMetrics: the daemon wraps its DatapathWriter in one.
#pragma once

#include <chrono>

#include "lb/transaction.h"
#include "observe/metrics.h"

namespace xdplb::observe {

class CountingWriter final : public MapWriter {
 public:
  CountingWriter(MapWriter& inner, ControlMetrics& metrics) : inner_(inner), m_(metrics) {}
  Status put_service(const ServiceKey& key, const ServiceValue& value) override {
    return count("service", inner_.put_service(key, value));
  }
  Status delete_service(const ServiceKey& key) override { return count("service", inner_.delete_service(key)); }
  Result<std::map<ServiceKey, ServiceValue>> read_services() override { return inner_.read_services(); }
  Status put_reply_nat(const ServiceKey& endpoint, const ReplyNat& nat) override {
    return count("reply_nat", inner_.put_reply_nat(endpoint, nat));
  }
  Status delete_reply_nat(const ServiceKey& endpoint) override {
    return count("reply_nat", inner_.delete_reply_nat(endpoint));
  }
  Result<std::map<ServiceKey, ReplyNat>> read_reply_nats() override { return inner_.read_reply_nats(); }
  Status write_pool(uint32_t pool, const PoolPlan& plan) override {
    const auto t0 = std::chrono::steady_clock::now();
    Status s = inner_.write_pool(pool, plan);
    if (s) m_.ring_rebuilt(std::chrono::steady_clock::now() - t0);
    return count("pool", std::move(s));
  }
  Result<std::vector<PoolMember>> read_pool(uint32_t pool) override { return inner_.read_pool(pool); }
  Result<BackendEntry> read_backend(uint32_t id) override { return inner_.read_backend(id); }
  Status put_backend(uint32_t id, const BackendEntry& entry) override {
    return count("backend", inner_.put_backend(id, entry));
  }
  Status delete_backend(uint32_t id) override { return count("backend", inner_.delete_backend(id)); }
  Status take_backend_id(uint32_t id) override { return count("backend", inner_.take_backend_id(id)); }
  Result<BackendTally> read_tally(uint32_t id) override { return inner_.read_tally(id); }
  Status restore_tally(uint32_t id, const BackendTally& tally) override {
    return count("backend", inner_.restore_tally(id, tally));
  }
  Result<uint32_t> read_settings() override { return inner_.read_settings(); }
  Status put_settings(uint32_t flags) override { return count("settings", inner_.put_settings(flags)); }

 private:
  Status count(const char* kind, Status s) {
    m_.map_write(kind, static_cast<bool>(s));
    return s;
  }
  MapWriter& inner_;
  ControlMetrics& m_;
};

}  // namespace xdplb::observe
