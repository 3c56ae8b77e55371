#include "os/log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace duende::supervisor {

namespace {

int above_stdio(int fd);

LogSink g_sink = nullptr;
void* g_sink_context = nullptr;

enum class Path { Unset, Socket, OwnDescription, PollGuarded, Plain };

// Everything lives in static storage: log() must work without allocating, even when the
// heap is what ran out.
struct Writer {
  Path path = Path::Unset;
  int fd = STDERR_FILENO;
  int own_fd = -1;  // the non-blocking description log_init() opened
  char pending[kLogBufferBytes];
  std::size_t begin = 0;  // unwritten bytes: pending[begin, end), whole lines
  std::size_t end = 0;
  std::uint64_t dropped = 0;
};
Writer g_writer;

// The journal's native socket, when log_init() chose it.
struct Journal {
  int fd = -1;
  std::uint64_t dropped = 0;  // entries the socket did not take, not yet reported
  char entry[kJournalEntryBytes];
};
Journal g_journal;

// Keeps errno as the caller left it: a caller may log and then look at errno.
class SavedErrno {
 public:
  SavedErrno() : saved_(errno) {}
  ~SavedErrno() { errno = saved_; }

 private:
  int saved_;
};

// One attempt, never waiting: bytes written, 0 when stderr accepts nothing now, -1 when
// it failed for good (EPIPE, EBADF, …).
ssize_t write_some(const char* p, std::size_t n) {
  Writer& w = g_writer;
  while (true) {
    ssize_t r;
    if (w.path == Path::Socket) {
      r = ::send(w.fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    } else if (w.path == Path::PollGuarded) {
      // A pipe with room for one page takes a write of up to PIPE_BUF without waiting.
      pollfd ready{w.fd, POLLOUT, 0};
      const int polled = ::poll(&ready, 1, 0);
      if (polled < 0 && errno == EINTR) continue;
      if (polled == 0) return 0;
      r = ::write(w.fd, p, n < kLogLineBytes ? n : kLogLineBytes);
    } else {
      r = ::write(w.fd, p, n);
    }
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

enum class Outcome { Done, Again, Failed };

// Writes [p, p + n) as far as stderr accepts it now; `written` says how far it got.
Outcome write_out(const char* p, std::size_t n, std::size_t& written) {
  written = 0;
  while (written < n) {
    const ssize_t r = write_some(p + written, n - written);
    if (r < 0) return Outcome::Failed;
    if (r == 0) return Outcome::Again;
    written += static_cast<std::size_t>(r);
  }
  return Outcome::Done;
}

std::uint64_t count_lines(const char* p, std::size_t n) {
  std::uint64_t lines = 0;
  for (std::size_t i = 0; i < n; ++i) lines += p[i] == '\n';
  return lines;
}

void keep(const char* p, std::size_t n) {
  Writer& w = g_writer;
  if (w.begin == w.end) w.begin = w.end = 0;
  if (sizeof w.pending - w.end < n && w.begin > 0) {
    std::memmove(w.pending, w.pending + w.begin, w.end - w.begin);
    w.end -= w.begin;
    w.begin = 0;
  }
  std::memcpy(w.pending + w.end, p, n);
  w.end += n;
}

bool fits(std::size_t n) {
  const Writer& w = g_writer;
  return (w.end - w.begin) + n <= sizeof w.pending;
}

// Writes out what is buffered; true once nothing is left. Lines it fails to write are lost.
bool flush_pending() {
  Writer& w = g_writer;
  std::size_t written = 0;
  const Outcome outcome = write_out(w.pending + w.begin, w.end - w.begin, written);
  w.begin += written;
  if (outcome == Outcome::Again) return false;
  if (outcome == Outcome::Failed) w.dropped += count_lines(w.pending + w.begin, w.end - w.begin);
  w.begin = w.end = 0;
  return true;
}

// The "lines dropped" line, once the lines before the first drop are out.
void flush_all() {
  Writer& w = g_writer;
  if (!flush_pending() || w.dropped == 0) return;
  char line[128];
  constexpr std::string_view kHead = "<4>log: ";
  constexpr std::string_view kTail = " lines dropped while stderr was not accepting\n";
  std::memcpy(line, kHead.data(), kHead.size());
  char* at = std::to_chars(line + kHead.size(), line + 64, w.dropped).ptr;
  std::memcpy(at, kTail.data(), kTail.size());
  const std::size_t n = static_cast<std::size_t>(at - line) + kTail.size();
  std::size_t written = 0;
  const Outcome outcome = write_out(line, n, written);
  if (outcome == Outcome::Failed || (outcome == Outcome::Again && written == 0)) return;
  w.dropped = 0;
  keep(line + written, n - written);  // the rest of a line begun
}

// Appends `message` escaped at buf[n], up to `limit`; returns the new length.
std::size_t escape_into(std::string_view message, char* buf, std::size_t n, std::size_t limit) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n' || c == '\r') {
      if (n + 1 > limit) break;
      buf[n++] = ' ';
    } else if (c < 0x20 || c == 0x7f) {
      if (n + 4 > limit) break;
      buf[n++] = '\\';
      buf[n++] = 'x';
      buf[n++] = kHex[c >> 4];
      buf[n++] = kHex[c & 0xf];
    } else {
      if (n + 1 > limit) break;
      buf[n++] = ch;
    }
  }
  return n;
}

// "<N>" + the escaped message + "\n", at most kLogLineBytes; returns the length.
std::size_t format_line(LogLevel level, std::string_view message, char* buf) {
  std::size_t n = 0;
  buf[n++] = '<';
  buf[n++] = static_cast<char>('0' + static_cast<int>(level));
  buf[n++] = '>';
  n = escape_into(message, buf, n, kLogLineBytes - 1);  // room for the newline
  buf[n++] = '\n';
  return n;
}

std::size_t put(char* buf, std::size_t n, std::string_view text) {
  std::memcpy(buf + n, text.data(), text.size());
  return n + text.size();
}

// A field's value as given, cut at 200 bytes and escaped (a child name or an id).
std::size_t put_field(char* buf, std::size_t n, std::string_view key, std::string_view value) {
  if (value.empty()) return n;
  n = put(buf, n, key);
  n = escape_into(value.substr(0, 200), buf, n, n + 4 * 200);
  buf[n++] = '\n';
  return n;
}

// "DEVICE:INODE" of $JOURNAL_STREAM names what fd 2 is.
bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (!env || !*env) return false;
  const char* end = env + std::strlen(env);
  std::uint64_t dev = 0, ino = 0;
  const auto d = std::from_chars(env, end, dev);
  if (d.ec != std::errc() || d.ptr == end || *d.ptr != ':') return false;
  const auto i = std::from_chars(d.ptr + 1, end, ino);
  if (i.ec != std::errc() || i.ptr != end) return false;
  struct stat st {};
  return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int connect_journal(const char* path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::strlen(path) >= sizeof addr.sun_path) return -1;
  std::strcpy(addr.sun_path, path);
  const int fd = above_stdio(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One datagram, never waiting: true when the journal took it.
bool send_entry(const char* p, std::size_t n) {
  while (true) {
    if (::send(g_journal.fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
    if (errno != EINTR) return false;
  }
}

void journal_log(LogLevel level, const LogFields& fields, std::string_view message) {
  Journal& j = g_journal;
  if (j.dropped > 0) {
    char text[128];
    constexpr std::string_view kHead = "log: ";
    constexpr std::string_view kTail = " entries dropped while the journal was not accepting";
    std::size_t n = put(text, 0, kHead);
    n = static_cast<std::size_t>(std::to_chars(text + n, text + 64, j.dropped).ptr - text);
    n = put(text, n, kTail);
    const std::size_t len =
        format_journal_entry(LogLevel::Warning, {}, std::string_view(text, n), j.entry);
    if (!send_entry(j.entry, len)) {
      ++j.dropped;
      return;
    }
    j.dropped = 0;
  }
  const std::size_t len = format_journal_entry(level, fields, message, j.entry);
  if (!send_entry(j.entry, len)) ++j.dropped;
}

// A copy of `fd` numbered 3 or above (so it never stands in for a closed stdin or stdout).
int above_stdio(int fd) {
  if (fd < 0 || fd > STDERR_FILENO) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  ::close(fd);
  return moved;
}

}  // namespace

void log_init() noexcept {
  const SavedErrno saved;
  Writer& w = g_writer;
  if (g_journal.fd >= 0) ::close(g_journal.fd);
  g_journal.fd = -1;
  g_journal.dropped = 0;
  const char* test_socket = std::getenv("MLOCK_SUPERVISOR_JOURNAL_SOCKET");
  if (test_socket && *test_socket)
    g_journal.fd = connect_journal(test_socket);
  else if (stderr_is_journal())
    g_journal.fd = connect_journal("/run/systemd/journal/socket");
  if (w.own_fd >= 0) ::close(w.own_fd);
  w.own_fd = -1;
  w.begin = w.end = 0;
  w.dropped = 0;
  w.fd = STDERR_FILENO;
  w.path = Path::Plain;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return;
  if (S_ISSOCK(st.st_mode)) {
    w.path = Path::Socket;
  } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
    // A description of our own: O_NONBLOCK on fd 2 would change it for children, too.
    w.own_fd = above_stdio(::open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    w.path = w.own_fd >= 0 ? Path::OwnDescription : Path::PollGuarded;
    if (w.own_fd >= 0) w.fd = w.own_fd;
  }
}

bool log_to_journal() noexcept { return g_journal.fd >= 0; }

std::size_t format_journal_entry(LogLevel level, const LogFields& fields, std::string_view message,
                                 char* buf) noexcept {
  std::size_t n = put(buf, 0, "PRIORITY=");
  buf[n++] = static_cast<char>('0' + static_cast<int>(level));
  n = put(buf, n, "\nSYSLOG_IDENTIFIER=mlock-supervisor\n");
  n = put_field(buf, n, "CHILD=", fields.child);
  n = put_field(buf, n, "MESSAGE_ID=", fields.message_id);
  n = put(buf, n, "MESSAGE=");
  n = escape_into(message, buf, n, kJournalEntryBytes - 1);
  buf[n++] = '\n';
  return n;
}

void set_log_sink(LogSink sink, void* context) noexcept {
  g_sink = sink;
  g_sink_context = context;
}

void log_flush() noexcept {
  if (g_sink || g_writer.path == Path::Unset) return;
  const SavedErrno saved;
  flush_all();
}

void log(LogLevel level, std::string_view message) noexcept { log(level, LogFields{}, message); }

void log(LogLevel level, const LogFields& fields, std::string_view message) noexcept {
  if (g_sink) {
    g_sink(level, message, g_sink_context);
    return;
  }
  if (g_writer.path == Path::Unset) log_init();
  const SavedErrno saved;
  if (g_journal.fd >= 0) {
    journal_log(level, fields, message);
    return;
  }
  Writer& w = g_writer;
  char line[kLogLineBytes];
  const std::size_t n = format_line(level, message, line);
  flush_all();
  if (w.dropped > 0) {  // nothing goes out before the "lines dropped" line
    ++w.dropped;
    return;
  }
  if (w.begin == w.end) {
    std::size_t written = 0;
    const Outcome outcome = write_out(line, n, written);
    if (outcome == Outcome::Done) return;
    if (outcome == Outcome::Failed) {
      ++w.dropped;
      return;
    }
    keep(line + written, n - written);  // fits: the buffer was empty
    return;
  }
  if (!fits(n)) {
    ++w.dropped;
    return;
  }
  keep(line, n);
}

bool RateLimit::allow(std::chrono::steady_clock::time_point now, unsigned& suppressed) {
  if (now - window_start_ >= interval_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++suppressed_;
    return false;
  }
  ++in_window_;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace duende::supervisor
