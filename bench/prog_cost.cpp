// xdplb_prog_cost: what the datapath programs cost per packet, by path, measured with
// BPF_PROG_TEST_RUN against a trivial XDP_PASS program loaded in the same run (the baseline).
//
// BPF_PROG_TEST_RUN with repeat > 1 runs the program again on the frame it already rewrote,
// so a "known flow" would turn into something else after one round. Each path is held:
//   - paths that do not rewrite (non-service, malformed) repeat the same frame;
//   - known-flow and TC paths use an identity mapping (the backend is the VIP itself, the
//     fast path's MACs are the frame's own, the FIB's MACs are the reply's own), so the
//     program does all its work but the bytes stay the same;
//   - the new-flow path cannot repeat at all (the first run creates the flow): it runs each
//     frame once with a fresh source port and averages the per-run durations (which then
//     include the timer's own overhead; the same is shown for the non-service path). It is
//     measured for each scheduler (bpf/lib/select.h), least-conn also over a 64-member list.
// Rounds are interleaved (A B C ... A B C) and the median is reported, because this VM's vCPUs
// sometimes slow down for a while.
//
// What the trace hook costs with no trace running: the same source built with -DXDPLB_NO_TRACE
// (bench/CMakeLists.txt) is loaded over this process's maps (twin_object.h) and its XDP program
// runs the same held frames as the real one, in many short rounds rotated with the real
// program's, each side loaded several times (where the JIT put a program matters): the per-round ratio
// cancels what drifts between rounds, which whole runs of two builds on this VM do not (their
// spread is 5-15 %).
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/address_policy.h"
#include "core/fd.h"
#include "datapath/datapath.h"
#include "opcount_run.h"
#include "prog_run.h"
#include "scenario.h"
#include "test_netns.h"
#include "twin_object.h"
#include "xdplb_bpf.skel.h"

using namespace xdplb;
using namespace xdplb::test;

namespace {

constexpr uint32_t kRepeat = 200000;
constexpr int kRounds = 7;
constexpr int kNewFlowRuns = 20000;
constexpr int kSchedulerRuns = 5000;  // new flows per scheduler variant and round
constexpr uint32_t kTraceRepeat = 2000;  // a matching trace: fewer runs than the ring holds
// Trace off vs compiled out: many short rounds (at load 4-7 on this VM, 300 rounds of 10000 runs
// gave a 95 % interval of the median ratio of +-0.5 %, 60 of 20000 +-2 %). Each test run with
// repeat > 1 puts the program into the kernel's XDP dispatcher and takes it out again (≈20 ms of
// wall time here, not counted in its ns), so the count of runs costs more than their length:
// 120 rounds x 6 programs x 2 paths of 5000 runs are ≈30 s of wall time, 1.3 s of program time.
// XDPLB_PROG_COST_PAIRED_ROUNDS=N overrides the count (bench.sh --quick: a smoke run, not a verdict).
constexpr int kDefaultPairedRounds = 120;
int paired_rounds() {
  static const int n = [] {
    const char* e = std::getenv("XDPLB_PROG_COST_PAIRED_ROUNDS");
    int v = e ? std::atoi(e) : 0;
    return v >= 4 && v <= 1000 ? v : kDefaultPairedRounds;
  }();
  return n;
}
constexpr uint32_t kPairRepeat = 5000;  // ≈1 ms per run at ≈180 ns

// Identity services: the backend is the VIP:port itself. id 3: pass path, id 4: fast path.
const std::string kIdVip = "10.0.0.30", kIdFastVip = "10.0.0.40";
constexpr uint32_t kIdPool = 2, kIdFastPool = 3;

struct Path {
  std::string name;
  std::string held;
  std::function<Result<double>()> measure;  // ns per packet
  uint32_t runs;                            // program runs in one measure()
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "xdplb_prog_cost: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T check(Result<T> r, const std::string& what) {
  if (!r) die(what + ": " + r.error());
  return std::move(*r);
}
void check(Status s, const std::string& what) {
  if (!s) die(what + ": " + s.error());
}

UniqueFd load_trivial_xdp() {
  struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "baseline", "GPL", insns, 2, nullptr);
  if (fd < 0) die(std::string("loading the baseline program: ") + std::strerror(-fd));
  return UniqueFd(fd);
}

