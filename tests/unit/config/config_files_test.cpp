// load_config against real files in temporary directories.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor {
namespace {

namespace fs = std::filesystem;

// A fresh directory under /tmp (mkdtemp), removed with its contents afterwards.
class ConfigFilesTest : public testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/config_files_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  // Writes `text` to root/relative (creating directories) with mode 0644; returns the path.
  std::string write(const std::string& relative, const std::string& text) {
    const fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0644);
    return path.string();
  }

  std::string path(const std::string& relative) const { return root_ + "/" + relative; }

  ConfigSources sources(std::vector<std::string> dirs) const {
    ConfigSources result;
    result.main_file = path("main.json");
    result.dropin_dirs.clear();
    for (const auto& dir : dirs) result.dropin_dirs.push_back(path(dir));
    return result;
  }

  static std::vector<std::string> texts(const ConfigResult& result) {
    std::vector<std::string> texts;
    if (!result) {
      for (const auto& problem : result.error()) texts.push_back(problem.to_string());
    }
    return texts;
  }

  std::string root_;
};

constexpr const char* kMain = R"({"children": {"a": {"exec": ["/bin/a"]}}})";

TEST_F(ConfigFilesTest, MissingDefaultMainFileAndDirectoryReadAsEmpty) {
  ConfigResult result = load_config(sources({"conf.d"}));
  ASSERT_TRUE(result.has_value()) << texts(result).front();
  EXPECT_EQ(*result, Config{});
}

TEST_F(ConfigFilesTest, MissingExplicitMainFileIsAProblem) {
  ConfigSources explicit_main = sources({});
  explicit_main.main_file_explicit = true;
  EXPECT_EQ(
      texts(load_config(explicit_main)),
      std::vector<std::string>{path("main.json") + ": cannot read: No such file or directory"});
}

TEST_F(ConfigFilesTest, DropinsApplyInLexicalOrderAcrossDirectories) {
  write("main.json", kMain);
  write("etc/20-b.json", R"({"children": {"a": {"restart_sec": 2}}})");
  write("run/10-a.json", R"({"children": {"a": {"restart_sec": 1, "stop_timeout_sec": 5}}})");
  write("run/30-c.json", R"({"children": {"a": {"stop_timeout_sec": 7}}})");
  write("etc/README", "not json, ignored");
  write("etc/.hidden.json", "not json, ignored");
  ConfigResult result = load_config(sources({"run", "etc"}));
  ASSERT_TRUE(result.has_value()) << texts(result).front();
  EXPECT_DOUBLE_EQ(result->children.at("a").restart_sec, 2);       // 20-b after 10-a
  EXPECT_DOUBLE_EQ(result->children.at("a").stop_timeout_sec, 7);  // 30-c after 20-b
}

TEST_F(ConfigFilesTest, SameNameInTwoDirectoriesEarliestDirectoryWins) {
  write("main.json", kMain);
  write("run/50-x.json", R"({"children": {"a": {"restart_sec": 1}}})");
  write("etc/50-x.json", R"({"children": {"a": {"restart_sec": 9, "bogus": 1}}})");
  ConfigResult result = load_config(sources({"run", "etc"}));
  ASSERT_TRUE(result.has_value()) << texts(result).front();
  EXPECT_DOUBLE_EQ(result->children.at("a").restart_sec, 1);
}

TEST_F(ConfigFilesTest, DropinSymlinkedToDevNullMasksTheName) {
  write("main.json", kMain);
  write("etc/50-x.json", R"({"children": {"a": {"bogus": 1}}})");
  fs::create_directories(path("run"));
  fs::create_symlink("/dev/null", path("run/50-x.json"));
  ConfigResult result = load_config(sources({"run", "etc"}));
  ASSERT_TRUE(result.has_value()) << texts(result).front();
  EXPECT_EQ(result->children.size(), 1u);
}

TEST_F(ConfigFilesTest, ProblemsNameTheDropinPath) {
  write("main.json", kMain);
  const std::string dropin =
      write("etc/10-bad.json", "{\n  \"children\": {\"a\": {\"user\": 1.5}}\n,}");
  EXPECT_EQ(
      texts(load_config(sources({"etc"}))),
      std::vector<std::string>{dropin + ": 3:2: syntax error while parsing object key - unexpected "
                                        "'}'; expected string literal"});
}

TEST_F(ConfigFilesTest, UnreadableAndIrregularFilesAreProblems) {
  write("main.json", kMain);
  fs::create_directories(path("etc/20-dir.json"));
  fs::create_symlink(path("nowhere"), path("etc/10-dangling.json"));
  write("not-a-dir", "");
  EXPECT_EQ(texts(load_config(sources({"etc", "not-a-dir"}))),
            (std::vector<std::string>{
                path("not-a-dir") + ": not a directory",
                path("etc/10-dangling.json") + ": cannot read: No such file or directory",
                path("etc/20-dir.json") + ": not a regular file"}));
}

TEST_F(ConfigFilesTest, OwnershipCheckAcceptsRootOwnedFiles) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: files must be owned by uid 0";
  write("main.json", kMain);
  write("etc/10-a.json", "{}");
  ConfigSources checked = sources({"etc"});
  checked.check_ownership = true;
  ::chmod(path("etc").c_str(), 0755);
  ConfigResult result = load_config(checked);
  EXPECT_TRUE(result.has_value()) << texts(result).front();
}

TEST_F(ConfigFilesTest, OwnershipCheckRefusesGroupWritableFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: files must be owned by uid 0";
  write("main.json", kMain);
  const std::string dropin = write("etc/10-a.json", R"({"children": {"a": null}})");
  ::chmod(path("etc").c_str(), 0755);
  ::chmod(dropin.c_str(), 0664);
  ConfigSources checked = sources({"etc"});
  checked.check_ownership = true;
  EXPECT_EQ(texts(load_config(checked)),
            std::vector<std::string>{dropin + ": refusing: writable by group/other (mode 0664); "
                                              "it names programs run as root"});
  checked.check_ownership = false;  // the same files pass when not checked
  EXPECT_TRUE(load_config(checked).has_value());
}

TEST_F(ConfigFilesTest, OwnershipCheckRefusesFilesAndDirectoriesNotOwnedByRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown files to uid 65534";
  const std::string main = write("main.json", kMain);
  write("etc/10-a.json", "{}");
  ASSERT_EQ(::chown(main.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chmod(path("etc").c_str(), 0775), 0);
  ConfigSources checked = sources({"etc"});
  checked.check_ownership = true;
  EXPECT_EQ(texts(load_config(checked)),
            (std::vector<std::string>{
                main + ": refusing: owned by uid 65534, not root; it names programs run as root",
                path("etc") + ": refusing: writable by group/other (mode 0775); its files name "
                              "programs run as root"}));
}

}  // namespace
}  // namespace duende::supervisor
