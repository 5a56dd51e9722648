// The packet trace (bpf/lib/trace.h) through BPF_PROG_TEST_RUN: off, nothing is written; on,
// each matching packet is one record naming exactly the reasons counted for it, the service's
// pool and scheduler, the backend and the verdict; the client and service filters hold; a
// trace nobody renews stops when its lease runs out; ICMP errors and later fragments from an
// uplink are traced with the flow they belong to.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "frames.h"
#include "prog_run.h"
#include "scenario.h"
#include "trace_reader.h"
#include "xdplb_bpf.skel.h"

using namespace xdplb;
using namespace xdplb::test;

namespace {

uint64_t bit(unsigned r) { return 1ull << r; }

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dp = load_scenario();
    ASSERT_TRUE(dp) << dp.error();
    dp_ = std::move(*dp);
    reader_ = std::make_unique<TraceReader>(*dp_);
    ASSERT_TRUE(reader_->ok());
  }
  std::vector<xdplb_trace_event> drain() { return reader_->drain(); }
  void trace_client(const std::string& addr) {
    TraceFilter f;
    f.client = *IpAddress::parse(addr);
    ASSERT_TRUE(dp_->start_trace(f));
  }
  int xdp(const Packet& p) { return xdp(p.bytes()); }
  int xdp(const Bytes& frame) {
    auto r = run_xdp(dp_->xdp_prog_fd(), frame);
    EXPECT_TRUE(r) << r.error();
    return r ? r->verdict : -1;
  }

  // The programs' trace switch (lib/trace_switch.h), as they read it.
  uint32_t trace_switch() { return dp_->skeleton()->data_trace->trace_switch; }
  // trace_reasons[0].reasons ORed over the CPUs.
  uint64_t cpu_reasons() {
    const uint32_t zero = 0;
    std::vector<xdplb_trace_cpu> v(static_cast<size_t>(libbpf_num_possible_cpus()));
    EXPECT_EQ(bpf_map__lookup_elem(dp_->skeleton()->maps.trace_reasons, &zero, sizeof zero, v.data(),
                                   v.size() * sizeof v[0], 0), 0);
    uint64_t all = 0;
    for (const auto& c : v) all |= c.reasons;
    return all;
  }

  std::unique_ptr<Datapath> dp_;
  std::unique_ptr<TraceReader> reader_;
};

TEST_F(TraceTest, OffWritesNothing) {
  EXPECT_NE(xdp(Packet::tcp("192.168.1.2", 40000, kVip, kPort)), XDP_DROP);
  EXPECT_TRUE(drain().empty()) << "no trace runs: the ring stays empty";
  ASSERT_TRUE(dp_->start_trace({}));
  ASSERT_TRUE(dp_->stop_trace());
  EXPECT_NE(xdp(Packet::tcp("192.168.1.2", 40001, kVip, kPort)), XDP_DROP);
  EXPECT_TRUE(drain().empty()) << "stopped: the ring stays empty";
}

TEST_F(TraceTest, NewFlowThenKnownFlowThenMiss) {
  ASSERT_TRUE(dp_->start_trace({}));
  const Packet syn = Packet::tcp("192.168.1.2", 40000, kVip, kPort);
  const uint32_t chosen = ring_choice(ring_of({0, 1, 2}), syn);
  const int v1 = xdp(syn);
  Packet ack = syn;
  ack.tcp_flags = kTcpAck;
  const int v2 = xdp(ack);
  EXPECT_EQ(xdp(Packet::tcp("192.168.1.2", 40000, "10.9.9.9", kPort)), XDP_PASS);
  auto ev = drain();
  ASSERT_EQ(ev.size(), 3u);

  EXPECT_EQ(ev[0].hook, XDPLB_TRACE_XDP);
  EXPECT_EQ(ev[0].verdict, v1);
  EXPECT_EQ(ev[0].backend, chosen) << "the backend the ring holds for the flow";
  EXPECT_EQ(ev[0].pool, kPool);
  EXPECT_EQ(ev[0].scheduler, static_cast<uint32_t>(XDPLB_SCHED_MAGLEV));
  const uint64_t path = chosen == kB0.id ? bit(XDPLB_R_FWD_REDIRECT) : bit(XDPLB_R_FWD_PASS);
  EXPECT_EQ(ev[0].reasons, bit(XDPLB_R_NEW_FLOW) | path) << "exactly the reasons counted for the SYN";
  EXPECT_EQ(ev[0].key.sport, htons(40000));
  EXPECT_EQ(ev[0].key.dport, htons(kPort));

  EXPECT_EQ(ev[1].verdict, v2);
  EXPECT_EQ(ev[1].backend, chosen);
  EXPECT_EQ(ev[1].reasons, path) << "known flow: no new_flow";

  EXPECT_EQ(ev[2].pool, XDPLB_NO_POOL) << "service miss";
  EXPECT_EQ(ev[2].backend, XDPLB_NO_BACKEND);
  EXPECT_EQ(ev[2].verdict, XDP_PASS);
  EXPECT_EQ(ev[2].reasons, bit(XDPLB_R_PASS_NOT_SERVICE));
  EXPECT_GT(ev[2].ts_ns, ev[0].ts_ns);
}