Result<double> repeated(const Result<RunResult>& r, int want_verdict, const Bytes& in) {
  if (!r) return make_error(r.error());
  if (r->verdict != want_verdict)
    return make_error("verdict " + std::to_string(r->verdict) + ", expected " + std::to_string(want_verdict));
  if (r->out != in) return make_error("the frame changed: the path is not held");
  return static_cast<double>(r->ns_per_run);
}

void add_identity_services(Datapath& dp, const Packet& fast_frame) {
  for (auto [vip, pool] : {std::pair{kIdVip, kIdPool}, std::pair{kIdFastVip, kIdFastPool}}) {
    check(dp.put_service({*IpAddress::parse(vip), kPort, IPPROTO_TCP}, pool), "identity service");
    check(dp.put_service({*IpAddress::parse(vip), kPort, IPPROTO_UDP}, pool), "identity service");
  }
  BackendEntry id;
  id.addr = *IpAddress::parse(kIdVip);
  id.port = kPort;
  check(dp.put_backend(3, id), "identity backend");
  BackendEntry fast;
  fast.addr = *IpAddress::parse(kIdFastVip);
  fast.port = kPort;
  fast.fast_path = true;
  fast.ifindex = 1;  // loopback: the devmap slot must exist; test runs do not transmit
  fast.dmac = fast_frame.eth_dst;
  fast.smac = fast_frame.eth_src;
  check(dp.put_backend(4, fast), "identity fast-path backend");
  check(dp.write_ring(kIdPool, ring_of({3})), "identity ring");
  check(dp.write_ring(kIdFastPool, ring_of({4})), "identity ring");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Instructions the verifier processed for each program (bpf_prog_info.verified_insns; the
// limit is 1,000,000).
void print_verified(struct ::xdplb_bpf* skel) {
  std::printf("verifier: instructions processed per program\n");
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) {
    struct bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0)
      std::printf("  %-28s %8u\n", bpf_program__name(prog), info.verified_insns);
  }
  std::printf("\n");
}

// Ring buffer records are dropped: only the cost of writing them is measured.
int ignore_event(void*, void*, size_t) { return 0; }

// Kernel work per packet by path: each path run once more through the instrumented copy of
// the programs (bench/opcount.h), over the same maps, the counters divided by the runs.
void print_kernel_work(Datapath& dp, const std::vector<Path>& paths, int& xdp, int& tc) {
  auto counter = bench::OpCounter::load(dp, XDPLB_OPCOUNT_OBJ);
  if (!counter) {
    std::printf("\nkernel work per packet: not measured: %s\n", counter.error().c_str());
    return;
  }
  const int real_xdp = xdp, real_tc = tc;
  xdp = (*counter)->xdp_prog_fd();
  tc = (*counter)->tc_prog_fd();
  std::printf("\nkernel work per packet (helper calls and atomics, counted by an instrumented copy of the\n"
              "programs over the same maps; array lookups are inlined by the verifier but counted here)\n\n");
  std::printf("%-38s", "path");
  for (int k = 0; k < XDPLB_OPC_MAX; ++k) std::printf(" %6s", bench::op_kind_name(k));
  std::printf(" %6s\n", "total");
  for (size_t i = 1; i < paths.size(); ++i) {  // not the baseline: it is not ours
    const auto& p = paths[i];
    check((*counter)->reset(), "resetting the op counters");
    check(p.measure(), p.name + " (instrumented)");
    auto counts = check((*counter)->read(), "reading the op counters");
    double total = 0;
    std::printf("%-38s", p.name.c_str());
    for (int k = 0; k < XDPLB_OPC_MAX; ++k) {
      const double per = counts[k] / p.runs;
      total += per;
      std::printf(" %6.2f", per);
    }
    std::printf(" %6.2f\n", total);
  }
  xdp = real_xdp;
  tc = real_tc;
}

// v sorted; the q-quantile by nearest rank.
double quantile(const std::vector<double>& v, double q) {
  return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))];
}

// One path run in short rounds by the real program (A, no trace running) and by the build with
// the trace compiled out (C), each loaded kLoads times (A's first load is the skeleton's): where
// the JIT put a program moves its time by 1-2 %, once 10 % (A against its own second load, the
// control), so each side's figure is the median over its loads. The order rotates round by round.
constexpr int kLoads = 3;
constexpr int kVariants = 2 * kLoads;  // A's loads, then C's

