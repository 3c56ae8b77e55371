// Which preload shim (libduende-mlock-preload.so) children with "preload": true get, and
// whether it is usable. A missing shim is a configuration error: a child whose lock comes
// from the shim would start unlocked, or not at all (the dynamic loader only warns).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor {

// Where the shim was found.
struct PreloadShim {
  std::string path;
  enum class Origin {
    Option,     // --preload PATH
    Installed,  // the installed path (MLOCK_PRELOAD_INSTALLED), which exists
    BuildTree,  // beside the build tree's binary (see find_build_tree_shim)
    Missing,    // none found: `path` is the installed one
  };
  Origin origin = Origin::Missing;
};

// The shim for a daemon run as `executable` (/proc/self/exe): `given` (--preload, "" when
// not given) always wins; else `installed` when it is a usable shim (usable_shim); else the
// build tree's shim, find_build_tree_shim(executable, build_relative, installed_daemon);
// else `installed` as Missing, for preload_problems() to name.
PreloadShim choose_preload_shim(const std::string& given, const std::string& installed,
                                const std::string& executable, const std::string& build_relative,
                                const std::string& installed_daemon);

// The shim a daemon run from its build tree was built with: dirname(executable) +
// "/" + build_relative (the shim's output file relative to the binary's, fixed at build
// time), when all of this holds, else nullopt:
//   - `executable` is not `installed_daemon` (an installed daemon uses the installed shim);
//   - the file is a regular file owned by root or by this process's effective uid, not
//     writable by group or others;
//   - every directory from / down to it is owned by root or the effective uid, and is not
//     writable by group or others unless it has the sticky bit (/tmp): nobody else can
//     have put it there or can swap it for another (root runs this, and the shim is loaded
//     into every child).
// Symbolic links are resolved first (realpath) and the checks apply to the real path.
std::optional<std::string> find_build_tree_shim(const std::string& executable,
                                                const std::string& build_relative,
                                                const std::string& installed_daemon);

// Why `path` cannot serve as the shim, nullopt when it can: it must be a regular file
// (symbolic links followed) this process may read. "does not exist", "is not a regular
// file", "cannot be read: Permission denied", …
std::optional<std::string> shim_problem(const std::string& path);

// A problem when a child of `config` has "preload": true and the shim is not usable:
// naming the children, the path and the fixes (--preload PATH, install libduende-mlock1,
// or "preload": false). Empty when no child needs it or it is usable. `file` is the
// configuration file the problem is reported against.
std::vector<ConfigProblem> preload_problems(const Config& config, const PreloadShim& shim,
                                            const std::string& file);

}  // namespace duende::supervisor
