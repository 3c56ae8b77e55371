// A supervisor that starts after another one (a crash, a restart, a re-exec) adopts the
// children the state directory names, and nothing else.
#include <gtest/gtest.h>

#include "core/saved_state.hpp"
#include "supervisor_rig.hpp"

namespace duende::supervisor::test {
namespace {

const char* kTwo = R"({"children": {
  "a": {"exec": ["/bin/a"], "ready": "exec"},
  "b": {"exec": ["/bin/b"], "ready": "exec", "after": ["a"]}}})";

// What the first supervisor left, and the pids of its children.
struct Before {
  std::map<std::string, std::string> files;
  pid_t a = 0;
  pid_t b = 0;
};

constexpr std::uint64_t kLocked = 1 << 20;

Before run_first(const std::string& json = kTwo) {
  SupervisorRig first(json);
  first.fake.set_new_process_memory(mlock::ProcessMemory{.locked_bytes = kLocked});
  first.sup().start();
  first.round();
  Before before{first.fake.state_files(), first.fake.last_pid("a"), first.fake.last_pid("b")};
  EXPECT_EQ(first.state("a"), ChildState::Running);
  EXPECT_EQ(first.state("b"), ChildState::Running);
  return before;  // `first` dies here: as a SIGKILL would, it says nothing more
}

SavedState saved_from(const std::map<std::string, std::string>& files) {
  std::vector<std::string> warnings;
  SavedState s = assemble_saved_state(files, warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  return s;
}

// The second supervisor's machine: the first one's children still run there.
void keep_running(FakeSystem& fake, const Before& before, bool only_a = false) {
  fake.set_new_process_memory(mlock::ProcessMemory{.locked_bytes = kLocked});
  ASSERT_EQ(fake.add_running_process(FakeSystem::start_time_of(before.a)), before.a);
  if (only_a) return;
  ASSERT_EQ(fake.add_running_process(FakeSystem::start_time_of(before.b)), before.b);
}

TEST(Adoption, RunningChildrenAreAdoptedNotStartedAgain) {
  const Before before = run_first();
  SupervisorRig second(kTwo);
  second.fake.set_own_pid(2);  // another supervisor process
  keep_running(second.fake, before);
  second.sup().start(saved_from(before.files));
  second.round();
  EXPECT_TRUE(second.fake.spawns().empty());
  EXPECT_EQ(second.child("a").pid(), before.a);
  EXPECT_EQ(second.child("b").pid(), before.b);
  EXPECT_EQ(second.state("b"), ChildState::Running);
  EXPECT_TRUE(second.child("a").adopted());
  EXPECT_GT(second.child("a").adopted_at_us(), 0);
  EXPECT_EQ(second.sup().supervisor_restarts(), 1u);
  EXPECT_EQ(second.sup().state(), ManagerState::Running);
  // The adopted child's death is noticed, and it is restarted like any other.
  second.fake.exit(before.a, 3);
  second.fake.advance(std::chrono::seconds(1));
  EXPECT_EQ(second.child("a").last_exit_status(), 3);
  EXPECT_NE(second.child("a").pid(), before.a);
  EXPECT_EQ(second.fake.spawns_of("a").size(), 1u);
}

TEST(Adoption, ADefinitionChangedMeanwhileRestartsThatChildOnly) {
  const Before before = run_first();
  SupervisorRig second(R"({"children": {
    "a": {"exec": ["/bin/a"], "ready": "exec"},
    "b": {"exec": ["/bin/b", "--new"], "ready": "exec", "after": ["a"],
          "stop_signal": "SIGINT"}}})");
  second.fake.set_own_pid(2);
  keep_running(second.fake, before);
  second.sup().start(saved_from(before.files));
  second.fake.advance(std::chrono::seconds(1));
  EXPECT_TRUE(second.fake.signals_to(before.a).empty());
  EXPECT_EQ(second.child("a").pid(), before.a);
  // Stopped as its own definition said (SIGTERM), started from the new one.
  EXPECT_EQ(second.fake.signals_to(before.b), std::vector<int>{SIGTERM});
  ASSERT_EQ(second.fake.spawns_of("b").size(), 1u);
  EXPECT_EQ(second.fake.spawns_of("b")[0].request.argv.back(), "--new");
  EXPECT_EQ(second.state("b"), ChildState::Running);
  EXPECT_EQ(second.child("b").spec().stop_signal, SIGINT);
  second.sup().shutdown();
  second.fake.advance(std::chrono::seconds(1));
  EXPECT_EQ(second.fake.signals_to(second.fake.last_pid("b")), std::vector<int>{SIGINT});
}

