// ctl_format: what mlockctl prints, from hand-made snapshots: the status table (columns,
// words, failure and adoption lines, the supervisor's start, restarts and re-execs), list,
// JSON (parsed back), the reexec summary, Prometheus metrics (checked by the
// exposition-format validator the integration tests use too), label escaping, and when a
// child counts as in trouble.
#include "ctl/ctl_format.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "api/human_size.hpp"
#include "prometheus_exposition.hpp"
#include "text_lines.hpp"

namespace duende::supervisor {
namespace {

using test::lines_of;
using test::words;

using itest::Exposition;
using itest::parse_exposition;

constexpr std::uint64_t kMiB = 1024 * 1024;

// 2026-12-01 15:03:12 UTC, in µs since the epoch.
constexpr std::uint64_t kDec1 = 1796137392ull * 1000000;

// Timestamps are local time: these tests run in UTC.
class InUtc : public testing::Environment {
 public:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};
const auto* const kInUtc = testing::AddGlobalTestEnvironment(new InUtc);

CtlChild child(const std::string& name, const std::string& state, std::uint32_t pid) {
  CtlChild c;
  c.name = name;
  c.state = state;
  c.pid = pid;
  c.command = {"/usr/bin/" + name, "--flag"};
  return c;
}

CtlChild locked(CtlChild c, std::uint64_t bytes) {
  c.is_locked = bytes > 0;
  c.must_be_locked = true;
  c.fully_locked = bytes > 0;
  c.locked_bytes = bytes;
  c.resident_bytes = bytes + 4096;
  c.lock_report = "locked (" + std::to_string(bytes / 1024) + " KiB)";
  return c;
}

// A supervisor with one child of each kind, sorted by name as mlockctl sorts them.
CtlSnapshot fleet() {
  CtlSnapshot s;
  s.version = "0.1.0";
  s.state = "degraded";
  s.self_locked = true;
  s.self_locked_bytes = 10 * kMiB;
  CtlChild ghost = child("ghost", "failed", 0);
  ghost.last_failure = "exec /nonexistent/prog: No such file or directory";
  ghost.must_be_locked = true;
  CtlChild plain = child("plain", "running", 4242);
  plain.resident_bytes = 3 * kMiB;
  CtlChild swap0 = locked(child("swap0", "running", 1234567), 7 * kMiB + 600 * 1024);
  swap0.restarts = 2;
  swap0.last_exit_status = -9;
  CtlChild unlocked = locked(child("unlocked", "running", 77), 0);
  s.children = {ghost, plain, swap0, unlocked};
  return s;
}

// ---- in_trouble (api/child_properties.hpp) ----

struct TroubleCase {
  const char* what;
  CtlChild child;
  bool trouble;
};

class ChildInTrouble : public testing::TestWithParam<TroubleCase> {};

TEST_P(ChildInTrouble, FailedOrRunningUnlockedWhenItMustBeLocked) {
  EXPECT_EQ(in_trouble(GetParam().child), GetParam().trouble) << GetParam().what;
}

CtlChild must_lock(CtlChild c) {
  c.must_be_locked = true;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ChildInTrouble,
    testing::Values(
        TroubleCase{"failed", child("a", "failed", 0), true},
        TroubleCase{"failed, must lock", must_lock(child("a", "failed", 0)), true},
        TroubleCase{"running locked", locked(child("a", "running", 1), kMiB), false},
        TroubleCase{"running unlocked, must lock", must_lock(child("a", "running", 1)), true},
        TroubleCase{"running unlocked, need not lock", child("a", "running", 1), false},
        TroubleCase{"starting unlocked, must lock", must_lock(child("a", "starting", 1)), false},
        TroubleCase{"backoff", must_lock(child("a", "backoff", 0)), true},  // crash-looping
        TroubleCase{"stopping", must_lock(child("a", "stopping", 1)), false},
        TroubleCase{"stopped", must_lock(child("a", "stopped", 0)), false},
        TroubleCase{"exited", must_lock(child("a", "exited", 0)), false}),
    [](const testing::TestParamInfo<TroubleCase>& info) {
      std::string name = info.param.what;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

// A child that must be locked and has pages in swap has lost its lock (the daemon warns,
// emits LockLost, reports degraded): status and the metric operators alert on must say so.
TEST(ChildInTroubleSwap, RunningLockedButPartlySwappedWhenItMustBeLockedIsTrouble) {
  CtlChild c = locked(child("swap0", "running", 10), 8 * kMiB);
  c.swapped_bytes = 64 * 1024;
  EXPECT_TRUE(in_trouble(c));
  CtlSnapshot s;
  s.children = {c};
  const Exposition e = parse_exposition(format_metrics(s));
  EXPECT_EQ(e.value("mlock_supervisor_child_in_trouble", {{"child", "swap0"}}), 1);
  // A child that need not be locked may swap.
  c.must_be_locked = false;
  EXPECT_FALSE(in_trouble(c));
}

// Asked to be an I/O flusher and some thread lacks the flags: trouble (even for a child
// that need not be locked), a line in status naming how many threads, the metric 0.
TEST(ChildInTroubleIoFlusher, AThreadWithoutTheFlagsIsTroubleWhenAskedFor) {
  CtlChild c = child("nbd", "running", 10);
  c.wants_io_flusher = true;
  c.io_flusher = kIoFlusherNo;
  c.threads = 3;
  c.io_flusher_threads = 1;
  EXPECT_TRUE(in_trouble(c));
  CtlSnapshot s;
  s.children = {c};
  const Exposition e = parse_exposition(format_metrics(s));
  for (const auto& err : e.errors) ADD_FAILURE() << err;
  EXPECT_EQ(e.value("mlock_supervisor_child_in_trouble", {{"child", "nbd"}}), 1);
  EXPECT_EQ(e.value("mlock_supervisor_child_io_flusher", {{"child", "nbd"}}), 0);
  const auto lines = lines_of(format_status(s));
  ASSERT_EQ(lines.size(), 4u) << format_status(s);
  EXPECT_EQ(lines[3],
            "nbd: must be an I/O flusher but 2 of 3 threads lack "
            "PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE");
  c.io_flusher = kIoFlusherYes;
  c.io_flusher_threads = 3;
  EXPECT_FALSE(in_trouble(c));
  s.children = {c};
  EXPECT_EQ(parse_exposition(format_metrics(s))
                .value("mlock_supervisor_child_io_flusher", {{"child", "nbd"}}),
            1);
  EXPECT_EQ(lines_of(format_status(s)).size(), 3u);
}

// Not trouble yet, worth a line: little memlock headroom left, OOM kills; shared memory in
// swap and what a partial unlock leaves resident are said in the trouble lines.
TEST(FormatStatus, NamesLowHeadroomOomKillsSwappedShmemAndResidentUnlocked) {
  CtlChild low = child("low", "running", 10);
  low.is_locked = true;  // locked, not required to be: its limit applies
  low.locked_bytes = 7 * kMiB + 512 * 1024;
  low.memlock_headroom_bytes = 512 * 1024;
  low.oom_kills = 2;
  CtlChild shm = locked(child("shm", "running", 11), 8 * kMiB);
  shm.swapped_bytes = 3 * kMiB;
  shm.swapped_shmem_bytes = 2 * kMiB;
  CtlChild part = locked(child("part", "running", 12), 8 * kMiB);
  part.unlocked_mappings = 1;
  part.resident_unlocked_bytes = 64 * kMiB;
  CtlSnapshot s;
  s.children = {low, part, shm};
  const std::string text = format_status(s);
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 9u) << text;
  EXPECT_EQ(lines[5],
            "low: 512 KiB left below RLIMIT_MEMLOCK (MCL_FUTURE makes later allocations fail "
            "at the limit)");
  EXPECT_EQ(lines[6], "low: 2 processes ended by the OOM killer");
  EXPECT_EQ(lines[7],
            "part: must be locked but 1 of its mappings are not (64 MiB resident unlocked)");
  EXPECT_EQ(lines[8], "shm: must be locked but 3.0 MiB is in swap (2.0 MiB of it shared memory)");
  const Exposition e = parse_exposition(format_metrics(s));
  for (const auto& err : e.errors) ADD_FAILURE() << err;
  EXPECT_EQ(e.value("mlock_supervisor_child_memlock_headroom_bytes", {{"child", "low"}}),
            512 * 1024);
  EXPECT_TRUE(
      std::isnan(e.value("mlock_supervisor_child_memlock_headroom_bytes", {{"child", "shm"}})))
      << "no limit applies to it";
  EXPECT_EQ(e.value("mlock_supervisor_child_oom_kills_total", {{"child", "low"}}), 2);
  EXPECT_EQ(e.value("mlock_supervisor_child_swapped_shmem_bytes", {{"child", "shm"}}), 2.0 * kMiB);
  EXPECT_EQ(e.value("mlock_supervisor_child_resident_unlocked_bytes", {{"child", "part"}}),
            64.0 * kMiB);
}

// A tree with a process that runs unlocked, while the main one is locked, has lost its lock.
TEST(ChildInTroubleTree, AnUnlockedProcessOfATreeThatMustBeLockedIsTrouble) {
  CtlChild c = locked(child("tree", "running", 10), 8 * kMiB);
  c.processes = {{10, "main", true, 8 * kMiB, 0}, {11, "worker", false, 0, 0}};
  c.unlocked_processes = 1;
  EXPECT_TRUE(in_trouble(c));
  CtlSnapshot s;
  s.children = {c};
  const Exposition e = parse_exposition(format_metrics(s));
  EXPECT_EQ(e.value("mlock_supervisor_child_in_trouble", {{"child", "tree"}}), 1);
  EXPECT_EQ(e.value("mlock_supervisor_child_processes", {{"child", "tree"}}), 2);
  EXPECT_EQ(e.value("mlock_supervisor_child_unlocked_processes", {{"child", "tree"}}), 1);
  const auto lines = lines_of(format_status(s));
  ASSERT_EQ(lines.size(), 7u) << format_status(s);
  EXPECT_EQ(lines[2].rfind("tree ", 0), 0u) << lines[2];
  EXPECT_NE(lines[2].find("PARTIAL"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[3], "tree: 2 processes");
  EXPECT_EQ(lines[4], "  10      main             yes     8.0 MiB   0 B");
  EXPECT_EQ(lines[5], "  11      worker           NO      0 B       0 B");
  EXPECT_EQ(lines[6], "tree: must be locked but 1 process of its tree runs unlocked");
  c.must_be_locked = false;
  EXPECT_FALSE(in_trouble(c));
}

TEST(FormatStatus, SaysWhenChildrenRunInProcessGroupsOnly) {
  CtlSnapshot s = fleet();
  s.process_tracking = "cgroup v2: /sys/fs/cgroup/system.slice/mlock-supervisor.service";
  EXPECT_EQ(format_status(s).find("process groups"), std::string::npos);
  s.process_tracking = "process groups: no cgroup v2 hierarchy is mounted";
  EXPECT_EQ(lines_of(format_status(s))[1],
            "children run in process groups: no cgroup v2 hierarchy is mounted");
}

// ---- format_status ----

TEST(FormatStatus, TheIoFlusherColumnSaysNoInCapitalsOnlyWhenItWasAsked) {
  CtlSnapshot s;
  CtlChild flusher = locked(child("flusher", "running", 10), kMiB);
  flusher.io_flusher = "yes";
  CtlChild lacking = flusher;
  lacking.name = "lacking";
  lacking.io_flusher = "no";
  lacking.wants_io_flusher = true;
  CtlChild plain = flusher;
  plain.name = "plain";
  plain.io_flusher = "no";
  s.children = {flusher, lacking, plain};
  const auto lines = lines_of(format_status(s));
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(words(lines[2]).at(9), "yes");
  EXPECT_EQ(words(lines[3]).at(9), "NO");
  EXPECT_EQ(words(lines[4]).at(9), "no");
}

TEST(FormatStatus, HeaderThenAnAlignedRowPerChildThenFailureLines) {
  const std::string text = format_status(fleet());
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 8u) << text;
  EXPECT_EQ(lines[0], "mlock-supervisor 0.1.0: degraded; self locked, 10 MiB");
  EXPECT_EQ(words(lines[1]), (std::vector<std::string>{"NAME", "STATE", "PID", "LOCKED", "VMLCK",
                                                       "VMSWAP", "RESTARTS", "IOFLUSH", "UP"}));
  EXPECT_EQ(words(lines[2]), (std::vector<std::string>{"ghost", "failed", "-", "-", "0", "B", "0",
                                                       "B", "0", "-", "-"}));
  EXPECT_EQ(words(lines[3]), (std::vector<std::string>{"plain", "running", "4242", "no", "0", "B",
                                                       "0", "B", "0", "-", "-"}));
  EXPECT_EQ(words(lines[4]), (std::vector<std::string>{"swap0", "running", "1234567", "yes", "7.6",
                                                       "MiB", "0", "B", "2", "-", "-"}));
  EXPECT_EQ(words(lines[5]), (std::vector<std::string>{"unlocked", "running", "77", "NO", "0", "B",
                                                       "0", "B", "0", "-", "-"}));
  EXPECT_EQ(lines[6], "ghost: failed: exec /nonexistent/prog: No such file or directory");
  EXPECT_EQ(lines[7], "unlocked: must be locked but VmLck is 0");
  // Every value starts under its header, after a blank.
  for (std::size_t row = 2; row <= 5; ++row)
    for (const char* header :
         {"STATE", "PID", "LOCKED", "VMLCK", "VMSWAP", "RESTARTS", "IOFLUSH", "UP"}) {
      const auto column = lines[1].find(header);
      ASSERT_LT(column, lines[row].size());
      EXPECT_NE(lines[row][column], ' ') << header << " in \"" << lines[row] << "\"";
      EXPECT_EQ(lines[row][column - 1], ' ') << header << " in \"" << lines[row] << "\"";
    }
}

TEST(FormatStatus, WideValuesStillLineUp) {
  CtlSnapshot s;
  s.version = "0.1.0";
  s.state = "running";
  CtlChild c = locked(child(std::string(64, 'n'), "starting", 4194304), 1023 * kMiB);
  c.swapped_bytes = 1000 * 1024 * kMiB;
  c.restarts = 4000000000u;
  s.children = {c, child("b", "stopping", 9)};
  const auto lines = lines_of(format_status(s));
  ASSERT_GE(lines.size(), 4u);
  for (std::size_t row = 2; row <= 3; ++row)
    for (const char* header :
         {"STATE", "PID", "LOCKED", "VMLCK", "VMSWAP", "RESTARTS", "IOFLUSH", "UP"}) {
      const auto column = lines[1].find(header);
      EXPECT_NE(lines[row][column], ' ') << header << " in \"" << lines[row] << "\"";
      EXPECT_EQ(lines[row][column - 1], ' ') << header << " in \"" << lines[row] << "\"";
    }
  EXPECT_EQ(words(lines[2])[3], "SWAPPED");
}

TEST(FormatStatus, SaysWhenTheSupervisorIsNotLockedAndListsNoChildren) {
  CtlSnapshot s;
  s.version = "9.9.9";
  s.state = "starting";
  EXPECT_EQ(format_status(s),
            "mlock-supervisor 9.9.9: starting; self NOT locked\n"
            "NAME STATE    PID     LOCKED  VMLCK     VMSWAP    RESTARTS   IOFLUSH  UP\n");
}

TEST(FormatStatus, TheHeaderSaysWhenTheSupervisorStartedItsRestartsAndReexecs) {
  CtlSnapshot s = fleet();
  s.started_at_us = kDec1;
  s.restarts = 1;
  s.reexecs = 2;
  EXPECT_EQ(lines_of(format_status(s))[0],
            "mlock-supervisor 0.1.0: degraded; self locked, 10 MiB; started 2026-12-01 15:03:12, "
            "1 restart, 2 re-execs");
  s.restarts = 0;
  s.reexecs = 1;
  EXPECT_EQ(lines_of(format_status(s))[0],
            "mlock-supervisor 0.1.0: degraded; self locked, 10 MiB; started 2026-12-01 15:03:12, "
            "0 restarts, 1 re-exec");
}

// The table keeps its columns; adoption is a line after the failures, one per moment
// (a restart or re-exec of the supervisor adopts every child at once).
TEST(FormatStatus, AdoptedChildrenGetOneLinePerMomentAfterTheFailures) {
  CtlSnapshot s = fleet();
  for (const std::size_t i : {1u, 2u, 3u}) {
    s.children[i].adopted = true;
    s.children[i].adopted_at_us = kDec1 + i * 1000;  // the same second
  }
  s.children[1].adopted_at_us = kDec1 - 86400ull * 1000000;  // adopted a day earlier
  const std::string text = format_status(s);
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 10u) << text;
  EXPECT_EQ(words(lines[2]).size(), 11u) << "the rows keep their columns";
  EXPECT_EQ(words(lines[3]).size(), 11u);
  EXPECT_EQ(lines[6], "ghost: failed: exec /nonexistent/prog: No such file or directory");
  EXPECT_EQ(lines[8], "adopted 2026-11-30 15:03:12: plain");
  EXPECT_EQ(lines[9], "adopted 2026-12-01 15:03:12: swap0, unlocked");
}

TEST(FormatTimestamp, LocalTimeToTheSecondAndADashForNone) {
  EXPECT_EQ(format_timestamp(kDec1 + 999999), "2026-12-01 15:03:12");
  EXPECT_EQ(format_timestamp(0), "-");
}

// ---- format_list ----

TEST(FormatList, OneNameStatePidLinePerChild) {
  EXPECT_EQ(format_list(fleet()),
            "ghost failed 0\nplain running 4242\nswap0 running 1234567\nunlocked running 77\n");
  EXPECT_EQ(format_list(CtlSnapshot{}), "");
}

// ---- format_json ----

TEST(FormatJson, ParsesBackToEveryField) {
  CtlSnapshot s = fleet();
  s.children[1].last_failure = "a \"quoted\"\nline\twith \\ and é";
  s.process_tracking = "cgroup v2: /sys/fs/cgroup/system.slice/mlock-supervisor.service";
  s.children[2].processes = {{s.children[2].pid, "main", true, 4 * kMiB, 0},
                             {77, "helper \"x\"", false, 0, 12}};
  s.children[2].unlocked_processes = 1;
  s.children[2].memlock_headroom_bytes = 5 * kMiB;
  s.children[2].io_flusher = kIoFlusherYes;
  s.children[2].threads = s.children[2].io_flusher_threads = 2;
  s.children[3].io_flusher = kIoFlusherNo;
  s.children[3].swapped_shmem_bytes = 4096;
  s.children[3].resident_unlocked_bytes = 8192;
  s.children[3].oom_kills = 1;
  const auto doc = nlohmann::json::parse(format_json(s));
  EXPECT_EQ(doc["version"], "0.1.0");
  EXPECT_EQ(doc["state"], "degraded");
  EXPECT_EQ(doc["self_locked"], true);
  EXPECT_EQ(doc["self_locked_bytes"], 10 * kMiB);
  EXPECT_EQ(doc["started_at_us"], 0u);
  EXPECT_EQ(doc["restarts"], 0u);
  EXPECT_EQ(doc["reexecs"], 0u);
  EXPECT_EQ(doc["reexec_failure"], "");
  EXPECT_EQ(doc["process_tracking"], s.process_tracking);
  EXPECT_EQ(doc["format"], 1);
  EXPECT_EQ(doc.size(), 11u);
  ASSERT_EQ(doc["children"].size(), s.children.size());
  for (std::size_t i = 0; i < s.children.size(); ++i) {
    const CtlChild& c = s.children[i];
    const auto& j = doc["children"][i];
    SCOPED_TRACE(c.name);
    EXPECT_EQ(j["name"], c.name);
    EXPECT_EQ(j["state"], c.state);
    EXPECT_EQ(j["pid"], c.pid);
    EXPECT_EQ(j["started_at_us"], c.started_at_us);
    EXPECT_EQ(j["adopted"], c.adopted);
    EXPECT_EQ(j["adopted_at_us"], c.adopted_at_us);
    EXPECT_EQ(j["is_locked"], c.is_locked);
    EXPECT_EQ(j["must_be_locked"], c.must_be_locked);
    EXPECT_EQ(j["fully_locked"], c.fully_locked);
    EXPECT_EQ(j["unlocked_mappings"], c.unlocked_mappings);
    EXPECT_EQ(j["locked_bytes"], c.locked_bytes);
    EXPECT_EQ(j["swapped_bytes"], c.swapped_bytes);
    EXPECT_EQ(j["resident_bytes"], c.resident_bytes);
    EXPECT_EQ(j["restarts"], c.restarts);
    EXPECT_EQ(j["last_exit_status"], c.last_exit_status);
    EXPECT_EQ(j["last_failure"], c.last_failure);
    EXPECT_EQ(j["lock_report"], c.lock_report);
    EXPECT_EQ(j["command"].get<std::vector<std::string>>(), c.command);
    EXPECT_EQ(j["in_trouble"], in_trouble(c));
    EXPECT_EQ(j["unlocked_processes"], c.unlocked_processes);
    ASSERT_EQ(j["processes"].size(), c.processes.size());
    for (std::size_t k = 0; k < c.processes.size(); ++k) {
      EXPECT_EQ(j["processes"][k]["pid"], c.processes[k].pid);
      EXPECT_EQ(j["processes"][k]["comm"], c.processes[k].comm);
      EXPECT_EQ(j["processes"][k]["locked"], c.processes[k].locked);
      EXPECT_EQ(j["processes"][k]["locked_bytes"], c.processes[k].locked_bytes);
      EXPECT_EQ(j["processes"][k]["swapped_bytes"], c.processes[k].swapped_bytes);
    }
    EXPECT_EQ(j["swapped_shmem_bytes"], c.swapped_shmem_bytes);
    EXPECT_EQ(j["resident_unlocked_bytes"], c.resident_unlocked_bytes);
    if (c.memlock_headroom_bytes == kNoMemlockHeadroom) {
      EXPECT_TRUE(j["memlock_headroom_bytes"].is_null());
    } else {
      EXPECT_EQ(j["memlock_headroom_bytes"], c.memlock_headroom_bytes);
    }
    EXPECT_EQ(j["threads"], c.threads);
    EXPECT_EQ(j["io_flusher_threads"], c.io_flusher_threads);
    if (c.io_flusher.empty()) {
      EXPECT_TRUE(j["io_flusher"].is_null());
    } else {
      EXPECT_EQ(j["io_flusher"], c.io_flusher == kIoFlusherYes);
    }
    EXPECT_EQ(j["wants_io_flusher"], c.wants_io_flusher);
    EXPECT_EQ(j["oom_kills"], c.oom_kills);
    EXPECT_TRUE(j["swap"].is_null());  // no swap: see ctl_swap_test.cpp
    EXPECT_EQ(j.size(), 30u);
  }
  EXPECT_EQ(doc["children"][2]["last_exit_status"], -9);
  EXPECT_EQ(doc["children"][1]["last_failure"], "a \"quoted\"\nline\twith \\ and é");
}

TEST(FormatJson, ShowsTheSupervisorsHistoryAndAdoptedChildren) {
  CtlSnapshot s = fleet();
  s.started_at_us = kDec1;
  s.restarts = 1;
  s.reexecs = 2;
  s.reexec_failure = "execve /usr/sbin/mlock-supervisor: Permission denied";
  s.children[2].adopted = true;
  s.children[2].adopted_at_us = kDec1 + 5;
  s.children[2].started_at_us = kDec1 - 3600 * 1000000ull;
  const auto doc = nlohmann::json::parse(format_json(s));
  EXPECT_EQ(doc["started_at_us"].get<std::uint64_t>(), kDec1);
  EXPECT_EQ(doc["restarts"], 1);
  EXPECT_EQ(doc["reexecs"], 2);
  EXPECT_EQ(doc["reexec_failure"], s.reexec_failure);
  const auto& swap0 = doc["children"][2];
  EXPECT_EQ(swap0["name"], "swap0");
  EXPECT_EQ(swap0["adopted"], true);
  EXPECT_EQ(swap0["adopted_at_us"].get<std::uint64_t>(), kDec1 + 5);
  EXPECT_EQ(swap0["started_at_us"].get<std::uint64_t>(), kDec1 - 3600 * 1000000ull);
  EXPECT_EQ(doc["children"][1]["adopted"], false);
  EXPECT_EQ(doc["children"][1]["adopted_at_us"], 0);
}

// An adopted child reaped by someone else: the kernel kept no status. JSON says null,
// not a number a script could take for a signal.
TEST(FormatJson, AnUnknownExitStatusIsNull) {
  CtlSnapshot s;
  CtlChild c = child("orphan", "exited", 0);
  c.last_exit_status = kExitStatusUnknown;
  s.children = {c, child("known", "exited", 0)};
  s.children[1].last_exit_status = -2147483647;  // INT32_MIN + 1 is a number like any
  const auto doc = nlohmann::json::parse(format_json(s));
  EXPECT_TRUE(doc["children"][0]["last_exit_status"].is_null()) << doc.dump();
  EXPECT_EQ(doc["children"][1]["last_exit_status"], -2147483647);
  EXPECT_EQ(exit_status_text(kExitStatusUnknown), "unknown");
  EXPECT_EQ(exit_status_text(-9), "-9");
  EXPECT_EQ(exit_status_text(0), "0");
  EXPECT_EQ(kExitStatusUnknown, INT32_MIN);
}

TEST(FormatJson, KeepsFullSixtyFourBitValues) {
  CtlSnapshot s;
  CtlChild c = child("big", "running", 4294967295u);
  c.locked_bytes = 18446744073709551615ull;
  s.children = {c};
  const auto doc = nlohmann::json::parse(format_json(s));
  EXPECT_EQ(doc["children"][0]["locked_bytes"].get<std::uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(doc["children"][0]["pid"].get<std::uint32_t>(), 4294967295u);
  EXPECT_EQ(doc["children"][0]["is_locked"], false);
}

// ---- format_reexec ----

CtlReexec reexec_of_fleet() {
  CtlReexec r;
  r.pid = 812;
  r.before = fleet();
  r.before.reexecs = 2;
  r.after = r.before;
  r.after.reexecs = 3;
  for (auto& c : r.after.children)
    if (c.pid != 0) {
      c.adopted = true;
      c.adopted_at_us = kDec1;
    }
  return r;
}

TEST(FormatReexec, OneLineWithThePidAndTheChildrenKept) {
  CtlReexec r = reexec_of_fleet();
  EXPECT_EQ(format_reexec(r, false),
            "mlock-supervisor re-executed in place (pid 812, 0.1.0): 3 children kept, 3 adopted\n");
  r.after.version = "0.2.0";
  r.pid = 0;
  EXPECT_EQ(format_reexec(r, false),
            "mlock-supervisor re-executed in place (0.1.0 -> 0.2.0): 3 children kept, 3 "
            "adopted\n");
}

TEST(FormatReexec, NamesTheRunningChildrenThatAreNotTheSameProcessAfterwards) {
  CtlReexec r = reexec_of_fleet();
  r.after.children[2].pid = 999;  // swap0 was restarted
  r.after.children[2].adopted = false;
  r.after.children.pop_back();  // unlocked is gone
  EXPECT_EQ(format_reexec(r, false),
            "mlock-supervisor re-executed in place (pid 812, 0.1.0): 1 child kept, 1 adopted; "
            "not kept: swap0, unlocked\n");
}

TEST(FormatReexec, JsonHasTheSameFacts) {
  CtlReexec r = reexec_of_fleet();
  r.after.version = "0.2.0";
  r.after.children[3].pid = 78;
  const auto doc = nlohmann::json::parse(format_reexec(r, true));
  EXPECT_EQ(doc["pid"], 812);
  EXPECT_EQ(doc["version_before"], "0.1.0");
  EXPECT_EQ(doc["version"], "0.2.0");
  EXPECT_EQ(doc["reexecs"], 3);
  EXPECT_EQ(doc["kept"].get<std::vector<std::string>>(),
            (std::vector<std::string>{"plain", "swap0"}));
  EXPECT_EQ(doc["not_kept"].get<std::vector<std::string>>(),
            (std::vector<std::string>{"unlocked"}));
  EXPECT_EQ(doc["adopted"].get<std::vector<std::string>>(),
            (std::vector<std::string>{"plain", "swap0", "unlocked"}));
  EXPECT_EQ(doc.size(), 8u);
}

// ---- escape_label ----

struct EscapeCase {
  const char* in;
  const char* out;
};

class EscapeLabel : public testing::TestWithParam<EscapeCase> {};

TEST_P(EscapeLabel, EscapesBackslashQuoteAndNewlineOnly) {
  EXPECT_EQ(escape_label(GetParam().in), GetParam().out);
}

INSTANTIATE_TEST_SUITE_P(Table, EscapeLabel,
                         testing::Values(EscapeCase{"", ""}, EscapeCase{"swap0", "swap0"},
                                         EscapeCase{"demo-lib.x@y_z", "demo-lib.x@y_z"},
                                         EscapeCase{"a\"b", "a\\\"b"}, EscapeCase{"a\\b", "a\\\\b"},
                                         EscapeCase{"a\nb", "a\\nb"}, EscapeCase{"\\n", "\\\\n"},
                                         EscapeCase{"\t é", "\t é"},
                                         EscapeCase{"\"\\\n", "\\\"\\\\\\n"}));

// ---- format_metrics ----

TEST(FormatMetrics, WithoutASnapshotOnlyUpZero) {
  const std::string text = format_metrics(std::nullopt);
  const Exposition e = parse_exposition(text);
  EXPECT_TRUE(e.errors.empty()) << text;
  ASSERT_EQ(e.samples.size(), 1u) << text;
  EXPECT_EQ(e.value("mlock_supervisor_up"), 0);
  EXPECT_EQ(e.type.at("mlock_supervisor_up"), "gauge");
}

TEST(FormatMetrics, IsValidExpositionFormatWithEveryFigure) {
  const CtlSnapshot s = fleet();
  const std::string text = format_metrics(s);
  const Exposition e = parse_exposition(text);
  for (const auto& err : e.errors) ADD_FAILURE() << err;
  EXPECT_EQ(e.value("mlock_supervisor_up"), 1);
  EXPECT_EQ(e.value("mlock_supervisor_self_locked_bytes"), 10.0 * kMiB);
  EXPECT_EQ(e.value("mlock_supervisor_degraded"), 1);
  for (const CtlChild& c : s.children) {
    SCOPED_TRACE(c.name);
    const std::map<std::string, std::string> l = {{"child", c.name}};
    EXPECT_EQ(e.value("mlock_supervisor_child_locked", l), c.is_locked);
    EXPECT_EQ(e.value("mlock_supervisor_child_must_be_locked", l), c.must_be_locked);
    EXPECT_EQ(e.value("mlock_supervisor_child_in_trouble", l), in_trouble(c));
    EXPECT_EQ(e.value("mlock_supervisor_child_locked_bytes", l), c.locked_bytes);
    EXPECT_EQ(e.value("mlock_supervisor_child_swapped_bytes", l), c.swapped_bytes);
    EXPECT_EQ(e.value("mlock_supervisor_child_resident_bytes", l), c.resident_bytes);
    EXPECT_EQ(e.value("mlock_supervisor_child_restarts_total", l), c.restarts);
    EXPECT_EQ(e.value("mlock_supervisor_child_resident_unlocked_bytes", l),
              c.resident_unlocked_bytes);
    EXPECT_EQ(e.value("mlock_supervisor_child_swapped_shmem_bytes", l), c.swapped_shmem_bytes);
    EXPECT_EQ(e.value("mlock_supervisor_child_oom_kills_total", l), c.oom_kills);
    double states = 0;
    for (const char* state :
         {"starting", "running", "backoff", "stopping", "stopped", "failed", "exited"}) {
      const double v =
          e.value("mlock_supervisor_child_state", {{"child", c.name}, {"state", state}});
      EXPECT_EQ(v, c.state == state ? 1 : 0) << state;
      states += v;
    }
    EXPECT_EQ(states, 1);
  }
  EXPECT_EQ(e.type.at("mlock_supervisor_child_restarts_total"), "counter");
  for (const auto& [family, type] : e.type) {
    if (type == "counter") {
      EXPECT_EQ(family.substr(family.size() - 6), "_total") << family;
    }
  }
  EXPECT_EQ(e.value("mlock_supervisor_degraded"), 1);
}

TEST(FormatMetrics, EscapesLabelValuesSoTheyParseBack) {
  CtlSnapshot s;
  s.state = "running";
  const std::string odd = "we\"ird\\name\nx";
  s.children = {child(odd, "running", 5)};
  const std::string text = format_metrics(s);
  const Exposition e = parse_exposition(text);
  for (const auto& err : e.errors) ADD_FAILURE() << err;
  EXPECT_EQ(e.value("mlock_supervisor_child_state", {{"child", odd}, {"state", "running"}}), 1)
      << text;
  EXPECT_EQ(e.value("mlock_supervisor_degraded"), 0);
}

TEST(FormatMetrics, NoChildrenIsStillValid) {
  CtlSnapshot s;
  s.state = "running";
  const Exposition e = parse_exposition(format_metrics(s));
  EXPECT_TRUE(e.errors.empty());
  EXPECT_EQ(e.count("mlock_supervisor_child_locked"), 0u);
  EXPECT_EQ(e.value("mlock_supervisor_up"), 1);
}

// The validator itself must catch what it is there for.
struct BadExposition {
  const char* what;
  const char* text;
};

class ExpositionValidator : public testing::TestWithParam<BadExposition> {};

TEST_P(ExpositionValidator, RejectsBrokenText) {
  EXPECT_FALSE(parse_exposition(GetParam().text).errors.empty()) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ExpositionValidator,
    testing::Values(
        BadExposition{"no TYPE", "# HELP m h\nm 1\n"},
        BadExposition{"TYPE after sample", "# HELP m h\nm 1\n# TYPE m gauge\n"},
        BadExposition{"unknown type", "# HELP m h\n# TYPE m histogramm\nm 1\n"},
        BadExposition{"duplicate series",
                      "# HELP m h\n# TYPE m gauge\nm{a=\"1\"} 1\nm{a=\"1\"} 2\n"},
        BadExposition{"bad escape", "# HELP m h\n# TYPE m gauge\nm{a=\"\\t\"} 1\n"},
        BadExposition{"unquoted", "# HELP m h\n# TYPE m gauge\nm{a=1} 1\n"},
        BadExposition{"bad value", "# HELP m h\n# TYPE m gauge\nm one\n"},
        BadExposition{"bad name", "# HELP 1m h\n# TYPE 1m gauge\n1m 1\n"},
        BadExposition{"no final newline", "# HELP m h\n# TYPE m gauge\nm 1"},
        BadExposition{"split family",
                      "# HELP m h\n# TYPE m gauge\n# HELP n h\n# TYPE n gauge\nm{a=\"1\"} 1\nn 1\n"
                      "m{a=\"2\"} 1\n"}),
    [](const testing::TestParamInfo<BadExposition>& info) {
      std::string name = info.param.what;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

}  // namespace
}  // namespace duende::supervisor
