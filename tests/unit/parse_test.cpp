// Parsing of user input: good values, and bad ones with messages that help.
#include "core/parse.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace xdplb {
namespace {

// The error of `r`, which must have failed.
template <typename T>
std::string error_of(const Result<T>& r) {
  EXPECT_FALSE(r.ok());
  return r.ok() ? std::string() : r.error();
}

#define EXPECT_ERROR_HAS(result, part)                                   \
  do {                                                                  \
    const std::string err_ = error_of(result);                          \
    EXPECT_NE(err_.find(part), std::string::npos) << "message: " << err_; \
  } while (0)

TEST(ParsePort, Valid) {
  EXPECT_EQ(*parse_port("1"), 1);
  EXPECT_EQ(*parse_port("80"), 80);
  EXPECT_EQ(*parse_port("8000"), 8000);
  EXPECT_EQ(*parse_port("65535"), 65535);
  EXPECT_EQ(*parse_port("080"), 80);
}

TEST(ParsePort, InvalidWithClearMessages) {
  EXPECT_ERROR_HAS(parse_port("0"), "port 0 is out of range: use a number from 1 to 65535");
  EXPECT_ERROR_HAS(parse_port("65536"), "port 65536 is out of range");
  EXPECT_ERROR_HAS(parse_port("99999999999999999999999"), "out of range");
  EXPECT_ERROR_HAS(parse_port("abc"), "'abc' is not a port: use a number from 1 to 65535, e.g. 8000");
  EXPECT_ERROR_HAS(parse_port("80x"), "'80x' is not a port (unexpected 'x' after the number)");
  EXPECT_ERROR_HAS(parse_port(""), "port is empty: use a number");
  EXPECT_ERROR_HAS(parse_port("-1"), "is not a port");
  EXPECT_ERROR_HAS(parse_port("+80"), "is not a port");
  EXPECT_ERROR_HAS(parse_port(" 80"), "is not a port");
  EXPECT_ERROR_HAS(parse_port("80 "), "unexpected ' '");
}

TEST(ParseWeight, RangeAndMessages) {
  EXPECT_EQ(*parse_weight("1"), 1u);
  EXPECT_EQ(*parse_weight(std::to_string(XDPLB_MAX_WEIGHT)), uint32_t(XDPLB_MAX_WEIGHT));
  EXPECT_ERROR_HAS(parse_weight("0"), "weight 0 is out of range: use a number from 1 to 1000");
  EXPECT_ERROR_HAS(parse_weight(std::to_string(XDPLB_MAX_WEIGHT + 1)), "out of range");
  EXPECT_ERROR_HAS(parse_weight("heavy"), "'heavy' is not a weight");
  EXPECT_ERROR_HAS(parse_weight("2.5"), "unexpected '.5'");
  EXPECT_ERROR_HAS(parse_weight(""), "weight is empty");
}

TEST(ParseEndpoint, Ipv4) {
  auto e = parse_endpoint("10.0.3.11", 80);
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_TRUE(e->addr.is_v4());
  EXPECT_EQ(e->addr.to_string(), "10.0.3.11");
  EXPECT_EQ(e->port, 80);
  e = parse_endpoint("10.0.3.11:8080", 80);
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->port, 8080);
  EXPECT_EQ(e->to_string(), "10.0.3.11:8080");
  uint32_t be;
  inet_pton(AF_INET, "10.0.3.11", &be);
  EXPECT_EQ(e->addr, IpAddress::v4(be));
}

TEST(ParseEndpoint, Ipv6) {
  auto e = parse_endpoint("fd42::11", 80);
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_TRUE(e->addr.is_v6());
  EXPECT_EQ(e->addr.to_string(), "fd42::11");
  EXPECT_EQ(e->port, 80);
  e = parse_endpoint("[fd42::11]:8080", 80);
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->addr.to_string(), "fd42::11");
  EXPECT_EQ(e->port, 8080);
  EXPECT_EQ(e->to_string(), "[fd42::11]:8080");
  e = parse_endpoint("[fd42::11]", 81);
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->port, 81);
  e = parse_endpoint("::1", 80);
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->addr.to_string(), "::1");
  e = parse_endpoint("::ffff:10.0.3.11", 80);
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_TRUE(e->addr.is_v6());
}

TEST(ParseEndpoint, Invalid) {
  EXPECT_ERROR_HAS(parse_endpoint("", 80), "address is empty");
  EXPECT_ERROR_HAS(parse_endpoint("10.0.3.300", 80), "'10.0.3.300' is not an IPv4 or IPv6 address");
  EXPECT_ERROR_HAS(parse_endpoint("10.0.3.11:0", 80), "in '10.0.3.11:0': port 0 is out of range");
  EXPECT_ERROR_HAS(parse_endpoint("10.0.3.11:", 80), "port is empty");
  EXPECT_ERROR_HAS(parse_endpoint("10.0.3.11:http", 80), "'http' is not a port");
  EXPECT_ERROR_HAS(parse_endpoint("fd42::11:80:x", 80), "put the address in brackets: [fd42::11]:80");
  EXPECT_ERROR_HAS(parse_endpoint("[fd42::11", 80), "'[' without ']'");
  EXPECT_ERROR_HAS(parse_endpoint("[fd42::11]80", 80), "expected ':PORT' after ']'");
  EXPECT_ERROR_HAS(parse_endpoint("[10.0.3.11]:80", 80), "in brackets is not an IPv6 address");
  EXPECT_ERROR_HAS(parse_endpoint("[]:80", 80), "in brackets is not an IPv6 address");
  EXPECT_ERROR_HAS(parse_endpoint("web1:80", 80), "'web1' is not an IPv4 or IPv6 address");
}

