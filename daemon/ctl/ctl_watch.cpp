#include "ctl/ctl_watch.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "api/bus_names.hpp"
#include "api/human_size.hpp"
#include "ctl/ctl_bus.hpp"
#include "ctl/ctl_exit_codes.hpp"
#include "ctl/ctl_format.hpp"
#include "ctl/ctl_show.hpp"
#include "ctl/ctl_watch_filter.hpp"

namespace duende::supervisor {
namespace {

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::uint64_t now_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

nlohmann::ordered_json variant_json(const sdbus::Variant& v) {
  if (v.containsValueOfType<std::string>()) return v.get<std::string>();
  if (v.containsValueOfType<bool>()) return v.get<bool>();
  if (v.containsValueOfType<uint32_t>()) return v.get<uint32_t>();
  if (v.containsValueOfType<int32_t>()) return v.get<int32_t>();
  if (v.containsValueOfType<uint64_t>()) return v.get<uint64_t>();
  if (v.containsValueOfType<std::vector<std::string>>()) return v.get<std::vector<std::string>>();
  PropertyMap one{{"Processes", v}};
  const CtlChild c = child_from("", one, CtlChild{});
  if (!c.processes.empty() || v.peekValueType() == "a(usbtt)") return processes_json(c);
  return "(" + v.peekValueType() + ")";
}

std::map<std::string, std::string> as_text(
    const std::vector<std::pair<std::string, std::string>>& e) {
  return {e.begin(), e.end()};
}

class Watcher {
 public:
  Watcher(sdbus::IConnection& connection, bool json) : connection_(connection), json_(json) {}

  void say(const std::string& line) {
    std::printf("%s %s\n", now_text().c_str(), line.c_str());
    std::fflush(stdout);
  }

  void event(const char* kind, const std::string& name, nlohmann::ordered_json extra = {}) {
    nlohmann::ordered_json doc = {
        {"format", 1}, {"time_us", now_us()}, {"event", kind}, {"name", name}};
    for (auto& [k, v] : extra.items()) doc[k] = v;
    std::printf("%s\n", doc.dump().c_str());
    std::fflush(stdout);
  }

  // The supervisor is there: read everything, remember it, say so.
  void arrived(bool first) {
    try {
      const CtlSnapshot s = read_snapshot(connection_, running_owner(connection_));
      filter_.forget_all();
      children_.clear();
      filter_.seed("supervisor", as_text(show_entries(static_cast<const ManagerProperties&>(s))));
      for (const auto& c : s.children) {
        children_[c.name] = c;
        filter_.seed(c.name, as_text(show_entries(c)));
      }
      if (json_)
        event(first ? "watching" : "supervisor-back", "supervisor",
              {{"children", s.children.size()}, {"version", s.version}, {"state", s.state}});
      else
        say(std::string(first ? "watching " : "mlock-supervisor is back: ") +
            std::to_string(s.children.size()) + " children of mlock-supervisor " + s.version +
            " (state " + s.state + ")" + (first ? "; Ctrl-C to stop" : ""));
    } catch (const CtlError& e) {
      if (!first) throw;
      if (e.code != kCtlNotRunning) throw;
      if (json_)
        event("supervisor-gone", "supervisor");
      else
        say("mlock-supervisor is not running; waiting for it");
    } catch (const sdbus::Error& e) {
      if (json_)
        event("supervisor-gone", "supervisor");
      else
        say("mlock-supervisor is not answering (" + e.getMessage() + "); waiting for it");
    }
  }

  void properties_changed(sdbus::Message& msg) {
    std::string interface;
    PropertyMap changed;
    msg >> interface >> changed;
    const std::string path = msg.getPath();
    const bool manager = path == std::string(kManagerPath);
    const std::string who = manager ? "supervisor" : child_name(path);
    if (json_) {
      nlohmann::ordered_json c = nlohmann::ordered_json::object();
      for (const auto& [k, v] : changed) c[k] = variant_json(v);
      return event("changed", who, {{"object", manager ? "manager" : "child"}, {"changed", c}});
    }
    std::map<std::string, std::string> text;
    if (manager) {
      for (const auto& [k, v] : show_entries(manager_from(changed, {})))
        if (changed.count(k)) text[k] = v;
    } else {
      CtlChild& c = children_[who];
      c = child_from(path, changed, c);
      for (const auto& [k, v] : show_entries(c))
        if (changed.count(k)) text[k] = v;
    }
    for (const auto& line : filter_.changes(who, text)) say(line);
  }

