#include "bus/bus_authorization.hpp"

#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <cstring>

#include "api/bus_names.hpp"
#include "os/log.hpp"

namespace duende::supervisor {
namespace {

constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitInterface = "org.freedesktop.PolicyKit1.Authority";
constexpr std::uint32_t kAllowUserInteraction = 1;  // CheckAuthorizationFlags

// sdbus-c++ 1.2.0 does not tell whether a call allows interactive authorization, nor
// give its sd-bus connection: both come from the sd_bus_message it wraps. A member
// pointer formed in a derived class reaches the protected member without a cast.
struct RawMessage : sdbus::Message {
  static sd_bus_message* of(const sdbus::Message& m) {
    void* sdbus::Message::*member = &RawMessage::msg_;
    return static_cast<sd_bus_message*>(m.*member);
  }
};

std::uint64_t usec(std::chrono::seconds s) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(s).count());
}

Verdict refused(const char* name, std::string message, std::string who) {
  return Verdict{false, name, std::move(message), std::move(who)};
}

std::string error_text(const sd_bus_error* e) {
  std::string out = e && e->name ? e->name : "unknown error";
  if (e && e->message && *e->message) out += std::string(": ") + e->message;
  return out;
}

}  // namespace

const char* action_id(PolkitAction action) {
  return action == PolkitAction::ForceStop ? kPolkitForceStop : kPolkitManage;
}

struct Authorizer::Check {
  Authorizer* owner = nullptr;
  sd_bus* bus = nullptr;
  std::string sender;
  PolkitAction action = PolkitAction::Manage;
  bool interactive = false;
  uid_t uid = static_cast<uid_t>(-1);
  sd_bus_slot* gone = nullptr;  // NameOwnerChanged for the sender: it left the bus
  sd_bus_slot* call = nullptr;  // the call in flight: GetConnectionUnixUser, then polkit
  Done done;

  std::string who() const {
    std::string out = "D-Bus client " + sender;
    if (uid != static_cast<uid_t>(-1)) out += " (uid " + std::to_string(uid) + ")";
    return out;
  }
  ~Check() {
    sd_bus_slot_unref(call);  // cancels the call: its callback never runs
    sd_bus_slot_unref(gone);  // RemoveMatch, sent without waiting
  }
};

namespace {

// Every callback below runs from sd_bus_process() (processPendingRequest() in the loop)
// and must not throw through C: each catches everything.
template <class F>
int guarded_callback(const char* what, F&& body) noexcept {
  try {
    body();
  } catch (const std::exception& e) {
    log_error(std::string("D-Bus authorization: ") + what + ": " + e.what());
  } catch (...) {
    log_error(std::string("D-Bus authorization: ") + what + ": internal error");
  }
  return 0;
}

}  // namespace

Authorizer::Authorizer() = default;
Authorizer::~Authorizer() = default;

void Authorizer::forget(Check* check) {
  const auto it = std::find_if(checks_.begin(), checks_.end(),
                               [&](const std::unique_ptr<Check>& c) { return c.get() == check; });
  if (it != checks_.end()) checks_.erase(it);  // sd-bus holds the running slot's reference
}

void Authorizer::finish(Check* check, Verdict verdict) {
  Done done = std::move(check->done);
  forget(check);
  if (done) done(verdict);
}

