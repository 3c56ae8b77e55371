// A child with "preload": true needs the preload shim: a missing one is a configuration
// error (at start, in --check-config, on reload), and a daemon run from its build tree
// without --preload finds the shim it was built with.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <climits>
#include <fstream>
#include <iterator>
#include <string>

#include "privilege.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

constexpr const char* kMissingShim = "/nonexistent/libduende-mlock-preload.so";

Json preloaded_child() {
  Json c = unlocked_child({"--ready"}, "notify");
  c["preload"] = true;
  return c;
}

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

bool installed_shim_exists() {
  struct stat st {};
  return ::stat(kPreloadInstalled, &st) == 0;
}

TEST(PreloadShim, CheckConfigWithAMissingShimExits78NamingThePathAndTheFix) {
  Harness h;
  h.config["children"]["shimmed"] = preloaded_child();
  h.write_config();
  const RunResult r = h.run_cli({"--check-config", "--config", h.config_file(), "--config-dir",
                                 h.dropin_dir(), "--preload", kMissingShim});
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_NE(r.err.find(h.config_file() + ": /children/shimmed/preload: the preload shim " +
                       kMissingShim + " does not exist, and child shimmed has \"preload\": true"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--preload"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 problem(s) found"), std::string::npos) << r.err;
}

TEST(PreloadShim, ADirectoryIsNoShim) {
  Harness h;
  h.config["children"]["shimmed"] = preloaded_child();
  h.write_config();
  const RunResult r = h.run_cli({"--check-config", "--config", h.config_file(), "--config-dir",
                                 h.dropin_dir(), "--preload", h.dropin_dir()});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("the preload shim " + h.dropin_dir() + " is not a regular file"),
            std::string::npos)
      << r.err;
}

TEST(PreloadShim, NoChildWithPreloadNeedsNoShim) {
  Harness h;
  h.config["children"]["plain"] = unlocked_child({"--ready"}, "notify");  // "preload": false
  h.write_config();
  const RunResult r = h.run_cli({"--check-config", "--config", h.config_file(), "--config-dir",
                                 h.dropin_dir(), "--preload", kMissingShim});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configuration OK: 1 child(ren); start order: plain\n");
}

TEST(PreloadShim, StartWithAMissingShimExits78AndStartsNothing) {
  Harness h;
  h.config["children"]["shimmed"] = preloaded_child();
  Harness::Launch launch;
  launch.preload_option = kMissingShim;
  h.start(launch);
  EXPECT_EQ(h.wait_exit(), 78);
  EXPECT_GE(h.line_index(std::string("/children/shimmed/preload: the preload shim ") +
                         kMissingShim + " does not exist"),
            0)
      << h.log_text();
  EXPECT_GE(h.line_index("invalid configuration: 1 problem(s)"), 0) << h.log_text();
  EXPECT_TRUE(h.child_pids("shimmed").empty());
}

TEST(PreloadShim, ReloadThatNeedsAMissingShimIsRefused) {
  Harness h;
  h.config["children"]["plain"] = unlocked_child({"--ready"}, "notify");
  Harness::Launch launch;
  launch.preload_option = kMissingShim;
  h.start(launch);
  ASSERT_TRUE(h.wait_for_log("plain: ready")) << h.log_text();
  const pid_t plain = h.child_pids("plain").at(0);

  h.config["children"]["shimmed"] = preloaded_child();
  h.write_config();
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("reload failed")) << h.log_text();
  EXPECT_GE(h.line_index(std::string("reload: ") + h.config_file() +
                         ": /children/shimmed/preload: the preload shim " + kMissingShim +
                         " does not exist"),
            0)
      << h.log_text();
  EXPECT_GE(h.line_index("keeping the running configuration"), 0) << h.log_text();
  EXPECT_TRUE(h.wait_for_status("reload failed"));
  EXPECT_TRUE(h.child_pids("shimmed").empty());
  EXPECT_EQ(h.child_pids("plain"), std::vector<pid_t>{plain});
}

TEST(PreloadShim, FromTheBuildTreeWithoutPreloadCheckConfigNamesTheBuiltShim) {
  if (installed_shim_exists()) GTEST_SKIP() << kPreloadInstalled << " is installed: it wins";
  Harness h;
  h.config["children"]["shimmed"] = preloaded_child();
  h.write_config();
  const RunResult r =
      h.run_cli({"--check-config", "--config", h.config_file(), "--config-dir", h.dropin_dir()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configuration OK: 1 child(ren); start order: shimmed; preload shim: " +
                       real(kPreloadLib) + "\n");
}

TEST(PreloadShim, FromTheBuildTreeWithoutPreloadChildrenGetTheBuiltShim) {
  DUENDE_SKIP_IF_SANITIZED("the shim cannot load into a program without the ASan runtime");
  if (installed_shim_exists()) GTEST_SKIP() << kPreloadInstalled << " is installed: it wins";
  Harness h;
  const std::string env_file = h.path("env");
  Json c = unlocked_child({"--print-env", env_file, "--ready"}, "notify");
  c["preload"] = true;
  h.config["children"]["shimmed"] = c;
  Harness::Launch launch;
  launch.preload_option.reset();
  h.start(launch);
  ASSERT_TRUE(h.wait_for_log("shimmed: ready")) << h.log_text();
  EXPECT_GE(h.line_index("preload shim: " + real(kPreloadLib) + " (built with this binary"), 0)
      << h.log_text();
  std::ifstream in(env_file);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("\nLD_PRELOAD=" + real(kPreloadLib) + "\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace duende::itest
