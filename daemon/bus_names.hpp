// The fixed public names of the D-Bus API (DESIGN.md), shared by the daemon and mlockctl.
#pragma once

namespace duende::supervisor {

inline constexpr const char* kBusName = "org.duende.MlockSupervisor1";
inline constexpr const char* kManagerPath = "/org/duende/MlockSupervisor1";
inline constexpr const char* kChildPathPrefix = "/org/duende/MlockSupervisor1/child";
inline constexpr const char* kManagerInterface = "org.duende.MlockSupervisor1.Manager";
inline constexpr const char* kChildInterface = "org.duende.MlockSupervisor1.Child";

}  // namespace duende::supervisor