  void lock_lost(sdbus::Message& msg) {
    std::string name;
    std::uint64_t locked = 0, swapped = 0;
    msg >> name >> locked >> swapped;
    if (json_)
      return event("lock-lost", name, {{"locked_bytes", locked}, {"swapped_bytes", swapped}});
    say(name + ": lost its lock (VmLck " + human_size(locked) + ", " + human_size(swapped) +
        " in swap)");
  }

  void swap_backend_lost(sdbus::Message& msg) {
    std::string name, device;
    msg >> name >> device;
    if (json_) return event("swap-backend-lost", name, {{"device", device}});
    say(name + ": died with its swap on " + device + " (processes with pages there hang)");
  }

  void added_or_removed(sdbus::Message& msg, bool added) {
    sdbus::ObjectPath path;
    msg >> path;
    const std::string name = child_name(path);
    if (added) {
      std::map<std::string, PropertyMap> interfaces;
      msg >> interfaces;
      const auto it = interfaces.find(kChildInterface);
      CtlChild c = it == interfaces.end() ? CtlChild{} : child_from(path, it->second, {});
      children_[name] = c;
      filter_.seed(name, as_text(show_entries(c)));
    } else {
      children_.erase(name);
      filter_.forget(name);
    }
    if (json_) return event(added ? "added" : "removed", name);
    say(name + (added ? ": added" : ": removed"));
  }

  void owner_changed(sdbus::Message& msg) {
    std::string name, old_owner, new_owner;
    msg >> name >> old_owner >> new_owner;
    if (name != kBusName) return;
    if (!old_owner.empty() && new_owner.empty()) {
      if (json_)
        event("supervisor-gone", "supervisor");
      else
        say("mlock-supervisor went away (its name has no owner on the bus)");
    } else if (!new_owner.empty()) {
      arrived(false);
    }
  }

 private:
  sdbus::IConnection& connection_;
  bool json_;
  WatchFilter filter_;
  std::map<std::string, CtlChild> children_;
};

std::string signal_match(const char* interface, const char* member, const std::string& extra) {
  return std::string("type='signal',sender='") + kBusName + "',interface='" + interface +
         "',member='" + member + "'" + extra;
}

}  // namespace

int run_watch(sdbus::IConnection& connection, bool json) {
  Watcher w(connection, json);
  const std::string under = std::string(",path_namespace='") + kManagerPath + "'";
  const auto on = [&](const char* interface, const char* member, const std::string& extra,
                      auto handler) {
    return connection.addMatch(signal_match(interface, member, extra), handler);
  };
  auto s1 = on("org.freedesktop.DBus.Properties", "PropertiesChanged", under,
               [&](sdbus::Message& m) { w.properties_changed(m); });
  auto s2 = on(kManagerInterface, "LockLost", "", [&](sdbus::Message& m) { w.lock_lost(m); });
  auto s3 = on(kManagerInterface, "SwapBackendLost", "",
               [&](sdbus::Message& m) { w.swap_backend_lost(m); });
  auto s4 = on("org.freedesktop.DBus.ObjectManager", "InterfacesAdded", "",
               [&](sdbus::Message& m) { w.added_or_removed(m, true); });
  auto s5 = on("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", "",
               [&](sdbus::Message& m) { w.added_or_removed(m, false); });
  auto s6 = connection.addMatch(
      std::string("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                  "member='NameOwnerChanged',arg0='") +
          kBusName + "'",
      [&](sdbus::Message& m) { w.owner_changed(m); });
  w.arrived(true);
  connection.enterEventLoop();
  return kCtlOk;
}

}  // namespace duende::supervisor
