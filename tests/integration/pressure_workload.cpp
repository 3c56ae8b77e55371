// pressure-workload: fills anonymous memory with a known pattern, holds it, reads it back
// and counts the pages that came back wrong. The memory-pressure test runs it in a memory
// cgroup smaller than what it writes, so that its pages go to swap and come back.
//
//   pressure-workload --mib N --seed S --dir DIR --name NAME [--idle-sec T]
//
// It never allocates before it is told to: the test first moves it into the cgroup.
// Commands arrive in DIR/NAME.cmd, one line "SEQ WORD" that the test replaces atomically
// (rename), SEQ growing by one per command:
//   go      map N MiB (no huge pages), write every 4 KiB page, then hold it
//   verify  read every page back and compare it with the pattern (may be repeated)
//   exit    unmap and exit 0
// After each command it replaces DIR/NAME.state (written aside, renamed) with one line
//   "SEQ WORD pages=P wrong=W first_wrong=I vmswap_kib=K vmswap_peak_kib=M"
// where P is the pages checked (or written), W those that differ from the pattern, I the
// first of them (-1: none), K its VmSwap now and M the highest VmSwap it saw, sampled at
// every poll while it waits and after every MiB it writes or reads.
//
// Word j of page i is splitmix64(seed, i * 512 + j): a page that came back from another
// offset, another process or as zeros is wrong. Polls DIR/NAME.cmd every 5 ms; without a
// new command for --idle-sec seconds (default 120) it exits 3, so a test that died never
// leaves it behind. Exit codes: 0 on "exit", 2 usage, 3 idle, 4 mmap failed.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t kWordsPerPage = kPage / sizeof(std::uint64_t);

struct Options {
  std::uint64_t mib = 0;
  std::uint64_t seed = 0;
  std::string dir, name;
  long idle_sec = 120;
};

std::uint64_t pattern(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed * 0x9e3779b97f4a7c15ull + index + 1;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t own_vmswap_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmSwap:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 10);
  return 0;
}

class Workload {
 public:
  explicit Workload(Options options) : o_(std::move(options)) {}

  int run() {
    long last = 0;
    while (true) {
      const auto [seq, word] = wait_command(last);
      if (seq < 0) return 3;
      last = seq;
      if (word == "go") {
        if (!map_and_write()) return 4;
      } else if (word == "verify") {
        verify();
      } else if (word == "exit") {
        if (memory_ != nullptr) munmap(memory_, bytes());
        report(seq, word);
        return 0;
      }
      report(seq, word);
    }
  }

 private:
  std::size_t pages() const { return o_.mib * (1 << 20) / kPage; }
  std::size_t bytes() const { return pages() * kPage; }
  std::string file(const char* suffix) const { return o_.dir + "/" + o_.name + suffix; }

  void sample() {
    const std::uint64_t now = own_vmswap_kib();
    if (now > peak_kib_) peak_kib_ = now;
  }

  // The next command after `last`: {seq, word}, or {-1, ""} when none came in time.
  std::pair<long, std::string> wait_command(long last) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o_.idle_sec);
    while (std::chrono::steady_clock::now() < until) {
      std::ifstream in(file(".cmd"));
      long seq = 0;
      std::string word;
      if (in >> seq >> word && seq > last) return {seq, word};
      sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return {-1, ""};
  }

  bool map_and_write() {
    void* m = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    madvise(m, bytes(), MADV_NOHUGEPAGE);  // swapped page by page, as most memory is
    memory_ = static_cast<std::uint64_t*>(m);
    for (std::size_t page = 0; page < pages(); ++page) {
      std::uint64_t* words = memory_ + page * kWordsPerPage;
      for (std::size_t j = 0; j < kWordsPerPage; ++j)
        words[j] = pattern(o_.seed, page * kWordsPerPage + j);
      if (page % 256 == 255) sample();
    }
    checked_ = pages();
    wrong_ = 0;
    first_wrong_ = -1;
    return true;
  }

  void verify() {
    checked_ = wrong_ = 0;
    first_wrong_ = -1;
    for (std::size_t page = 0; memory_ != nullptr && page < pages(); ++page) {
      const std::uint64_t* words = memory_ + page * kWordsPerPage;
      bool same = true;
      for (std::size_t j = 0; j < kWordsPerPage; ++j)
        same &= words[j] == pattern(o_.seed, page * kWordsPerPage + j);
      ++checked_;
      if (!same && wrong_++ == 0) first_wrong_ = static_cast<long>(page);
      if (page % 256 == 255) sample();
    }
  }

  void report(long seq, const std::string& word) {
    sample();
    std::ostringstream line;
    line << seq << ' ' << word << " pages=" << checked_ << " wrong=" << wrong_
         << " first_wrong=" << first_wrong_ << " vmswap_kib=" << own_vmswap_kib()
         << " vmswap_peak_kib=" << peak_kib_ << '\n';
    const std::string tmp = file(".state.tmp");
    std::ofstream(tmp, std::ios::trunc) << line.str();
    std::rename(tmp.c_str(), file(".state").c_str());
  }

  Options o_;
  std::uint64_t* memory_ = nullptr;
  std::size_t checked_ = 0, wrong_ = 0;
  long first_wrong_ = -1;
  std::uint64_t peak_kib_ = 0;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--mib")
      o.mib = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "--seed")
      o.seed = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "--dir")
      o.dir = value;
    else if (key == "--name")
      o.name = value;
    else if (key == "--idle-sec")
      o.idle_sec = std::strtol(value.c_str(), nullptr, 10);
    else
      return false;
  }
  return argc % 2 == 1 && o.mib > 0 && !o.dir.empty() && !o.name.empty() && o.idle_sec > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: pressure-workload --mib N --seed S --dir DIR --name NAME "
                 "[--idle-sec T]\n");
    return 2;
  }
  return Workload(std::move(options)).run();
}