TEST(Adoption, APidNowUsedByAnotherProgramIsNeitherAdoptedNorSignalled) {
  const Before before = run_first();
  SupervisorRig second(kTwo);
  second.fake.set_own_pid(2);
  ASSERT_EQ(second.fake.add_running_process(FakeSystem::start_time_of(before.a)), before.a);
  ASSERT_EQ(second.fake.add_running_process(777), before.b);  // same pid, other process
  second.sup().start(saved_from(before.files));
  second.round();
  EXPECT_TRUE(second.fake.signals_to(before.b).empty());
  EXPECT_FALSE(second.child("b").adopted());
  EXPECT_NE(second.child("b").pid(), before.b);
  EXPECT_EQ(second.fake.spawns_of("b").size(), 1u);
  EXPECT_TRUE(second.fake.running(before.b));
}

TEST(Adoption, GarbageOrForeignStateIsIgnoredWithAWarning) {
  std::vector<std::string> warnings;
  const SavedState s =
      assemble_saved_state({{"supervisor", "{not json"},
                            {"child.a", R"({"format": "mlock-supervisor-state", "version": 99})"},
                            {"child.b", "\x01\x02"}},
                           warnings);
  EXPECT_TRUE(s.children.empty());
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_NE(warnings[1].find("version 99"), std::string::npos) << warnings[1];
  SupervisorRig rig(kTwo);
  rig.sup().start(s);
  rig.round();
  EXPECT_EQ(rig.fake.spawns().size(), 2u);
}

TEST(Adoption, ADeathNobodyKeptTheStatusOfIsUnknownNotInvented) {
  const Before before = run_first();
  SupervisorRig second(kTwo);
  second.fake.set_own_pid(2);
  keep_running(second.fake, before);
  second.fake.set_adopted_status_unknown(true);
  second.sup().start(saved_from(before.files));
  second.round();
  second.fake.kill_by_signal(before.b, SIGKILL);
  EXPECT_EQ(second.child("b").last_exit_status(), ExitStatus::kUnknown);
  EXPECT_NE(second.child("b").last_failure().find("status unknown"), std::string::npos);
  second.fake.advance(std::chrono::seconds(1));
  EXPECT_EQ(second.state("b"), ChildState::Running);  // restarted: unknown counts as failure
}

TEST(Adoption, AChildRemovedMeanwhileIsStoppedAndItsRecordDropped) {
  const Before before = run_first();
  SupervisorRig second(R"({"children": {"a": {"exec": ["/bin/a"], "ready": "exec"}}})");
  second.fake.set_own_pid(2);
  keep_running(second.fake, before);
  second.sup().start(saved_from(before.files));
  second.fake.advance(std::chrono::seconds(1));
  EXPECT_EQ(second.fake.signals_to(before.b), std::vector<int>{SIGTERM});
  EXPECT_FALSE(second.fake.running(before.b));
  EXPECT_EQ(second.sup().find("b"), nullptr);
  EXPECT_EQ(second.fake.state_files().count("child.b"), 0u);
  EXPECT_TRUE(second.fake.spawns().empty());
}

TEST(Adoption, ACleanStopLeavesNothingToAdopt) {
  SupervisorRig rig(kTwo);
  rig.sup().start();
  rig.round();
  rig.sup().shutdown();
  rig.fake.advance(std::chrono::seconds(1));
  ASSERT_TRUE(rig.sup().finished()) << to_string(rig.state("a")) << to_string(rig.state("b"));
  EXPECT_EQ(rig.fake.state_files().size(), 1u);
  const auto s = parse_saved_supervisor(rig.fake.state_files().at("supervisor"));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->clean);
}

TEST(Adoption, AChildTheOperatorStoppedStaysStopped) {
  Before before;
  {
    SupervisorRig first(kTwo);
    first.sup().start();
    first.round();
    ASSERT_TRUE(first.sup().stop_child("b"));
    first.fake.advance(std::chrono::seconds(1));
    before = {first.fake.state_files(), first.fake.last_pid("a"), 0};
  }
  SupervisorRig second(kTwo);
  second.fake.set_own_pid(2);
  ASSERT_EQ(second.fake.add_running_process(FakeSystem::start_time_of(before.a)), before.a);
  second.sup().start(saved_from(before.files));
  second.fake.advance(std::chrono::seconds(1));
  EXPECT_EQ(second.state("b"), ChildState::Stopped);
  EXPECT_TRUE(second.fake.spawns().empty());
}