struct Paired {
  std::string path;    // the real program's row
  std::string c_row;   // the compiled-out row in the table
  std::function<Result<double>(int prog_fd, uint32_t repeat)> measure;
  std::array<std::vector<double>, kVariants> ns;
  // Per round, the median over one side's loads (one load can land 10 % slower than the others).
  std::vector<double> side(bool c_side) const {
    std::vector<double> out;
    for (size_t i = 0; i < ns[0].size(); ++i) {
      std::vector<double> loads;
      for (int v = c_side ? kLoads : 0; v < (c_side ? kVariants : kLoads); ++v) loads.push_back(ns[v][i]);
      std::sort(loads.begin(), loads.end());
      out.push_back(loads[loads.size() / 2]);
    }
    return out;
  }
};

Status measure_pairs(std::vector<Paired>& pairs, const std::array<int, kVariants>& fds) {
  for (int i = 0; i < paired_rounds(); ++i)
    for (auto& p : pairs)
      for (int k = 0; k < kVariants; ++k) {
        const int v = (i + k) % kVariants;
        auto r = p.measure(fds[v], kPairRepeat);
        if (!r) return make_error(p.path + (v < kLoads ? "" : " (trace compiled out)") + ": " + r.error());
        p.ns[v].push_back(*r);
      }
  return {};
}

// Median of the per-round A/X, its interquartile range and a 95 % confidence interval of the
// median (order statistics: ranks n/2 -+ 0.98 sqrt(n)), and the verdict on "A within 2 % of X".
void print_ratio(const std::string& name, const std::vector<double>& a, const std::vector<double>& x) {
  std::vector<double> ratio, diff;
  for (size_t i = 0; i < a.size(); ++i) {
    ratio.push_back(x[i] > 0 ? a[i] / x[i] : 0);
    diff.push_back(a[i] - x[i]);
  }
  std::sort(ratio.begin(), ratio.end());
  const double n = static_cast<double>(ratio.size()), half = 0.98 * std::sqrt(n);
  const double lo = ratio[static_cast<size_t>(std::max(0.0, std::floor(n / 2 - half)))];
  const double hi = ratio[static_cast<size_t>(std::min(n - 1, std::ceil(n / 2 + half)))];
  char iqr[32], ci[32];
  std::snprintf(iqr, sizeof iqr, "%.3f-%.3f", quantile(ratio, 0.25), quantile(ratio, 0.75));
  std::snprintf(ci, sizeof ci, "%.3f-%.3f", lo, hi);
  const char* verdict = hi <= 1.02 ? "yes" : lo > 1.02 ? "no" : "undecided (the interval spans 1.02)";
  std::printf("  %-36s %7.1f %7.1f %+8.1f %8.3f %15s %15s  %s\n", name.c_str(), median(a), median(x), median(diff),
              quantile(ratio, 0.5), iqr, ci, verdict);
}

void print_pairs(const std::vector<Paired>& pairs, const std::string& c_obj) {
  std::printf("\ntrace hook off vs compiled out, same process: %d rounds of %u runs per program, order rotated;\n"
              "A = this build (no trace running), C = the same source built with -DXDPLB_NO_TRACE, each\n"
              "loaded %d times, a side's figure the median of its loads; A2 = A's second load; all over the\n"
              "same maps and .rodata; ratio per round (BPF_PROG_TEST_RUN's whole ns per run)\n\n",
              paired_rounds(), kPairRepeat, kLoads);
  if (c_obj != XDPLB_NOTRACE_OBJ) std::printf("C is %s here (XDPLB_PROG_COST_C_OBJ)\n\n", c_obj.c_str());
  std::printf("  %-36s %7s %7s %8s %8s %15s %15s  %s\n", "A vs C: path", "A ns", "C ns", "A-C ns", "A/C", "[IQR]",
              "[95% CI]", "A within 2 % of C");
  for (const auto& p : pairs) print_ratio(p.path, p.side(false), p.side(true));
  std::printf("\n  %-36s %7s %7s %8s %8s %15s %15s  %s\n", "control, A vs A2: path", "A ns", "A2 ns", "A-A2 ns",
              "A/A2", "[IQR]", "[95% CI]", "A within 2 % of A2");
  for (const auto& p : pairs) print_ratio(p.path, p.ns[0], p.ns[1]);
}

}  // namespace

