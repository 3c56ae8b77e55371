// The service manager's file descriptor store (sd_notify FDSTORE=1): descriptors handed to
// systemd survive a crash or restart of the service and come back to its next process in
// LISTEN_FDS, with their names. The supervisor stores each child's pidfd there, so a
// restarted supervisor recognises its children by pidfd, which pid reuse cannot fool.
// Needs FileDescriptorStoreMax= in the unit. Used only under systemd (NOTIFY_SOCKET and
// INVOCATION_ID both set): another listener on NOTIFY_SOCKET is told nothing of it.
#pragma once

#include <string>
#include <vector>

namespace duende::supervisor {

struct StoredFd {
  std::string name;  // FDNAME= it was stored with
  int fd = -1;       // now ours, O_CLOEXEC
};

// The descriptors the service manager passed to this process (LISTEN_FDS, LISTEN_FDNAMES,
// for our pid), once: the variables are removed from the environment. Empty when none.
std::vector<StoredFd> take_stored_fds();

// Whether this process runs as a systemd service that may have an fd store.
bool fd_store_available();

// Stores `fd` under `name` (printable ASCII without ':', at most 255 bytes) with FDPOLL=0:
// systemd keeps it even once the process behind it has exited, so a restarted supervisor
// still learns how it ended. Never blocks. Returns 0 (also when there is no service
// manager), else the errno.
int fd_store_add(int fd, const std::string& name);
// Removes every descriptor stored under `name` (FDSTOREREMOVE=1). Returns as fd_store_add.
int fd_store_remove(const std::string& name);

}  // namespace duende::supervisor
