#include "bus/bus_objects.hpp"

#include <systemd/sd-bus.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include "api/swap_fields.hpp"
#include "bus/bus_guard.hpp"
#include "duende/mlock.hpp"
#include "os/log.hpp"

namespace duende::supervisor {
namespace {

// The core's wall-clock microseconds as a D-Bus timestamp: 0 ("none") stays 0, and a
// clock before the epoch cannot be shown either.
std::uint64_t wall_us(std::int64_t us) { return us > 0 ? static_cast<std::uint64_t>(us) : 0; }

std::uint32_t saturated_u32(std::uint64_t n) {
  return n > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(n);
}

static_assert(kNoMemlockHeadroom == Child::kNoMemlockLimit,
              "MemlockHeadroomBytes's \"no limit\" is the core's");
static_assert(kExitStatusUnknown == ExitStatus::kUnknown,
              "LastExitStatus's \"unknown\" is the core's");

ProcessesRow processes_row(const std::vector<TreeProcess>& processes) {
  ProcessesRow out;
  out.reserve(processes.size());
  for (const TreeProcess& p : processes)
    out.emplace_back(p.pid, p.comm, p.locked, p.locked_bytes, p.swapped_bytes);
  return out;
}

// Field `I` of the row, when it is field `index` of the table: of the member's type, or
// the wire form of Processes.
template <class Field, class Value>
void set_field(Field& field, const Value& value) {
  if constexpr (std::is_same_v<Field, Value>)
    field = value;
  else if constexpr (std::is_same_v<Field, ProcessesRow> &&
                     std::is_same_v<Value, std::vector<TreeProcess>>)
    field = processes_row(value);
  else
    throw std::logic_error("ListChildProperties: its row and the Child property table disagree");
}

template <class Value, std::size_t... I>
void set_row_field(ChildPropertiesRow& row, std::size_t index, const Value& value,
                   std::index_sequence<I...>) {
  ((I == index ? set_field(std::get<I>(row), value) : void()), ...);
}

}  // namespace

ChildPropertiesRow child_properties_row(const ChildProperties& p) {
  constexpr std::size_t kFields = std::tuple_size_v<ChildPropertiesRow::tuple>;
  ChildPropertiesRow row;
  std::size_t index = 0;
  for_each_child_property([&](const char*, auto member) {
    if (index >= kFields)
      throw std::logic_error("ListChildProperties: the Child property table has more fields");
    set_row_field(row, index++, p.*member, std::make_index_sequence<kFields>{});
  });
  if (index != kFields)
    throw std::logic_error("ListChildProperties: the Child property table has fewer fields");
  return row;
}

std::string child_object_path(const std::string& name) {
  char* path = nullptr;
  if (sd_bus_path_encode(kChildPathPrefix, name.c_str(), &path) < 0 || !path)
    throw std::bad_alloc();
  std::string out(path);
  std::free(path);
  return out;
}

ChildProperties child_properties(const Child& c) {
  ChildProperties p;
  p.name = c.name();
  p.state = to_string(c.state());
  p.pid = static_cast<std::uint32_t>(c.pid());
  p.started_at_us = wall_us(c.started_at_us());
  p.state_changed_at_us = wall_us(c.state_changed_at_us());
  p.exited_at_us = wall_us(c.exited_at_us());
  p.adopted = c.adopted();
  p.adopted_at_us = wall_us(c.adopted_at_us());
  p.is_locked = c.is_locked();
  p.locked_bytes = c.memory().locked_bytes;
  p.swapped_bytes = c.swapped_bytes();
  p.swapped_shmem_bytes = c.figures().swapped_shmem_bytes;
  p.resident_bytes = c.memory().resident_bytes;
  p.resident_unlocked_bytes = c.figures().resident_unlocked_bytes;
  p.memlock_headroom_bytes = c.memlock_headroom_bytes();
  p.fully_locked = c.memory().coverage_checked && c.memory().fully_locked;
  p.unlocked_mappings = static_cast<std::uint32_t>(c.unlocked_mappings());
  p.processes = c.processes();
  p.unlocked_processes = c.unlocked_processes();
  p.threads = saturated_u32(c.figures().threads);
  p.io_flusher_threads = saturated_u32(c.figures().io_flusher_threads);
  p.io_flusher = !c.io_flusher() ? "" : *c.io_flusher() ? kIoFlusherYes : kIoFlusherNo;
  p.wants_io_flusher = c.spec().mlock.io_flusher();
  p.oom_kills = saturated_u32(c.oom_kills());
  p.must_be_locked = c.must_be_locked();
  p.lock_report = c.lock_report_text();
  p.restarts = c.restarts();
  p.last_exit_status = c.last_exit_status();
  p.last_exit_code = c.last_exit_code();
  p.last_failure = c.last_failure();
  p.lock_losses = c.lock_losses();
  p.command = c.spec().exec;
  p.swap_device = c.swap_device();
  p.swap_state = to_string(c.swap().state());
  p.swap_error = c.swap().error();
  p.swap_size_bytes = c.swap().active() ? c.swap().size_bytes() : 0;
  p.swap_used_bytes = c.swap().active() ? c.swap().used_bytes() : 0;
  return p;
}

ManagerProperties manager_properties(const Supervisor& s, const ReexecControl* reexec) {
  ManagerProperties p;
  p.version = MLOCK_SUPERVISOR_VERSION;
  p.state = to_string(s.state());
  p.self_locked_bytes = duende::mlock::locked_bytes();
  p.self_locked = p.self_locked_bytes > 0;
  p.child_count = static_cast<std::uint32_t>(s.children().size());
  const Supervisor::Totals totals = s.totals();
  p.locked_child_count = static_cast<std::uint32_t>(totals.locked);
  p.total_locked_bytes = totals.locked_bytes;
  p.started_at_us = wall_us(s.started_at_us());
  p.restarts = s.supervisor_restarts();
  p.reexecs = s.reexecs();
  if (reexec) p.reexec_failure = reexec->reexec_failure();
  p.process_tracking = s.process_tracking().description;
  return p;
}

// ---- Manager ----

ManagerObject::ManagerObject(sdbus::IConnection& connection, Supervisor& supervisor,
                             ReexecControl* reexec, Authorizer& authorizer)
    : AdaptorInterfaces(connection, kManagerPath),
      supervisor_(supervisor),
      reexec_(reexec),
      authorizer_(authorizer),
      published_(manager_properties(supervisor, reexec)) {
  registerAdaptor();
}

ManagerObject::~ManagerObject() { unregisterAdaptor(); }

void ManagerObject::publish_changes() {
  ManagerProperties now = manager_properties(supervisor_, reexec_);
  const auto names = changed_properties(published_, now);
  published_ = std::move(now);
  if (!names.empty()) emitPropertiesChangedSignal(kManagerInterface, names);
}

bool ManagerObject::out_of_date() const {
  return reexec_ && reexec_->reexec_failure() != published_.reexec_failure;
}

void ManagerObject::lock_lost(const Child& child) {
  emitLockLost(child.name(), child.memory().locked_bytes, child.swapped_bytes());
}

void ManagerObject::swap_backend_lost(const Child& child) {
  emitSwapBackendLost(child.name(), child.swap().device());
}

std::vector<sdbus::Struct<std::string, std::string, uint32_t, bool, uint64_t, uint64_t>>
ManagerObject::ListChildren() {
  return guarded("ListChildren", [this] {
    std::vector<sdbus::Struct<std::string, std::string, uint32_t, bool, uint64_t, uint64_t>> out;
    for (const auto& [name, child] : supervisor_.children()) {
      const ChildProperties p = child_properties(*child);
      out.emplace_back(name, p.state, p.pid, p.is_locked, p.locked_bytes, p.swapped_bytes);
    }
    return out;
  });
}

// Computed as ListChildren is, from the core: no /proc read.
std::vector<ChildPropertiesRow> ManagerObject::ListChildProperties() {
  return guarded("ListChildProperties", [this] {
    std::vector<ChildPropertiesRow> out;
    out.reserve(supervisor_.children().size());
    for (const auto& [name, child] : supervisor_.children())
      out.push_back(child_properties_row(child_properties(*child)));
    return out;
  });
}

sdbus::ObjectPath ManagerObject::GetChild(const std::string& name) {
  return guarded("GetChild", [&] {
    check_name(name);
    if (!supervisor_.find(name))
      throw sdbus::Error(kErrorNoSuchChild, "no child named \"" + name + "\"");
    return sdbus::ObjectPath(child_object_path(name));
  });
}

// Served from what was last published (once per loop round when anything changed): a Get
// or GetManagedObjects reads no /proc file and walks no children, however many clients ask.
std::string ManagerObject::Version() { return published_.version; }
std::string ManagerObject::State() { return published_.state; }
bool ManagerObject::SelfLocked() { return published_.self_locked; }
uint64_t ManagerObject::SelfLockedBytes() { return published_.self_locked_bytes; }
uint32_t ManagerObject::ChildCount() { return published_.child_count; }
uint32_t ManagerObject::LockedChildCount() { return published_.locked_child_count; }
uint64_t ManagerObject::TotalLockedBytes() { return published_.total_locked_bytes; }
uint64_t ManagerObject::StartedAt() { return published_.started_at_us; }
uint32_t ManagerObject::Restarts() { return published_.restarts; }
uint32_t ManagerObject::Reexecs() { return published_.reexecs; }
std::string ManagerObject::ReexecFailure() { return published_.reexec_failure; }
std::string ManagerObject::ProcessTracking() { return published_.process_tracking; }

// ---- Child ----

ChildObject::ChildObject(sdbus::IConnection& connection, Supervisor& supervisor, const Child& child,
                         Authorizer& authorizer)
    : AdaptorInterfaces(connection, child_object_path(child.name())),
      supervisor_(supervisor),
      authorizer_(authorizer),
      name_(child.name()),
      published_(child_properties(child)) {
  registerAdaptor();
  emitInterfacesAddedSignal({kChildInterface});
}

ChildObject::~ChildObject() {
  try {
    emitInterfacesRemovedSignal({kChildInterface});
  } catch (const sdbus::Error&) {  // the connection is gone: nobody to tell
  }
  unregisterAdaptor();
}

void ChildObject::publish_changes(const Child& child) {
  ChildProperties now = child_properties(child);
  const auto names = changed_properties(published_, now);
  published_ = std::move(now);
  if (!names.empty()) emitPropertiesChangedSignal(kChildInterface, names);
}

// Kept current by publish_changes() on every change of the child: a Get or
// GetManagedObjects copies no more than it returns.
const ChildProperties& ChildObject::current() const { return published_; }

std::string ChildObject::SwapDevice() { return current().swap_device; }
std::string ChildObject::SwapState() { return current().swap_state; }
std::string ChildObject::SwapError() { return current().swap_error; }
uint64_t ChildObject::SwapSizeBytes() { return current().swap_size_bytes; }
uint64_t ChildObject::SwapUsedBytes() { return current().swap_used_bytes; }
std::string ChildObject::Name() { return name_; }
std::string ChildObject::State() { return current().state; }
uint32_t ChildObject::Pid() { return current().pid; }
uint64_t ChildObject::StartedAt() { return current().started_at_us; }
uint64_t ChildObject::StateChangedAt() { return current().state_changed_at_us; }
uint64_t ChildObject::ExitedAt() { return current().exited_at_us; }
bool ChildObject::Adopted() { return current().adopted; }
uint64_t ChildObject::AdoptedAt() { return current().adopted_at_us; }
bool ChildObject::IsLocked() { return current().is_locked; }
uint64_t ChildObject::LockedBytes() { return current().locked_bytes; }
uint64_t ChildObject::SwappedBytes() { return current().swapped_bytes; }
uint64_t ChildObject::SwappedShmemBytes() { return current().swapped_shmem_bytes; }
uint64_t ChildObject::ResidentBytes() { return current().resident_bytes; }
uint64_t ChildObject::ResidentUnlockedBytes() { return current().resident_unlocked_bytes; }
uint64_t ChildObject::MemlockHeadroomBytes() { return current().memlock_headroom_bytes; }
bool ChildObject::FullyLocked() { return current().fully_locked; }
uint32_t ChildObject::UnlockedMappings() { return current().unlocked_mappings; }
bool ChildObject::MustBeLocked() { return current().must_be_locked; }
std::string ChildObject::LockReport() { return current().lock_report; }
uint32_t ChildObject::Restarts() { return current().restarts; }
int32_t ChildObject::LastExitStatus() { return current().last_exit_status; }
std::string ChildObject::LastExitCode() { return current().last_exit_code; }
std::string ChildObject::LastFailure() { return current().last_failure; }
uint32_t ChildObject::LockLosses() { return current().lock_losses; }
std::vector<std::string> ChildObject::Command() { return current().command; }
ProcessesRow ChildObject::Processes() { return processes_row(current().processes); }
uint32_t ChildObject::UnlockedProcesses() { return current().unlocked_processes; }
uint32_t ChildObject::Threads() { return current().threads; }
uint32_t ChildObject::IoFlusherThreads() { return current().io_flusher_threads; }
std::string ChildObject::IoFlusher() { return current().io_flusher; }
bool ChildObject::WantsIoFlusher() { return current().wants_io_flusher; }
uint32_t ChildObject::OomKills() { return current().oom_kills; }

}  // namespace duende::supervisor
