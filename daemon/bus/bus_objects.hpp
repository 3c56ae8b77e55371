// The D-Bus objects: thin translations from the supervisor core to the generated
// adaptors. The property names and values come from api/child_properties.hpp; the
// generated adaptors' PascalCase getters are overridden only here.
//
// sdbus-c++ 1.2.0 breaks a connection for good when a handler throws anything but
// sdbus::Error, so every handler here catches everything and converts it. The mutating
// methods (bus_actions.cpp) reply later, once the Authorizer has decided on the caller.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <string>
#include <vector>

#include "api/bus_names.hpp"
#include "api/child_properties.hpp"
#include "core/reexec_control.hpp"
#include "core/supervisor.hpp"
#include "mlock_supervisor1_adaptor.h"

namespace duende::supervisor {

class Authorizer;

// The object path of child `name`, escaped as sd_bus_path_encode() does.
std::string child_object_path(const std::string& name);

// The values the objects show (api/child_properties.hpp), read from the core. `reexec`
// may be null (no re-exec offered: ReexecFailure stays "").
ChildProperties child_properties(const Child& child);
ManagerProperties manager_properties(const Supervisor& supervisor, const ReexecControl* reexec);

// A row of ListChildProperties: every Child property, in the XML's (the table's) order,
// typed as the generated adaptor spells a(ssutttbtbttttttbua(usbtt)uuusbubsuissuasssstt).
// An override of another type does not compile; a unit test holds the XML to the table.
using ProcessesRow = std::vector<sdbus::Struct<uint32_t, std::string, bool, uint64_t, uint64_t>>;
using ChildPropertiesRow =
    sdbus::Struct<std::string, std::string, uint32_t, uint64_t, uint64_t, uint64_t, bool, uint64_t,
                  bool, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, bool, uint32_t,
                  ProcessesRow, uint32_t, uint32_t, uint32_t, std::string, bool, uint32_t, bool,
                  std::string, uint32_t, int32_t, std::string, std::string, uint32_t,
                  std::vector<std::string>, std::string, std::string, std::string, uint64_t,
                  uint64_t>;

// The row of `p`. Throws std::logic_error if the row's fields and the table disagree.
ChildPropertiesRow child_properties_row(const ChildProperties& p);

class ManagerObject final
    : public sdbus::AdaptorInterfaces<::org::duende::MlockSupervisor1::Manager_adaptor,
                                      sdbus::ObjectManager_adaptor, sdbus::Properties_adaptor> {
 public:
  // `reexec`: what Reexec() asks, or null when this daemon offers no re-exec. `authorizer`
  // decides on the callers of the mutating methods; it must go before this object.
  ManagerObject(sdbus::IConnection& connection, Supervisor& supervisor, ReexecControl* reexec,
                Authorizer& authorizer);
  ~ManagerObject();

  // Emits PropertiesChanged for what changed since the last call.
  void publish_changes();
  // Whether something the core does not report as a change (the re-exec's failure, set
  // and cleared outside the supervisor) differs from what was last published. Cheap.
  bool out_of_date() const;
  void lock_lost(const Child& child);
  void swap_backend_lost(const Child& child);

 private:
  std::vector<sdbus::Struct<std::string, std::string, uint32_t, bool, uint64_t, uint64_t>>
  ListChildren() override;
  std::vector<ChildPropertiesRow> ListChildProperties() override;
  sdbus::ObjectPath GetChild(const std::string& name) override;
  void StartChild(sdbus::Result<>&& result, std::string name) override;
  void StopChild(sdbus::Result<>&& result, std::string name) override;
  void ForceStopChild(sdbus::Result<>&& result, std::string name) override;
  void RestartChild(sdbus::Result<>&& result, std::string name) override;
  void Reload(sdbus::Result<>&& result) override;
  void Reexec(sdbus::Result<>&& result) override;
  std::string Version() override;
  std::string State() override;
  bool SelfLocked() override;
  uint64_t SelfLockedBytes() override;
  uint32_t ChildCount() override;
  uint32_t LockedChildCount() override;
  uint64_t TotalLockedBytes() override;
  uint64_t StartedAt() override;
  uint32_t Restarts() override;
  uint32_t Reexecs() override;
  std::string ReexecFailure() override;
  std::string ProcessTracking() override;

  Supervisor& supervisor_;
  ReexecControl* reexec_;
  Authorizer& authorizer_;
  ManagerProperties published_;
};

class ChildObject final
    : public sdbus::AdaptorInterfaces<::org::duende::MlockSupervisor1::Child_adaptor,
                                      sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor> {
 public:
  // Registers the object and announces it (InterfacesAdded). `authorizer`: as for the
  // manager.
  ChildObject(sdbus::IConnection& connection, Supervisor& supervisor, const Child& child,
              Authorizer& authorizer);
  // Announces the removal (InterfacesRemoved) and unregisters.
  ~ChildObject();

  void publish_changes(const Child& child);

 private:
  void Start(sdbus::Result<>&& result) override;
  void Stop(sdbus::Result<>&& result) override;
  void Restart(sdbus::Result<>&& result) override;
  std::string Name() override;
  std::string State() override;
  uint32_t Pid() override;
  uint64_t StartedAt() override;
  uint64_t StateChangedAt() override;
  uint64_t ExitedAt() override;
  bool Adopted() override;
  uint64_t AdoptedAt() override;
  bool IsLocked() override;
  uint64_t LockedBytes() override;
  uint64_t SwappedBytes() override;
  uint64_t SwappedShmemBytes() override;
  uint64_t ResidentBytes() override;
  uint64_t ResidentUnlockedBytes() override;
  uint64_t MemlockHeadroomBytes() override;
  bool FullyLocked() override;
  uint32_t UnlockedMappings() override;
  ProcessesRow Processes() override;
  uint32_t UnlockedProcesses() override;
  uint32_t Threads() override;
  uint32_t IoFlusherThreads() override;
  std::string IoFlusher() override;
  bool WantsIoFlusher() override;
  uint32_t OomKills() override;
  bool MustBeLocked() override;
  std::string LockReport() override;
  uint32_t Restarts() override;
  int32_t LastExitStatus() override;
  std::string LastExitCode() override;
  std::string LastFailure() override;
  uint32_t LockLosses() override;
  std::vector<std::string> Command() override;
  std::string SwapDevice() override;
  std::string SwapState() override;
  std::string SwapError() override;
  uint64_t SwapSizeBytes() override;
  uint64_t SwapUsedBytes() override;

  // The values last published: current, since every change of the child publishes.
  const ChildProperties& current() const;

  Supervisor& supervisor_;
  Authorizer& authorizer_;
  std::string name_;
  ChildProperties published_;
};

}  // namespace duende::supervisor
