// Logging to stderr with sd-daemon priority prefixes ("<3>" …), which journald turns into
// priorities when the supervisor runs under systemd; or, when stderr is the journal's own
// stream (JOURNAL_STREAM), straight to the journal with its native protocol, so that each
// entry carries fields: PRIORITY=, SYSLOG_IDENTIFIER=mlock-supervisor, CHILD=NAME for a
// line about a child, MESSAGE_ID= for the events an operator alerts on. One entry per call.
//
// Logging never blocks: the supervision loop (and the WATCHDOG=1 keep-alive it sends) must
// go on while the reader of stderr does not read (journald under memory pressure, a
// stopped reader of a FIFO). stderr's own file description is left as it is (children may
// inherit it, and they expect blocking writes); the log writes through a non-blocking
// path of its own instead, and lines it cannot write yet wait in a bounded buffer.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace duende::supervisor {

enum class LogLevel { Critical = 2, Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

// How many bytes of whole lines log() keeps while stderr does not accept them; lines that
// do not fit are dropped and counted.
inline constexpr std::size_t kLogBufferBytes = 64 * 1024;
// The longest line log() writes, prefix and newline included; longer messages are cut.
inline constexpr std::size_t kLogLineBytes = 4096;

// Writes "<N>message\n" to stderr without ever waiting for its reader. So that one call
// is one journal entry and nothing raw reaches the journal, `message` is escaped: '\n'
// and '\r' become spaces, every other byte below 0x20 (NUL and tab included) and 0x7f
// become "\xNN" (lowercase hex); a message too long for kLogLineBytes is cut (never
// inside an escape).
// When stderr does not accept the line now (EAGAIN), it is kept, whole, in a buffer of
// kLogBufferBytes, written by later calls and by log_flush(), in order. A line that does
// not fit, and every line after it until the buffer has been written out, is dropped and
// counted; once the buffer is out, "<4>log: N lines dropped while stderr was not
// accepting" is written before any later line. Lines that fail for another reason (EPIPE,
// EBADF, …) are dropped and counted the same way.
// The first call decides how to write (log_init()). Never throws, never allocates, never
// blocks (except on a regular file or a block device: plain write(2)). Not thread-safe.
void log(LogLevel level, std::string_view message) noexcept;

// The MESSAGE_IDs of the events worth a journal query or an alert (journalctl
// MESSAGE_ID=…), fixed for good like systemd's catalog ids; README.md and mlock-supervisor(8)
// list them.
//   lock lost:          a child that must be locked runs unlocked (VmLck 0, pages in swap,
//                       unlocked mappings or processes)
//   swap backend lost:  a child died while the swap it backs was on
//   start failed:       a start failed (exec, start timeout, failed lock, exit before
//                       ready), the start limit included
inline constexpr std::string_view kMessageIdLockLost = "61f43e8dad154113bd8e6dff7c0eb8ac";
inline constexpr std::string_view kMessageIdSwapBackendLost = "28036f964b24421085e75d048ffe53c9";
inline constexpr std::string_view kMessageIdStartFailed = "0d24aee25b234157833485a67ae99902";

// What a journal entry carries beyond MESSAGE= and PRIORITY= (each "" for none): CHILD=
// the child the line is about, MESSAGE_ID= one of the ids above. On stderr only the
// message is written: the fields exist in the journal alone.
struct LogFields {
  std::string_view child;
  std::string_view message_id = {};
};
void log(LogLevel level, const LogFields& fields, std::string_view message) noexcept;

inline void log_critical(std::string_view m) noexcept { log(LogLevel::Critical, m); }
inline void log_error(std::string_view m) noexcept { log(LogLevel::Error, m); }
inline void log_warning(std::string_view m) noexcept { log(LogLevel::Warning, m); }
inline void log_notice(std::string_view m) noexcept { log(LogLevel::Notice, m); }
inline void log_info(std::string_view m) noexcept { log(LogLevel::Info, m); }
inline void log_critical(const LogFields& f, std::string_view m) noexcept {
  log(LogLevel::Critical, f, m);
}
inline void log_error(const LogFields& f, std::string_view m) noexcept {
  log(LogLevel::Error, f, m);
}
inline void log_warning(const LogFields& f, std::string_view m) noexcept {
  log(LogLevel::Warning, f, m);
}
inline void log_notice(const LogFields& f, std::string_view m) noexcept {
  log(LogLevel::Notice, f, m);
}
inline void log_info(const LogFields& f, std::string_view m) noexcept { log(LogLevel::Info, f, m); }

// The native-protocol datagram of one entry (what log() sends to the journal): newline-
// separated KEY=value fields, PRIORITY=N, SYSLOG_IDENTIFIER=mlock-supervisor, CHILD= and
// MESSAGE_ID= when set, MESSAGE= last, escaped as log() escapes it (so no value holds a
// newline); at most kJournalEntryBytes (the message is cut). Returns the length written
// into `buf`.
inline constexpr std::size_t kJournalEntryBytes = kLogLineBytes + 512;
std::size_t format_journal_entry(LogLevel level, const LogFields& fields, std::string_view message,
                                 char* buf) noexcept;

// Writes as much of the buffered lines (and then the "lines dropped" line) as stderr
// accepts now, without blocking. The daemon calls it once per loop round, so buffered
// lines go out soon after the reader reads again even when nothing new is logged.
// Does nothing when nothing is buffered or a sink is set. Never throws.
void log_flush() noexcept;

// Decides, from what file descriptor 2 is now, how log() writes; log() calls it itself on
// first use.
// The journal comes first: when $JOURNAL_STREAM ("DEVICE:INODE", set by systemd,
// systemd.exec(5)) names fd 2, entries go as datagrams to /run/systemd/journal/socket
// (non-blocking: an entry the socket does not take now is dropped and counted, and the
// next entry that goes through is preceded by "log: N entries dropped while the journal
// was not accepting", at warning). For tests only, $MLOCK_SUPERVISOR_JOURNAL_SOCKET=PATH
// sends them to PATH whatever fd 2 is. Where the socket cannot be reached, stderr as below. Calling
// it again (after fd 2 was redirected) discards what is buffered and the drop count, and closes the
// descriptor the previous call opened.
//   - a socket (journald's stream): send(2) with MSG_DONTWAIT | MSG_NOSIGNAL;
//   - a pipe, FIFO, terminal or other character device: writes go to a second, separate
//     description of it, opened with open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK |
//     O_CLOEXEC | O_NOCTTY), so fd 2's own flags never change. When that open fails (no
//     /proc, a FIFO without reader: ENXIO), each write of at most kLogLineBytes goes to
//     fd 2 itself only when poll(2) says it is writable now;
//   - anything else (a regular file, fd 2 closed): plain write(2) to fd 2.
// Side effect: may hold one more descriptor open (O_CLOEXEC). Never throws.
void log_init() noexcept;
// Whether log() writes to the journal (after log_init()).
bool log_to_journal() noexcept;

// Where log() writes instead of stderr, for tests that drive the core in-process: called
// with the level and the message (before escaping). nullptr restores stderr. Not
// thread-safe; set it before anything logs.
using LogSink = void (*)(LogLevel level, std::string_view message, void* context);
void set_log_sink(LogSink sink, void* context) noexcept;

// Lets through at most `burst` events per `interval`, then counts the suppressed ones:
// for log lines an outsider can provoke (datagrams on the notify socket).
class RateLimit {
 public:
  RateLimit(std::chrono::steady_clock::duration interval, unsigned burst)
      : interval_(interval), burst_(burst) {}

  // True when this event may be logged; `suppressed` then holds how many were dropped
  // since the last one that was let through.
  bool allow(std::chrono::steady_clock::time_point now, unsigned& suppressed);

 private:
  std::chrono::steady_clock::duration interval_;
  unsigned burst_;
  std::chrono::steady_clock::time_point window_start_{};
  unsigned in_window_ = 0;
  unsigned suppressed_ = 0;
};

}  // namespace duende::supervisor
