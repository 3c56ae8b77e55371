// The fixed public names of the D-Bus API (README.md, "D-Bus API"), shared by the daemon and
// mlockctl: bus name, object paths, interfaces and error names. Property names live beside their
// members in child_properties.hpp.
#pragma once

namespace duende::supervisor {

inline constexpr const char* kBusName = "org.duende.MlockSupervisor1";
inline constexpr const char* kManagerPath = "/org/duende/MlockSupervisor1";
inline constexpr const char* kChildPathPrefix = "/org/duende/MlockSupervisor1/child";
inline constexpr const char* kManagerInterface = "org.duende.MlockSupervisor1.Manager";
inline constexpr const char* kChildInterface = "org.duende.MlockSupervisor1.Child";

// The polkit actions (dbus/org.duende.MlockSupervisor1.policy): every mutating method
// needs "manage" from a caller other than root, ForceStopChild "force-stop".
inline constexpr const char* kPolkitManage = "org.duende.MlockSupervisor1.manage";
inline constexpr const char* kPolkitForceStop = "org.duende.MlockSupervisor1.force-stop";

// org.duende.MlockSupervisor1.Error.*: why a request was refused.
inline constexpr const char* kErrorNoSuchChild = "org.duende.MlockSupervisor1.Error.NoSuchChild";
inline constexpr const char* kErrorInvalidState = "org.duende.MlockSupervisor1.Error.InvalidState";
inline constexpr const char* kErrorConfigInvalid =
    "org.duende.MlockSupervisor1.Error.ConfigInvalid";
// A stop (or restart) refused: the child's swap could not be turned off; it keeps running.
inline constexpr const char* kErrorSwapBusy = "org.duende.MlockSupervisor1.Error.SwapBusy";

// Standard errors the daemon answers with, and mlockctl explains.
inline constexpr const char* kErrorFailed = "org.freedesktop.DBus.Error.Failed";
inline constexpr const char* kErrorInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
// A mutating method refused to its caller: not root, and polkit did not authorize it
// (its message says why).
inline constexpr const char* kErrorAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
// Too many authorizations in flight: the call is refused at once (try again later).
inline constexpr const char* kErrorLimitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded";
inline constexpr const char* kErrorServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown";
inline constexpr const char* kErrorNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner";

}  // namespace duende::supervisor
