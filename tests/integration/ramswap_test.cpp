// ramswap, the reference swap-critical daemon, against the real kernel: FUSE, a loop
// device with direct I/O, swap on it, and its refusal to stop while that swap is on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "privilege.hpp"
#include "proc_peek.hpp"
#include "ramswap_harness.hpp"
#include "run_process.hpp"

namespace duende::itest {
namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t kMiB = 1 << 20;

#define REQUIRE_RAMSWAP() \
  if (const char* why_not = ramswap_unavailable_reason(); why_not) GTEST_SKIP() << why_not

// Starts ramswap with --size `mib`M and waits for its READY; fails the test when it does
// not come.
std::string start_ready(RamswapHarness& ramswap, std::uint64_t mib) {
  ramswap.start({"--size", std::to_string(mib) + "M"});
  const std::string device = ramswap.wait_ready();
  EXPECT_NE(device, "") << "no READY with a device; log:\n" << ramswap.log();
  return device;
}

// Asserts that nothing ramswap made is left: no process, no loop device on its image,
// no mount. The loop device may go a moment later (AUTOCLEAR, a udev probe still open).
void expect_nothing_left(RamswapHarness& ramswap) {
  EXPECT_FALSE(ramswap.alive());
  EXPECT_FALSE(is_mounted(ramswap.mount_dir()));
  const auto until = std::chrono::steady_clock::now() + kRamswapDeadline;
  while (!loops_backed_by(ramswap.image_path()).empty() && std::chrono::steady_clock::now() < until)
    usleep(10000);
  EXPECT_TRUE(loops_backed_by(ramswap.image_path()).empty());
}

struct AlignedBuffer {
  explicit AlignedBuffer(std::size_t size)
      : bytes(static_cast<unsigned char*>(std::aligned_alloc(4096, size))), size(size) {}
  ~AlignedBuffer() { std::free(bytes); }
  unsigned char* bytes;
  std::size_t size;
};

void fill(AlignedBuffer& buffer, unsigned seed) {
  for (std::size_t i = 0; i < buffer.size; ++i)
    buffer.bytes[i] = (i * 131 + seed * 7 + (i >> 12)) & 0xff;
}

TEST(Ramswap, ServesLockedImageOnDirectIoLoopDevice) {
  REQUIRE_RAMSWAP();
  RamswapHarness ramswap;
  const std::string device = start_ready(ramswap, 64);
  ASSERT_NE(device, "");
  std::printf("ramswap: READY %.1f ms after start (64 MiB image)\n",
              ramswap.ready_seconds() * 1000);
  RecordProperty("ready_ms", static_cast<int>(ramswap.ready_seconds() * 1000));
  EXPECT_GE(test::vm_lck(ramswap.pid()), 64 * kMiB);
  EXPECT_EQ(test::status_field(ramswap.pid(), "VmSwap").value_or(1), 0u);
  EXPECT_EQ(loop_attribute(device, "dio"), "1");
  EXPECT_EQ(loop_attribute(device, "backing_file"), ramswap.image_path());
  EXPECT_TRUE(is_mounted(ramswap.mount_dir()));
  EXPECT_EQ(ramswap.stdout_text(), device + "\n");
  bool lock_report = false, status = false;
  for (const auto& d : ramswap.notifications()) {
    lock_report |= d.find("X_DUENDE_MLOCK=locked") != std::string::npos;
    status |= d.find("STATUS=serving 64 MiB on " + device + "\n") != std::string::npos;
  }
  EXPECT_TRUE(lock_report) << "no X_DUENDE_MLOCK=locked report";
  EXPECT_TRUE(status) << "no STATUS=serving 64 MiB on " << device;
}

TEST(Ramswap, RoundTripsDataThroughTheLoopDevice) {
  REQUIRE_RAMSWAP();
  RamswapHarness ramswap;
  const std::string device = start_ready(ramswap, 16);
  ASSERT_NE(device, "");
  const int fd = open(device.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  // Disjoint 64 KiB ranges: the first page, an odd page, across the middle, the end.
  const off_t offsets[] = {0, 256 * 1024 + 7 * 4096, 8 * kMiB - 4096, 9 * kMiB + 12288,
                           16 * kMiB - 65536};
  AlignedBuffer out(65536), in(65536);
  for (unsigned i = 0; i < std::size(offsets); ++i) {
    fill(out, i + 1);
    ASSERT_EQ(pwrite(fd, out.bytes, out.size, offsets[i]), static_cast<ssize_t>(out.size));
  }
  for (unsigned i = 0; i < std::size(offsets); ++i) {
    fill(out, i + 1);
    std::memset(in.bytes, 0, in.size);
    ASSERT_EQ(pread(fd, in.bytes, in.size, offsets[i]), static_cast<ssize_t>(in.size));
    EXPECT_EQ(std::memcmp(in.bytes, out.bytes, in.size), 0) << "at offset " << offsets[i];
  }
  // Past the end: the device is exactly the image's size.
  EXPECT_EQ(pwrite(fd, out.bytes, 4096, 16 * kMiB), -1);
  close(fd);
}

TEST(Ramswap, MeasuresSequentialDirectIoThroughput) {
  REQUIRE_RAMSWAP();
  RamswapHarness ramswap;
  const std::string device = start_ready(ramswap, 128);
  ASSERT_NE(device, "");
  const int fd = open(device.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  AlignedBuffer buffer(kMiB);
  fill(buffer, 3);
  // Three passes: the first write right after READY (it competes with udev's probe of
  // the new device), a second write, a read.
  double seconds[3];
  for (int pass = 0; pass < 3; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = pass < 2 ? pwrite(fd, buffer.bytes, kMiB, i * kMiB)
                                 : pread(fd, buffer.bytes, kMiB, i * kMiB);
      ASSERT_EQ(n, static_cast<ssize_t>(kMiB)) << std::strerror(errno);
    }
    seconds[pass] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  close(fd);
  std::printf(
      "ramswap: 64 MiB O_DIRECT in 1 MiB requests: first write %.0f MiB/s, write %.0f MiB/s, "
      "read %.0f MiB/s\n",
      64 / seconds[0], 64 / seconds[1], 64 / seconds[2]);
  RecordProperty("first_write_mib_s", static_cast<int>(64 / seconds[0]));
  RecordProperty("write_mib_s", static_cast<int>(64 / seconds[1]));
  RecordProperty("read_mib_s", static_cast<int>(64 / seconds[2]));
}

TEST(Ramswap, RefusesToStopWhileSwapIsOnThenStopsCleanly) {
  REQUIRE_RAMSWAP();
  RamswapHarness ramswap;
  const std::string device = start_ready(ramswap, 64);
  ASSERT_NE(device, "");
  ASSERT_TRUE(ramswap.swap_on());
  std::printf("ramswap: swapon(%s) took %.2f ms\n", device.c_str(),
              ramswap.swapon_seconds() * 1000);
  RecordProperty("swapon_us", static_cast<int>(ramswap.swapon_seconds() * 1e6));
  // mkswap leaves the first page for its header: 64 MiB is 65532 KiB of swap.
  EXPECT_EQ(swap_size_kib(device), std::optional<std::uint64_t>(64 * 1024 - 4));

  ramswap.send_signal(SIGTERM);
  EXPECT_TRUE(ramswap.wait_for_log("swap is still on " + device + ": swapoff first"));
  EXPECT_FALSE(ramswap.wait_exit(500ms)) << "ramswap left with its swap on";
  EXPECT_TRUE(swap_size_kib(device).has_value());
  EXPECT_EQ(loop_attribute(device, "backing_file"), ramswap.image_path());

  ASSERT_TRUE(ramswap.swap_off());
  ramswap.send_signal(SIGTERM);
  EXPECT_EQ(ramswap.wait_exit(), std::optional<int>(0)) << ramswap.log();
  expect_nothing_left(ramswap);
}

TEST(Ramswap, StopsOnSigintWithoutSwap) {
  REQUIRE_RAMSWAP();
  RamswapHarness ramswap;
  ASSERT_NE(start_ready(ramswap, 4), "");
  ramswap.send_signal(SIGINT);
  EXPECT_EQ(ramswap.wait_exit(), std::optional<int>(0)) << ramswap.log();
  expect_nothing_left(ramswap);
}

// A loop device already in use (another ramswap's): the start fails with one line, and
// the mount it had made is gone.
TEST(Ramswap, FailsToStartOnABusyLoopDeviceAndUnmounts) {
  REQUIRE_RAMSWAP();
  RamswapHarness first, second;
  const std::string device = start_ready(first, 4);
  ASSERT_NE(device, "");
  second.start({"--size", "4M", "--loop", device});
  EXPECT_EQ(second.wait_exit(), std::optional<int>(1));
  EXPECT_NE(second.log().find("ramswap: " + device + ": Device or resource busy\n"),
            std::string::npos)
      << second.log();
  expect_nothing_left(second);
  EXPECT_TRUE(first.alive());
}

TEST(Ramswap, FailsToStartWithoutTheMountPoint) {
  REQUIRE_RAMSWAP();
  RamswapHarness ramswap;
  ramswap.start({"--size", "4M", "--mount", ramswap.mount_dir() + "/missing"}, false);
  EXPECT_EQ(ramswap.wait_exit(), std::optional<int>(1));
  EXPECT_NE(ramswap.log().find("mount on " + ramswap.mount_dir() + "/missing failed"),
            std::string::npos)
      << ramswap.log();
}

}  // namespace
}  // namespace duende::itest

namespace duende::itest {
namespace {

// Without CAP_IPC_LOCK and with an 8 MiB memlock limit, a 64 MiB image cannot be locked:
// ramswap must not serve unlocked. Exit 71 with the library's one-line reason, before any
// mount. Run under timeout(1) so that a ramswap that wrongly went on is a failure, not a hang.
TEST(Ramswap, ExitsWithOsErrWhenItCannotLock) {
  REQUIRE_RAMSWAP();
  RamswapHarness scratch;  // for its directory only
  const auto result = test::run_process(
      {"/usr/bin/timeout", "20", kRamswapBin, "--size", "64M", "--mount", scratch.mount_dir()},
      {"PATH=/usr/bin:/bin"}, [] { test::make_unprivileged(8 << 20); });
  EXPECT_EQ(result.exit_code, 71) << result.err;
  EXPECT_NE(result.err.find("ramswap: mlockall failed: "), std::string::npos) << result.err;
  EXPECT_FALSE(is_mounted(scratch.mount_dir()));
}

}  // namespace
}  // namespace duende::itest
