// Every struct of <xdplb/abi.h> as the C++ compiler lays it out must match the BTF of the
// compiled BPF object (clang -target bpf): same size, same members at the same offsets.
// Needs no root: the object is opened (parsed), not loaded.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <xdplb/abi.h>

#include <cstddef>
#include <string>
#include <vector>

#include "xdplb_bpf.skel.h"

namespace {

struct Member {
  std::string name;
  size_t offset;
};

struct Expect {
  std::string name;
  int kind;  // BTF_KIND_STRUCT / BTF_KIND_UNION
  size_t size;
  std::vector<Member> members;  // all of them: a member missing here fails the test
};

#define M(type, field) Member{#field, offsetof(type, field)}

std::vector<Expect> abi_structs() {
  return {
      {"xdplb_addr", BTF_KIND_UNION, sizeof(union xdplb_addr),
       {M(union xdplb_addr, v4), M(union xdplb_addr, v6)}},
      {"xdplb_service_key", BTF_KIND_STRUCT, sizeof(struct xdplb_service_key),
       {M(struct xdplb_service_key, vip), M(struct xdplb_service_key, port),
        M(struct xdplb_service_key, proto), M(struct xdplb_service_key, family)}},
      {"xdplb_service", BTF_KIND_STRUCT, sizeof(struct xdplb_service),
       {M(struct xdplb_service, pool), M(struct xdplb_service, scheduler),
        M(struct xdplb_service, flags), M(struct xdplb_service, backend_port),
        M(struct xdplb_service, pad)}},
      {"xdplb_pool_member", BTF_KIND_STRUCT, sizeof(struct xdplb_pool_member),
       {M(struct xdplb_pool_member, backend), M(struct xdplb_pool_member, weight)}},
      {"xdplb_pool", BTF_KIND_STRUCT, sizeof(struct xdplb_pool),
       {M(struct xdplb_pool, count), M(struct xdplb_pool, pad), M(struct xdplb_pool, members)}},
      {"xdplb_backend", BTF_KIND_STRUCT, sizeof(struct xdplb_backend),
       {M(struct xdplb_backend, addr), M(struct xdplb_backend, port), M(struct xdplb_backend, family),
        M(struct xdplb_backend, pad0), M(struct xdplb_backend, flags), M(struct xdplb_backend, ifindex),
        M(struct xdplb_backend, dmac), M(struct xdplb_backend, smac), M(struct xdplb_backend, gen)}},
      {"xdplb_backend_stats", BTF_KIND_STRUCT, sizeof(struct xdplb_backend_stats),
       {M(struct xdplb_backend_stats, packets), M(struct xdplb_backend_stats, bytes),
        M(struct xdplb_backend_stats, new_flows), M(struct xdplb_backend_stats, refused)}},
      {"xdplb_flow_key", BTF_KIND_STRUCT, sizeof(struct xdplb_flow_key),
       {M(struct xdplb_flow_key, src), M(struct xdplb_flow_key, dst), M(struct xdplb_flow_key, sport),
        M(struct xdplb_flow_key, dport), M(struct xdplb_flow_key, proto), M(struct xdplb_flow_key, family),
        M(struct xdplb_flow_key, pad)}},
      {"xdplb_flow", BTF_KIND_STRUCT, sizeof(struct xdplb_flow),
       {M(struct xdplb_flow, backend), M(struct xdplb_flow, flags), M(struct xdplb_flow, last_seen_ns),
        M(struct xdplb_flow, gen), M(struct xdplb_flow, bport), M(struct xdplb_flow, pad)}},
      {"xdplb_trace_conf", BTF_KIND_STRUCT, sizeof(struct xdplb_trace_conf),
       {M(struct xdplb_trace_conf, on), M(struct xdplb_trace_conf, match), M(struct xdplb_trace_conf, client),
        M(struct xdplb_trace_conf, client_family), M(struct xdplb_trace_conf, slot),
        M(struct xdplb_trace_conf, backends), M(struct xdplb_trace_conf, until_ns)}},
      {"xdplb_settings", BTF_KIND_STRUCT, sizeof(struct xdplb_settings),
       {M(struct xdplb_settings, flags), M(struct xdplb_settings, pad)}},
      {"xdplb_trace_cpu", BTF_KIND_STRUCT, sizeof(struct xdplb_trace_cpu),
       {M(struct xdplb_trace_cpu, reasons), M(struct xdplb_trace_cpu, lease_jiffies)}},
      {"xdplb_reverse", BTF_KIND_STRUCT, sizeof(struct xdplb_reverse),
       {M(struct xdplb_reverse, vip), M(struct xdplb_reverse, vport), M(struct xdplb_reverse, pad),
        M(struct xdplb_reverse, backend), M(struct xdplb_reverse, gen),
        M(struct xdplb_reverse, flags), M(struct xdplb_reverse, pad2), M(struct xdplb_reverse, closed_ns)}},
      {"xdplb_hairpin_flow", BTF_KIND_STRUCT, sizeof(struct xdplb_hairpin_flow),
       {M(struct xdplb_hairpin_flow, snat_addr), M(struct xdplb_hairpin_flow, backend),
        M(struct xdplb_hairpin_flow, snat_port), M(struct xdplb_hairpin_flow, bport),
        M(struct xdplb_hairpin_flow, flags), M(struct xdplb_hairpin_flow, gen),
        M(struct xdplb_hairpin_flow, last_seen_ns)}},
      {"xdplb_guard_key", BTF_KIND_STRUCT, sizeof(struct xdplb_guard_key),
       {M(struct xdplb_guard_key, prefixlen), M(struct xdplb_guard_key, family),
        M(struct xdplb_guard_key, pad), M(struct xdplb_guard_key, addr)}},
      {"xdplb_hairpin_reverse", BTF_KIND_STRUCT, sizeof(struct xdplb_hairpin_reverse),
       {M(struct xdplb_hairpin_reverse, vip), M(struct xdplb_hairpin_reverse, client),
        M(struct xdplb_hairpin_reverse, vport), M(struct xdplb_hairpin_reverse, cport),
        M(struct xdplb_hairpin_reverse, backend), M(struct xdplb_hairpin_reverse, last_seen_ns),
        M(struct xdplb_hairpin_reverse, gen), M(struct xdplb_hairpin_reverse, pad)}},
      {"xdplb_frag_key", BTF_KIND_STRUCT, sizeof(struct xdplb_frag_key),
       {M(struct xdplb_frag_key, src), M(struct xdplb_frag_key, dst), M(struct xdplb_frag_key, id),
        M(struct xdplb_frag_key, proto), M(struct xdplb_frag_key, family), M(struct xdplb_frag_key, side),
        M(struct xdplb_frag_key, pad)}},
      {"xdplb_frag", BTF_KIND_STRUCT, sizeof(struct xdplb_frag),
       {M(struct xdplb_frag, src), M(struct xdplb_frag, dst), M(struct xdplb_frag, backend),
        M(struct xdplb_frag, pad), M(struct xdplb_frag, created_ns)}},
      {"xdplb_reply_nat", BTF_KIND_STRUCT, sizeof(struct xdplb_reply_nat),
       {M(struct xdplb_reply_nat, vip), M(struct xdplb_reply_nat, vport), M(struct xdplb_reply_nat, flags)}},
  };
}

class AbiBtfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    skel = xdplb_bpf__open();
    ASSERT_NE(skel, nullptr) << "opening the BPF object failed";
    btf = bpf_object__btf(skel->obj);
    ASSERT_NE(btf, nullptr) << "the BPF object has no BTF (built without -g?)";
  }
  void TearDown() override { xdplb_bpf__destroy(skel); }
  struct xdplb_bpf* skel = nullptr;
  const struct btf* btf = nullptr;
};

