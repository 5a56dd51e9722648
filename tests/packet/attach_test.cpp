// The loader for real: attach XDP (native) to a veth and TC (tcx) to a bridge inside a
// namespace of this test, check the kernel reports both, reopen the pinned maps, and detach
// leaving nothing behind; also that a failed attach undoes what it did.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "datapath/datapath.h"
#include "test_netns.h"
#include "xdplb_bpf.skel.h"

namespace xdplb::test {
namespace {

constexpr int kBpfTcxIngress = 46;

class AttachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bpffs = ensure_bpffs();
    ASSERT_TRUE(bpffs) << bpffs.error();
    if (!bpffs->empty()) std::cout << *bpffs << "\n";
    auto n = TestNetns::create("att");
    ASSERT_TRUE(n) << n.error();
    ns = std::move(*n);
    for (const char* cmd : {"link add xdpu0 type veth peer name xdpu1", "link add xdpu2 type veth peer name xdpu3",
                            "link add xdpbr0 type bridge", "link set xdpu0 up", "link set xdpu1 up",
                            "link set xdpu2 up", "link set xdpu3 up", "link set xdpbr0 up"}) {
      auto s = ns->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    root = "/sys/fs/bpf/xdptest" + std::to_string(::getpid());
    pin_dir = root + "/xdpbr0";
  }
  void TearDown() override {
    if (Datapath::is_attached(pin_dir)) (void)Datapath::detach(pin_dir);
    std::error_code ec;
    std::filesystem::remove(root, ec);
  }

  // Runs f in the namespace and fails the test if it cannot be entered.
  void in_ns(const std::function<void()>& f) {
    auto s = ns->run(f);
    ASSERT_TRUE(s) << s.error();
  }

  AttachSpec spec(XdpMode mode, std::vector<std::string> uplinks) {
    AttachSpec s;
    s.pin_dir = pin_dir;
    s.bridge = "xdpbr0";
    s.bridge_ifindex = static_cast<int>(if_nametoindex("xdpbr0"));
    for (auto& u : uplinks) s.uplinks.push_back({u, static_cast<int>(if_nametoindex(u.c_str()))});
    s.xdp_mode = mode;
    return s;
  }

  // XDP mode the kernel reports on ifname (XDP_ATTACHED_*), call inside the namespace.
  static int xdp_attach_mode(const char* ifname) {
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    if (bpf_xdp_query(static_cast<int>(if_nametoindex(ifname)), 0, &q) != 0) return -1;
    return q.attach_mode;
  }
  static int tcx_prog_count(const char* ifname) {
    __u32 ids[8], count = 8, flags = 0;
    int err = bpf_prog_query(static_cast<int>(if_nametoindex(ifname)),
                             static_cast<enum bpf_attach_type>(kBpfTcxIngress), 0, &flags, ids, &count);
    return err ? -1 : static_cast<int>(count);
  }

