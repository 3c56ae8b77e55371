// Loop device ioctls (linux/loop.h) and the /proc/swaps check.
#include "loop_device.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "options.hpp"

namespace ramswap {

using duende::mlock::Result;
using duende::mlock::Unexpected;

namespace {

constexpr std::uint32_t kFlags = LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR;
constexpr int kFreeDeviceAttempts = 8;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

loop_info64 loop_info(const std::string& backing_file) {
  loop_info64 info{};
  info.lo_flags = kFlags;
  std::strncpy(reinterpret_cast<char*>(info.lo_file_name), backing_file.c_str(), LO_NAME_SIZE - 1);
  return info;
}

// The pre-5.8 sequence. Returns 0 or the errno of the first step that failed.
int configure_step_by_step(int loop_fd, int backing_fd, const loop_info64& info) {
  if (::ioctl(loop_fd, LOOP_SET_FD, backing_fd) != 0) return errno;
  int e = 0;
  if (::ioctl(loop_fd, LOOP_SET_STATUS64, &info) != 0 ||
      ::ioctl(loop_fd, LOOP_SET_BLOCK_SIZE, static_cast<unsigned long>(kBlockSize)) != 0 ||
      ::ioctl(loop_fd, LOOP_SET_DIRECT_IO, 1ul) != 0)
    e = errno;
  if (e != 0) ::ioctl(loop_fd, LOOP_CLR_FD, 0);
  return e;
}

// Binds `loop_fd` to `backing_fd`. Returns 0 or the errno (EBUSY: already bound).
int configure(int loop_fd, int backing_fd, const std::string& backing_file, std::string& how) {
  loop_config config{};
  config.fd = static_cast<std::uint32_t>(backing_fd);
  config.block_size = kBlockSize;
  config.info = loop_info(backing_file);
  how = "LOOP_CONFIGURE";
  if (::ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0) return 0;
  if (errno != EINVAL && errno != ENOTTY) return errno;
  how = std::string("LOOP_SET_FD + LOOP_SET_STATUS64 + LOOP_SET_DIRECT_IO (LOOP_CONFIGURE: ") +
        std::strerror(errno) + ")";
  return configure_step_by_step(loop_fd, backing_fd, config.info);
}

// "/dev/loopN" of a free device, or an error.
Result<std::string, std::string> free_device() {
  const int control = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) return Unexpected(errno_text("/dev/loop-control"));
  const int number = ::ioctl(control, LOOP_CTL_GET_FREE);
  const int e = errno;
  ::close(control);
  if (number < 0) return Unexpected("no free loop device: " + std::string(std::strerror(e)));
  return "/dev/loop" + std::to_string(number);
}

// Opens `path` and binds it; EBUSY is reported as such so that "auto" can try again.
Result<LoopDevice, int> bind(const std::string& path, int backing_fd, const std::string& file) {
  LoopDevice device{path, ::open(path.c_str(), O_RDWR | O_CLOEXEC), 0, {}};
  if (device.fd < 0) return Unexpected(errno);
  if (const int e = configure(device.fd, backing_fd, file, device.how); e != 0) {
    ::close(device.fd);
    return Unexpected(e);
  }
  struct stat st {};
  ::fstat(device.fd, &st);
  device.rdev = st.st_rdev;
  return device;
}

bool direct_io_on(int loop_fd) {
  loop_info64 info{};
  return ::ioctl(loop_fd, LOOP_GET_STATUS64, &info) == 0 && (info.lo_flags & LO_FLAGS_DIRECT_IO);
}

Result<LoopDevice, std::string> bind_any(const std::string& wanted, int backing_fd,
                                         const std::string& file) {
  const bool automatic = wanted == "auto";
  for (int attempt = 0; attempt < kFreeDeviceAttempts; ++attempt) {
    auto path = automatic ? free_device() : Result<std::string, std::string>(wanted);
    if (!path) return Unexpected(path.error());
    auto device = bind(*path, backing_fd, file);
    if (device) return std::move(*device);
    if (device.error() != EBUSY || !automatic)
      return Unexpected(*path + ": " + std::strerror(device.error()));
  }
  return Unexpected(std::string("no free loop device: each one was taken by another process"));
}

}  // namespace

Result<LoopDevice, std::string> attach_loop(const std::string& backing_file,
                                            const std::string& wanted) {
  // O_DIRECT from the start: the file is opened as the loop device will use it.
  const int backing_fd = ::open(backing_file.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  if (backing_fd < 0) return Unexpected(errno_text("open " + backing_file));
  auto device = bind_any(wanted, backing_fd, backing_file);
  ::close(backing_fd);  // the loop device holds its own reference
  if (!device) return device;
  if (!direct_io_on(device->fd)) {
    static_cast<void>(detach_loop(*device));
    return Unexpected(device->path + ": the kernel did not turn direct I/O on");
  }
  return device;
}

Result<void, std::string> detach_loop(LoopDevice& device) {
  const bool cleared = ::ioctl(device.fd, LOOP_CLR_FD, 0) == 0;
  const int e = errno;
  ::close(device.fd);
  device.fd = -1;
  if (!cleared) return Unexpected(device.path + ": LOOP_CLR_FD: " + std::strerror(e));
  return {};
}

namespace {

// The kernel writes names with seq_escape(): a space, tab, newline or backslash as "\ooo".
std::string decode_octal_escapes(std::string_view field) {
  std::string name;
  for (std::size_t i = 0; i < field.size(); ++i) {
    const std::string_view digits = field.substr(i + 1, 3);
    if (field[i] != '\\' || digits.size() != 3 ||
        digits.find_first_not_of("01234567") != std::string_view::npos) {
      name += field[i];
      continue;
    }
    name +=
        static_cast<char>(((digits[0] - '0') << 6) | ((digits[1] - '0') << 3) | (digits[2] - '0'));
    i += 3;
  }
  return name;
}

}  // namespace

std::vector<std::string> swap_area_names(std::string_view proc_swaps) {
  std::vector<std::string> names;
  std::istringstream lines{std::string(proc_swaps)};
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::string name = decode_octal_escapes(line.substr(0, line.find_first_of(" \t")));
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

bool swap_is_on(const LoopDevice& device) {
  std::ifstream in("/proc/swaps");
  std::ostringstream text;
  text << in.rdbuf();
  for (const std::string& name : swap_area_names(text.str())) {
    struct stat st {};
    if (name == device.path) return true;
    if (::stat(name.c_str(), &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == device.rdev)
      return true;
  }
  return false;
}

}  // namespace ramswap
