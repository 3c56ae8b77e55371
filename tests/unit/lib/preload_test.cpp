// The preload shim on unmodified programs (/bin/sleep, /bin/true).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "param_name.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"
#include "run_process.hpp"

namespace duende::test {
namespace {

const std::string kShim = DUENDE_PRELOAD_PATH;

TEST(PreloadShim, LocksUnmodifiedSleep) {
  DUENDE_REQUIRE_LOCKING();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string preload = "LD_PRELOAD=" + kShim;
    char* argv[] = {const_cast<char*>("/bin/sleep"), const_cast<char*>("30"), nullptr};
    char* envp[] = {const_cast<char*>(preload.c_str()), nullptr};
    execve(argv[0], argv, envp);
    _exit(127);
  }
  std::uint64_t locked = 0;
  for (int i = 0; i < 500 && locked == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    locked = vm_lck(pid);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  EXPECT_GT(locked, 1024u * 1024) << "VmLck of /bin/sleep under the shim";
}

TEST(PreloadShim, RequiredLockWithoutPrivilegeExits71WithMessage) {
  DUENDE_REQUIRE_LOCKING();
  const auto r = run_process({"/bin/true"}, {"LD_PRELOAD=" + kShim}, [] { make_unprivileged(0); });
  EXPECT_EQ(r.exit_code, 71);
  EXPECT_EQ(
      r.err.rfind("libduende-mlock-preload: true: mlockall failed: Operation not permitted", 0), 0u)
      << r.err;
  EXPECT_NE(r.err.find("AmbientCapabilities=CAP_IPC_LOCK"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
}

TEST(PreloadShim, NotRequiredLetsTheProgramRun) {
  DUENDE_SKIP_IF_SANITIZED("the shim would need the ASan runtime loaded first");
  const auto r = run_process({"/bin/true"}, {"LD_PRELOAD=" + kShim, "DUENDE_MLOCK_REQUIRED=0"},
                             [] { make_unprivileged(0); });
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

class PreloadShimRejects : public testing::TestWithParam<const char*> {};

TEST_P(PreloadShimRejects, InvalidVariableExits78) {
  DUENDE_SKIP_IF_SANITIZED("the shim would need the ASan runtime loaded first");
  const auto r = run_process({"/bin/true"}, {"LD_PRELOAD=" + kShim, GetParam()});
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_NE(r.err.find("is invalid: use 1 or 0"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Table, PreloadShimRejects,
                         testing::Values("DUENDE_MLOCK_CURRENT=yes", "DUENDE_MLOCK_FUTURE=2",
                                         "DUENDE_MLOCK_ONFAULT=true", "DUENDE_MLOCK_REQUIRED=no",
                                         "DUENDE_MLOCK_IO_FLUSHER=on",
                                         "DUENDE_MLOCK_RETAIN_HEAP=-1",
                                         "DUENDE_MLOCK_RELOCK_AFTER_FORK=yes"),
                         test::StringParamName());

}  // namespace
}  // namespace duende::test
