// What each FUSE request does with the image. The kernel calls these one at a time from
// FuseServer::serve_one(); a read or write is a bounds check and one copy.
#include "fuse_operations.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "image.hpp"
#include "options.hpp"

namespace ramswap {
namespace {

constexpr fuse_ino_t kImageIno = 2;
constexpr char kImageName[] = "image";
// Nothing here ever changes behind the kernel's back, so it may cache names and
// attributes for as long as it likes.
constexpr double kCacheSeconds = 3600;

Image& image_of(fuse_req_t req) { return *static_cast<Image*>(fuse_req_userdata(req)); }

struct stat attributes(const Image& image, fuse_ino_t ino) {
  struct stat st {};
  st.st_ino = ino;
  st.st_blksize = kBlockSize;
  if (ino == FUSE_ROOT_ID) {
    st.st_mode = S_IFDIR | 0755;
    st.st_nlink = 2;
  } else {
    st.st_mode = S_IFREG | 0600;
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(image.size());
    st.st_blocks = static_cast<blkcnt_t>(image.size() / 512);
  }
  return st;
}

void on_init(void*, fuse_conn_info* conn) {
  // Nothing of the image may sit in the kernel's page cache waiting to be written back:
  // that write-back would need this daemon under memory pressure, and a second copy of a
  // swap page is memory wasted. FOPEN_DIRECT_IO (on_open) does that per open; the
  // writeback cache would undo it.
  conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
                  FUSE_CAP_SPLICE_MOVE);
  // The loop device submits asynchronous direct I/O: let the kernel keep several requests
  // of one submission in flight.
  if (conn->capable & FUSE_CAP_ASYNC_DIO) conn->want |= FUSE_CAP_ASYNC_DIO;
}

void on_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID || std::strcmp(name, kImageName) != 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param entry{};
  entry.ino = kImageIno;
  entry.attr = attributes(image_of(req), kImageIno);
  entry.attr_timeout = kCacheSeconds;
  entry.entry_timeout = kCacheSeconds;
  fuse_reply_entry(req, &entry);
}

void on_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  const struct stat st = attributes(image_of(req), ino);
  fuse_reply_attr(req, &st, kCacheSeconds);
}

// chmod, chown and touch are accepted and forgotten; the size is fixed.
void on_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  const Image& image = image_of(req);
  if ((to_set & FUSE_SET_ATTR_SIZE) && static_cast<std::uint64_t>(attr->st_size) != image.size()) {
    fuse_reply_err(req, EPERM);
    return;
  }
  const struct stat st = attributes(image, ino);
  fuse_reply_attr(req, &st, kCacheSeconds);
}

void on_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kImageIno) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  fi->direct_io = 1;   // FOPEN_DIRECT_IO: every read and write comes here, uncached
  fi->keep_cache = 0;  // and nothing cached from an earlier open is kept
  fi->noflush = 1;     // close() has nothing to flush: skip the round trip
  fuse_reply_open(req, fi);
}

// The part of [offset, offset+size) inside the image: its length, 0 past the end.
std::size_t clamp(const Image& image, off_t offset, std::size_t size) {
  if (offset < 0 || static_cast<std::uint64_t>(offset) >= image.size()) return 0;
  const std::uint64_t left = image.size() - static_cast<std::uint64_t>(offset);
  return size < left ? size : static_cast<std::size_t>(left);
}

void on_read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info*) {
  const Image& image = image_of(req);
  const std::size_t n = clamp(image, offset, size);
  fuse_reply_buf(req, reinterpret_cast<const char*>(image.data()) + (n ? offset : 0), n);
}

void on_write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t offset,
              fuse_file_info*) {
  Image& image = image_of(req);
  const std::size_t n = clamp(image, offset, size);
  if (n == 0 && size > 0) {
    fuse_reply_err(req, ENOSPC);
    return;
  }
  std::memcpy(image.data() + offset, buf, n);
  fuse_reply_write(req, n);
}

// A discard reaches here as a hole punched in the file (the loop device turns
// REQ_OP_DISCARD into fallocate): the bytes read back as zeros. The pages stay: they are
// locked, and giving them back would only mean allocating them again at the next write.
void on_fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t offset, off_t length,
                  fuse_file_info*) {
  Image& image = image_of(req);
  const std::size_t n = clamp(image, offset, static_cast<std::size_t>(length));
  if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) ||
      mode == (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)) {
    if (n > 0) std::memset(image.data() + offset, 0, n);
    fuse_reply_err(req, 0);
  } else {
    // Plain allocation within the image is a no-op; anything that would grow it is not.
    const bool inside = mode == 0 && n == static_cast<std::size_t>(length);
    fuse_reply_err(req, inside ? 0 : EOPNOTSUPP);
  }
}

void on_success(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void on_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(req, 0); }

void on_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  const char* names[] = {".", "..", kImageName};
  const fuse_ino_t inodes[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, kImageIno};
  char buf[512];
  std::size_t used = 0;
  for (off_t i = offset; i < 3; ++i) {
    struct stat st {};
    st.st_ino = inodes[i];
    st.st_mode = i == 2 ? S_IFREG : S_IFDIR;
    const std::size_t room = size < sizeof buf ? size : sizeof buf;
    const std::size_t need = fuse_add_direntry(req, buf + used, room - used, names[i], &st, i + 1);
    if (need > room - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf, used);
}

void on_statfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs sv {};
  sv.f_bsize = kBlockSize;
  sv.f_frsize = kBlockSize;
  sv.f_blocks = image_of(req).size() / kBlockSize;
  sv.f_files = 2;
  sv.f_namemax = 255;
  fuse_reply_statfs(req, &sv);
}

fuse_lowlevel_ops make_operations() {
  fuse_lowlevel_ops ops{};
  ops.init = on_init;
  ops.lookup = on_lookup;
  ops.getattr = on_getattr;
  ops.setattr = on_setattr;
  ops.open = on_open;
  ops.read = on_read;
  ops.write = on_write;
  ops.flush = on_success;
  ops.release = on_success;
  ops.fsync = on_fsync;
  ops.readdir = on_readdir;
  ops.statfs = on_statfs;
  ops.fallocate = on_fallocate;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& image_operations() {
  static const fuse_lowlevel_ops ops = make_operations();
  return ops;
}

}  // namespace ramswap