  std::unique_ptr<TestNetns> ns;
  std::string root, pin_dir;
};

TEST_F(AttachTest, AttachesNativeXdpAndTcxThenDetachesCompletely) {
  in_ns([&] {
    AttachResult result;
    auto dp = Datapath::attach(spec(XdpMode::Auto, {"xdpu0"}), &result);
    ASSERT_TRUE(dp) << dp.error();
    ASSERT_EQ(result.xdp_modes.size(), 1u);
    EXPECT_EQ(result.xdp_modes[0].first, "xdpu0");
    EXPECT_EQ(result.xdp_modes[0].second, XdpMode::Native) << "veth takes native XDP";
    EXPECT_EQ(xdp_attach_mode("xdpu0"), XDP_ATTACHED_DRV);
    EXPECT_EQ(tcx_prog_count("xdpbr0"), 1);
    EXPECT_TRUE(std::filesystem::exists(pin_dir + "/link_xdp_xdpu0"));
    EXPECT_TRUE(std::filesystem::exists(pin_dir + "/link_tc_xdpbr0"));
    EXPECT_TRUE(Datapath::is_attached(pin_dir));

    // The maps outlive the attaching handle; open() reaches the same pinned maps.
    ServiceKey key{*IpAddress::parse("10.0.0.10"), 8000, IPPROTO_TCP};
    ASSERT_TRUE((*dp)->put_service(key, 3));
    dp->reset();
    EXPECT_EQ(xdp_attach_mode("xdpu0"), XDP_ATTACHED_DRV) << "still attached after the process let go";
    auto again = Datapath::attach(spec(XdpMode::Auto, {"xdpu0"}), nullptr);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().find("already attached"), std::string::npos) << again.error();

    auto opened = Datapath::open(pin_dir);
    ASSERT_TRUE(opened) << opened.error();
    struct xdplb_service_key k {};
    k.vip = key.vip.to_abi();
    k.port = htons(8000);
    k.proto = IPPROTO_TCP;
    k.family = XDPLB_AF_INET;
    struct xdplb_service v {};
    ASSERT_EQ(bpf_map__lookup_elem((*opened)->skeleton()->maps.services, &k, sizeof k, &v, sizeof v, 0), 0);
    EXPECT_EQ(v.pool, 3u) << "open() must reuse the pinned map, not create a new one";
    auto counters = (*opened)->reason_counters();
    ASSERT_TRUE(counters) << counters.error();
    opened->reset();

    auto s = Datapath::detach(pin_dir);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(xdp_attach_mode("xdpu0"), XDP_ATTACHED_NONE);
    EXPECT_EQ(tcx_prog_count("xdpbr0"), 0);
    EXPECT_FALSE(std::filesystem::exists(pin_dir));
    EXPECT_FALSE(Datapath::is_attached(pin_dir));
    auto gone = Datapath::open(pin_dir);
    EXPECT_FALSE(gone);
  });
}

TEST_F(AttachTest, GenericModeOnTwoUplinks) {
  in_ns([&] {
    AttachResult result;
    auto dp = Datapath::attach(spec(XdpMode::Generic, {"xdpu0", "xdpu2"}), &result);
    ASSERT_TRUE(dp) << dp.error();
    ASSERT_EQ(result.xdp_modes.size(), 2u);
    EXPECT_EQ(xdp_attach_mode("xdpu0"), XDP_ATTACHED_SKB);
    EXPECT_EQ(xdp_attach_mode("xdpu2"), XDP_ATTACHED_SKB);
    auto s = Datapath::detach(pin_dir);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(xdp_attach_mode("xdpu0"), XDP_ATTACHED_NONE);
    EXPECT_EQ(xdp_attach_mode("xdpu2"), XDP_ATTACHED_NONE);
  });
}

TEST_F(AttachTest, FailedAttachLeavesNothingBehind) {
  in_ns([&] {
    // The first uplink attaches, the second does not exist: all of it must be undone.
    auto s = spec(XdpMode::Native, {"xdpu0"});
    s.uplinks.push_back({"xdpnone", 0});
    auto dp = Datapath::attach(s, nullptr);
    ASSERT_FALSE(dp);
    EXPECT_NE(dp.error().find("xdpnone"), std::string::npos) << dp.error();
    EXPECT_EQ(xdp_attach_mode("xdpu0"), XDP_ATTACHED_NONE);
    EXPECT_EQ(tcx_prog_count("xdpbr0"), 0);
    EXPECT_FALSE(std::filesystem::exists(pin_dir));

    // Taken interface: another program holds xdpu0 natively, so Native must fail cleanly.
    auto first = Datapath::attach(spec(XdpMode::Native, {"xdpu0"}), nullptr);
    ASSERT_TRUE(first) << first.error();
    const std::string first_dir = pin_dir;
    pin_dir = root + "/other";
    auto taken = spec(XdpMode::Native, {"xdpu0"});
    taken.bridge = "xdpbr0";
    auto second = Datapath::attach(taken, nullptr);
    EXPECT_FALSE(second);
    EXPECT_FALSE(std::filesystem::exists(pin_dir));
    pin_dir = first_dir;
    EXPECT_TRUE(Datapath::detach(pin_dir));
    EXPECT_EQ(xdp_attach_mode("xdpu0"), XDP_ATTACHED_NONE);
  });
}

