// The model's name tables: every value has one name and reads back from it, in any case;
// unknown names list what is accepted.
#include "core/model.h"

#include <gtest/gtest.h>

namespace xdplb {
namespace {

template <typename E>
void round_trips() {
  for (const auto& [value, name] : NameTable<E>::names) {
    auto back = parse_name<E>(name);
    ASSERT_TRUE(back.ok()) << name;
    EXPECT_EQ(*back, value) << name;
    EXPECT_STREQ(name_of(value), name);
  }
}

TEST(NameTables, EveryValueRoundTrips) {
  round_trips<Scheduler>();
  round_trips<Affinity>();
  round_trips<ProtoSet>();
  round_trips<Health>();
  round_trips<BackendPath>();
  round_trips<CheckType>();
  round_trips<BackendSource>();
  round_trips<XdpMode>();
}

TEST(NameTables, SchedulerNamesAreTheDatapathsValues) {
  EXPECT_EQ(static_cast<uint32_t>(*parse_name<Scheduler>("least-conn")), uint32_t{XDPLB_SCHED_LEAST_CONN});
  EXPECT_EQ(static_cast<uint32_t>(*parse_name<Scheduler>("round-robin")), uint32_t{XDPLB_SCHED_ROUND_ROBIN});
}

TEST(NameTables, AnyCaseAndUnknownNamesListTheChoices) {
  EXPECT_EQ(*parse_name<ProtoSet>("UDP"), ProtoSet::Udp);
  EXPECT_EQ(*parse_name<Affinity>("Source"), Affinity::Source);
  auto bad = parse_name<Affinity>("sticky");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "affinity 'sticky' is unknown; expected none or source");
  auto health = parse_name<Health>("sick");
  ASSERT_FALSE(health.ok());
  EXPECT_EQ(health.error(), "health 'sick' is unknown; expected up or down") << "the empty name is not offered";
  EXPECT_EQ(names_of<Scheduler>(), "maglev, weighted, round-robin or least-conn");
}

}  // namespace
}  // namespace xdplb
