// The image as a one-file FUSE file system (DIR/image), served by the caller's own loop:
// wait for fd() to be readable, then serve_one().
#pragma once

#include <memory>
#include <string>

#include "duende/result.hpp"
#include "image.hpp"

struct fuse_session;

namespace ramswap {

class FuseServer {
 public:
  // Mounts a file system with one regular file, "image" (mode 0600, the image's size),
  // on the existing directory `dir`. Every open of the file is direct I/O (FOPEN_DIRECT_IO:
  // the kernel neither caches its pages nor writes them back later; each read and write is
  // a request answered from `image`), no writeback cache, no splice. The file cannot be
  // resized. Errors: "/dev/fuse: <errno>" or "mount on DIR failed" with libfuse's own
  // message above it on stderr.
  static duende::mlock::Result<std::unique_ptr<FuseServer>, std::string> mount(
      Image& image, const std::string& dir);

  FuseServer(const FuseServer&) = delete;
  FuseServer& operator=(const FuseServer&) = delete;
  // Unmounts (lazily, as libfuse does for root) and ends the session.
  ~FuseServer();

  // The /dev/fuse descriptor to poll for POLLIN.
  int fd() const;

  // Reads one request and answers it. False when the kernel ended the session (someone
  // unmounted the file system, or the connection was aborted): nothing more to serve.
  bool serve_one();

  // DIR/image.
  const std::string& image_path() const noexcept { return image_path_; }

 private:
  FuseServer(fuse_session* session, std::string image_path) noexcept;
  fuse_session* session_;
  std::string image_path_;
  // The request buffer, allocated by libfuse at the first request (max_write plus a
  // header) and reused for every later one: no allocation per request.
  void* buffer_ = nullptr;
};

}  // namespace ramswap
