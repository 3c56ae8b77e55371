// The API on the wire is the API in dbus/org.duende.MlockSupervisor1.xml: busctl (a real
// client) lists every interface and member of it on the manager and on a child object,
// the live Introspect data equals the XML member for member (arguments, types,
// privileged and const annotations), and child paths are escaped as sd_bus_path_encode
// does.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "bus_harness.hpp"

namespace duende::itest {
namespace {

// One member of an introspected interface.
struct Member {
  std::string kind;  // method | property | signal
  std::string type, access;
  std::vector<std::string> args;  // "name:type:direction"
  std::map<std::string, std::string> annotations;
  bool operator==(const Member&) const = default;
};
using Interface = std::map<std::string, Member>;  // by member name

std::ostream& operator<<(std::ostream& out, const Member& m) {
  out << m.kind << " type=" << m.type << " access=" << m.access << " args=[";
  for (const auto& a : m.args) out << a << " ";
  out << "] annotations={";
  for (const auto& [k, v] : m.annotations) out << k << "=" << v << " ";
  return out << "}";
}

std::map<std::string, std::string> attributes(const std::string& text) {
  std::map<std::string, std::string> out;
  static const std::regex kAttr(R"re(([A-Za-z_:]+)\s*=\s*"([^"]*)")re");
  for (std::sregex_iterator it(text.begin(), text.end(), kAttr), end; it != end; ++it)
    out[(*it)[1]] = (*it)[2];
  return out;
}

// Parses D-Bus introspection XML (the subset it uses: interface, method, property,
// signal, arg, annotation, node) into interfaces by name. Child <node>s go to `nodes`.
std::map<std::string, Interface> parse_introspection(std::string xml,
                                                     std::vector<std::string>* nodes = nullptr) {
  for (auto at = xml.find("<!--"); at != std::string::npos; at = xml.find("<!--", at))
    xml.erase(at, xml.find("-->", at) + 3 - at);
  std::map<std::string, Interface> out;
  std::string interface, member;
  static const std::regex kTag(R"re(<(/?)([A-Za-z]+)([^>]*?)(/?)>)re");
  for (std::sregex_iterator it(xml.begin(), xml.end(), kTag), end; it != end; ++it) {
    const bool closing = (*it)[1] == "/";
    const std::string tag = (*it)[2];
    const auto attrs = attributes((*it)[3]);
    const auto attr = [&](const char* key) {
      const auto a = attrs.find(key);
      return a == attrs.end() ? std::string() : a->second;
    };
    if (tag == "interface") {
      interface = closing ? "" : attr("name");
      if (!closing) out[interface];
    } else if (tag == "method" || tag == "property" || tag == "signal") {
      if (closing) {
        member.clear();
        continue;
      }
      Member& m = out[interface][attr("name")];
      m.kind = tag;
      m.type = attr("type");
      m.access = attr("access");
      member = (*it)[4] == "/" ? "" : attr("name");
    } else if (tag == "arg" && !member.empty()) {
      Member& m = out[interface][member];
      std::string direction = attr("direction");
      if (direction.empty() && m.kind == "method") direction = "in";
      m.args.push_back(attr("name") + ":" + attr("type") + ":" + direction);
    } else if (tag == "annotation" && !member.empty()) {
      // Method.Async tells the code generator to hand the method an sdbus::Result<>; it
      // is not part of what the bus sees.
      if (attr("name") != "org.freedesktop.DBus.Method.Async")
        out[interface][member].annotations[attr("name")] = attr("value");
    } else if (tag == "node" && !closing && nodes && !attr("name").empty()) {
      nodes->push_back(attr("name"));
    }
  }
  return out;
}

std::map<std::string, Interface> project_xml() {
  std::ifstream in(kInterfaceXml);
  std::ostringstream s;
  s << in.rdbuf();
  return parse_introspection(s.str());
}

// One row of `busctl introspect`: NAME TYPE SIGNATURE RESULT/VALUE FLAGS.
struct Row {
  std::string type, signature, result, flags;
};

// Rows by "interface" (the interface line) and "interface.member".
std::map<std::string, Row> busctl_rows(const std::string& text) {
  std::map<std::string, Row> rows;
  std::istringstream in(text);
  std::string line, interface;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    Row row;
    fields >> name >> row.type >> row.signature >> row.result;
    std::string last = row.result;
    for (std::string f; fields >> f;) last = f;
    row.flags = last;
    if (row.type == "interface") {
      interface = name;
      rows[name] = row;
    } else if (!name.empty() && name[0] == '.') {
      rows[interface + name] = row;
    }
  }
  return rows;
}

// The concatenated types of a method's arguments in `direction` ("-" when none), as
// busctl shows them.
std::string signature(const Member& m, const std::string& direction) {
  std::string sig;
  for (const auto& arg : m.args) {
    const auto first = arg.find(':'), second = arg.rfind(':');
    if (arg.substr(second + 1) == direction) sig += arg.substr(first + 1, second - first - 1);
  }
  return sig.empty() ? "-" : sig;
}

class BusIntrospect : public BusTest {
 protected:
  void SetUp() override {
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const std::string name : {"demo-lib", "x_y", "a.b@c", "9lives"})
      h.config["children"][name] = idle_child();
    start_daemon();
    for (const std::string name : {"demo-lib", "x_y", "a.b@c", "9lives"})
      wait_child_state(name, "running");
  }

  // Checks that busctl's rows for `path` list `interface` and each of its members.
  void expect_busctl_lists(const std::map<std::string, Row>& rows, const std::string& interface,
                           const Interface& members) {
    ASSERT_TRUE(rows.count(interface)) << interface << " not listed";
    for (const auto& [name, m] : members) {
      SCOPED_TRACE(interface + "." + name);
      const auto it = rows.find(interface + "." + name);
      ASSERT_NE(it, rows.end()) << "member not listed";
      const Row& row = it->second;
      EXPECT_EQ(row.type, m.kind);
      if (m.kind == "method") {
        EXPECT_EQ(row.signature, signature(m, "in"));
        EXPECT_EQ(row.result, signature(m, "out"));
      } else if (m.kind == "signal") {
        EXPECT_EQ(row.signature, signature(m, ""));
      } else {
        EXPECT_EQ(row.signature, m.type);
        const bool is_const =
            m.annotations.count("org.freedesktop.DBus.Property.EmitsChangedSignal") &&
            m.annotations.at("org.freedesktop.DBus.Property.EmitsChangedSignal") == "const";
        EXPECT_EQ(row.flags, is_const ? "const" : "emits-change");
      }
    }
  }

  std::string introspect(const std::string& path) {
    auto proxy = sdbus::createProxy(client().connection(), kBusName, path);
    std::string xml;
    proxy->callMethod("Introspect")
        .onInterface("org.freedesktop.DBus.Introspectable")
        .storeResultsTo(xml);
    return xml;
  }
};

TEST_F(BusIntrospect, BusctlListsTheManagerAndObjectManagerInterfacesAndEveryMember) {
  const RunResult r = busctl({"introspect", kBusName, kManagerPath});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = busctl_rows(r.out);
  const auto xml = project_xml();
  ASSERT_TRUE(xml.count(kManagerInterface));
  EXPECT_EQ(xml.at(kManagerInterface).size(), 23u) << "12 properties, 9 methods, 2 signals";
  expect_busctl_lists(rows, kManagerInterface, xml.at(kManagerInterface));
  // The standard interfaces, ObjectManager first among them.
  ASSERT_TRUE(rows.count(kObjectManagerInterface));
  EXPECT_EQ(rows.at("org.freedesktop.DBus.ObjectManager.GetManagedObjects").result,
            "a{oa{sa{sv}}}");
  EXPECT_EQ(rows.at("org.freedesktop.DBus.ObjectManager.InterfacesAdded").signature, "oa{sa{sv}}");
  EXPECT_EQ(rows.at("org.freedesktop.DBus.ObjectManager.InterfacesRemoved").signature, "oas");
  for (const char* i : {"org.freedesktop.DBus.Properties", "org.freedesktop.DBus.Introspectable",
                        "org.freedesktop.DBus.Peer"})
    EXPECT_TRUE(rows.count(i)) << i;
  // Values are live: the version, and four children.
  EXPECT_NE(r.out.find(std::string("\"") + kVersion + "\""), std::string::npos) << r.out;
  EXPECT_EQ(rows.at(std::string(kManagerInterface) + ".ChildCount").result, "4");
}

TEST_F(BusIntrospect, BusctlListsEveryMemberOfAChildObject) {
  const RunResult r =
      busctl({"introspect", kBusName, "/org/duende/MlockSupervisor1/child/demo_2dlib"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = busctl_rows(r.out);
  const auto xml = project_xml();
  ASSERT_TRUE(xml.count(kChildInterface));
  EXPECT_EQ(xml.at(kChildInterface).size(), 40u) << "37 properties, 3 methods";
  expect_busctl_lists(rows, kChildInterface, xml.at(kChildInterface));
  EXPECT_FALSE(rows.count(kManagerInterface));
  EXPECT_NE(r.out.find("\"demo-lib\""), std::string::npos) << r.out;
}

TEST_F(BusIntrospect, LiveIntrospectionEqualsTheInterfaceXml) {
  const auto xml = project_xml();
  // (The parser reads arguments and annotations, so equality below means something.)
  EXPECT_EQ(xml.at(kManagerInterface).at("GetChild").args,
            (std::vector<std::string>{"name:s:in", "child:o:out"}));
  // Not privileged for sd-bus, which would refuse a non-root caller before the daemon's
  // own authorization (root, else polkit) is asked; so live introspection shows none either.
  for (const char* method : {"StartChild", "StopChild", "Reload", "Reexec"})
    EXPECT_EQ(xml.at(kManagerInterface)
                  .at(method)
                  .annotations.count("org.freedesktop.systemd1.Privileged"),
              0u)
        << method;
  EXPECT_EQ(xml.at(kManagerInterface).at("Reexec").args, std::vector<std::string>{});
  for (const char* property : {"StartedAt", "Restarts", "Reexecs", "ReexecFailure"})
    EXPECT_EQ(xml.at(kManagerInterface).at(property).kind, "property") << property;
  for (const char* property : {"StartedAt", "Adopted", "AdoptedAt"})
    EXPECT_EQ(xml.at(kChildInterface).at(property).kind, "property") << property;
  std::vector<std::string> nodes;
  const auto manager = parse_introspection(introspect(kManagerPath), &nodes);
  ASSERT_TRUE(manager.count(kManagerInterface));
  EXPECT_EQ(manager.at(kManagerInterface).size(), xml.at(kManagerInterface).size());
  for (const auto& [name, m] : xml.at(kManagerInterface))
    EXPECT_EQ(manager.at(kManagerInterface).count(name) ? manager.at(kManagerInterface).at(name)
                                                        : Member{},
              m)
        << "Manager." << name;
  EXPECT_TRUE(manager.count(kObjectManagerInterface));
  EXPECT_EQ(nodes, std::vector<std::string>{"child"});

  const auto child = parse_introspection(introspect(child_path("demo-lib")));
  ASSERT_TRUE(child.count(kChildInterface));
  for (const auto& [name, m] : xml.at(kChildInterface))
    EXPECT_EQ(child.at(kChildInterface).count(name) ? child.at(kChildInterface).at(name) : Member{},
              m)
        << "Child." << name;
  EXPECT_EQ(child.at(kChildInterface).size(), xml.at(kChildInterface).size());
  EXPECT_FALSE(child.count(kObjectManagerInterface));
}

TEST_F(BusIntrospect, ChildPathsAreEscapedAsSdBusPathEncodeDoes) {
  const RunResult r = busctl({"tree", "--list", kBusName});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> children;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(std::string(kChildPathPrefix) + "/", 0) == 0) children.push_back(line);
  EXPECT_EQ(children, (std::vector<std::string>{"/org/duende/MlockSupervisor1/child/_39lives",
                                                "/org/duende/MlockSupervisor1/child/a_2eb_40c",
                                                "/org/duende/MlockSupervisor1/child/demo_2dlib",
                                                "/org/duende/MlockSupervisor1/child/x_5fy"}))
      << r.out;
  // And each answers to its own name.
  for (const std::string name : {"demo-lib", "x_y", "a.b@c", "9lives"})
    EXPECT_EQ(prop<std::string>(client().child_properties(name), "Name"), name);
  // mlockctl decodes them back.
  const RunResult list = mlockctl({"list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  for (const std::string name : {"demo-lib", "x_y", "a.b@c", "9lives"})
    EXPECT_NE(list.out.find(name + " running "), std::string::npos) << list.out;
}

}  // namespace
}  // namespace duende::itest