TEST_F(TraceTest, DropHasItsReason) {
  ASSERT_TRUE(dp_->start_trace({}));
  EXPECT_EQ(xdp(Packet::tcp("192.168.1.2", 40000, kVipNoBackend, kPort)), XDP_DROP);
  auto ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].verdict, XDP_DROP);
  EXPECT_EQ(ev[0].pool, kEmptyPool);
  EXPECT_EQ(ev[0].reasons, bit(XDPLB_R_DROP_NO_BACKEND));
}

TEST_F(TraceTest, ClientFilter) {
  trace_client("192.168.1.3");
  xdp(Packet::tcp("192.168.1.2", 40000, kVip, kPort));  // another client: not written
  xdp(Packet::tcp("192.168.1.3", 40000, kVipNoBackend, kPort));
  auto ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].key.src.v4, IpAddress::parse("192.168.1.3")->to_abi().v4);
  EXPECT_EQ(ev[0].reasons, bit(XDPLB_R_DROP_NO_BACKEND)) << "the other client's reasons are not in it";
}

TEST_F(TraceTest, ServiceFilter) {
  TraceFilter f;
  f.service_slot = 5;  // a slot no service of the scenario has (pools 0 and 1 are slot 0)
  ASSERT_TRUE(dp_->start_trace(f));
  xdp(Packet::tcp("192.168.1.2", 40000, kVip, kPort));
  EXPECT_TRUE(drain().empty()) << "not the traced service";
  f.service_slot = kPool / 2;
  ASSERT_TRUE(dp_->start_trace(f));
  xdp(Packet::tcp("192.168.1.2", 40001, kVip, kPort));
  xdp(Packet::tcp("192.168.1.2", 40001, "10.9.9.9", kPort));  // no service: not written
  auto ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].pool, kPool);
}

TEST_F(TraceTest, StopsWhenTheLeaseRunsOut) {
  using namespace std::chrono_literals;
  ASSERT_TRUE(dp_->start_trace({}, 300ms));
  EXPECT_EQ(trace_switch(), 1u) << "a trace runs: the programs' switch is on";
  xdp(Packet::tcp("192.168.1.2", 40000, kVip, kPort));
  EXPECT_EQ(drain().size(), 1u) << "within the lease";
  std::this_thread::sleep_for(400ms);  // nobody renews it: as if the trace was killed
  xdp(Packet::tcp("192.168.1.2", 40001, kVip, kPort));
  EXPECT_TRUE(drain().empty()) << "the lease ran out: the datapath must stop tracing";
  EXPECT_EQ(trace_switch(), 0u) << "the program that found the lease run out switches the trace hook off";
  ASSERT_TRUE(dp_->renew_trace(300ms));
  EXPECT_EQ(trace_switch(), 1u) << "a renewal switches it on again";
  xdp(Packet::tcp("192.168.1.2", 40002, kVip, kPort));
  EXPECT_EQ(drain().size(), 1u) << "renewed";
  ASSERT_TRUE(dp_->stop_trace());
  EXPECT_EQ(trace_switch(), 0u) << "stopped: off";
}

// With the switch off the programs note no reasons at all (the trace hook's cost is one load):
// a trace that starts finds none left from before it.
TEST_F(TraceTest, SwitchedOffNotesNoReasons) {
  xdp(Packet::tcp("192.168.1.2", 40000, kVip, kPort));
  EXPECT_EQ(cpu_reasons(), 0u) << "no trace: count_reason leaves the per-CPU word alone";
  ASSERT_TRUE(dp_->start_trace({}));
  xdp(Packet::tcp("192.168.1.2", 40001, kVip, kPort));
  auto ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_NE(ev[0].reasons, 0u) << "on: the packet's reasons are noted";
}

