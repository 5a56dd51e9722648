// xdplb_bench_pktgen: sends 64-byte UDP datagrams or TCP SYNs out of a veth at millions of
// packets per second with BPF_PROG_TEST_RUN in live-frames mode (bench/pktgen.bpf.c), for a
// bounded time, and prints what it sent as one JSON line. Runs in the calling network
// namespace (scripts/bench.sh starts it with nsenter) and on the calling CPU (taskset).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "pktgen_kern_user.h"  // before the skeleton, which uses its types
#include "bench_pktgen.skel.h"

namespace {

struct Options {
  std::string dev;
  std::string dst_mac;
  std::string src_ip = "10.0.0.2";
  std::string dst_ip = "10.0.0.1";
  uint16_t sport = 10000;
  uint16_t dport = 8000;
  std::string proto = "udp";
  uint32_t flows = 1;
  double seconds = 2.0;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "xdplb_bench_pktgen: %s\n", what.c_str());
  std::exit(1);
}

bool parse_mac(const std::string& text, uint8_t out[6]) {
  unsigned b[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
    return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(b[i]);
  return true;
}

void own_mac(const std::string& dev, uint8_t out[6]) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket() failed: " + std::string(strerror(errno)));
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev.c_str());
  int rc = ::ioctl(fd, SIOCGIFHWADDR, &ifr);
  ::close(fd);
  if (rc < 0) die("reading the MAC of " + dev + " failed: " + strerror(errno));
  std::memcpy(out, ifr.ifr_hwaddr.sa_data, 6);
}

uint32_t csum_add(uint32_t sum, const void* data, size_t len) {
  auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (len & 1) sum += p[len - 1] << 8;
  return sum;
}

uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

// The frame of the first flow; the BPF program derives the others by changing the source port.
void build_frame(const Options& o, const uint8_t src_mac[6], const uint8_t dst_mac[6],
                 uint8_t frame[XBN_FRAME_LEN], uint32_t* csum_offset) {
  std::memset(frame, 0, XBN_FRAME_LEN);
  auto* eth = reinterpret_cast<ethhdr*>(frame);
  std::memcpy(eth->h_dest, dst_mac, 6);
  std::memcpy(eth->h_source, src_mac, 6);
  eth->h_proto = htons(ETH_P_IP);
  auto* ip = reinterpret_cast<iphdr*>(frame + sizeof(ethhdr));
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  if (inet_pton(AF_INET, o.src_ip.c_str(), &ip->saddr) != 1) die("bad --src " + o.src_ip);
  if (inet_pton(AF_INET, o.dst_ip.c_str(), &ip->daddr) != 1) die("bad --dst " + o.dst_ip);
  const bool tcp = o.proto == "tcp";
  const uint16_t l4_len = tcp ? sizeof(tcphdr) : XBN_FRAME_LEN - XBN_L4_OFFSET;
  ip->protocol = tcp ? IPPROTO_TCP : IPPROTO_UDP;
  ip->tot_len = htons(sizeof(iphdr) + l4_len);
  ip->check = csum_fold(csum_add(0, ip, sizeof(iphdr)));

  uint8_t* l4 = frame + XBN_L4_OFFSET;
  if (tcp) {
    auto* th = reinterpret_cast<tcphdr*>(l4);
    th->source = htons(o.sport);
    th->dest = htons(o.dport);
    th->seq = htonl(1);
    th->doff = 5;
    th->syn = 1;
    th->window = htons(64240);
    *csum_offset = offsetof(tcphdr, check);
  } else {
    auto* uh = reinterpret_cast<udphdr*>(l4);
    uh->source = htons(o.sport);
    uh->dest = htons(o.dport);
    uh->len = htons(l4_len);
    *csum_offset = offsetof(udphdr, check);
  }
  // Pseudo header + L4 header and payload.
  uint32_t sum = csum_add(0, &ip->saddr, 8);
  sum += ip->protocol + l4_len;
  sum = csum_add(sum, l4, l4_len);
  uint16_t check = csum_fold(sum);
  if (!tcp && check == 0) check = 0xffff;
  std::memcpy(l4 + *csum_offset, &check, 2);
}

