#include "app/preload_shim.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace duende::supervisor {
namespace {

bool trusted_owner(const struct stat& st) { return st.st_uid == 0 || st.st_uid == ::geteuid(); }

bool others_may_write(const struct stat& st) { return (st.st_mode & (S_IWGRP | S_IWOTH)) != 0; }

std::optional<std::string> real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return std::nullopt;
  return std::string(buf);
}

// Every directory above `path` (an absolute real path): trusted owner, and not writable by
// others unless sticky.
bool safe_directories(const std::string& path) {
  for (std::size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0;
       slash = path.rfind('/', slash - 1)) {
    struct stat st {};
    const std::string dir = path.substr(0, slash);
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !trusted_owner(st) ||
        (others_may_write(st) && !(st.st_mode & S_ISVTX)))
      return false;
  }
  struct stat root {};
  return ::stat("/", &root) == 0 && trusted_owner(root) && !others_may_write(root);
}

}  // namespace

std::optional<std::string> shim_problem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return errno == ENOENT ? std::string("does not exist")
                           : std::string("cannot be found: ") + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return std::string("is not a regular file");
  if (::access(path.c_str(), R_OK) != 0)
    return std::string("cannot be read: ") + std::strerror(errno);
  return std::nullopt;
}

std::optional<std::string> find_build_tree_shim(const std::string& executable,
                                                const std::string& build_relative,
                                                const std::string& installed_daemon) {
  if (executable.empty() || build_relative.empty()) return std::nullopt;
  const auto exe = real_path(executable);
  if (!exe || *exe == installed_daemon || real_path(installed_daemon) == exe) return std::nullopt;
  const auto shim = real_path(exe->substr(0, exe->rfind('/') + 1) + build_relative);
  if (!shim) return std::nullopt;
  struct stat st {};
  if (::stat(shim->c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !trusted_owner(st) ||
      others_may_write(st) || !safe_directories(*shim) || shim_problem(*shim))
    return std::nullopt;
  return shim;
}

PreloadShim choose_preload_shim(const std::string& given, const std::string& installed,
                                const std::string& executable, const std::string& build_relative,
                                const std::string& installed_daemon) {
  if (!given.empty()) return {given, PreloadShim::Origin::Option};
  if (!shim_problem(installed)) return {installed, PreloadShim::Origin::Installed};
  if (auto found = find_build_tree_shim(executable, build_relative, installed_daemon))
    return {*found, PreloadShim::Origin::BuildTree};
  return {installed, PreloadShim::Origin::Missing};
}

std::vector<ConfigProblem> preload_problems(const Config& config, const PreloadShim& shim,
                                            const std::string& file) {
  std::vector<std::string> wanting;
  for (const auto& [name, child] : config.children)
    if (child.preload) wanting.push_back(name);
  if (wanting.empty()) return {};
  const auto problem = shim_problem(shim.path);
  if (!problem) return {};
  std::string names;
  for (std::size_t i = 0; i < wanting.size() && i < 3; ++i) names += (i ? ", " : "") + wanting[i];
  if (wanting.size() > 3) names += " (+" + std::to_string(wanting.size() - 3) + " more)";
  const std::string fix =
      shim.origin == PreloadShim::Origin::Option
          ? "give --preload the path of libduende-mlock-preload.so"
          : "install libduende-mlock1 (it provides this file), or give --preload PATH";
  return {ConfigProblem{file, "/children/" + wanting.front() + "/preload",
                        "the preload shim " + shim.path + " " + *problem + ", and " +
                            (wanting.size() == 1 ? "child " : "children ") + names +
                            (wanting.size() == 1 ? " has" : " have") + " \"preload\": true: " +
                            fix + ", or set \"preload\": false for a child that locks itself"}};
}

}  // namespace duende::supervisor
