// core/mac.h: text round trip and rejection of malformed input. Pure: no root needed.
#include "core/mac.h"

#include <gtest/gtest.h>

namespace xdplb {
namespace {

TEST(MacTest, RoundTrip) {
  auto mac = parse_mac("02:AB:cd:00:7f:ff");
  ASSERT_TRUE(mac.ok()) << mac.error();
  EXPECT_EQ(*mac, (Mac{0x02, 0xab, 0xcd, 0x00, 0x7f, 0xff}));
  EXPECT_EQ(to_string(*mac), "02:ab:cd:00:7f:ff");
  EXPECT_FALSE(is_zero(*mac));
  EXPECT_TRUE(is_zero(Mac{}));
}

TEST(MacTest, RejectsMalformed) {
  for (const char* bad : {"", "02:ab:cd:00:7f", "02:ab:cd:00:7f:ff:00", "02-ab-cd-00-7f-ff",
                          "02:ab:cd:00:7f:fg", "2:ab:cd:00:7f:fff"}) {
    auto mac = parse_mac(bad);
    EXPECT_FALSE(mac.ok()) << bad;
    if (!mac.ok()) {
      EXPECT_NE(mac.error().find("not a MAC address"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace xdplb
