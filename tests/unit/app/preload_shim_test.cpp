#include "app/preload_shim.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace duende::supervisor {
namespace {

constexpr const char* kRelative = "../lib/libduende-mlock-preload.so";

// A build tree under a fresh directory: DIR/daemon/mlock-supervisor, DIR/lib/<shim>.
class BuildTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/preload-shim-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::filesystem::create_directories(dir_ + "/daemon");
    std::filesystem::create_directories(dir_ + "/lib");
    std::ofstream(exe()) << "binary";
    std::ofstream(shim()) << "shim";
    ::chmod(shim().c_str(), 0644);
    ::chmod((dir_ + "/lib").c_str(), 0755);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string exe() const { return dir_ + "/daemon/mlock-supervisor"; }
  std::string shim() const { return dir_ + "/lib/libduende-mlock-preload.so"; }
  std::string dir_;
};

TEST_F(BuildTree, FindsTheShimBesideTheBinary) {
  EXPECT_EQ(find_build_tree_shim(exe(), kRelative, "/usr/sbin/mlock-supervisor"), shim());
}

TEST_F(BuildTree, AnInstalledDaemonDoesNotLookInABuildTree) {
  EXPECT_EQ(find_build_tree_shim(exe(), kRelative, exe()), std::nullopt);
}

TEST_F(BuildTree, AShimOthersMayWriteIsNotTaken) {
  ::chmod(shim().c_str(), 0666);
  EXPECT_EQ(find_build_tree_shim(exe(), kRelative, "/usr/sbin/mlock-supervisor"), std::nullopt);
  ::chmod(shim().c_str(), 0664);
  EXPECT_EQ(find_build_tree_shim(exe(), kRelative, "/usr/sbin/mlock-supervisor"), std::nullopt);
}

TEST_F(BuildTree, ADirectoryOthersMayWriteIsNotTrustedUnlessSticky) {
  ::chmod((dir_ + "/lib").c_str(), 0777);
  EXPECT_EQ(find_build_tree_shim(exe(), kRelative, "/usr/sbin/mlock-supervisor"), std::nullopt);
  ::chmod((dir_ + "/lib").c_str(), 01777);  // as /tmp: nobody else can replace our file
  EXPECT_EQ(find_build_tree_shim(exe(), kRelative, "/usr/sbin/mlock-supervisor"), shim());
}

TEST_F(BuildTree, NoShimThereIsNone) {
  std::filesystem::remove(shim());
  EXPECT_EQ(find_build_tree_shim(exe(), kRelative, "/usr/sbin/mlock-supervisor"), std::nullopt);
  std::filesystem::create_directory(shim());  // a directory of that name
  EXPECT_EQ(find_build_tree_shim(exe(), kRelative, "/usr/sbin/mlock-supervisor"), std::nullopt);
}

TEST_F(BuildTree, TheOptionWinsThenTheInstalledShimThenTheBuildTree) {
  const std::string missing = dir_ + "/absent.so";
  const auto chosen = [&](const std::string& given, const std::string& installed) {
    return choose_preload_shim(given, installed, exe(), kRelative, "/usr/sbin/mlock-supervisor");
  };
  EXPECT_EQ(chosen(missing, shim()).path, missing);
  EXPECT_EQ(chosen(missing, shim()).origin, PreloadShim::Origin::Option);
  const std::string installed = dir_ + "/installed.so";
  std::ofstream(installed) << "shim";
  EXPECT_EQ(chosen("", installed).path, installed);
  EXPECT_EQ(chosen("", installed).origin, PreloadShim::Origin::Installed);
  EXPECT_EQ(chosen("", missing).path, shim());
  EXPECT_EQ(chosen("", missing).origin, PreloadShim::Origin::BuildTree);
  std::filesystem::remove(shim());
  EXPECT_EQ(chosen("", missing).path, missing);
  EXPECT_EQ(chosen("", missing).origin, PreloadShim::Origin::Missing);
}

TEST(ShimProblem, NamesWhatIsWrong) {
  EXPECT_EQ(shim_problem("/nonexistent/lib.so"), "does not exist");
  EXPECT_EQ(shim_problem("/"), "is not a regular file");
  EXPECT_EQ(shim_problem("/proc/self/status"), std::nullopt);
}

Config config_of(const std::string& json) {
  auto c = config_from_documents({{"/etc/m.json", json}});
  EXPECT_TRUE(c);
  return *c;
}

TEST(PreloadProblems, OneProblemNamingThePathTheChildrenAndTheFix) {
  const Config config = config_of(R"({"children": {
      "a": {"exec": ["/bin/a"]}, "b": {"exec": ["/bin/b"]},
      "c": {"exec": ["/bin/c"], "preload": false}}})");
  const auto problems = preload_problems(
      config, PreloadShim{"/usr/lib/x/libduende-mlock-preload.so", PreloadShim::Origin::Missing},
      "/etc/m.json");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].to_string(),
            "/etc/m.json: /children/a/preload: the preload shim "
            "/usr/lib/x/libduende-mlock-preload.so does not exist, and children a, b have "
            "\"preload\": true: install libduende-mlock1 (it provides this file), or give "
            "--preload PATH, or set \"preload\": false for a child that locks itself");
}

TEST(PreloadProblems, NoneWithoutAChildThatPreloadsOrWithAUsableShim) {
  const PreloadShim missing{"/nonexistent/x.so", PreloadShim::Origin::Option};
  EXPECT_TRUE(preload_problems(config_of(R"({"children": {"c": {"exec": ["/bin/c"],
      "preload": false}}})"),
                               missing, "/etc/m.json")
                  .empty());
  EXPECT_TRUE(preload_problems(config_of(R"({"children": {"a": {"exec": ["/bin/a"]}}})"),
                               PreloadShim{"/proc/self/status", PreloadShim::Origin::Option},
                               "/etc/m.json")
                  .empty());
  const auto given = preload_problems(config_of(R"({"children": {"a": {"exec": ["/bin/a"]}}})"),
                                      missing, "/etc/m.json");
  ASSERT_EQ(given.size(), 1u);
  EXPECT_NE(given[0].message.find("child a has \"preload\": true: give --preload the path of "
                                  "libduende-mlock-preload.so"),
            std::string::npos)
      << given[0].message;
}

}  // namespace
}  // namespace duende::supervisor
