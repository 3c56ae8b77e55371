// The supervisor on the system bus: owns the connection, the manager object and one
// object per child, and keeps them in step with the core (SupervisorObserver).
//
// The bus is never in the way of supervision: the connection joins the one event loop
// (its fd in epoll, its timeout on a timerfd, its queue drained before every sleep). If
// the bus is absent at start, or goes away later, the children go on being supervised
// and the service reconnects with backoff (0.25 s doubling to 30 s), then registers its
// objects and requests its name again. No call waits for the bus: the name is requested
// asynchronously, and its reply arrives through the loop like any other message.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/reexec_control.hpp"
#include "core/supervisor.hpp"
#include "os/event_loop.hpp"

namespace sdbus {
class IConnection;
class IProxy;
}  // namespace sdbus

namespace duende::supervisor {

class Authorizer;
class BusProbe;
class ManagerObject;
class ChildObject;

class BusService final : public SupervisorObserver {
 public:
  // Tries to connect at once; on failure schedules retries. Registers as the observer.
  // `reexec` serves the Manager's Reexec() and ReexecFailure; null: no re-exec offered
  // (Reexec() fails with org.freedesktop.DBus.Error.Failed). Used from before_sleep() and
  // the D-Bus handlers only: it may go first when the service is being destroyed.
  BusService(EventLoop& loop, Supervisor& supervisor, ReexecControl* reexec = nullptr);
  ~BusService();

  // Works through at most kMessagesPerRound of the connection's queued messages and
  // re-arms the loop for its fd and timeout; call before every sleep of the loop
  // (sdbus-c++ can queue messages without waking poll). Returns true when messages are
  // left: the loop must poll its other sources, then call again, without sleeping. Any
  // client on the system bus may send, so a flood of requests gets one bounded slice per
  // round and supervision (signals, pidfds, timers) the rest.
  bool before_sleep();
  static constexpr int kMessagesPerRound = 16;
  bool connected() const { return connection_ != nullptr; }

  void child_added(const Child& child) override;
  void child_removed(const std::string& name) override;
  void child_changed(const Child& child) override;
  void lock_lost(const Child& child) override;
  void swap_backend_lost(const Child& child) override;
  void manager_changed() override;

 private:
  void connect();
  void open_connection();
  void teardown();
  void disconnect(const std::string& why);  // teardown(), log why, retry later
  void schedule_reconnect();
  void request_name();
  template <class F>
  void when_connected(F&& publish);

  EventLoop& loop_;
  Supervisor& supervisor_;
  ReexecControl* reexec_;
  std::unique_ptr<BusProbe> probe_;  // waiting for the bus to answer, before connection_
  bool probe_ok_ = false;
  std::string probe_why_;
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> bus_proxy_;  // org.freedesktop.DBus, for RequestName
  // Decides on the callers of the objects' mutating methods; torn down before them, so
  // that no pending check outlives an object it would answer for.
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<ManagerObject> manager_;
  std::map<std::string, std::unique_ptr<ChildObject>> children_;
  int watched_fd_ = -1;
  std::uint32_t watched_events_ = 0;
  FdTimer bus_timeout_;  // the connection's own timeout (method-call replies, …)
  FdTimer reconnect_;
  double retry_delay_sec_ = 0.25;
  bool manager_dirty_ = false;  // the manager may have changed: publish in before_sleep()
  bool broken_ = false;         // an error was seen: disconnect at the next before_sleep()
  std::string name_failure_;    // why RequestName failed, for the log
};

}  // namespace duende::supervisor
