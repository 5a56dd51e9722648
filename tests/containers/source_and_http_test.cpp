// Pure parts of the container library: --source values and LXD's HTTP answers.
#include <gtest/gtest.h>

#include "containers/container_info.h"
#include "containers/lxd_client.h"

namespace xdplb {
namespace {

TEST(ContainerSource, ParsesTheThreeValuesAndPrintsThemBack) {
  for (auto text : {"auto", "lxd", "lxc"}) {
    auto s = parse_container_source(text);
    ASSERT_TRUE(s.ok()) << text;
    EXPECT_EQ(to_string(*s), text);
  }
}

TEST(ContainerSource, RejectsOthersSayingWhatIsAllowed) {
  auto s = parse_container_source("docker");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("use auto, lxd or lxc"), std::string::npos) << s.error();
}

TEST(HttpResponse, SplitsStatusAndBody) {
  auto r = parse_http_response(
      "HTTP/1.0 404 Not Found\r\nContent-Type: application/json\r\n\r\n{\"error\":\"x\"}");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "{\"error\":\"x\"}");
}

TEST(HttpResponse, EmptyBodyIsFine) {
  auto r = parse_http_response("HTTP/1.1 200 OK\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
}

TEST(HttpResponse, RejectsTruncatedOrForeignText) {
  EXPECT_FALSE(parse_http_response("").ok());
  EXPECT_FALSE(parse_http_response("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n").ok());
  EXPECT_FALSE(parse_http_response("SSH-2.0-OpenSSH\r\n\r\n").ok());
  EXPECT_FALSE(parse_http_response("HTTP/1.0 2x0 OK\r\n\r\n").ok());
}

}  // namespace
}  // namespace xdplb
