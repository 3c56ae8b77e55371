#include "private_bus.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "peer.hpp"
#include "proc_reader.hpp"

namespace duende::peers {
namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
}

}  // namespace

PrivateBus::PrivateBus(const std::string& dir, const std::string& config_template,
                       const std::string& policy)
    : socket_(dir + "/bus.sock") {
  std::string text = read_text(config_template);
  if (text.empty()) throw std::runtime_error("cannot read " + config_template);
  replace_all(text, "@SOCKET@", socket_);
  replace_all(text, "@POLICY@", policy);
  write_file(dir + "/bus.conf", text);
  SpawnOptions o;
  o.argv = {find_program("dbus-daemon"), "--config-file=" + dir + "/bus.conf", "--nofork",
            "--nopidfile"};
  if (o.argv[0].empty()) throw std::runtime_error("dbus-daemon is not installed");
  o.env = base_environment("");
  id_ = identify(spawn(o));
  struct stat st {};
  for (int i = 0; i < 1000 && stat(socket_.c_str(), &st) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (stat(socket_.c_str(), &st) != 0) throw std::runtime_error("dbus-daemon did not listen");
}

PrivateBus::~PrivateBus() { stop_processes(id_, SIGTERM, {id_}, std::chrono::seconds(5)); }

}  // namespace duende::peers