// ensure_bpffs on a host without a bpf filesystem: done in a child process with a mount
// namespace of its own, so the host's /sys/fs/bpf is never touched.
TEST(EnsureBpffs, MountsOneWhereThereIsNone) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(10);
    while (umount2("/sys/fs/bpf", MNT_DETACH) == 0) {
    }
    struct statfs st {};
    if (statfs("/sys/fs/bpf", &st) == 0 && static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC) _exit(11);
    auto did = ensure_bpffs();
    if (!did || did->empty()) _exit(12);
    if (statfs("/sys/fs/bpf", &st) != 0 || static_cast<unsigned long>(st.f_type) != BPF_FS_MAGIC) _exit(13);
    auto again = ensure_bpffs();
    if (!again || !again->empty()) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: unshare, 11: could not unmount, 12: did not mount, "
                                       "13: not a bpffs afterwards, 14: mounted twice";
}

// `attach --flow-table N`: the flow table and its reverse table get N entries, the table of
// SYN-only flows' reverse entries N / XDPLB_SYN_TABLE_SHARE, later commands
// open the pinned tables at that size, and sizes out of range are refused before anything is
// attached.
TEST_F(AttachTest, FlowTableSizeIsSetAtAttachAndKeptByOpen) {
  in_ns([&] {
    AttachSpec s = spec(XdpMode::Auto, {"xdpu0"});
    s.tunables.flow_table_size = XDPLB_MIN_FLOWS - 1;
    auto refused = Datapath::attach(s, nullptr);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("flow table size"), std::string::npos) << refused.error();
    EXPECT_FALSE(Datapath::is_attached(pin_dir));

    s.tunables.flow_table_size = 4096;
    auto dp = Datapath::attach(s, nullptr);
    ASSERT_TRUE(dp) << dp.error();
    EXPECT_EQ((*dp)->flow_table_size(), 4096u);
    dp->reset();
    auto opened = Datapath::open(pin_dir);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_EQ((*opened)->flow_table_size(), 4096u) << "open must take the pinned table's size";
    EXPECT_EQ(bpf_map__max_entries((*opened)->skeleton()->maps.reverse), 4096u);
    EXPECT_EQ(bpf_map__max_entries((*opened)->skeleton()->maps.reverse_new), 4096u / XDPLB_SYN_TABLE_SHARE)
        << "the SYN-only reverse entries' table is a share of the flow table";
  });
}

// `attach --syn-table N` (Tunables::syn_table_size): reverse_new gets exactly N entries, open
// reads that size back, and a size above the flow table's is refused before anything is
// attached.
TEST_F(AttachTest, SynTableSizeIsSetAtAttachAndKeptByOpen) {
  in_ns([&] {
    AttachSpec s = spec(XdpMode::Auto, {"xdpu0"});
    s.tunables.flow_table_size = 4096;
    s.tunables.syn_table_size = 4097;
    auto refused = Datapath::attach(s, nullptr);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("SYN table size 4097 is larger than the flow table"), std::string::npos)
        << refused.error();
    EXPECT_FALSE(Datapath::is_attached(pin_dir));

    s.tunables.syn_table_size = 300;
    auto dp = Datapath::attach(s, nullptr);
    ASSERT_TRUE(dp) << dp.error();
    EXPECT_EQ((*dp)->syn_table_size(), 300u);
    dp->reset();
    auto opened = Datapath::open(pin_dir);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_EQ((*opened)->syn_table_size(), 300u) << "open must take the pinned table's size";
    struct bpf_map_info info {};
    __u32 len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_map__fd((*opened)->skeleton()->maps.reverse_new), &info, &len), 0);
    EXPECT_EQ(info.max_entries, 300u) << "the kernel's map is that size";
    EXPECT_EQ((*opened)->flow_table_size(), 4096u);
  });
}

}  // namespace
}  // namespace xdplb::test
