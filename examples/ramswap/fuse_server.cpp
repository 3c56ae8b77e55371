// FuseServer: mounting and the request loop's one step. The operations are in
// fuse_operations.cpp.
#define FUSE_USE_VERSION 35
#include "fuse_server.hpp"

#include <fuse_lowlevel.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "fuse_operations.hpp"

namespace ramswap {

using duende::mlock::Result;
using duende::mlock::Unexpected;

Result<std::unique_ptr<FuseServer>, std::string> FuseServer::mount(Image& image,
                                                                   const std::string& dir) {
  // fsname and subtype name it in /proc/self/mountinfo ("ramswap", type fuse.ramswap);
  // default_permissions lets the kernel check the 0600 mode. No allow_other: only root,
  // which mounts, may open the file.
  const char* argv[] = {"ramswap", "-o", "fsname=ramswap,subtype=ramswap,default_permissions"};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  const fuse_lowlevel_ops& ops = image_operations();
  fuse_session* session = fuse_session_new(&args, &ops, sizeof ops, &image);
  fuse_opt_free_args(&args);
  if (session == nullptr) return Unexpected(std::string("fuse_session_new failed"));
  if (fuse_session_mount(session, dir.c_str()) != 0) {
    fuse_session_destroy(session);
    return Unexpected("mount on " + dir + " failed (is /dev/fuse there?)");
  }
  return std::unique_ptr<FuseServer>(new FuseServer(session, dir + "/image"));
}

FuseServer::FuseServer(fuse_session* session, std::string image_path) noexcept
    : session_(session), image_path_(std::move(image_path)) {}

FuseServer::~FuseServer() {
  fuse_session_unmount(session_);
  fuse_session_destroy(session_);
  std::free(buffer_);
}

int FuseServer::fd() const { return fuse_session_fd(session_); }

bool FuseServer::serve_one() {
  fuse_buf buf{};
  buf.mem = buffer_;
  const int n = fuse_session_receive_buf(session_, &buf);
  buffer_ = buf.mem;  // kept for the next request
  // EINTR, EAGAIN: nothing this time; ENOENT: the kernel withdrew an interrupted request.
  if (n == -EINTR || n == -EAGAIN || n == -ENOENT) return true;
  if (n <= 0) return false;
  fuse_session_process_buf(session_, &buf);
  return !fuse_session_exited(session_);
}

}  // namespace ramswap
