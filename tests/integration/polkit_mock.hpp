// polkitd for the D-Bus tests: python3-dbusmock's polkitd template on the test's private
// system bus (it owns org.freedesktop.PolicyKit1 and answers CheckAuthorization as told:
// SetAllowed, SimulateHang, ReleaseHangingCalls; it logs every call). And a caller that
// keeps many calls in flight at once as nobody, as a flood of unauthorized calls would.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bus_harness.hpp"

namespace duende::itest {

inline constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
inline constexpr const char* kPolkitManage = "org.duende.MlockSupervisor1.manage";
inline constexpr const char* kPolkitForceStop = "org.duende.MlockSupervisor1.force-stop";

// Whether python3 can import dbusmock (Debian: python3-dbusmock).
bool dbusmock_available();

class PolkitMock {
 public:
  // Starts the mock on the bus at `address` and waits until it owns
  // org.freedesktop.PolicyKit1; every action is denied until set_allowed(). `output` is
  // the file its output goes to. Throws std::runtime_error when it does not come up.
  PolkitMock(const std::string& address, const std::string& output);
  ~PolkitMock();

  void set_allowed(const std::vector<std::string>& actions);
  // Hang: CheckAuthorization calls get no reply until release() (then the answer they
  // would have had when they came).
  void hang(bool on);
  void release();
  // From now on every CheckAuthorization answers "not authorized, but a challenge would
  // do" (is_challenge), as polkitd does for auth_admin* to a call without interaction.
  void challenge();
  // CheckAuthorization calls received so far, and the flags argument of each.
  int checks();
  std::vector<std::uint32_t> check_flags();

 private:
  sdbus::IProxy& proxy();

  std::unique_ptr<BackgroundProgram> program_;
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> proxy_;
};

// `n` calls of Manager.`method`("`child`") in flight at once on one connection, as uid/gid
// 65534 without groups, from a forked process. results() waits for every reply (up to
// kDeadline) and returns the error names, "" for a success, in the order of the calls.
// Destroying it (or leave()) kills the process: it leaves the bus with its calls pending.
class UnprivilegedCalls {
 public:
  UnprivilegedCalls(const std::string& address, int n, const std::string& method,
                    const std::string& child);
  ~UnprivilegedCalls();
  UnprivilegedCalls(const UnprivilegedCalls&) = delete;
  UnprivilegedCalls& operator=(const UnprivilegedCalls&) = delete;

  std::vector<std::string> results();
  void leave();

 private:
  pid_t pid_ = 0;
  int out_ = -1;
  int n_ = 0;
};

}  // namespace duende::itest
