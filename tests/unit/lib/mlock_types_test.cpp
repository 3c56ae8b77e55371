// MlockConfig, MlockStatus, MlockError and Result: values and texts users see.
#include <gtest/gtest.h>

#include <cerrno>

#include "duende/mlock.hpp"
#include "param_name.hpp"

namespace duende::mlock {
namespace {

TEST(MlockConfig, DefaultsMatchTheCrate) {
  const MlockConfig c = MlockConfig::builder().build();
  EXPECT_TRUE(c.current());
  EXPECT_TRUE(c.future());
  EXPECT_TRUE(c.required());
  EXPECT_FALSE(c.onfault());
  EXPECT_FALSE(c.io_flusher());
  EXPECT_FALSE(c.retain_heap());
  EXPECT_TRUE(c.relock_after_fork()) << "beyond the crate: on by default";
  EXPECT_EQ(c, MlockConfig());
}

TEST(MlockConfig, BuilderSetsEachFlag) {
  const MlockConfig c = MlockConfig::builder()
                            .current(false)
                            .future(false)
                            .required(false)
                            .onfault(true)
                            .io_flusher(true)
                            .retain_heap(true)
                            .relock_after_fork(false)
                            .build();
  EXPECT_FALSE(c.current());
  EXPECT_FALSE(c.future());
  EXPECT_FALSE(c.required());
  EXPECT_TRUE(c.onfault());
  EXPECT_TRUE(c.io_flusher());
  EXPECT_TRUE(c.retain_heap());
  EXPECT_FALSE(c.relock_after_fork());
  EXPECT_NE(c, MlockConfig());
  EXPECT_NE(MlockConfig::builder().relock_after_fork(false).build(), MlockConfig());
}

TEST(MlockConfig, MustBeLockedWhenALockIsRequestedAndRequired) {
  EXPECT_TRUE(MlockConfig().must_be_locked());
  EXPECT_TRUE(MlockConfig::builder().current(false).build().must_be_locked());
  EXPECT_TRUE(MlockConfig::builder().future(false).build().must_be_locked());
  EXPECT_FALSE(MlockConfig::builder().required(false).build().must_be_locked());
  // Required, but nothing to lock: lock_with_config() succeeds without a syscall.
  EXPECT_FALSE(MlockConfig::builder().current(false).future(false).build().must_be_locked());
  EXPECT_FALSE(
      MlockConfig::builder().current(false).future(false).required(false).build().must_be_locked());
  // The other flags do not matter.
  EXPECT_TRUE(MlockConfig::builder()
                  .onfault(true)
                  .io_flusher(true)
                  .retain_heap(true)
                  .relock_after_fork(false)
                  .build()
                  .must_be_locked());
}

TEST(MlockStatus, LockedCarriesBytes) {
  const auto s = MlockStatus::locked(4096);
  EXPECT_TRUE(s.is_locked());
  EXPECT_FALSE(s.is_failed());
  EXPECT_FALSE(s.is_unsupported());
  EXPECT_EQ(s.bytes_locked(), 4096u);
  EXPECT_EQ(s.failure_errno(), 0);
}

TEST(MlockStatus, FailedCarriesErrno) {
  const auto s = MlockStatus::failed(ENOMEM);
  EXPECT_TRUE(s.is_failed());
  EXPECT_EQ(s.failure_errno(), ENOMEM);
  EXPECT_EQ(s.bytes_locked(), 0u);
}

TEST(MlockStatus, FormatsAsTheCrateDoes) {
  EXPECT_EQ(MlockStatus::locked(4096).to_string(), "locked (4 KB)");
  EXPECT_EQ(MlockStatus::locked(0).to_string(), "locked (0 KB)");
  EXPECT_EQ(MlockStatus::failed(12).to_string(), "failed (errno=12)");
  EXPECT_EQ(MlockStatus::unsupported().to_string(), "unsupported platform");
  EXPECT_EQ(MlockStatus::locked(8192, true).to_string(), "locked (8 KB, without MCL_ONFAULT)");
}

struct ErrnoCase {
  int error_number;
  MlockError::Kind kind;
  const char* fix_fragment;
};

class MlockErrorFromErrno : public testing::TestWithParam<ErrnoCase> {};

TEST_P(MlockErrorFromErrno, ClassifiesAndExplains) {
  const auto e = MlockError::from_errno(GetParam().error_number);
  EXPECT_EQ(e.kind(), GetParam().kind);
  EXPECT_EQ(e.error_number(), GetParam().error_number);
  EXPECT_EQ(e.is_permission_error(), GetParam().kind == MlockError::Kind::PermissionDenied);
  EXPECT_EQ(e.is_resource_limit(), GetParam().kind == MlockError::Kind::ResourceLimit);
  EXPECT_EQ(e.message().rfind("mlockall failed: ", 0), 0u) << e.message();
  EXPECT_NE(e.message().find(GetParam().fix_fragment), std::string::npos) << e.message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, MlockErrorFromErrno,
    testing::Values(ErrnoCase{EPERM, MlockError::Kind::PermissionDenied,
                              "AmbientCapabilities=CAP_IPC_LOCK"},
                    ErrnoCase{EPERM, MlockError::Kind::PermissionDenied, "--cap-add=IPC_LOCK"},
                    ErrnoCase{ENOMEM, MlockError::Kind::ResourceLimit, "LimitMEMLOCK=infinity"},
                    ErrnoCase{ENOMEM, MlockError::Kind::ResourceLimit, "--ulimit memlock=-1:-1"},
                    ErrnoCase{EINVAL, MlockError::Kind::InvalidArgument, "onfault"},
                    ErrnoCase{EAGAIN, MlockError::Kind::WouldBlock, "(EAGAIN)"},
                    ErrnoCase{EIO, MlockError::Kind::Unknown, "(errno=5)"}),
    [](const auto& i) { return test::param_name(std::to_string(i.param.error_number), i.index); });

TEST(MlockError, IoFlusherMessageNamesItsCapability) {
  const auto e = MlockError::from_errno(EPERM, MlockError::Operation::IoFlusher);
  EXPECT_EQ(e.operation(), MlockError::Operation::IoFlusher);
  EXPECT_NE(e.message().find("PR_SET_IO_FLUSHER"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("CAP_SYS_RESOURCE"), std::string::npos) << e.message();
}

TEST(Result, HoldsValueOrError) {
  Result<int, std::string> ok = 5;
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(ok.value(), 5);
  EXPECT_EQ(ok.value_or(7), 5);

  Result<int, std::string> bad = Unexpected(std::string("no"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), "no");
  EXPECT_EQ(bad.value_or(7), 7);
  EXPECT_THROW((void)bad.value(), BadResultAccess);
}

TEST(Result, VoidSpecialization) {
  Result<void, int> ok;
  EXPECT_TRUE(ok);
  EXPECT_NO_THROW(ok.value());
  Result<void, int> bad = Unexpected(3);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), 3);
  EXPECT_THROW(bad.value(), BadResultAccess);
}

TEST(Result, SameValueAndErrorTypeStayDistinct) {
  Result<int, int> v = 1;
  Result<int, int> e = Unexpected(1);
  EXPECT_TRUE(v.has_value());
  EXPECT_FALSE(e.has_value());
}

TEST(FormatLockReport, HasTheThreeFields) {
  EXPECT_EQ(format_lock_report(MlockStatus::locked(8192)),
            "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=8192\nX_DUENDE_MLOCK_ERRNO=0\n");
  EXPECT_EQ(format_lock_report(MlockStatus::failed(EPERM)),
            "X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_BYTES=0\nX_DUENDE_MLOCK_ERRNO=1\n");
  EXPECT_EQ(format_lock_report(MlockStatus::unsupported()),
            "X_DUENDE_MLOCK=unsupported\nX_DUENDE_MLOCK_BYTES=0\nX_DUENDE_MLOCK_ERRNO=0\n");
}

}  // namespace
}  // namespace duende::mlock