void Authorizer::check(const sdbus::Message& call, PolkitAction action, Done done) {
  sd_bus_message* m = RawMessage::of(call);
  const char* sender = m ? sd_bus_message_get_sender(m) : nullptr;
  if (!sender) {
    done(
        refused(kErrorAccessDenied, "access denied: the caller has no bus name", "a D-Bus client"));
    return;
  }
  if (checks_.size() >= kMaxPending) {
    done(refused(
        kErrorLimitsExceeded,
        "too many authorizations pending (" + std::to_string(kMaxPending) + "); try again later",
        std::string("D-Bus client ") + sender));
    return;
  }
  auto c = std::make_unique<Check>();
  c->owner = this;
  c->bus = sd_bus_message_get_bus(m);
  c->sender = sender;
  c->action = action;
  c->interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
  c->done = std::move(done);

  // The watch first: the bus driver handles our messages in order, so a caller that
  // leaves before the match is in place makes GetConnectionUnixUser fail instead.
  const std::string rule =
      "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
      "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" +
      c->sender + "'";
  const auto on_gone = [](sd_bus_message* signal, void* data, sd_bus_error*) -> int {
    auto* check = static_cast<Check*>(data);
    return guarded_callback("NameOwnerChanged", [&] {
      const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
      if (sd_bus_message_read(signal, "sss", &name, &old_owner, &new_owner) < 0) return;
      if (!new_owner || *new_owner) return;
      log_info(check->who() + " left the bus before its authorization finished");
      check->owner->forget(check);
    });
  };
  // Without an install callback, sd-bus closes the whole connection when AddMatch fails
  // (e.g. the bus's match quota): ignore the failure instead; the check still ends by
  // polkit's answer or its timeout.
  const auto on_installed = [](sd_bus_message*, void*, sd_bus_error*) -> int { return 0; };
  if (sd_bus_add_match_async(c->bus, &c->gone, rule.c_str(), on_gone, on_installed, c.get()) < 0)
    c->gone = nullptr;

  sd_bus_message* ask = nullptr;
  int r =
      sd_bus_message_new_method_call(c->bus, &ask, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionUnixUser");
  if (r >= 0) r = sd_bus_message_append(ask, "s", sender);
  const auto on_uid = [](sd_bus_message* reply, void* data, sd_bus_error*) -> int {
    auto* check = static_cast<Check*>(data);
    return guarded_callback("GetConnectionUnixUser", [&] {
      Authorizer* self = check->owner;
      if (sd_bus_message_is_method_error(reply, nullptr)) {
        const sd_bus_error* e = sd_bus_message_get_error(reply);
        if (sd_bus_error_has_name(e, kErrorNameHasNoOwner)) return self->forget(check);
        return self->finish(
            check,
            refused(kErrorAccessDenied,
                    "access denied: cannot tell who asked (" + error_text(e) + ")", check->who()));
      }
      std::uint32_t uid = 0;
      if (sd_bus_message_read(reply, "u", &uid) < 0)
        return self->finish(check, refused(kErrorAccessDenied,
                                           "access denied: cannot tell who asked", check->who()));
      check->uid = static_cast<uid_t>(uid);
      if (uid == 0) return self->finish(check, Verdict{true, "", "", check->who()});
      self->ask_polkit(check);
    });
  };
  if (r >= 0) r = sd_bus_call_async(c->bus, &c->call, ask, on_uid, c.get(), usec(kDriverTimeout));
  sd_bus_message_unref(ask);
  if (r < 0) {
    Check* raw = c.get();
    checks_.push_back(std::move(c));
    finish(raw, refused(kErrorFailed, std::string("cannot check the caller: ") + std::strerror(-r),
                        std::string("D-Bus client ") + sender));
    return;
  }
  checks_.push_back(std::move(c));
}

namespace {

// CheckAuthorization's reply as a verdict for `check`.
Verdict polkit_verdict(sd_bus_message* reply, const std::string& action, bool interactive,
                       const std::string& who) {
  if (sd_bus_message_is_method_error(reply, nullptr)) {
    const sd_bus_error* e = sd_bus_message_get_error(reply);
    if (sd_bus_error_has_names(e, kErrorServiceUnknown, kErrorNameHasNoOwner,
                               "org.freedesktop.DBus.Error.ServiceNotFound") ||
        (e && e->name && std::strncmp(e->name, "org.freedesktop.DBus.Error.Spawn.", 33) == 0))
      return refused(kErrorAccessDenied,
                     "access denied: polkit is not available on the system bus to authorize " +
                         action + "; without it only root may act",
                     who);
    if (sd_bus_error_has_names(e, "org.freedesktop.DBus.Error.NoReply",
                               "org.freedesktop.DBus.Error.Timeout"))
      return refused(kErrorAccessDenied,
                     "access denied: polkit did not answer in time for " + action, who);
    return refused(kErrorAccessDenied,
                   "access denied: polkit could not check " + action + " (" + error_text(e) + ")",
                   who);
  }
  int authorized = 0, challenge = 0;
  if (sd_bus_message_enter_container(reply, 'r', "bba{ss}") < 0 ||
      sd_bus_message_read(reply, "bb", &authorized, &challenge) < 0)
    return refused(kErrorAccessDenied, "access denied: polkit's answer cannot be read", who);
  if (authorized) return Verdict{true, "", "", who};
  if (challenge)
    return refused(kErrorAccessDenied,
                   "access denied: " + action + " needs interactive authorization" +
                       (interactive ? "" : ", which the call did not allow"),
                   who);
  return refused(kErrorAccessDenied, "not authorized: " + action, who);
}

}  // namespace

void Authorizer::ask_polkit(Check* check) {
  sd_bus_slot_unref(check->call);  // the finished GetConnectionUnixUser (sd-bus keeps it alive)
  check->call = nullptr;
  sd_bus_message* ask = nullptr;
  int r = sd_bus_message_new_method_call(check->bus, &ask, kPolkitName, kPolkitPath,
                                         kPolkitInterface, "CheckAuthorization");
  // subject (system-bus-name), action, no details, flags, no cancellation id
  if (r >= 0)
    r = sd_bus_message_append(ask, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                              check->sender.c_str(), action_id(check->action), 0,
                              check->interactive ? kAllowUserInteraction : 0u, "");
  const auto on_reply = [](sd_bus_message* reply, void* data, sd_bus_error*) -> int {
    auto* c = static_cast<Check*>(data);
    return guarded_callback("CheckAuthorization", [&] {
      Verdict v = polkit_verdict(reply, action_id(c->action), c->interactive, c->who());
      if (!v.allowed) log_notice(c->who() + ": " + v.message);
      c->owner->finish(c, std::move(v));
    });
  };
  const auto timeout = check->interactive ? kInteractiveTimeout : kPolkitTimeout;
  if (r >= 0) r = sd_bus_call_async(check->bus, &check->call, ask, on_reply, check, usec(timeout));
  sd_bus_message_unref(ask);
  if (r < 0)
    finish(check, refused(kErrorFailed, std::string("cannot ask polkit: ") + std::strerror(-r),
                          check->who()));
}

}  // namespace duende::supervisor
