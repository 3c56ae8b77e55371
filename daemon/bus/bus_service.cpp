#include "bus/bus_service.hpp"

#include <poll.h>
#include <sdbus-c++/sdbus-c++.h>
#include <sys/epoll.h>
#include <time.h>

#include <algorithm>

#include "bus/bus_authorization.hpp"
#include "bus/bus_objects.hpp"
#include "bus/bus_probe.hpp"
#include "os/log.hpp"

namespace duende::supervisor {

BusService::BusService(EventLoop& loop, Supervisor& supervisor, ReexecControl* reexec)
    : loop_(loop),
      supervisor_(supervisor),
      reexec_(reexec),
      bus_timeout_(loop, [] {}),  // waking the loop is enough: before_sleep() processes
      reconnect_(loop, [this] { connect(); }) {
  supervisor_.set_observer(this);
  connect();
}

BusService::~BusService() {
  supervisor_.set_observer(nullptr);
  teardown();
}

void BusService::connect() {
  // First wait, without blocking, for the bus to answer (see bus_probe.hpp). Out of
  // descriptors or memory, the attempt fails and is retried like a bus that is away.
  try {
    probe_ = std::make_unique<BusProbe>(loop_, std::chrono::seconds(10),
                                        [this](bool ok, const std::string& why) {
                                          probe_ok_ = ok;
                                          probe_why_ = why;
                                        });
  } catch (const std::exception& e) {
    probe_.reset();
    disconnect(std::string("cannot start connecting: ") + e.what());
  }
}

void BusService::open_connection() {
  try {
    connection_ = sdbus::createSystemBusConnection();
    authorizer_ = std::make_unique<Authorizer>();
    manager_ = std::make_unique<ManagerObject>(*connection_, supervisor_, reexec_, *authorizer_);
    for (const auto& [name, child] : supervisor_.children())
      children_[name] =
          std::make_unique<ChildObject>(*connection_, supervisor_, *child, *authorizer_);
    broken_ = false;
    request_name();
  } catch (const sdbus::Error& e) {
    disconnect(e.getMessage().empty() ? e.getName() : e.getName() + ": " + e.getMessage());
  } catch (const std::exception& e) {
    disconnect(e.what());
  }
}

// Objects first, name last: a client that sees the name finds everything in place.
// Asynchronously: a synchronous call would wait on the loop's only thread for a bus that
// may be stuck (at boot, under memory pressure), and supervision must never wait for it.
void BusService::request_name() {
  bus_proxy_ = sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  bus_proxy_->callMethodAsync("RequestName")
      .onInterface("org.freedesktop.DBus")
      .withTimeout(std::chrono::seconds(10))
      .withArguments(std::string(kBusName), std::uint32_t{0})
      .uponReplyInvoke([this](const sdbus::Error* error, std::uint32_t reply) {
        if (error) {
          name_failure_ = error->getName() + ": " + error->getMessage();
        } else if (reply != 1 && reply != 4) {  // PRIMARY_OWNER, ALREADY_OWNER
          name_failure_ = std::string(kBusName) + " is owned by another process";
        } else {
          log_notice(std::string("D-Bus: connected to the system bus as ") + kBusName);
          retry_delay_sec_ = 0.25;
          return;
        }
        broken_ = true;  // disconnect (and retry) at the next before_sleep()
      });
}

void BusService::teardown() {
  if (watched_fd_ >= 0) loop_.remove(watched_fd_);
  watched_fd_ = -1;
  bus_timeout_.disarm();
  try {
    bus_proxy_.reset();
    authorizer_.reset();  // first: its pending checks answer for the objects below
    children_.clear();
    manager_.reset();
    connection_.reset();
  } catch (...) {  // tearing down a dead connection may complain; it is gone either way
  }
  children_.clear();
}

void BusService::disconnect(const std::string& why) {
  teardown();
  log_warning("D-Bus: not connected (" + why + "); supervision goes on, retrying in " +
              std::to_string(retry_delay_sec_).substr(0, 4) + " s");
  schedule_reconnect();
}

void BusService::schedule_reconnect() {
  reconnect_.arm(seconds(retry_delay_sec_));
  retry_delay_sec_ = std::min(retry_delay_sec_ * 2, 30.0);
}

bool BusService::before_sleep() {
  if (probe_ && probe_->finished()) {  // destroyed here, outside the probe's own callbacks
    probe_.reset();
    if (probe_ok_)
      open_connection();
    else
      disconnect(probe_why_);
  }
  if (!connection_) return false;
  bool more = false;
  try {
    if (broken_) {
      const std::string why = name_failure_.empty() ? "connection lost" : name_failure_;
      name_failure_.clear();
      throw std::runtime_error(why);
    }
    // The manager's figures are sums over the children: published once per loop round,
    // however many children changed in it. A re-exec's failure comes from outside the
    // core: compared each round.
    if (manager_dirty_ || manager_->out_of_date()) {
      manager_dirty_ = false;
      manager_->publish_changes();
    }
    for (int n = 0; n < kMessagesPerRound && (more = connection_->processPendingRequest()); ++n) {
    }
    const auto poll_data = connection_->getEventLoopPollData();
    std::uint32_t events = 0;
    if (poll_data.events & POLLIN) events |= EPOLLIN;
    if (poll_data.events & POLLOUT) events |= EPOLLOUT;
    if (poll_data.fd != watched_fd_ || events != watched_events_) {
      if (watched_fd_ >= 0 && watched_fd_ != poll_data.fd) loop_.remove(watched_fd_);
      watched_fd_ = poll_data.fd;
      watched_events_ = events;
      loop_.add(watched_fd_, events, [this](std::uint32_t ready) {
        if (ready & (EPOLLHUP | EPOLLERR)) broken_ = true;
      });
    }
    const auto timeout = poll_data.getRelativeTimeout();
    if (timeout)
      bus_timeout_.arm(*timeout);
    else
      bus_timeout_.disarm();
  } catch (const sdbus::Error& e) {
    disconnect(e.getName() + ": " + e.getMessage());
    return false;
  } catch (const std::exception& e) {
    disconnect(e.what());
    return false;
  }
  return more;
}

// Runs `publish` when connected. A failure to send means the connection is unusable:
// it is torn down and retried at the next before_sleep(), never here in the middle of a
// supervisor callback.
template <class F>
void BusService::when_connected(F&& publish) {
  if (!connection_) return;
  try {
    publish();
  } catch (const std::exception&) {
    broken_ = true;
  }
}

void BusService::child_added(const Child& child) {
  when_connected([&] {
    children_[child.name()] =
        std::make_unique<ChildObject>(*connection_, supervisor_, child, *authorizer_);
    manager_dirty_ = true;
  });
}

void BusService::child_removed(const std::string& name) {
  when_connected([&] {
    children_.erase(name);  // emits InterfacesRemoved, then unregisters
    manager_dirty_ = true;
  });
}

void BusService::child_changed(const Child& child) {
  when_connected([&] {
    const auto it = children_.find(child.name());
    if (it != children_.end()) it->second->publish_changes(child);
    manager_dirty_ = true;
  });
}

void BusService::lock_lost(const Child& child) {
  when_connected([&] { manager_->lock_lost(child); });
}

void BusService::swap_backend_lost(const Child& child) {
  when_connected([&] { manager_->swap_backend_lost(child); });
}

void BusService::manager_changed() { manager_dirty_ = true; }

}  // namespace duende::supervisor