struct SkelDeleter {
  void operator()(bench_pktgen* s) const { bench_pktgen__destroy(s); }
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Live-frames packet generator (XDP_TX out of --dev) for scripts/bench.sh"};
  app.add_option("--dev", o.dev, "veth to send out of (its peer receives)")->required();
  app.add_option("--dst-mac", o.dst_mac, "destination MAC (the peer's)")->required();
  app.add_option("--src", o.src_ip, "source IPv4 address")->capture_default_str();
  app.add_option("--dst", o.dst_ip, "destination IPv4 address")->capture_default_str();
  app.add_option("--sport", o.sport, "first source port")->capture_default_str();
  app.add_option("--dport", o.dport, "destination port")->capture_default_str();
  app.add_option("--proto", o.proto, "udp (64-byte datagrams) or tcp (SYNs)")
      ->check(CLI::IsMember({"udp", "tcp"}))->capture_default_str();
  app.add_option("--flows", o.flows, "source ports to cycle through")
      ->check(CLI::Range(1, 50000))->capture_default_str();
  app.add_option("--seconds", o.seconds, "how long to send")->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (uint32_t(o.sport) + o.flows > 65535) die("--sport + --flows must stay below 65536");

  const int ifindex = static_cast<int>(if_nametoindex(o.dev.c_str()));
  if (!ifindex) die("no interface " + o.dev + " in this network namespace");
  uint8_t src_mac[6], dst_mac[6];
  own_mac(o.dev, src_mac);
  if (!parse_mac(o.dst_mac, dst_mac)) die("bad --dst-mac " + o.dst_mac);

  std::unique_ptr<bench_pktgen, SkelDeleter> skel(bench_pktgen__open_and_load());
  if (!skel) die("loading the generator program failed (root? kernel >= 5.18?)");
  uint32_t csum_offset = 0;
  build_frame(o, src_mac, dst_mac, skel->bss->frame_template, &csum_offset);
  skel->bss->config.flows = o.flows;
  skel->bss->config.csum_offset = csum_offset;

  uint8_t data_in[XBN_FRAME_LEN];
  std::memcpy(data_in, skel->bss->frame_template, XBN_FRAME_LEN);
  xdp_md ctx_in{};
  ctx_in.data_end = XBN_FRAME_LEN;  // must equal data_size_in in live-frames mode
  ctx_in.ingress_ifindex = ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data_in, .data_size_in = XBN_FRAME_LEN,
              .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in), .repeat = 1u << 16,
              .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
  const int prog_fd = bpf_program__fd(skel->progs.xbn_pktgen);

  // Each call sets up and tears down its own page pool, which costs milliseconds here: calls
  // are sized to last about 0.5 s at the rate seen so far, and never past the deadline.
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto until = start + std::chrono::duration<double>(o.seconds);
  uint64_t calls = 0;
  for (auto now = start; now < until; now = clock::now()) {
    if (calls > 0) {
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const double left = std::chrono::duration<double>(until - now).count();
      const double rate = skel->bss->sequence / std::max(elapsed, 1e-6);
      opts.repeat = static_cast<uint32_t>(std::clamp(rate * std::min(left, 0.5), 4096.0, 64e6));
    }
    if (int err = bpf_prog_test_run_opts(prog_fd, &opts); err)
      die("BPF_PROG_TEST_RUN (live frames) failed: " + std::string(strerror(-err)));
    ++calls;
  }
  const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
  const uint64_t sent = skel->bss->sequence;
  nlohmann::json out = {{"dev", o.dev},     {"proto", o.proto},  {"flows", o.flows},
                        {"sent", sent},     {"seconds", elapsed}, {"calls", calls},
                        {"mpps", sent / elapsed / 1e6}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