TEST(ParseEndpoint, PortRequiredWhenNoDefault) {
  EXPECT_ERROR_HAS(parse_endpoint("10.0.3.11", 0), "'10.0.3.11' has no port: write 10.0.3.11:80");
  EXPECT_ERROR_HAS(parse_endpoint("fd42::11", 0), "write [fd42::11]:80");
  EXPECT_TRUE(parse_endpoint("10.0.3.11:80", 0).ok());
}

TEST(LooksLikeAddress, AddressesAndNames) {
  for (const char* a : {"10.0.3.11", "10.0.3.11:80", "fd42::1", "[fd42::1]:80", "::1",
                        "10.0.3.300", "1web", "10"})
    EXPECT_TRUE(looks_like_address(a)) << a;
  for (const char* n : {"web1", "web-1", "fd42", "abc", "lxd-backend-2", "W"})
    EXPECT_FALSE(looks_like_address(n)) << n;
  EXPECT_FALSE(looks_like_address(""));
}

TEST(ContainerName, Rules) {
  for (const char* n : {"web1", "web-1", "a", "Web2"}) EXPECT_TRUE(check_container_name(n).ok()) << n;
  EXPECT_ERROR_HAS(check_container_name(""), "container name is empty");
  EXPECT_ERROR_HAS(check_container_name("1web"), "does not start with a letter");
  EXPECT_ERROR_HAS(check_container_name("-web"), "does not start with a letter");
  EXPECT_ERROR_HAS(check_container_name("web-"), "ends with '-'");
  EXPECT_ERROR_HAS(check_container_name("web_1"), "contains '_'");
  EXPECT_ERROR_HAS(check_container_name(std::string(64, 'a')), "too long");
  EXPECT_TRUE(check_container_name(std::string(63, 'a')).ok());
}

TEST(InterfaceName, Rules) {
  for (const char* n : {"lxdbr0", "eth0", "veth1234abcd", "br-test", "a23456789012345"})
    EXPECT_TRUE(check_interface_name(n).ok()) << n;
  EXPECT_ERROR_HAS(check_interface_name(""), "interface name is empty");
  EXPECT_ERROR_HAS(check_interface_name("a234567890123456"), "too long");
  EXPECT_ERROR_HAS(check_interface_name("../etc"), "invalid character");
  EXPECT_ERROR_HAS(check_interface_name(".."), "is invalid");
  EXPECT_ERROR_HAS(check_interface_name("."), "is invalid");
  EXPECT_ERROR_HAS(check_interface_name("eth0:1"), "invalid character");
  EXPECT_ERROR_HAS(check_interface_name("br 0"), "invalid character");
}

TEST(ParseProto, Values) {
  auto p = parse_proto("tcp");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->tcp);
  EXPECT_FALSE(p->udp);
  p = parse_proto("udp");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->tcp);
  EXPECT_TRUE(p->udp);
  p = parse_proto("both");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->tcp && p->udp);
  p = parse_proto("TCP");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->tcp);
  EXPECT_ERROR_HAS(parse_proto("sctp"), "protocol 'sctp' is not known: use tcp, udp or both");
  EXPECT_ERROR_HAS(parse_proto(""), "use tcp, udp or both");
}

TEST(ParseXdpMode, Values) {
  EXPECT_EQ(*parse_xdp_mode("auto"), XdpMode::Auto);
  EXPECT_EQ(*parse_xdp_mode("native"), XdpMode::Native);
  EXPECT_EQ(*parse_xdp_mode("generic"), XdpMode::Generic);
  EXPECT_EQ(*parse_xdp_mode("Native"), XdpMode::Native);
  EXPECT_ERROR_HAS(parse_xdp_mode("skb"), "XDP mode 'skb' is not known: use native");
  EXPECT_ERROR_HAS(parse_xdp_mode(""), "generic");
  for (XdpMode m : {XdpMode::Auto, XdpMode::Native, XdpMode::Generic})
    EXPECT_EQ(*parse_xdp_mode(xdp_mode_name(m)), m);
}

TEST(ParseScheduler, Values) {
  EXPECT_EQ(*parse_scheduler("maglev"), uint32_t{XDPLB_SCHED_MAGLEV});
  EXPECT_EQ(*parse_scheduler("weighted"), uint32_t{XDPLB_SCHED_WEIGHTED});
  EXPECT_EQ(*parse_scheduler("round-robin"), uint32_t{XDPLB_SCHED_ROUND_ROBIN});
  EXPECT_EQ(*parse_scheduler("Least-Conn"), uint32_t{XDPLB_SCHED_LEAST_CONN});
  EXPECT_ERROR_HAS(parse_scheduler("least_conn"), "scheduler 'least_conn' is not known: use maglev");
  EXPECT_ERROR_HAS(parse_scheduler(""), "least-conn");
  for (uint32_t s = 0; s < XDPLB_SCHED_MAX; ++s) EXPECT_EQ(*parse_scheduler(scheduler_name(s)), s);
  EXPECT_STREQ(scheduler_name(XDPLB_SCHED_MAX), "maglev");
}

}  // namespace
}  // namespace xdplb