// A router's "fragmentation needed" about the reply of the flow opened by req (VIP -> client):
// XDP sends it to the flow's backend; the trace names that flow (client -> VIP), the backend
// and what was counted, and the client filter finds it by the flow's client.
TEST_F(TraceTest, IcmpErrorFromTheUplink) {
  const std::vector<uint32_t> ring = ring_of({kB0.id, kB1.id, kB2.id});
  const Packet req = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  ASSERT_EQ(xdp(req), XDP_PASS);
  Packet reply = req;
  reply.src = kVip, reply.sport = kPort, reply.dst = req.src, reply.dport = req.sport;
  Icmp4Error err;
  err.src = "192.168.1.254", err.dst = kVip;
  err.quote = quote_of(reply.bytes());

  trace_client("192.168.1.2");
  EXPECT_EQ(xdp(err.bytes()), XDP_PASS);
  auto ev = drain();
  ASSERT_EQ(ev.size(), 1u) << "the error about the client's flow is the client's";
  EXPECT_EQ(ev[0].hook, XDPLB_TRACE_XDP_ICMP);
  EXPECT_EQ(ev[0].verdict, XDP_PASS);
  EXPECT_EQ(ev[0].backend, kB1.id) << "the flow's backend";
  EXPECT_EQ(ev[0].reasons, bit(XDPLB_R_ICMP_TO_BACKEND) | bit(XDPLB_R_FWD_PASS));
  EXPECT_EQ(ev[0].key.src.v4, IpAddress::parse("192.168.1.2")->to_abi().v4) << "the flow's client";
  EXPECT_EQ(ev[0].key.dst.v4, IpAddress::parse(kVip)->to_abi().v4);
  EXPECT_EQ(ev[0].key.sport, htons(40000));
  EXPECT_EQ(ev[0].key.dport, htons(kPort));
  EXPECT_EQ(ev[0].key.proto, IPPROTO_TCP);
}

// The later fragments of a datagram from an uplink follow the first to its backend: each is
// one record with its addresses (no ports), that backend and its reasons.
TEST_F(TraceTest, LaterFragmentsFromTheUplink) {
  const std::vector<uint32_t> ring = ring_of({kB0.id, kB1.id, kB2.id});
  Packet dg = with_sport_for(ring, Packet::udp("192.168.1.2", 50000, kVip, kPort), kB1.id);
  dg.payload.assign(3000, 'q');
  const Bytes whole = dg.bytes();
  ASSERT_TRUE(dp_->start_trace({}));
  EXPECT_EQ(xdp(ipv4_fragment(whole, 0, 1480, true)), XDP_PASS);
  EXPECT_EQ(xdp(ipv4_fragment(whole, 1480, 1480, true)), XDP_PASS);
  EXPECT_EQ(xdp(ipv4_fragment(whole, 2960, 48, false)), XDP_PASS);
  auto ev = drain();
  ASSERT_EQ(ev.size(), 3u) << "the first fragment and both later ones";
  EXPECT_EQ(ev[0].hook, XDPLB_TRACE_XDP);
  EXPECT_EQ(ev[0].reasons, bit(XDPLB_R_NEW_FLOW) | bit(XDPLB_R_FWD_PASS) | bit(XDPLB_R_FRAG_FIRST));
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(ev[i].hook, XDPLB_TRACE_XDP_FRAGMENT) << i;
    EXPECT_EQ(ev[i].backend, kB1.id) << "where the first fragment went";
    EXPECT_EQ(ev[i].verdict, XDP_PASS);
    EXPECT_EQ(ev[i].reasons, bit(XDPLB_R_FRAG_LATER) | bit(XDPLB_R_FWD_PASS)) << i;
    EXPECT_EQ(ev[i].key.src.v4, IpAddress::parse("192.168.1.2")->to_abi().v4);
    EXPECT_EQ(ev[i].key.dst.v4, IpAddress::parse(kVip)->to_abi().v4);
    EXPECT_EQ(ev[i].key.proto, IPPROTO_UDP);
  }
  Packet stray = dg;
  stray.ip_id = 0x7777;
  EXPECT_EQ(xdp(ipv4_fragment(stray.bytes(), 1480, 1480, true)), XDP_PASS);
  ev = drain();
  ASSERT_EQ(ev.size(), 1u) << "a later fragment of no datagram of ours is traced too";
  EXPECT_EQ(ev[0].hook, XDPLB_TRACE_XDP_FRAGMENT);
  EXPECT_EQ(ev[0].backend, XDPLB_NO_BACKEND);
  EXPECT_EQ(ev[0].reasons, bit(XDPLB_R_PASS_FRAGMENT));
}

// Reasons counted for a packet the filter does not match are not the next matching one's:
// every packet takes its own reasons, traced or not.
TEST_F(TraceTest, UnmatchedPacketsLeaveNoReasons) {
  trace_client("192.168.1.3");
  for (uint16_t port = 40000; port < 40005; ++port)
    xdp(Packet::tcp("192.168.1.2", port, kVipNoBackend, kPort));  // drop_no_backend, not traced
  xdp(Packet::tcp("192.168.1.3", 40000, "10.9.9.9", kPort));
  auto ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reasons, bit(XDPLB_R_PASS_NOT_SERVICE));
}

}  // namespace
