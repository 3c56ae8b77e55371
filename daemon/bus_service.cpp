#include "bus_service.hpp"

#include <poll.h>
#include <sdbus-c++/sdbus-c++.h>
#include <sys/epoll.h>
#include <time.h>

#include <algorithm>

#include "bus_objects.hpp"
#include "log.hpp"

namespace duende::supervisor {

BusService::BusService(EventLoop& loop, Supervisor& supervisor)
    : loop_(loop),
      supervisor_(supervisor),
      bus_timeout_(loop, [] {}),  // waking the loop is enough: before_sleep() processes
      reconnect_(loop, [this] { connect(); }) {
  supervisor_.set_observer(this);
  connect();
}

BusService::~BusService() {
  supervisor_.set_observer(nullptr);
  disconnect("shutting down");
}

void BusService::connect() {
  try {
    connection_ = sdbus::createSystemBusConnection();
    manager_ = std::make_unique<ManagerObject>(*connection_, supervisor_);
    for (const auto& [name, child] : supervisor_.children())
      children_[name] = std::make_unique<ChildObject>(*connection_, supervisor_, *child);
    // Objects first, name last: a client that sees the name finds everything in place.
    connection_->requestName(kBusName);
    log_notice(std::string("D-Bus: connected to the system bus as ") + kBusName);
    retry_delay_sec_ = 0.25;
    broken_ = false;
  } catch (const sdbus::Error& e) {
    disconnect(e.getMessage().empty() ? e.getName() : e.getName() + ": " + e.getMessage());
  } catch (const std::exception& e) {
    disconnect(e.what());
  }
}

void BusService::disconnect(const std::string& why) {
  if (watched_fd_ >= 0) loop_.remove(watched_fd_);
  watched_fd_ = -1;
  bus_timeout_.disarm();
  try {
    children_.clear();
    manager_.reset();
    connection_.reset();
  } catch (...) {  // tearing down a dead connection may complain; it is gone either way
  }
  children_.clear();
  if (why != "shutting down") {
    log_warning("D-Bus: not connected (" + why + "); supervision goes on, retrying in " +
                std::to_string(retry_delay_sec_).substr(0, 4) + " s");
    schedule_reconnect();
  }
}

void BusService::schedule_reconnect() {
  reconnect_.arm(seconds(retry_delay_sec_));
  retry_delay_sec_ = std::min(retry_delay_sec_ * 2, 30.0);
}

void BusService::before_sleep() {
  if (!connection_) return;
  try {
    if (broken_) throw std::runtime_error("connection lost");
    while (connection_->processPendingRequest()) {
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
  } catch (const std::exception& e) {
    disconnect(e.what());
  }
}

void BusService::child_added(const Child& child) {
  if (!connection_) return;
  try {
    children_[child.name()] = std::make_unique<ChildObject>(*connection_, supervisor_, child);
    manager_->publish_changes();
  } catch (const std::exception&) {
    broken_ = true;
  }
}

void BusService::child_removed(const std::string& name) {
  if (!connection_) return;
  try {
    children_.erase(name);  // emits InterfacesRemoved, then unregisters
    manager_->publish_changes();
  } catch (const std::exception&) {
    broken_ = true;
  }
}

void BusService::child_changed(const Child& child) {
  if (!connection_) return;
  try {
    const auto it = children_.find(child.name());
    if (it != children_.end()) it->second->publish_changes(child);
    manager_->publish_changes();
  } catch (const std::exception&) {
    broken_ = true;
  }
}

void BusService::lock_lost(const Child& child) {
  if (!connection_) return;
  try {
    manager_->lock_lost(child);
  } catch (const std::exception&) {
    broken_ = true;
  }
}

void BusService::manager_changed() {
  if (!connection_) return;
  try {
    manager_->publish_changes();
  } catch (const std::exception&) {
    broken_ = true;
  }
}

}  // namespace duende::supervisor
