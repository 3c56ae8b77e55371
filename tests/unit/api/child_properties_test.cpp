// api/child_properties.hpp: the property tables agree with the D-Bus XML (names, order and
// types), changed_properties() names exactly what differs, and in_trouble() is the one rule
// the daemon and mlockctl share.
#include "api/child_properties.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "api/bus_names.hpp"

namespace duende::supervisor {
namespace {

using Property = std::pair<std::string, std::string>;  // name, D-Bus signature

// The <property> elements of `interface` in the XML, in document order.
std::vector<Property> xml_properties(const std::string& interface) {
  std::ifstream in(MLOCK_DBUS_XML);
  std::stringstream text;
  text << in.rdbuf();
  const std::string xml = text.str();
  const auto start = xml.find("<interface name=\"" + interface + "\"");
  EXPECT_NE(start, std::string::npos) << interface;
  const std::string body = xml.substr(start, xml.find("</interface>", start) - start);
  std::vector<Property> out;
  const std::regex property(R"re(<property name="(\w+)" type="([^"]+)")re");
  for (std::sregex_iterator it(body.begin(), body.end(), property), end; it != end; ++it)
    out.emplace_back((*it)[1], (*it)[2]);
  return out;
}

template <class T>
std::string signature() {
  if constexpr (std::is_same_v<T, std::string>) return "s";
  if constexpr (std::is_same_v<T, bool>) return "b";
  if constexpr (std::is_same_v<T, std::uint32_t>) return "u";
  if constexpr (std::is_same_v<T, std::int32_t>) return "i";
  if constexpr (std::is_same_v<T, std::uint64_t>) return "t";
  if constexpr (std::is_same_v<T, std::vector<std::string>>) return "as";
  if constexpr (std::is_same_v<T, std::vector<TreeProcess>>) return "a(usbtt)";
  return "?";
}

template <class Visit>
std::vector<Property> table(Visit for_each) {
  std::vector<Property> out;
  for_each([&](const char* name, auto member) {
    out.emplace_back(name, signature<decltype(member_type(member))>());
  });
  return out;
}

TEST(ChildPropertyTable, MatchesTheChildInterfaceOfTheXml) {
  EXPECT_EQ(table([](auto&& f) { for_each_child_property(f); }), xml_properties(kChildInterface));
}

// ListChildProperties's row is every Child property, in the table's order.
TEST(ChildPropertyTable, IsTheRowOfListChildProperties) {
  std::ifstream in(MLOCK_DBUS_XML);
  std::stringstream text;
  text << in.rdbuf();
  const std::string xml = text.str();
  const std::regex method(
      R"re(<method name="ListChildProperties">\s*<arg name="children" type="([^"]+)" direction="out"/>)re");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(xml, m, method));
  std::string row;
  for (const auto& [name, type] : table([](auto&& f) { for_each_child_property(f); })) row += type;
  EXPECT_EQ(m[1], "a(" + row + ")");
}

TEST(ManagerPropertyTable, MatchesTheManagerInterfaceOfTheXml) {
  EXPECT_EQ(table([](auto&& f) { for_each_manager_property(f); }),
            xml_properties(kManagerInterface));
}

TEST(ChangedProperties, NamesEveryDifferenceInTableOrder) {
  ChildProperties a;
  EXPECT_TRUE(changed_properties(a, a).empty());
  ChildProperties b = a;
  b.command = {"/bin/x"};
  b.pid = 7;
  b.last_exit_status = -9;
  EXPECT_EQ(changed_properties(a, b),
            (std::vector<std::string>{"Pid", "LastExitStatus", "Command"}));
  ManagerProperties m, n;
  n.state = "degraded";
  n.total_locked_bytes = 1;
  EXPECT_EQ(changed_properties(m, n), (std::vector<std::string>{"State", "TotalLockedBytes"}));
  // The adoption and re-exec properties too: the Manager's PropertiesChanged carries a
  // re-exec's failure, a child's carries its adoption.
  n = m;
  n.reexec_failure = "execve: Permission denied";
  n.reexecs = 1;
  EXPECT_EQ(changed_properties(m, n), (std::vector<std::string>{"Reexecs", "ReexecFailure"}));
  b = a;
  b.adopted = true;
  b.adopted_at_us = 1;
  b.started_at_us = 1;
  EXPECT_EQ(changed_properties(a, b),
            (std::vector<std::string>{"StartedAt", "Adopted", "AdoptedAt"}));
}

struct TroubleCase {
  const char* what;
  ChildState state;
  bool must_be_locked;
  std::uint64_t locked, swapped;
  bool trouble;
};

class InTrouble : public ::testing::TestWithParam<TroubleCase> {};

TEST_P(InTrouble, FollowsTheOneRule) {
  const TroubleCase& t = GetParam();
  EXPECT_EQ(in_trouble(TroubleFacts{t.state, t.must_be_locked, t.locked, t.swapped}), t.trouble)
      << t.what;
  // The bus form decides the same.
  ChildProperties p;
  p.state = to_string(t.state);
  p.must_be_locked = t.must_be_locked;
  p.is_locked = t.locked > 0;
  p.locked_bytes = t.locked;
  p.swapped_bytes = t.swapped;
  EXPECT_EQ(in_trouble(p), t.trouble) << t.what;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InTrouble,
    ::testing::Values(TroubleCase{"failed", ChildState::Failed, false, 0, 0, true},
                      TroubleCase{"running locked", ChildState::Running, true, 4096, 0, false},
                      TroubleCase{"running unlocked", ChildState::Running, true, 0, 0, true},
                      TroubleCase{"running locked, in swap", ChildState::Running, true, 4096, 1,
                                  true},
                      TroubleCase{"need not lock", ChildState::Running, false, 0, 4096, false},
                      TroubleCase{"starting unlocked", ChildState::Starting, true, 0, 0, false},
                      TroubleCase{"stopped", ChildState::Stopped, true, 0, 0, false},
                      TroubleCase{"exited", ChildState::Exited, true, 0, 0, false},
                      TroubleCase{"backoff (crash loop)", ChildState::Backoff, false, 0, 0, true}));

// Asked to be an I/O flusher, running without the flags: trouble whether or not it must
// be locked; the bus form (WantsIoFlusher, IoFlusher) decides the same.
TEST(InTrouble, AMissingIoFlusherOfARunningChildIsTrouble) {
  struct Case {
    ChildState state;
    bool wants;
    const char* io_flusher;
    bool trouble;
  };
  for (const Case c : {Case{ChildState::Running, true, kIoFlusherNo, true},
                       Case{ChildState::Running, true, kIoFlusherYes, false},
                       Case{ChildState::Running, true, "", false},
                       Case{ChildState::Running, false, kIoFlusherNo, false},
                       Case{ChildState::Starting, true, kIoFlusherNo, false}}) {
    SCOPED_TRACE(std::string(to_string(c.state)) + (c.wants ? " wants " : " ") + c.io_flusher);
    const bool missing = c.wants && std::string(c.io_flusher) == kIoFlusherNo;
    EXPECT_EQ(in_trouble(TroubleFacts{c.state, false, 0, 0, 0, 0, missing}), c.trouble);
    ChildProperties p;
    p.state = to_string(c.state);
    p.wants_io_flusher = c.wants;
    p.io_flusher = c.io_flusher;
    EXPECT_EQ(in_trouble(p), c.trouble);
  }
}

TEST(InTrouble, AnUnknownStateOnTheBusIsNotTrouble) {
  ChildProperties p;
  p.state = "?";
  p.must_be_locked = true;
  EXPECT_FALSE(in_trouble(p));
}

TEST(ChildStateNames, RoundTrip) {
  for (ChildState s :
       {ChildState::Starting, ChildState::Running, ChildState::Backoff, ChildState::Stopping,
        ChildState::Stopped, ChildState::Failed, ChildState::Exited})
    EXPECT_EQ(parse_child_state(to_string(s)), s) << to_string(s);
  EXPECT_EQ(parse_child_state("Running"), std::nullopt);
}

}  // namespace
}  // namespace duende::supervisor
