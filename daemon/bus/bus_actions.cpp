// The mutating methods of the Manager and Child objects: each replies later, once the
// caller is authorized (bus_authorization.hpp), and then translates to the core. Nothing
// of the core runs for a caller that is refused, not even the check of the name, so a
// refused caller learns nothing about the children.
#include <memory>

#include "bus/bus_authorization.hpp"
#include "bus/bus_guard.hpp"
#include "bus/bus_objects.hpp"

namespace duende::supervisor {
namespace {

sdbus::Error to_bus_error(const ActionError& e) {
  switch (e.kind) {
    case ActionError::Kind::NoSuchChild:
      return sdbus::Error(kErrorNoSuchChild, e.message);
    case ActionError::Kind::InvalidState:
      return sdbus::Error(kErrorInvalidState, e.message);
    case ActionError::Kind::SwapBusy:
      return sdbus::Error(kErrorSwapBusy, e.message);
    case ActionError::Kind::ConfigInvalid:
      break;
  }
  return sdbus::Error(kErrorConfigInvalid, e.message);
}

// A method's reply, sent from the loop once the outcome is known. Sending never throws: a
// reply that cannot be sent (the connection is gone, the caller left) is nothing the
// daemon can act on.
using AsyncReply = std::shared_ptr<sdbus::Result<>>;

void send_error(const AsyncReply& r, const sdbus::Error& e) noexcept {
  try {
    r->returnError(e);
  } catch (...) {
    log_warning("D-Bus: cannot send a reply");
  }
}

void reply(const AsyncReply& r, const duende::mlock::Result<void, ActionError>& outcome) noexcept {
  if (!outcome) return send_error(r, to_bus_error(outcome.error()));
  try {
    r->returnResults();
  } catch (...) {
    log_warning("D-Bus: cannot send a reply");
  }
}

// The part of a method that runs once its caller is authorized; `who` names the caller
// for the log ("D-Bus client :1.42 (uid 1000)"). It replies through `r`, at once or later;
// what it throws becomes the reply.
using Body = std::function<void(const std::string& who, const AsyncReply& r)>;

// Replies to the call being handled by `object` with the refusal, or runs `body`.
void authorized(const sdbus::IObject& object, Authorizer& authorizer, const char* what,
                PolkitAction action, sdbus::Result<>&& result, Body body) {
  auto r = std::make_shared<sdbus::Result<>>(std::move(result));
  try {
    const sdbus::Message* call = object.getCurrentlyProcessedMessage();
    if (!call) throw sdbus::Error(kErrorFailed, std::string(what) + ": no method call");
    authorizer.check(*call, action, [r, what, body = std::move(body)](const Verdict& v) {
      if (!v.allowed) return send_error(r, sdbus::Error(v.error_name, v.message));
      try {
        guarded(what, [&] { body(v.who, r); });
      } catch (const sdbus::Error& e) {
        send_error(r, e);
      }
    });
  } catch (const sdbus::Error& e) {
    send_error(r, e);
  } catch (...) {
    send_error(r, sdbus::Error(kErrorFailed, std::string(what) + ": internal error"));
  }
}

void log_action(const std::string& who, const char* what, const std::string& name) {
  log_info(LogFields{name}, who + " calls " + what + " for " + name);
}

// A stop or restart whose reply waits for the core's completion (its swap off first).
template <class Call>
void act_async(const AsyncReply& r, Call&& call) {
  auto accepted =
      call([r](duende::mlock::Result<void, ActionError> outcome) { reply(r, outcome); });
  if (!accepted) throw to_bus_error(accepted.error());
}

}  // namespace

// ---- Manager ----

void ManagerObject::StartChild(sdbus::Result<>&& result, std::string name) {
  Supervisor& s = supervisor_;
  authorized(getObject(), authorizer_, "StartChild", PolkitAction::Manage, std::move(result),
             [&s, name](const std::string& who, const AsyncReply& r) {
               check_name(name);
               log_action(who, "StartChild", name);
               reply(r, s.start_child(name));
             });
}

void ManagerObject::StopChild(sdbus::Result<>&& result, std::string name) {
  Supervisor& s = supervisor_;
  authorized(getObject(), authorizer_, "StopChild", PolkitAction::Manage, std::move(result),
             [&s, name](const std::string& who, const AsyncReply& r) {
               check_name(name);
               log_action(who, "StopChild", name);
               act_async(r, [&](Supervisor::ActionDone done) {
                 return s.stop_child(name, false, std::move(done));
               });
             });
}

void ManagerObject::ForceStopChild(sdbus::Result<>&& result, std::string name) {
  Supervisor& s = supervisor_;
  authorized(getObject(), authorizer_, "ForceStopChild", PolkitAction::ForceStop, std::move(result),
             [&s, name](const std::string& who, const AsyncReply& r) {
               check_name(name);
               log_warning(LogFields{name}, who + " forces the stop of " + name);
               act_async(r, [&](Supervisor::ActionDone done) {
                 return s.stop_child(name, true, std::move(done));
               });
             });
}

void ManagerObject::RestartChild(sdbus::Result<>&& result, std::string name) {
  Supervisor& s = supervisor_;
  authorized(getObject(), authorizer_, "RestartChild", PolkitAction::Manage, std::move(result),
             [&s, name](const std::string& who, const AsyncReply& r) {
               check_name(name);
               log_action(who, "RestartChild", name);
               act_async(r, [&](Supervisor::ActionDone done) {
                 return s.restart_child(name, std::move(done));
               });
             });
}

void ManagerObject::Reload(sdbus::Result<>&& result) {
  Supervisor& s = supervisor_;
  authorized(getObject(), authorizer_, "Reload", PolkitAction::Manage, std::move(result),
             [&s](const std::string& who, const AsyncReply& r) {
               log_notice(who + " calls Reload");
               reply(r, s.reload());
             });
}

// Only starts it: the check of the binary, the state file and execve() follow from the
// loop, after this reply is sent. `this` outlives the check: the authorizer goes first.
void ManagerObject::Reexec(sdbus::Result<>&& result) {
  authorized(getObject(), authorizer_, "Reexec", PolkitAction::Manage, std::move(result),
             [this](const std::string& who, const AsyncReply& r) {
               if (!reexec_) throw sdbus::Error(kErrorFailed, "re-exec in place is not available");
               auto accepted = reexec_->request_reexec(who);
               if (accepted) {
                 try {  // an earlier ReexecFailure is cleared: no client may read it from now on
                   publish_changes();
                 } catch (const sdbus::Error&) {  // a broken connection: before_sleep() sees it
                 }
                 return r->returnResults();
               }
               // A refusal that recorded itself as ReexecFailure (the check could not be
               // started) is a failure; the others are about the state: one under way,
               // stopping.
               const bool failed = reexec_->reexec_failure() == accepted.error();
               throw sdbus::Error(failed ? kErrorFailed : kErrorInvalidState, accepted.error());
             });
}

// ---- Child ----
// The bodies hold the supervisor and the name, not the object: a reload may remove the
// child (and its object) while its caller is being authorized.

void ChildObject::Start(sdbus::Result<>&& result) {
  Supervisor& s = supervisor_;
  authorized(getObject(), authorizer_, "Start", PolkitAction::Manage, std::move(result),
             [&s, name = name_](const std::string& who, const AsyncReply& r) {
               log_action(who, "Start", name);
               reply(r, s.start_child(name));
             });
}

void ChildObject::Stop(sdbus::Result<>&& result) {
  Supervisor& s = supervisor_;
  authorized(getObject(), authorizer_, "Stop", PolkitAction::Manage, std::move(result),
             [&s, name = name_](const std::string& who, const AsyncReply& r) {
               log_action(who, "Stop", name);
               act_async(r, [&](Supervisor::ActionDone done) {
                 return s.stop_child(name, false, std::move(done));
               });
             });
}

void ChildObject::Restart(sdbus::Result<>&& result) {
  Supervisor& s = supervisor_;
  authorized(getObject(), authorizer_, "Restart", PolkitAction::Manage, std::move(result),
             [&s, name = name_](const std::string& who, const AsyncReply& r) {
               log_action(who, "Restart", name);
               act_async(r, [&](Supervisor::ActionDone done) {
                 return s.restart_child(name, std::move(done));
               });
             });
}

}  // namespace duende::supervisor
