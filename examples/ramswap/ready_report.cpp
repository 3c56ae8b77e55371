#include "ready_report.hpp"

#include <cstring>

#include "duende/mlock.hpp"
#include "log.hpp"
#include "options.hpp"

namespace ramswap {

std::string ready_message(std::string_view device, std::uint64_t size_bytes) {
  const std::string path(device);
  return "READY=1\nSTATUS=serving " + format_size(size_bytes) + " on " + path + "\n" +
         std::string(kSwapDeviceField) + "=" + path + "\n";
}

std::string refused_stop_message(std::string_view device) {
  return "STATUS=refusing to stop: swap is still on " + std::string(device) + " (swapoff first)\n";
}

std::string stopping_message(std::string_view device) {
  return "STOPPING=1\nSTATUS=stopping: detaching " + std::string(device) + "\n";
}

void notify(const std::string& message) {
  if (const int e = duende::mlock::notify_send(message, 0); e != 0)
    log_line(std::string("sd_notify to $NOTIFY_SOCKET failed: ") + std::strerror(e));
}

}  // namespace ramswap
