// The texts of MlockStatus and MlockError.
#include <cerrno>
#include <cstring>
#include <string>

#include "duende/mlock.hpp"

namespace duende::mlock {
namespace {

const char* errno_name(int e) {
  switch (e) {
    case EPERM:
      return "EPERM";
    case ENOMEM:
      return "ENOMEM";
    case EINVAL:
      return "EINVAL";
    case EAGAIN:
      return "EAGAIN";
    default:
      return nullptr;
  }
}

constexpr const char* kCapabilityFix =
    "grant CAP_IPC_LOCK (systemd: AmbientCapabilities=CAP_IPC_LOCK; docker: "
    "--cap-add=IPC_LOCK)";
constexpr const char* kLimitFix =
    "raise the memlock limit (systemd: LimitMEMLOCK=infinity; docker: --ulimit "
    "memlock=-1:-1)";

std::string fix_for(MlockError::Kind kind, MlockError::Operation op) {
  if (op == MlockError::Operation::IoFlusher)
    return "grant CAP_SYS_RESOURCE (systemd: AmbientCapabilities=CAP_SYS_RESOURCE) or turn "
           "io_flusher off";
  switch (kind) {
    case MlockError::Kind::PermissionDenied:
      return std::string(kCapabilityFix) + ", or " + kLimitFix;
    case MlockError::Kind::ResourceLimit:
      return std::string(kLimitFix) + " or " + kCapabilityFix +
             "; if the limit is already unlimited, the machine is out of memory";
    case MlockError::Kind::InvalidArgument:
      return "the kernel does not support these mlockall() flags; turn onfault off";
    case MlockError::Kind::WouldBlock:
      return "some pages could not be locked; retry, or free memory";
    case MlockError::Kind::Unknown:
      break;
  }
  return "see mlockall(2)";
}

}  // namespace

std::string MlockStatus::to_string() const {
  switch (kind_) {
    case Kind::Locked:
      return "locked (" + std::to_string(bytes_ / 1024) + " KB" +
             (onfault_dropped_ ? ", without MCL_ONFAULT" : "") + ")";
    case Kind::Failed:
      return "failed (errno=" + std::to_string(errno_) + ")";
    case Kind::Unsupported:
      break;
  }
  return "unsupported platform";
}

MlockError MlockError::from_errno(int error_number, Operation operation) noexcept {
  Kind kind = Kind::Unknown;
  switch (error_number) {
    case EPERM:
      kind = Kind::PermissionDenied;
      break;
    case ENOMEM:
      kind = Kind::ResourceLimit;
      break;
    case EINVAL:
      kind = Kind::InvalidArgument;
      break;
    case EAGAIN:
      kind = Kind::WouldBlock;
      break;
    default:
      break;
  }
  return MlockError(kind, error_number, operation);
}

std::string MlockError::message() const {
  std::string text = operation_ == Operation::IoFlusher ? "prctl(PR_SET_IO_FLUSHER) failed: "
                                                        : "mlockall failed: ";
  text += std::strerror(errno_);
  if (const char* name = errno_name(errno_))
    text += std::string(" (") + name + ")";
  else
    text += " (errno=" + std::to_string(errno_) + ")";
  return text + ": " + fix_for(kind_, operation_);
}

}  // namespace duende::mlock