int main() {
  auto dp = check(Datapath::load_unattached(), "loading the datapath");
  print_verified(dp->skeleton());
  check(program_scenario(*dp), "programming the maps");
  // The uplink guard as attach writes it for a dual-stack bridge: new flows look it up.
  check(dp->set_uplink_guard(uplink_spoofed_sources(
            {IpPrefix::of(*IpAddress::parse("10.1.0.1"), 24), IpPrefix::of(*IpAddress::parse("fd00:2::1"), 64)},
            {*IpAddress::parse("10.1.0.1"), *IpAddress::parse("fd00:2::1"), *IpAddress::parse("192.168.1.1")})),
        "writing the uplink guard");
  UniqueFd baseline = load_trivial_xdp();
  // Not const: the kernel-work pass points them at the instrumented programs.
  int xdp = dp->xdp_prog_fd(), tc = dp->tc_prog_fd();

  // The TC reply path looks up a route: give it one, in a namespace of its own, whose FIB
  // answer (neighbour MAC, device MAC) equals the reply's own MACs.
  auto ns = check(TestNetns::create("bench"), "creating the namespace");
  for (const char* cmd : {"link add xdpbr0 type bridge", "addr add 10.1.0.1/24 dev xdpbr0", "link set xdpbr0 up",
                          "link add xdpup0 address 02:00:00:00:01:01 type veth peer name xdpup1",
                          "addr add 192.168.1.1/24 dev xdpup0", "link set xdpup0 up", "link set xdpup1 up",
                          "neigh add 192.168.1.2 lladdr 02:00:00:00:00:c2 dev xdpup0 nud permanent"})
    check(ns->ip(cmd), cmd);
  check(ns->sh("ip netns exec {ns} sysctl -qw net.ipv4.ip_forward=1"), "ip_forward");
  int bridge_ifindex = 0;
  check(ns->run([&] { bridge_ifindex = static_cast<int>(if_nametoindex("xdpbr0")); }), "entering the namespace");

  const Bytes non_service = Packet::tcp("192.168.1.2", 40000, "10.9.9.9", kPort).bytes();
  Bytes malformed = Packet::tcp("192.168.1.2", 40000, kVip, kPort).bytes();
  malformed.resize(14 + 20 + 10);
  Packet known_pass = Packet::tcp("192.168.1.2", 40000, kIdVip, kPort, kTcpAck);
  Packet known_fast = Packet::tcp("192.168.1.2", 40000, kIdFastVip, kPort, kTcpAck);
  add_identity_services(*dp, known_fast);
  // Open both flows once (this run is the miss), so the measured runs are hits.
  check(run_xdp(xdp, known_pass.bytes()), "opening the pass-path flow");
  check(run_xdp(xdp, known_fast.bytes()), "opening the fast-path flow");
  // The reply of the identity flow: backend 10.0.0.30:8000 -> client; reverse NAT writes the
  // same source back, the FIB writes the same MACs.
  Packet reply = Packet::tcp(kIdVip, kPort, "192.168.1.2", 40000, kTcpAck);
  reply.eth_dst = {0x02, 0, 0, 0, 0, 0xc2};
  reply.eth_src = {0x02, 0, 0, 0, 0x01, 0x01};
  const Bytes reply_bytes = reply.bytes(), pass_bytes = known_pass.bytes(), fast_bytes = known_fast.bytes();

  // New flows to the identity service under `scheduler`, its member list holding the identity
  // backend `members` times (the scan visits each); maglev again afterwards.
  uint32_t new_flows_sent = 0;
  auto new_flows = [&](uint32_t scheduler, uint32_t members, int runs) -> Result<double> {
    XDPLB_TRY(dp->set_scheduler(kIdPool, scheduler));
    XDPLB_TRY(dp->write_pool_members(kIdPool, std::vector<PoolMember>(members, PoolMember{3, 1})));
    double total = 0;
    for (int i = 0; i < runs; ++i) {
      // A client address per 60000 ports: every SYN is a flow never seen before.
      const uint32_t n = new_flows_sent++;
      Packet syn = Packet::tcp("172.16." + std::to_string(n / 60000 / 256 % 256) + "." +
                                   std::to_string(n / 60000 % 256),
                               static_cast<uint16_t>(1024 + n % 60000), kIdVip, kPort);
      auto r = run_xdp(xdp, syn.bytes(), 1);
      if (!r) return make_error(r.error());
      if (r->verdict != XDP_PASS) return make_error("new flow not passed");
      total += r->ns_per_run;
    }
    XDPLB_TRY(dp->set_scheduler(kIdPool, XDPLB_SCHED_MAGLEV));
    return total / runs;
  };
  std::unique_ptr<struct ring_buffer, void (*)(struct ring_buffer*)> ring(
      ring_buffer__new(dp->trace_ring_fd(), ignore_event, nullptr, nullptr), ring_buffer__free);
  if (!ring) die("opening the trace ring buffer");
  std::vector<Path> paths = {
      {"baseline: trivial XDP_PASS", "same frame, repeat",
       [&] { return repeated(run_xdp(baseline.get(), non_service, kRepeat), XDP_PASS, non_service); }, kRepeat},
      {"non-service packet", "same frame, repeat",
       [&] { return repeated(run_xdp(xdp, non_service, kRepeat), XDP_PASS, non_service); }, kRepeat},
      {"malformed (TCP header cut)", "same frame, repeat",
       [&] { return repeated(run_xdp(xdp, malformed, kRepeat), XDP_PASS, malformed); }, kRepeat},
      {"known flow, DNAT + XDP_PASS", "identity backend (VIP itself), repeat",
       [&] { return repeated(run_xdp(xdp, pass_bytes, kRepeat), XDP_PASS, pass_bytes); }, kRepeat},
      {"known flow, DNAT + MACs + redirect", "identity backend + MACs, repeat",
       [&] { return repeated(run_xdp(xdp, fast_bytes, kRepeat), XDP_REDIRECT, fast_bytes); }, kRepeat},
      {"known flow, redirect, trace (no match)", "as above; trace of another client",
       [&]() -> Result<double> {
         XDPLB_TRY(dp->start_trace(TraceFilter{IpAddress::parse("192.0.2.99").value(), std::nullopt, {}}));
         auto r = repeated(run_xdp(xdp, fast_bytes, kRepeat), XDP_REDIRECT, fast_bytes);
         XDPLB_TRY(dp->stop_trace());
         return r;
       }, kRepeat},
      {"known flow, redirect, trace (written)", "as above; each packet written to the ring",
       [&]() -> Result<double> {
         XDPLB_TRY(dp->start_trace(TraceFilter{}));
         auto r = repeated(run_xdp(xdp, fast_bytes, kTraceRepeat), XDP_REDIRECT, fast_bytes);
         XDPLB_TRY(dp->stop_trace());
         while (ring_buffer__consume(ring.get()) > 0) {
         }
         return r;
       }, kTraceRepeat},
      {"TC reply, revNAT + FIB + redirect", "identity reverse entry + FIB MACs, repeat",
       [&]() -> Result<double> {
         Result<double> out = make_error("not run");
         auto s = ns->run([&] { out = repeated(run_tc(tc, reply_bytes, bridge_ifindex, kRepeat), TC_ACT_REDIRECT, reply_bytes); });
         if (!s) return make_error(s.error());
         return out;
       }, kRepeat},
      {"non-service packet, one run each", "repeat=1, averaged",
       [&]() -> Result<double> {
         double total = 0;
         for (int i = 0; i < kNewFlowRuns; ++i) {
           auto r = run_xdp(xdp, non_service, 1);
           if (!r) return make_error(r.error());
           total += r->ns_per_run;
         }
         return total / kNewFlowRuns;
       }, kNewFlowRuns},
      {"new flow (SYN), one run each", "repeat=1 with a fresh source port, averaged",
       [&] { return new_flows(XDPLB_SCHED_MAGLEV, 1, kNewFlowRuns); }, kNewFlowRuns},
      {"new flow, weighted", "as above", [&] { return new_flows(XDPLB_SCHED_WEIGHTED, 1, kSchedulerRuns); }, kSchedulerRuns},
      {"new flow, round-robin", "as above", [&] { return new_flows(XDPLB_SCHED_ROUND_ROBIN, 1, kSchedulerRuns); }, kSchedulerRuns},
      {"new flow, least-conn (1 member)", "as above", [&] { return new_flows(XDPLB_SCHED_LEAST_CONN, 1, kSchedulerRuns); }, kSchedulerRuns},
      {"new flow, least-conn (64 members)", "as above, the list scanned",
       [&] { return new_flows(XDPLB_SCHED_LEAST_CONN, 64, kSchedulerRuns); }, kSchedulerRuns},
  };

  auto before = check(dp->reason_counters(), "reading counters");
  std::vector<std::vector<double>> samples(paths.size());
  for (int round = 0; round < kRounds; ++round)
    for (size_t i = 0; i < paths.size(); ++i) samples[i].push_back(check(paths[i].measure(), paths[i].name));
  auto after = check(dp->reason_counters(), "reading counters");

  // The trace hook compiled out, and the real object again: only their XDP program is loaded
  // (the verifier's time). Another build of the object may stand in as C (XDPLB_PROG_COST_C_OBJ):
  // one with a known extra cost, to see that it shows.
  const char* c_env = std::getenv("XDPLB_PROG_COST_C_OBJ");
  const std::string c_obj = c_env && *c_env ? c_env : XDPLB_NOTRACE_OBJ;
  auto only_xdp = [](const std::string& name) { return name == "xdplb_xdp"; };
  std::vector<std::unique_ptr<bench::TwinObject>> loads;
  std::array<int, kVariants> variant_fds{};
  for (int v = 0; v < kVariants; ++v) {
    if (v == 0) {
      variant_fds[v] = xdp;
      continue;
    }
    const std::string file = v < kLoads ? XDPLB_REAL_OBJ : c_obj;
    loads.push_back(check(bench::TwinObject::load(*dp, file, only_xdp, "copy of the object"), "loading " + file));
    variant_fds[v] = loads.back()->twin_fd(xdp);
    if (variant_fds[v] < 0) die(file + " has no XDP program");
  }
  std::vector<Paired> pairs = {
      {"known flow, DNAT + MACs + redirect", "known flow, redirect, NO_TRACE build",
       [&](int fd, uint32_t n) { return repeated(run_xdp(fd, fast_bytes, n), XDP_REDIRECT, fast_bytes); }, {}},
      {"known flow, DNAT + XDP_PASS", "known flow, XDP_PASS, NO_TRACE build",
       [&](int fd, uint32_t n) { return repeated(run_xdp(fd, pass_bytes, n), XDP_PASS, pass_bytes); }, {}},
  };
  check(measure_pairs(pairs, variant_fds), "trace off vs compiled out");

  const double base = median(samples[0]);
  std::printf("BPF_PROG_TEST_RUN, %d interleaved rounds (repeat %u; %d single runs), median [min-max]\n\n",
              kRounds, kRepeat, kNewFlowRuns);
  std::printf("%-38s %8s %15s %8s %8s  %s\n", "path", "ns/pkt", "[min-max]", "Mpps", "x base", "held by");
  auto row = [&](const std::string& name, const std::vector<double>& v, const std::string& held) {
    const double m = median(v);
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    char range[32];
    std::snprintf(range, sizeof range, "[%.0f-%.0f]", *lo, *hi);
    std::printf("%-38s %8.1f %15s %8.1f %8.1f  %s\n", name.c_str(), m, range, m > 0 ? 1000.0 / m : 0.0,
                base > 0 ? m / base : 0.0, held.c_str());
  };
  for (size_t i = 0; i < paths.size(); ++i) {
    row(paths[i].name, samples[i], paths[i].held);
    if (paths[i].name != "known flow, redirect, trace (written)") continue;
    for (const auto& p : pairs)
      row(p.c_row, p.side(true), "as \"" + p.path + "\", trace compiled out; " + std::to_string(paired_rounds()) + " short rounds");
  }
  std::printf("\nnew flows created while measuring: %llu (expected %d)\n",
              static_cast<unsigned long long>(after[XDPLB_R_NEW_FLOW] - before[XDPLB_R_NEW_FLOW]),
              kRounds * (kNewFlowRuns + 4 * kSchedulerRuns));
  print_pairs(pairs, c_obj);
  print_kernel_work(*dp, paths, xdp, tc);
  return 0;
}
