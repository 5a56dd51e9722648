// The daemon's control socket messages (controller/daemon/control.h): what the CLI sends and the
// daemon answers round-trips exactly, a malformed message is an error (the daemon refuses it,
// nothing runs), and no socket is an error the CLI answers by running the command itself.
#include <gtest/gtest.h>

#include "daemon/control.h"

using namespace xdplb;

TEST(ControlMessage, RequestRoundTrips) {
  const ControlRequest r{"lxdbr0", "/sys/fs/bpf/xdplb", "/var/lib/xdplb",
                         {"backend", "add", "web3", "--weight", "2", "--service", "web", "ünïcode \"quoted\""}};
  auto back = decode_request(encode(r));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->bridge, r.bridge);
  EXPECT_EQ(back->pin_root, r.pin_root);
  EXPECT_EQ(back->state_dir, r.state_dir);
  EXPECT_EQ(back->args, r.args);
}

TEST(ControlMessage, ReplyRoundTripsAndRefusalCarriesOnlyItsReason) {
  ControlReply done;
  done.code = 1;
  done.out = "line one\nline two\n";
  done.err = "xdplb: backend 10.0.0.9:80 is already in service 'default'\n";
  auto back = decode_reply(encode(done));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->code, 1);
  EXPECT_EQ(back->out, done.out);
  EXPECT_EQ(back->err, done.err);
  EXPECT_TRUE(back->refused.empty());

  ControlReply refused;
  refused.refused = "this daemon serves br1";
  auto r = decode_reply(encode(refused));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->refused, "this daemon serves br1");
}

TEST(ControlMessage, MalformedMessagesAreErrors) {
  for (const char* text : {"", "not json", "{}", R"({"bridge":"b","pin_root":"p","state_dir":"s"})",
                           R"({"bridge":1,"pin_root":"p","state_dir":"s","args":[]})",
                           R"({"bridge":"b","pin_root":"p","state_dir":"s","args":"backend add"})"}) {
    auto r = decode_request(text);
    EXPECT_FALSE(r) << "accepted: " << text;
    if (!r) EXPECT_NE(r.error().find("bad control message"), std::string::npos) << r.error();
  }
  for (const char* text : {"", "[1]", R"({"code":"0","out":"","err":""})", R"({"code":0})"})
    EXPECT_FALSE(decode_reply(text)) << "accepted: " << text;
}

TEST(ControlMessage, NoSocketIsAnErrorSoTheCliRunsTheCommandItself) {
  auto r = call_control("/nonexistent-xdplb-dir/br0.ctl.sock", ControlRequest{"br0", "p", "s", {"backend", "list"}}, 1000);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("no daemon at"), std::string::npos) << r.error();
  EXPECT_EQ(control_socket("/var/lib/xdplb", "lxdbr0"), "/var/lib/xdplb/lxdbr0.ctl.sock");
}