TEST_F(AbiBtfTest, StructsMatchTheCompiledObject) {
  for (const auto& e : abi_structs()) {
    SCOPED_TRACE(e.name);
    int id = btf__find_by_name_kind(btf, e.name.c_str(), e.kind);
    ASSERT_GT(id, 0) << e.name << " is not in the object's BTF (not used by any map?)";
    const struct btf_type* t = btf__type_by_id(btf, id);
    EXPECT_EQ(t->size, e.size) << "sizeof differs between g++ and clang -target bpf";
    ASSERT_EQ(btf_vlen(t), e.members.size()) << "member count: update this test with abi.h";
    const struct btf_member* m = btf_members(t);
    for (size_t i = 0; i < e.members.size(); ++i, ++m) {
      std::string name = btf__name_by_offset(btf, m->name_off);
      EXPECT_EQ(name, e.members[i].name) << "member " << i;
      EXPECT_EQ(btf_member_bit_offset(t, i) / 8, e.members[i].offset) << "offset of " << name;
    }
  }
}

TEST_F(AbiBtfTest, MapSizesComeFromTheAbi) {
  EXPECT_EQ(bpf_map__max_entries(skel->maps.services), XDPLB_MAX_SERVICES);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.backends), XDPLB_MAX_BACKENDS);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.ring), XDPLB_MAX_POOLS * XDPLB_MAGLEV_RING_SIZE);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.tx_ports), XDPLB_MAX_BACKENDS);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.flows), XDPLB_MAX_FLOWS);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.reverse), XDPLB_MAX_FLOWS);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.reasons), static_cast<unsigned>(XDPLB_R_MAX));
  EXPECT_EQ(bpf_map__max_entries(skel->maps.backend_stats), XDPLB_MAX_BACKENDS);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.frags), XDPLB_MAX_FRAGS);
  EXPECT_EQ(bpf_map__key_size(skel->maps.frags), sizeof(struct xdplb_frag_key));
  EXPECT_EQ(bpf_map__value_size(skel->maps.frags), sizeof(struct xdplb_frag));
  EXPECT_EQ(bpf_map__max_entries(skel->maps.reply_nats), XDPLB_MAX_REPLY_NATS);
  EXPECT_EQ(bpf_map__key_size(skel->maps.reply_nats), sizeof(struct xdplb_service_key));
  EXPECT_EQ(bpf_map__value_size(skel->maps.reply_nats), sizeof(struct xdplb_reply_nat));
  EXPECT_EQ(bpf_map__key_size(skel->maps.flows), sizeof(struct xdplb_flow_key));
  EXPECT_EQ(bpf_map__value_size(skel->maps.reverse), sizeof(struct xdplb_reverse));
  EXPECT_EQ(bpf_map__value_size(skel->maps.backend_stats), sizeof(struct xdplb_backend_stats));
  EXPECT_EQ(bpf_map__value_size(skel->maps.trace_conf), sizeof(struct xdplb_trace_conf));
  EXPECT_EQ(bpf_map__value_size(skel->maps.settings), sizeof(struct xdplb_settings));
  EXPECT_EQ(bpf_map__value_size(skel->maps.trace_reasons), sizeof(struct xdplb_trace_cpu));
  EXPECT_EQ(bpf_map__max_entries(skel->maps.trace_ring), static_cast<unsigned>(XDPLB_TRACE_RING_BYTES));
}

}  // namespace