TEST(Adoption, AReexecKeepsEveryHandleOpenAndNamesIt) {
  SupervisorRig rig(kTwo);
  rig.sup().start();
  rig.round();
  ASSERT_EQ(rig.sup().prepare_reexec(42), 0);
  EXPECT_EQ(rig.fake.kept_across_exec().size(), 2u);
  const auto s = parse_saved_supervisor(rig.fake.state_files().at("supervisor"));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->reexec);
  EXPECT_EQ(s->notify_fd, 42);
  const auto a = parse_saved_child(rig.fake.state_files().at("child.a"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->fd, rig.child("a").process().handle);
  rig.sup().abort_reexec();  // execve() failed
  EXPECT_TRUE(rig.fake.kept_across_exec().empty());
  EXPECT_FALSE(parse_saved_supervisor(rig.fake.state_files().at("supervisor"))->reexec);
}

TEST(Adoption, AStartingChildKeepsItsLockReportAndBecomesReadyOnceProcAgrees) {
  const char* json = R"({"children": {"a": {"exec": ["/bin/a"]}}})";  // ready: locked
  std::map<std::string, std::string> files;
  pid_t a = 0;
  {
    SupervisorRig first(json);
    first.sup().start();
    first.round();
    a = first.fake.last_pid("a");
    first.send("a", "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096");  // /proc: VmLck 0
    ASSERT_EQ(first.state("a"), ChildState::Starting);
    files = first.fake.state_files();
  }
  SupervisorRig second(json);
  second.fake.set_own_pid(2);
  keep_running(second.fake, Before{{}, a, 0}, /*only_a=*/true);
  second.sup().start(saved_from(files));
  second.round();
  EXPECT_EQ(second.state("a"), ChildState::Running);
  EXPECT_EQ(second.child("a").pid(), a);
  EXPECT_TRUE(second.fake.spawns().empty());
}

TEST(DefinitionHash, EveryFieldChangesIt) {
  Config c = config_from_json(R"({"children": {"a": {"exec": ["/bin/a"]}}})");
  const ChildSpec base = c.children.at("a");
  std::vector<std::function<void(ChildSpec&)>> changes = {
      [](ChildSpec& s) { s.exec.push_back("x"); },
      [](ChildSpec& s) { s.environment["K"] = "V"; },
      [](ChildSpec& s) { s.working_directory = "/tmp"; },
      [](ChildSpec& s) { s.uid = 1; },
      [](ChildSpec& s) { s.gid = 1; },
      [](ChildSpec& s) { s.supplementary_groups.push_back(5); },
      [](ChildSpec& s) { s.user_name = "u"; },
      [](ChildSpec& s) { s.preload = !s.preload; },
      [](ChildSpec& s) { s.mlock = mlock::MlockConfig::builder().onfault(true).build(); },
      [](ChildSpec& s) { s.limit_memlock = 4096; },
      [](ChildSpec& s) { s.oom_score_adj = 5; },
      [](ChildSpec& s) { s.ready = Readiness::Exec; },
      [](ChildSpec& s) { s.after.push_back("b"); },
      [](ChildSpec& s) { s.start_timeout_sec += 1; },
      [](ChildSpec& s) { s.restart = RestartPolicy::No; },
      [](ChildSpec& s) { s.restart_sec += 1; },
      [](ChildSpec& s) { s.restart_max_sec += 1; },
      [](ChildSpec& s) { s.start_limit_burst += 1; },
      [](ChildSpec& s) { s.start_limit_interval_sec += 1; },
      [](ChildSpec& s) { s.stop_signal = SIGINT; },
      [](ChildSpec& s) { s.stop_timeout_sec += 1; },
      [](ChildSpec& s) { s.on_lock_lost = OnLockLost::Restart; },
      [](ChildSpec& s) {
        s.mlock = mlock::MlockConfig::builder().relock_after_fork(false).build();
      },
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    ChildSpec changed = base;
    changes[i](changed);
    ASSERT_FALSE(changed == base) << i;
    EXPECT_NE(definition_hash(changed), definition_hash(base)) << "change " << i;
  }
  EXPECT_EQ(definition_hash(base), definition_hash(c.children.at("a")));
}

// A running supervisor's children must not all restart when an upgrade re-executes it: a
// definition that uses no field added later hashes as the earlier version hashed it.
TEST(DefinitionHash, StaysTheSameForADefinitionThatUsesNoNewerField) {
  Config c = config_from_json(R"({"children": {"a": {"exec": ["/bin/a"]}}})");
  EXPECT_EQ(definition_hash(c.children.at("a")), "f74a5dfda1e92cac");
}

}  // namespace
}  // namespace duende::supervisor::test
